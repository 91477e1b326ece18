#!/usr/bin/env python3
"""Flood a sensor on loopback while a good client keeps sending mail.

One run starts an attack (slowloris, half-open connections, a
connection flood from one address, huge lines, endless DATA, or
headers with lying lengths), and alongside it a good SMTP client from
127.0.0.1 that sends one message about every 100 ms.  It samples the
sensor's resident memory from /proc/PID/status, then prints what the
attack did and checks the good client's success rate and the memory
growth against the limits given.  Every address is on 127.0.0.0/8.
Only the Python standard library is used.

    flood.py run --pid PID --smtp-port P [--proxy-port Q] ATTACK
    flood.py count SPOOL     # events by action and reason, as JSON
"""

import argparse
import glob
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time

GOOD_SOURCE = "127.0.0.1"


def attacker_address(i):
    """The i-th attacking source address: 127.0.1.x, then 127.0.2.x..."""
    return "127.0.%d.%d" % (1 + i // 250, 1 + i % 250)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def connect(port, source, timeout=5.0, blocking=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    if blocking:
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
    else:
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
    return s


def closed_by_peer(s):
    """True when the server has closed s; never blocks."""
    try:
        data = s.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b""


class SmtpClient:
    """Just enough SMTP to send one message and read the replies."""

    def __init__(self, port, source, timeout):
        self.sock = connect(port, source, timeout)
        self.buf = b""

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("connection closed")
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return int(line[:3])

    def command(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


def send_good_message(port, n):
    c = SmtpClient(port, GOOD_SOURCE, timeout=5.0)
    try:
        steps = [
            (None, 220),
            ("EHLO good-client.example", 250),
            ("MAIL FROM:<good@client.example>", 250),
            ("RCPT TO:<victim-%d@target.example>" % n, 250),
            ("DATA", 354),
            ("Subject: good %d\r\n\r\nmessage %d\r\n." % (n, n), 250),
            ("QUIT", 221),
        ]
        for text, expected in steps:
            code = c.reply() if text is None else c.command(text)
            if code != expected:
                return False
        return True
    finally:
        c.close()


def good_client(args, stop, stats):
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        try:
            ok = send_good_message(args.smtp_port, n)
        except OSError:
            ok = False
        stats["good_total"] += 1
        stats["good_ok"] += ok
        time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


def memory_monitor(args, stop, stats):
    while not stop.is_set():
        try:
            stats["rss_max_kib"] = max(stats["rss_max_kib"],
                                       rss_kib(args.pid))
        except (OSError, RuntimeError):
            stats["sensor_gone"] = True
            return
        stop.wait(0.1)


# Attacks.  Each runs until stop is set and counts into stats.

def attack_slowloris(args, stop, stats):
    """Many connections from many addresses, one byte every few seconds.

    Each address opens --per-address connections, past the per-address
    cap, so the surplus is rejected; the rest trickle "X" bytes, which
    never end a command line.  A closed connection is reopened.
    """
    sockets = {}
    for a in range(args.addresses):
        for k in range(args.per_address):
            sockets[(a, k)] = None
    while not stop.is_set():
        for key, s in list(sockets.items()):
            if stop.is_set():
                break
            if s is not None and closed_by_peer(s):
                stats["closed_by_sensor"] += 1
                s.close()
                s = None
            if s is None:
                try:
                    s = connect(args.smtp_port, attacker_address(key[0]),
                                timeout=2.0)
                    stats["connections"] += 1
                except OSError:
                    stats["connect_failed"] += 1
                    s = None
            else:
                try:
                    s.send(b"X", socket.MSG_DONTWAIT)
                    stats["bytes_sent"] += 1
                except OSError:
                    pass
            sockets[key] = s
        stop.wait(args.interval)
    for s in sockets.values():
        if s is not None:
            s.close()


def attack_halfopen(args, stop, stats):
    """Connections to the proxy port that never send a byte.

    The handshake timeout must close each; a closed one is reopened, so
    the count of closes measures how the timeout holds up.
    """
    sel = selectors.DefaultSelector()
    opened = 0
    while not stop.is_set():
        while opened < args.connections and not stop.is_set():
            s = connect(args.proxy_port, attacker_address(
                opened % args.addresses), blocking=False)
            sel.register(s, selectors.EVENT_READ, time.monotonic())
            opened += 1
            stats["connections"] += 1
        for key, _ in sel.select(timeout=0.2):
            if closed_by_peer(key.fileobj):
                stats["closed_by_sensor"] += 1
                held = time.monotonic() - key.data
                stats["held_max_seconds"] = max(
                    stats["held_max_seconds"], round(held, 2))
                sel.unregister(key.fileobj)
                key.fileobj.close()
                opened -= 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()


def attack_connections(args, stop, stats):
    """--connections connections from one address, opened at once.

    Past the per-address cap the sensor must close them at once; those
    still open after a second are the ones it admitted.
    """
    source = attacker_address(0)
    held = []
    for i in range(args.connections):
        try:
            held.append(connect(args.smtp_port, source, timeout=5.0))
            stats["connections"] += 1
        except OSError:
            stats["connect_failed"] += 1
        if len(held) % 500 == 0:
            # Reap the rejected ones, so that descriptors do not run out.
            still = []
            for s in held:
                if closed_by_peer(s):
                    stats["closed_by_sensor"] += 1
                    s.close()
                else:
                    still.append(s)
            held = still
    stop.wait(1.0)
    for s in held:
        if closed_by_peer(s):
            stats["closed_by_sensor"] += 1
        else:
            stats["still_open"] += 1
        s.close()


def smtp_attacker(args, source):
    c = SmtpClient(args.smtp_port, source, timeout=10.0)
    c.reply()
    c.command("EHLO flood.example")
    return c


def stream(args, stop, stats, sock, chunk, drain=True):
    """Send chunk until stop or --bytes, and return the replies drained.

    With drain false, no reply is read at all.
    """
    sock.setblocking(False)
    sent, replies = 0, b""
    while not stop.is_set() and sent < args.bytes:
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            stats["closed_by_sensor"] += 1
            break
        if not drain:
            continue
        try:
            data = sock.recv(65536)
            if data == b"":
                stats["closed_by_sensor"] += 1
                break
            replies += data[:4096]
        except BlockingIOError:
            pass
        except OSError:
            stats["closed_by_sensor"] += 1
            break
    stats["bytes_sent"] += sent
    return replies


def attack_hugeline(args, stop, stats):
    """A command line of --bytes bytes on each of --connections.

    The sensor drops the line as it comes; when the line finally ends,
    it must send a 5xx reply, or have closed the connection.
    """
    def one(i):
        c = smtp_attacker(args, attacker_address(i))
        replies = stream(args, stop, stats, c.sock, b"A" * 65536)
        try:
            c.sock.setblocking(True)
            c.sock.settimeout(10)
            c.sock.sendall(b"\r\n")
            c.buf = replies[replies.rfind(b"\r\n") + 2:] \
                if b"\r\n" in replies else replies
            if c.reply() // 100 == 5:
                stats["rejected_by_reply"] += 1
        except (OSError, ValueError):
            stats["closed_by_sensor"] += 1
        c.close()
    run_threads(one, args.connections)
    stop.wait()


def attack_data(args, stop, stats):
    """DATA, then a body of --bytes bytes that never ends."""
    def one(i):
        c = smtp_attacker(args, attacker_address(i))
        c.command("MAIL FROM:<flood@spam.example>")
        c.command("RCPT TO:<victim@target.example>")
        if c.command("DATA") != 354:
            stats["data_refused"] += 1
        stream(args, stop, stats, c.sock, b"spam spam spam spam\r\n" * 3000)
        c.close()
    run_threads(one, args.connections)
    stop.wait()


def attack_noread(args, stop, stats):
    """EHLO after EHLO, pipelined, with no reply ever read.

    Each EHLO costs the client 20 bytes and the sensor a reply several
    times as long, so the replies the sensor queues must stay bounded
    however much the client sends.
    """
    def one(i):
        c = SmtpClient(args.smtp_port, attacker_address(i), timeout=10.0)
        c.reply()
        # A small receive buffer keeps the replies in the sensor.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stream(args, stop, stats, c.sock, b"EHLO flood.example\r\n" * 3000,
               drain=False)
        c.close()
    run_threads(one, args.connections)
    stop.wait()


def lying_headers(port_relay, port_proxy):
    """(name, port, bytes): headers whose length fields lie."""
    v2_sig = b"\r\n\r\n\x00\r\nQUIT\n"
    return [
        # SOCKS5 greeting: 255 methods announced, two sent.
        ("socks5-nmethods", port_proxy, b"\x05\xff\x00\x02"),
        # SOCKS5 CONNECT to a 255-byte domain, 10 bytes of it sent.
        ("socks5-domain", port_proxy,
         b"\x05\x01\x00" + b"\x05\x01\x00\x03\xff" + b"a" * 10),
        # SOCKS4 user id that never ends in NUL.
        ("socks4-userid", port_proxy,
         b"\x04\x01\x00\x19\x7f\x00\x00\x01" + b"u" * 70000),
        # PROXY v2 announcing 65535 bytes of addresses.
        ("proxy-v2-length", port_relay,
         v2_sig + b"\x21\x11" + struct.pack("!H", 65535) + b"\x00" * 64),
        # PROXY v1 line that never ends.
        ("proxy-v1-endless", port_relay, b"PROXY TCP4 " + b"1" * 70000),
    ]


def attack_lying(args, stop, stats):
    """Headers whose length fields promise more than is sent.

    Each is sent on a fresh connection, from the relay address the
    PROXY listener trusts for the PROXY cases; the sensor must close it
    within the handshake timeout, and the longest wait is reported.
    """
    cases = lying_headers(args.relay_port, args.proxy_port)
    i = 0
    while not stop.is_set():
        name, port, payload = cases[i % len(cases)]
        source = args.relay if port == args.relay_port else \
            attacker_address(i % args.addresses)
        i += 1
        try:
            s = connect(port, source, timeout=5.0)
        except OSError:
            stats["connect_failed"] += 1
            continue
        started = time.monotonic()
        try:
            s.sendall(payload)
        except OSError:
            pass
        s.settimeout(args.close_within)
        try:
            while s.recv(65536):
                pass
            closed = True
        except socket.timeout:
            closed = False
        except OSError:
            closed = True   # reset: closed with our bytes unread
        s.close()
        if closed:
            stats["closed_by_sensor"] += 1
            key = "held_max_seconds_" + name
            stats[key] = max(stats.get(key, 0),
                             round(time.monotonic() - started, 2))
        else:
            key = "not_closed_" + name
            stats[key] = stats.get(key, 0) + 1
        stats["connections"] += 1


def run_threads(fn, n):
    for i in range(n):
        threading.Thread(target=fn, args=(i,), daemon=True).start()


ATTACKS = {
    "slowloris": attack_slowloris,
    "halfopen": attack_halfopen,
    "connections": attack_connections,
    "hugeline": attack_hugeline,
    "data": attack_data,
    "lying": attack_lying,
    "noread": attack_noread,
}


# Attacks that end by themselves; the good client runs until they do.
FINITE_ATTACKS = {"connections"}


def run(args):
    stats = {
        "good_ok": 0, "good_total": 0, "connections": 0,
        "connect_failed": 0, "closed_by_sensor": 0, "still_open": 0,
        "bytes_sent": 0, "rejected_by_reply": 0, "data_refused": 0,
        "held_max_seconds": 0, "rss_start_kib": rss_kib(args.pid),
        "rss_max_kib": 0, "sensor_gone": False,
    }
    stop = threading.Event()
    workers = [
        threading.Thread(target=memory_monitor, args=(args, stop, stats),
                         daemon=True),
        threading.Thread(target=ATTACKS[args.attack],
                         args=(args, stop, stats), daemon=True),
    ]
    for t in workers:
        t.start()
    # Let the attack build up before the good client starts counting.
    time.sleep(args.warmup)
    good = threading.Thread(target=good_client, args=(args, stop, stats),
                            daemon=True)
    good.start()
    time.sleep(args.seconds)
    if args.attack in FINITE_ATTACKS:
        workers[1].join(args.max_seconds)
        stats["attack_finished"] = not workers[1].is_alive()
    stop.set()
    good.join(10)
    for t in workers:
        t.join(10)
    return stats


def check(args, stats):
    """Print the verdicts; return the number of failed checks."""
    failures = 0
    rate = stats["good_ok"] / max(1, stats["good_total"])
    growth = (stats["rss_max_kib"] - stats["rss_start_kib"]) / 1024
    verdicts = [
        (not stats["sensor_gone"], "the sensor stayed up"),
        (stats["good_total"] >= args.seconds * 3,
         "good client made %d attempts" % stats["good_total"]),
        (rate >= args.min_success,
         "good client succeeded %.1f%% (at least %.0f%%)"
         % (100 * rate, 100 * args.min_success)),
        (growth <= args.max_rss_growth_mb,
         "sensor RSS grew %.1f MiB (at most %d), to %.1f MiB"
         % (growth, args.max_rss_growth_mb, stats["rss_max_kib"] / 1024)),
    ]
    for ok, text in verdicts:
        print(("ok: " if ok else "FAIL: ") + text)
        failures += not ok
    return failures


def attacker_rate_in(ev):
    """Bytes per second an attacker's session of 5 s or more sent."""
    if ev.get("event.action") != "session.end" or \
            ev.get("source.ip") == GOOD_SOURCE:
        return None
    ms = ev.get("session.duration_ms", 0)
    if ms < 5000:
        return None
    return ev.get("network.bytes_in", 0) * 1000 // ms


def count_events(spool):
    """Events in SPOOL/events/*.jsonl, by action and by action/reason.

    Also the highest input rate of an attacker's long session, as the
    sensor counted it, in attacker_rate_in_max.
    """
    counts = {}
    for path in sorted(glob.glob(os.path.join(spool, "events", "*.jsonl"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                action = ev.get("event.action", "")
                counts[action] = counts.get(action, 0) + 1
                rate = attacker_rate_in(ev)
                if rate is not None:
                    counts["attacker_rate_in_max"] = max(
                        counts.get("attacker_rate_in_max", 0), rate)
                if "event.reason" in ev:
                    key = "%s/%s" % (action, ev["event.reason"])
                    counts[key] = counts.get(key, 0) + 1
    return counts


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run an attack and the good client")
    r.add_argument("attack", choices=sorted(ATTACKS))
    r.add_argument("--pid", type=int, required=True,
                   help="the sensor's process id, for its RSS")
    r.add_argument("--smtp-port", type=int, required=True)
    r.add_argument("--proxy-port", type=int, default=0)
    r.add_argument("--relay-port", type=int, default=0,
                   help="an SMTP listener that expects PROXY headers")
    r.add_argument("--relay", default="127.0.0.1",
                   help="source address that listener trusts")
    r.add_argument("--seconds", type=float, default=15,
                   help="how long the good client runs, in seconds")
    r.add_argument("--max-seconds", type=float, default=120,
                   help="longest wait for an attack that ends by itself")
    r.add_argument("--warmup", type=float, default=2,
                   help="seconds of attack before the good client starts")
    r.add_argument("--addresses", type=int, default=1,
                   help="attacking source addresses, from 127.0.1.1")
    r.add_argument("--per-address", type=int, default=1,
                   help="slowloris connections per address")
    r.add_argument("--connections", type=int, default=100)
    r.add_argument("--interval", type=float, default=2,
                   help="seconds between slowloris bytes")
    r.add_argument("--bytes", type=int, default=50 * 1024 * 1024,
                   help="bytes each hugeline or data connection sends")
    r.add_argument("--close-within", type=float, default=10,
                   help="seconds a lying header may stay open")
    r.add_argument("--min-success", type=float, default=0.95)
    r.add_argument("--max-rss-growth-mb", type=int, default=64)
    c = sub.add_parser("count", help="count the events in a spool")
    c.add_argument("spool")
    args = p.parse_args()

    if args.command == "count":
        json.dump(count_events(args.spool), sys.stdout, sort_keys=True)
        print()
        return 0
    stats = run(args)
    print("stats: " + json.dumps(stats, sort_keys=True))
    return 1 if check(args, stats) else 0


if __name__ == "__main__":
    sys.exit(main())
