// Drive a headless Chromium through every page of spampot web and check
// what the browser renders and requests: no console error, page error or dialog, no request
// to anything but 127.0.0.1, hostile texts shown as text, and the
// numbers of `spampot report --format json` on the pages.
//
// usage: node browse.js BASE_URL REPORT_JSON HOSTILE_IDS WORK_DIR
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [base, reportFile, hostileList, workDir] = process.argv.slice(2);
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const hostileIds = hostileList.split(',').filter((s) => s !== '');
const baseHost = new URL(base).host;

let failures = 0;
let checks = 0;
const requests = [];
const events = [];

function check(ok, what) {
  checks++;
  if (ok) {
    console.log(`ok: ${what}`);
  } else {
    failures++;
    console.log(`FAIL: ${what}`);
  }
}

function eqNumber(actual, expected, what) {
  check(Number(actual) === Number(expected),
    `${what}: page ${actual}, report ${expected}`);
}

async function visit(page, url) {
  const response = await page.goto(url, { waitUntil: 'load' });
  check(response !== null && response.status() === 200,
    `GET ${url} -> ${response && response.status()}`);
  const headers = response.headers();
  check((headers['content-security-policy'] || '')
    .startsWith("default-src 'none'"), `CSP on ${url}`);
  check(headers['x-frame-options'] === 'DENY', `X-Frame-Options on ${url}`);
  // Nothing that could run or fetch may be in any page.
  const active = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script, iframe, object, embed')
      .length,
    handlers: [...document.querySelectorAll('*')].filter((e) =>
      [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    jsLinks: document.querySelectorAll('[href^="javascript:" i]').length,
    foreignImages: [...document.images].filter((i) =>
      new URL(i.src).host !== location.host).length,
    styles: document.querySelectorAll('[style], style').length,
  }));
  check(active.scripts === 0 && active.handlers === 0 &&
    active.jsLinks === 0 && active.foreignImages === 0 &&
    active.styles === 0, `no active content on ${url}: ` +
    JSON.stringify(active));
  return response;
}

async function cellTexts(page, selector, key) {
  return page.$$eval(`${selector} td[data-key="${key}"]`,
    (cells) => cells.map((c) => c.textContent.trim()));
}

async function checkSummary(page, where) {
  for (const [key, value] of Object.entries(report.summary)) {
    const [text] = await cellTexts(page, '#summary', key);
    if (value === null) {
      check(text === '-', `${where} summary ${key} absent`);
    } else if (typeof value === 'number') {
      eqNumber(text, value, `${where} summary ${key}`);
    } else {
      check(text === value, `${where} summary ${key}: ${text} = ${value}`);
    }
  }
}

