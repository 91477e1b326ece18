#!/usr/bin/env python3
"""Run golden SMTP transcripts against a live sensor.

The file format is documented at the top of tests/unit/test_transcripts.c.
Transcripts that need the unit runner's control (@store, @budget, T:,
@starttls, @auth-accept, TLS, A:)
are skipped, and so is one whose banner does not match, because the
sensor picks the personality from its secret and the client address.

  transcript.py --connect 127.0.0.1:2525 tests/transcripts/smtp-*.txt
  transcript.py --connect 127.0.0.1:1080 --socks5 127.0.0.1:25 --proxy-v1 ...
"""

import argparse
import codecs
import re
import socket
import struct
import sys

TIMEOUT = 10


def host_port(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def parse(path):
    headers, steps = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                key, _, value = line[1:].partition(" ")
                headers[key] = value
            elif line.startswith("C: ") or line == "C:":
                steps.append(("send", line[3:].encode("latin-1") + b"\r\n"))
            elif line.startswith("C| "):
                steps.append(("send", unescape(line[3:])))
            elif line.startswith("C+ "):
                count, _, text = line[3:].partition(" ")
                steps.append(("send", unescape(text) * int(count)))
            elif line.startswith("S+ "):
                count, _, text = line[3:].partition(" ")
                steps += [("exact", text)] * int(count)
            elif line.startswith("S: ") or line == "S:":
                steps.append(("exact", line[3:]))
            elif line.startswith("S~ "):
                steps.append(("regex", line[3:]))
            elif line.startswith("T: "):
                steps.append(("timeout", line[3:]))
            elif line == "X":
                steps.append(("closed", None))
            elif line == "TLS" or line.startswith("A: "):
                steps.append(("unit-only", line))
            else:
                raise ValueError(f"{path}: unknown directive {line!r}")
    return headers, steps


def unescape(text):
    return codecs.escape_decode(text.encode("latin-1"))[0]


def open_tunnel(sock, args):
    """Open a SOCKS5 or HTTP CONNECT tunnel to the target, if asked."""
    if args.socks5:
        host, port = host_port(args.socks5)
        sock.sendall(b"\x05\x01\x00")
        if recv_exact(sock, 2) != b"\x05\x00":
            raise OSError("SOCKS5 method negotiation failed")
        name = host.encode()
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name +
                     struct.pack("!H", port))
        head = recv_exact(sock, 4)
        if head[1] != 0:
            raise OSError(f"SOCKS5 CONNECT failed with reply {head[1]}")
        skip = {1: 4, 4: 16}.get(head[3])
        if skip is None:
            skip = recv_exact(sock, 1)[0]
        recv_exact(sock, skip + 2)
    elif args.http_connect:
        sock.sendall(f"CONNECT {args.http_connect} HTTP/1.1\r\n"
                     f"Host: {args.http_connect}\r\n\r\n".encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += recv_exact(sock, 1)
        if not re.match(rb"HTTP/1\.[01] 200", head):
            raise OSError(f"HTTP CONNECT failed: {head.splitlines()[0]!r}")


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed during the handshake")
        data += chunk
    return data


def run(path, args):
    """Return None on success, "skip: why" or the first mismatch."""
    headers, steps = parse(path)
    if "budget" in headers or headers.get("store", "ok") != "ok":
        return "skip: needs the unit runner's store or budget control"
    if any(kind == "timeout" for kind, _ in steps):
        return "skip: needs a timeout"
    if "starttls" in headers or "auth-accept" in headers or \
            any(kind == "unit-only" for kind, _ in steps):
        return "skip: needs the unit runner's TLS or AUTH control"
    client = headers.get("client", "192.0.2.1")
    sock = socket.create_connection(host_port(args.connect), TIMEOUT)
    try:
        if args.proxy_v1:
            family = "TCP6" if ":" in client else "TCP4"
            local = "::1" if family == "TCP6" else "127.0.0.1"
            sock.sendall(f"PROXY {family} {client} {local} 40000 25\r\n"
                         .encode())
        open_tunnel(sock, args)
        return converse(sock, steps)
    finally:
        sock.close()


def converse(sock, steps):
    reader = sock.makefile("rb")
    pending = b""
    first = True
    for kind, value in steps:
        if kind == "send":
            pending += value
            continue
        if pending:
            sock.sendall(pending)
            pending = b""
        if kind == "closed":
            rest = reader.read()
            return None if rest == b"" else f"data after close: {rest!r}"
        line = reader.readline()
        if not line.endswith(b"\r\n"):
            return f"expected a CRLF reply line, got {line!r}"
        got = line[:-2].decode("latin-1")
        ok = (got == value if kind == "exact"
              else re.fullmatch(value, got) is not None)
        if not ok and first:
            return f"skip: banner {got!r} is another personality"
        if not ok:
            return f"expected {value!r}, got {got!r}"
        first = False
    if pending:
        sock.sendall(pending)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", required=True, metavar="HOST:PORT",
                    help="the sensor's listener")
    ap.add_argument("--socks5", metavar="HOST:PORT",
                    help="first open a SOCKS5 tunnel to this target")
    ap.add_argument("--http-connect", metavar="HOST:PORT",
                    help="first open an HTTP CONNECT tunnel to this target")
    ap.add_argument("--proxy-v1", action="store_true",
                    help="send a PROXY v1 header with the transcript's "
                         "client address")
    ap.add_argument("transcripts", nargs="+")
    args = ap.parse_args()
    failed = 0
    for path in args.transcripts:
        try:
            result = run(path, args)
        except (OSError, ValueError) as e:
            result = f"error: {e}"
        if result is None:
            print(f"ok   {path}")
        elif result.startswith("skip"):
            print(f"SKIP {path}: {result[6:]}")
        else:
            print(f"FAIL {path}: {result}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
