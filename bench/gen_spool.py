#!/usr/bin/env python3
"""Generate a large spool in the sensor's format (docs/spool.md).

The ingest and report benchmarks need a spool of a million messages
or more, far beyond what a live sensor fills in reasonable time.  This
writes the same events a sensor writes: session.start, proxy.request
for tunnelled sessions, message.stored and session.end, over many
days, from a skewed population of public source addresses, as ten
sensors.  Bodies are the SpamAssassin corpus messages, compressed as
the sensor compresses them (one zstd frame at level 3, no checksum).
Each body is stored once, as by a sensor that never restarts.  It is
appended to the pack of the events file whose messages name it first,
bodies/NAME.pack beside events/NAME.jsonl, and an events file that
names no new body has no pack (common/bodypack.h has the format).

Events go to files of CHUNK messages each, so that a spool of the
first N messages is a prefix of the files; for every size asked for,
SPOOLDIR/N/ contains hard links to that prefix and to its packs, which
contain every body its messages name.  A CSV of the message rows, file
by file, feeds the reference import.

Everything is drawn from a seeded generator: the same arguments give
the same spool.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zlib

CHUNK = 50000
# The largest body the sensor stores (SMTP_MESSAGE_SIZE_MAX).
BODY_MAX = 10240000
# The sensor's compression level (BODY_ZSTD_LEVEL in sensor/spool.c).
ZSTD_LEVEL = 3
# A record's header: "<sha256 hex> <frame length, 8 hex digits>\n".
PACK_HEADER = "%s %08x\n"
SENSORS = 10
DAYS = 60
START = datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc)

# Service ports of the study's listeners, with the share of sessions
# each takes, and the proxy protocol spoken on it ('smtp' for direct).
PORTS = [
    (25, "smtp", 30),
    (1080, "socks5", 20),
    (3128, "http", 12),
    (8080, "http", 10),
    (80, "http", 8),
    (6588, "http", 5),
    (3382, "socks4", 5),
    (4480, "socks5", 4),
    (8000, "http", 3),
    (81, "http", 3),
]
PERSONALITIES = ["postfix", "sendmail", "exim"]


def public_ip(rng):
    """A random unicast address outside private and reserved ranges."""
    while True:
        a = rng.randrange(1, 224)
        if a in (10, 100, 127, 169, 172, 192, 198, 203):
            continue
        return "%d.%d.%d.%d" % (a, rng.randrange(256), rng.randrange(256),
                                rng.randrange(1, 255))


def compress_all(bodies, scratch):
    """Compress every distinct body with one run of zstd; return frames.

    One process for all of them saves starting one for each body.
    """
    listing = os.path.join(scratch, "list")
    with open(listing, "w") as f:
        for sha, data in bodies.items():
            path = os.path.join(scratch, sha)
            with open(path, "wb") as out:
                out.write(data)
            f.write(path + "\n")
    subprocess.run(["zstd", "-q", "-%d" % ZSTD_LEVEL, "--no-check",
                    "--no-progress", "--filelist", listing], check=True)
    frames = {}
    for sha in bodies:
        with open(os.path.join(scratch, sha + ".zst"), "rb") as f:
            frames[sha] = f.read()
    shutil.rmtree(scratch)
    return frames


def load_bodies(corpus, out):
    """Read and compress the corpus messages; return them as
    (sha256, size, pack record) tuples, one for each message file."""
    names = []
    for sub in sorted(os.listdir(corpus)):
        if not sub.startswith("spam"):
            continue
        d = os.path.join(corpus, sub)
        names += [os.path.join(d, n) for n in sorted(os.listdir(d))
                  if n.endswith(".txt")]
    data_by_sha = {}
    order = []
    for path in names:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > BODY_MAX:
            sys.exit("%s: %d bytes, more than a sensor stores (%d)" % (
                path, len(data), BODY_MAX))
        sha = hashlib.sha256(data).hexdigest()
        data_by_sha.setdefault(sha, data)
        order.append(sha)
    if not order:
        return []
    frames = compress_all(data_by_sha, tempfile.mkdtemp(dir=out))
    records = {sha: (PACK_HEADER % (sha, len(frame))).encode() + frame
               for sha, frame in frames.items()}
    return [(sha, len(data_by_sha[sha]), records[sha]) for sha in order]


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--messages", type=int, default=1000000)
    ap.add_argument("--sizes", default="100000,250000,500000,1000000")
    ap.add_argument("--ips", type=int, default=100000,
                    help="distinct source addresses")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    full = os.path.join(args.out, "full")
    events_dir = os.path.join(full, "events")
    os.makedirs(events_dir, exist_ok=True)
    bodies_dir = os.path.join(full, "bodies")
    os.makedirs(bodies_dir, exist_ok=True)
    bodies = load_bodies(args.corpus, full)
    if not bodies:
        sys.exit("no corpus messages under %s" % args.corpus)
    ips = [public_ip(rng) for _ in range(args.ips)]
    weights = [w for _, _, w in PORTS]
    sensor_boot = ["%08x" % rng.getrandbits(32) for _ in range(SENSORS)]
    sensor_seq = [0] * SENSORS
    span = DAYS * 86400.0

    files = []
    written = 0
    msg_id = 0
    out = None
    csv = None
    pack = None
    stored = set()
    esc = json.dumps
    while written < args.messages:
        t = START + datetime.timedelta(seconds=span * written / args.messages)
        if out is None or files[-1][1] >= CHUNK:
            if out is not None:
                out.close()
                csv.close()
            if pack is not None:
                pack.close()
                pack = None
            name = t.strftime("%Y%m%dT%H%M%S") + ".jsonl"
            out = open(os.path.join(events_dir, name), "w")
            csv = open(os.path.join(args.out, name + ".csv"), "w")
            files.append([name, 0, None])
        s = rng.randrange(SENSORS)
        sensor_seq[s] += 1
        sid = "%s-%d" % (sensor_boot[s], sensor_seq[s])
        sname = "sensor-%02d" % (s + 1)
        ip = ips[int(len(ips) * rng.random() ** 3)]
        port, proto, _ = rng.choices(PORTS, weights)[0]
        nmsg = min(rng.choice((1, 1, 2, 3, 5, 8, 20)),
                   args.messages - written)
        pers = PERSONALITIES[zlib.crc32(ip.encode()) % 3]
        target = "" if proto == "smtp" else "mx%d.victim-isp.example:25" % (
            rng.randrange(50))
        base = {"sensor.name": sname, "session.id": sid}
        ts = t
        line = {"@timestamp": stamp(ts), "event.action": "session.start"}
        line.update(base)
        line.update({"source.ip": ip, "source.port": rng.randrange(1024, 65536),
                     "destination.ip": "198.51.100.%d" % (s + 1),
                     "destination.port": port, "listener.port": port,
                     "listener.service": "smtp" if proto == "smtp" else "proxy"})
        out.write(esc(line, separators=(",", ":")) + "\n")
        if proto != "smtp":
            ts += datetime.timedelta(milliseconds=40)
            line = {"@timestamp": stamp(ts), "event.action": "proxy.request"}
            line.update(base)
            line.update({"proxy.protocol": proto, "proxy.command": "connect",
                         "proxy.target": target,
                         "proxy.target.host": target.split(":")[0],
                         "proxy.target.port": 25, "event.outcome": "tunnel",
                         "proxy.reply": "200" if proto == "http" else "0"})
            out.write(esc(line, separators=(",", ":")) + "\n")
        helo = "host%d.spam-origin.example" % rng.randrange(1000)
        for seq in range(1, nmsg + 1):
            ts += datetime.timedelta(milliseconds=rng.randrange(50, 2000))
            sha, size, record = bodies[rng.randrange(len(bodies))]
            if sha not in stored:
                if pack is None:
                    files[-1][2] = name[:-len(".jsonl")] + ".pack"
                    pack = open(os.path.join(bodies_dir, files[-1][2]),
                                "wb")
                pack.write(record)
                stored.add(sha)
            nrcpt = rng.choice((1, 1, 3, 5, 10, 50, 200))
            rcpts = ["user%d@victim%d.example" % (rng.randrange(10 ** 6), k)
                     for k in range(min(nrcpt, 100))]
            qid = "%010X" % rng.getrandbits(40)
            mail_from = "sender%d@spam-origin.example" % rng.randrange(10 ** 5)
            line = {"@timestamp": stamp(ts), "event.action": "message.stored"}
            line.update(base)
            line.update({"message.sha256": sha, "message.size": size,
                         "message.seq": seq, "smtp.queue_id": qid,
                         "smtp.helo": helo, "smtp.esmtp": True,
                         "smtp.mail_from": mail_from, "smtp.rcpt_to": rcpts,
                         "smtp.rcpt_count": nrcpt, "smtp.personality": pers,
                         "smtp.hostname": "mx.bench-isp.example",
                         "source.ip": ip, "destination.port": port,
                         "proxy.protocol": proto, "proxy.target": target})
            out.write(esc(line, separators=(",", ":")) + "\n")
            msg_id += 1
            csv.write('%d,%d,%s,%d,%s,%s,%s,%d,%s,%s,%s,1,%s,%d,"%s",%d,%s,%s,%s\n' % (
                msg_id, s + 1, sid, seq, stamp(ts), stamp(ts)[:10], ip, port,
                proto, target, helo, mail_from, nrcpt,
                esc(rcpts, separators=(",", ":")).replace('"', '""'),
                size, sha, qid, pers))
        ts += datetime.timedelta(milliseconds=100)
        line = {"@timestamp": stamp(ts), "event.action": "session.end"}
        line.update(base)
        line.update({"network.bytes_in": 5000 * nmsg, "network.bytes_out": 400 * nmsg,
                     "session.duration_ms": int((ts - t).total_seconds() * 1000),
                     "smtp.messages": nmsg, "event.reason": "quit"})
        out.write(esc(line, separators=(",", ":")) + "\n")
        written += nmsg
        files[-1][1] += nmsg
    out.close()
    csv.close()
    if pack is not None:
        pack.close()

    # Prefix spools: hard links to the first files and their packs.
    for size in [int(x) for x in args.sizes.split(",") if x]:
        d = os.path.join(args.out, str(size))
        os.makedirs(os.path.join(d, "events"), exist_ok=True)
        os.makedirs(os.path.join(d, "bodies"), exist_ok=True)
        count = 0
        csvs = []
        for name, n, pack_name in files:
            if count >= size:
                break
            os.link(os.path.join(events_dir, name),
                    os.path.join(d, "events", name))
            if pack_name is not None:
                os.link(os.path.join(bodies_dir, pack_name),
                        os.path.join(d, "bodies", pack_name))
            csvs.append(os.path.join(args.out, name + ".csv"))
            count += n
        with open(os.path.join(args.out, "%d.csvlist" % size), "w") as f:
            f.write("\n".join(csvs) + "\n")
        with open(os.path.join(args.out, "%d.count" % size), "w") as f:
            f.write("%d\n" % count)
    print("messages=%d files=%d bodies=%d packs=%d stored=%d" % (
        written, len(files), len(set(b[0] for b in bodies)),
        sum(1 for f in files if f[2] is not None), len(stored)))


if __name__ == "__main__":
    main()
