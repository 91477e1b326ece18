#!/usr/bin/env python3
"""Generate a large spool in the sensor's format (docs/spool.md).

The ingest and report benchmarks need a spool of a million messages
or more, far beyond what a live sensor fills in reasonable time.  This
writes the same events a sensor writes: session.start, proxy.request
for tunnelled sessions, message.stored and session.end, over many
days, from a skewed population of public source addresses, as ten
sensors.  Bodies are the SpamAssassin corpus messages, each stored
once under its SHA-256 as the sensor stores them.

Events go to files of CHUNK messages each, so that a spool of the
first N messages is a prefix of the files; for every size asked for,
SPOOLDIR/N/ holds hard links to that prefix (and a link to the shared
bodies).  A CSV of the message rows, file by file, feeds the
reference import.

Everything is drawn from a seeded generator: the same arguments give
the same spool.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import subprocess
import sys
import zlib

CHUNK = 50000
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


def load_bodies(corpus, spool):
    """Store each corpus message once; return (sha256, size) pairs."""
    bodies = []
    names = []
    for sub in sorted(os.listdir(corpus)):
        if not sub.startswith("spam"):
            continue
        d = os.path.join(corpus, sub)
        names += [os.path.join(d, n) for n in sorted(os.listdir(d))
                  if n.endswith(".txt")]
    for path in names:
        with open(path, "rb") as f:
            data = f.read()
        sha = hashlib.sha256(data).hexdigest()
        d = os.path.join(spool, "bodies", sha[:2], sha[2:4])
        final = os.path.join(d, sha + ".zst")
        if not os.path.exists(final):
            os.makedirs(d, exist_ok=True)
            subprocess.run(["zstd", "-q", "-f", "-o", final],
                           input=data, check=True)
        bodies.append((sha, len(data)))
    return bodies


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
    os.makedirs(os.path.join(full, "bodies"), exist_ok=True)
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
    esc = json.dumps
    while written < args.messages:
        t = START + datetime.timedelta(seconds=span * written / args.messages)
        if out is None or files[-1][1] >= CHUNK:
            if out is not None:
                out.close()
                csv.close()
            name = t.strftime("%Y%m%dT%H%M%S") + ".jsonl"
            out = open(os.path.join(events_dir, name), "w")
            csv = open(os.path.join(args.out, name + ".csv"), "w")
            files.append([name, 0])
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
            sha, size = bodies[rng.randrange(len(bodies))]
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

    # Prefix spools: hard links to the first files, and the bodies.
    for size in [int(x) for x in args.sizes.split(",") if x]:
        d = os.path.join(args.out, str(size))
        os.makedirs(os.path.join(d, "events"), exist_ok=True)
        if not os.path.exists(os.path.join(d, "bodies")):
            os.symlink(os.path.join(full, "bodies"), os.path.join(d, "bodies"))
        count = 0
        csvs = []
        for name, n in files:
            if count >= size:
                break
            os.link(os.path.join(events_dir, name),
                    os.path.join(d, "events", name))
            csvs.append(os.path.join(args.out, name + ".csv"))
            count += n
        with open(os.path.join(args.out, "%d.csvlist" % size), "w") as f:
            f.write("\n".join(csvs) + "\n")
        with open(os.path.join(args.out, "%d.count" % size), "w") as f:
            f.write("%d\n" % count)
    print("messages=%d files=%d bodies=%d" % (written, len(files),
                                               len(set(b[0] for b in bodies))))


if __name__ == "__main__":
    main()
