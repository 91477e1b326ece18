#!/usr/bin/env python3
"""Hold many idle connections open to one loopback server.

Opens COUNT connections to 127.0.0.1:PORT, PER_IP from each source
address starting at BASE (all on 127.0.0.0/8, so that the sensor's
per-address cap is respected), waits until each has received the
server's first line (the SMTP banner), writes the number that did to
READY_FILE and holds them all until it is terminated.
"""
import argparse
import ipaddress
import os
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--per-ip", type=int, default=50)
    ap.add_argument("--base", default="127.0.2.1")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("ready_file")
    args = ap.parse_args()

    base = ipaddress.IPv4Address(args.base)
    if not base.is_loopback:
        sys.exit("--base must be on 127.0.0.0/8")
    sel = selectors.DefaultSelector()
    socks = []
    waiting = 0
    deadline = time.monotonic() + args.timeout
    for i in range(args.count):
        src = str(base + i // args.per_ip)
        if not ipaddress.IPv4Address(src).is_loopback:
            sys.exit("source addresses ran past 127.255.255.255")
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", args.port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
        waiting += 1
        # Read banners as we go, so the accept queue keeps moving.
        if i % 200 == 199:
            waiting -= drain(sel, 0)
    while waiting > 0 and time.monotonic() < deadline:
        waiting -= drain(sel, 1)
    with open(args.ready_file + ".tmp", "w") as f:
        f.write("%d\n" % (len(socks) - waiting))
    os.rename(args.ready_file + ".tmp", args.ready_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def drain(sel, timeout):
    """Read what has arrived; count connections that got their banner."""
    done = 0
    for key, _ in sel.select(timeout):
        try:
            data = key.fileobj.recv(4096)
        except BlockingIOError:
            continue
        sel.unregister(key.fileobj)
        if data:
            done += 1
    return done


if __name__ == "__main__":
    main()