// Compare a ranked table column by column with the report's rows.
async function checkRanked(page, id, keys) {
  const rows = report[id];
  for (const key of keys) {
    const texts = await cellTexts(page, `#${id}`, key);
    check(texts.length === rows.length,
      `${id} has ${texts.length} rows, report ${rows.length}`);
    rows.forEach((row, i) => {
      if (typeof row[key] === 'number') {
        eqNumber(texts[i], row[key], `${id}[${i}].${key}`);
      } else {
        check(texts[i] === String(row[key]),
          `${id}[${i}].${key}: ${texts[i]} = ${row[key]}`);
      }
    });
  }
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spampot-web-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run',
      // Belt and braces: no name but the server's resolves, so nothing
      // can leave even if a page tried.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  // Record every request, and let only the server under test respond.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.host === baseHost) return route.continue();
    return route.abort();
  });
  context.on('request', (r) => requests.push(r.url()));
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      events.push(`console ${m.type()}: ${m.text()} at ${page.url()}`);
    }
  });
  page.on('pageerror', (e) => events.push(`page error: ${e.message}`));
  page.on('dialog', async (d) => {
    events.push(`dialog ${d.type()}: ${d.message()}`);
    await d.dismiss();
  });

  await visit(page, `${base}/`);
  await checkSummary(page, 'overview');

  await visit(page, `${base}/reports`);
  await checkSummary(page, 'reports');
  await checkRanked(page, 'top_asns', ['asn', 'emails', 'percent']);
  await checkRanked(page, 'top_countries', ['code', 'emails', 'percent']);
  await checkRanked(page, 'service_ports', ['port', 'emails', 'percent']);
  await checkRanked(page, 'source_os', ['class', 'emails', 'percent']);
  await checkRanked(page, 'spams_per_day', ['day', 'emails', 'recipients']);
  const charts = await page.$$eval('img.chart', (imgs) =>
    imgs.map((i) => ({ src: i.src, ok: i.complete && i.naturalWidth > 0 })));
  check(charts.length > 0, `${charts.length} charts on the reports page`);
  for (const c of charts) check(c.ok, `chart drawn: ${c.src}`);
  for (const c of charts) {
    const r = await page.request.get(c.src);
    check(r.headers()['content-type'] === 'image/svg+xml',
      `chart type ${r.headers()['content-type']}`);
  }

  // Each top ASN link lists exactly that ASN's messages.
  if (report.top_asns.length > 0) {
    const top = report.top_asns[0];
    await page.click(`#top_asns a[href*="asn=${top.asn}"]`);
    await page.waitForLoadState('load');
    const asns = await cellTexts(page, '#messages', 'asn');
    check(asns.length === Math.min(top.emails, 50) &&
      asns.every((a) => Number(a) === top.asn),
      `ASN ${top.asn} link lists ${asns.length} of its messages`);
  }
  if (report.top_countries.length > 0) {
    const top = report.top_countries[0];
    await visit(page, `${base}/messages?country=${top.code}`);
    const codes = await cellTexts(page, '#messages', 'country');
    check(codes.length === Math.min(top.emails, 50) &&
      codes.every((c) => c === top.code),
      `country ${top.code} lists ${codes.length} messages`);
  }

  // Page through the whole list: every message once, as many as counted.
  const ids = [];
  let url = `${base}/messages`;
  for (let n = 0; url !== null && n < 100; n++) {
    await visit(page, url);
    const links = await page.$$eval('#messages tr td:first-child a',
      (as) => as.map((a) => a.getAttribute('href')));
    ids.push(...links.map((h) => h.split('/').pop()));
    const next = await page.$('a[rel="next"]');
    url = next ? new URL(await next.getAttribute('href'), base).href : null;
  }
  eqNumber(ids.length, report.summary.emails, 'messages listed');
  check(new Set(ids).size === ids.length, 'no message listed twice');

  // Every message page, and the hostile ones read closely.
  for (const id of ids) await visit(page, `${base}/messages/${id}`);
  for (const id of hostileIds) {
    await visit(page, `${base}/messages/${id}`);
    const text = await page.evaluate(() => document.body.innerText);
    check(/<script>alert\((1|13)\)<\/script>/.test(text),
      `message ${id} shows a script tag as text`);
    const raw = await page.$('a[href$="/raw"]');
    if (raw !== null) {
      const download = page.waitForEvent('download');
      await raw.click();
      const file = await download;
      check(file.suggestedFilename().endsWith('.eml'),
        `message ${id} downloads as ${file.suggestedFilename()}`);
    }
  }
  const mime = hostileIds.length > 0 ? await (async () => {
    for (const id of hostileIds) {
      const r = await page.request.get(`${base}/api/messages/${id}`);
      const j = await r.json();
      if (j.mail_from === 'hostile-mime@evil.example') return j;
    }
    return null;
  })() : null;
  check(mime !== null && mime.body.parts.length === 5,
    `hostile MIME message has 5 parts: ${mime && mime.body.parts.length}`);
  if (mime !== null) {
    const [plain, html, bad64, utf8] = mime.body.parts;
    check(plain.text.includes('Café plain part'),
      'quoted-printable Latin-1 part decoded');
    check(html.html === true && html.text.includes('<script>alert(1)'),
      'HTML part kept as source');
    check(typeof bad64.text === 'string', 'broken base64 still shown');
    check(utf8.text.includes('\ufffd'), 'invalid UTF-8 replaced');
    await visit(page, `${base}/messages/${mime.id}`);
    const pre = await page.$$eval('pre.part', (ps) => ps.map((p) =>
      p.textContent));
    check(pre.some((p) => p.includes('<a href="javascript:alert(6)">')),
      'HTML source visible as text');
  }

  for (const api of ['/api/overview', '/api/report', '/api/messages',
    '/api/charts', '/metrics']) {
    const r = await page.request.get(`${base}${api}`);
    check(r.status() === 200, `GET ${api} -> ${r.status()}`);
  }
  const apiReport = await (await page.request.get(`${base}/api/report`))
    .json();
  for (const key of Object.keys(report)) {
    check(JSON.stringify(apiReport[key]) === JSON.stringify(report[key]),
      `/api/report ${key} equals the report`);
  }

  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });

  fs.writeFileSync(path.join(workDir + '-requests.txt'),
    requests.join('\n') + '\n');
  const foreign = requests.filter((u) => new URL(u).hostname !== '127.0.0.1');
  check(foreign.length === 0,
    `all ${requests.length} requests went to 127.0.0.1` +
    (foreign.length ? `; not: ${foreign.slice(0, 5).join(' ')}` : ''));
  check(events.length === 0, `no console errors, page errors or dialogs` +
    (events.length ? `: ${events.slice(0, 10).join(' | ')}` : ''));
  console.log(`${checks - failures} of ${checks} browser checks passed,` +
    ` ${ids.length} messages visited`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`Error: ${e.stack}`);
  process.exit(1);
});
