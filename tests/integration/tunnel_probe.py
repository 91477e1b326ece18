#!/usr/bin/env python3
"""Request tunnels everywhere from the sensor's proxies; check the replies.

Every request goes to the sensor on 127.0.0.1; the targets in them are
only data.  What a granted tunnel leads to is always an emulator on the
same socket:
- a mail port (25, 587): the SMTP emulator, which greets with 220;
- port 80: the HTTP origin emulator, which answers a GET with a page;
- one of the sensor's own addresses on a port it serves (a listener's
  port or service port): that listener, here the HTTP proxy, which
  answers an absolute-URI GET with a page (a chain);
everything else must be refused with the code a real proxy would use.
Prints one line per request and exits 1 if any answer was wrong.
Standard library only.
"""

import argparse
import ipaddress
import socket
import struct
import sys

MAIL_PORTS = (25, 587)
HTTP_PORTS = (80,)
OWN_ADDRESSES = ("127.0.0.1",)
# Filled in by main(): the listeners' ports and service ports.
SERVED_PORTS = set()
PORTS = (21, 22, 25, 80, 110, 143, 443, 465, 587, 2525, 6667, 8080)
IPV4_TARGETS = ("127.0.0.1", "127.0.0.2", "192.0.2.1", "198.51.100.25",
                "203.0.113.80")
IPV6_TARGETS = ("::1", "2001:db8::25")
NAMES = ("mx.target.example", "irc.target.example", "localhost")


class Probe:
    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        self.failures = 0
        self.count = 0
        self.granted = {"mail": 0, "http": 0, "chain": 0}

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port),
                                        timeout=self.timeout)

    def check(self, case, want, got):
        self.count += 1
        if want == got:
            print("ok: %s -> %s" % (case, got))
        else:
            self.failures += 1
            print("FAIL: %s: expected %s, got %s" % (case, want, got))


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_line(sock, limit=4096):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def tunnel_kind(host, port):
    """What a CONNECT to host:port must lead to."""
    if host in OWN_ADDRESSES and port in SERVED_PORTS:
        return "chain"
    if port in MAIL_PORTS:
        return "mail"
    if port in HTTP_PORTS:
        return "http"
    return "refused"


def after_tunnel(sock, kind="mail"):
    """The first reply code behind a granted tunnel, or 'closed'."""
    if kind == "http":
        sock.sendall(b"GET /index.html HTTP/1.0\r\nHost: www.target.example"
                     b"\r\n\r\n")
    elif kind == "chain":
        sock.sendall(b"GET http://www.target.example/ HTTP/1.0\r\n\r\n")
    line = recv_line(sock)
    if not line:
        return "closed"
    if kind == "mail":
        sock.sendall(b"QUIT\r\n")
        return line[:3].decode("ascii", "replace")
    parts = line.split()
    return parts[1].decode("ascii", "replace") if len(parts) > 1 else "none"


# What after_tunnel() returns when the emulator behind a tunnel works.
GREETING = {"mail": "220", "http": "200", "chain": "200"}


def expect_closed(sock):
    """After a refusal the proxy must hang up, not talk SMTP."""
    try:
        rest = sock.recv(1)
    except socket.timeout:
        return "open"
    return "closed" if not rest else "more bytes"


def socks4(p, host, port):
    with p.connect() as s:
        if host.replace(".", "").isdigit():
            req = struct.pack("!BBH4s", 4, 1, port, socket.inet_aton(host))
            req += b"spammer\0"
            name = "socks4"
        else:
            req = struct.pack("!BBH4s", 4, 1, port, bytes([0, 0, 0, 1]))
            req += b"spammer\0" + host.encode() + b"\0"
            name = "socks4a"
        s.sendall(req)
        reply = recv_exact(s, 8)
        code = reply[1] if len(reply) == 8 and reply[0] == 0 else None
        case = "%s %s:%d" % (name, host, port)
        kind = tunnel_kind(host, port)
        if kind != "refused":
            p.granted[kind] += 1
            p.check(case, "0x5a " + GREETING[kind],
                    "%s %s" % (hex_or(code), after_tunnel(s, kind)))
        else:
            p.check(case, "0x5b closed", "%s %s" % (hex_or(code),
                                                    expect_closed(s)))


def hex_or(code):
    return "none" if code is None else "0x%02x" % code


def socks5_address(host):
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return bytes([3, len(host)]) + host.encode()
    return bytes([1 if ip.version == 4 else 4]) + ip.packed


def socks5_reply(s):
    head = recv_exact(s, 4)
    if len(head) != 4 or head[0] != 5:
        return None
    if head[3] == 1:
        recv_exact(s, 4 + 2)
    elif head[3] == 4:
        recv_exact(s, 16 + 2)
    elif head[3] == 3:
        recv_exact(s, recv_exact(s, 1)[0] + 2)
    return head[1]


def socks5(p, host, port, command=1, auth=False):
    with p.connect() as s:
        if auth:
            s.sendall(b"\x05\x01\x02")
            if recv_exact(s, 2) != b"\x05\x02":
                p.check("socks5 auth method", "0x02", "refused")
                return
            s.sendall(b"\x01\x07spammer\x06secret")
            if recv_exact(s, 2) != b"\x01\x00":
                p.check("socks5 auth", "accepted", "refused")
                return
        else:
            s.sendall(b"\x05\x01\x00")
            if recv_exact(s, 2) != b"\x05\x00":
                p.check("socks5 method", "0x00", "refused")
                return
        s.sendall(bytes([5, command, 0]) + socks5_address(host) +
                  struct.pack("!H", port))
        code = socks5_reply(s)
        case = "socks5%s cmd %d %s:%d" % ("+auth" if auth else "", command,
                                          host, port)
        kind = tunnel_kind(host, port)
        if command != 1:
            p.check(case, "0x07 closed", "%s %s" % (hex_or(code),
                                                    expect_closed(s)))
        elif kind != "refused":
            p.granted[kind] += 1
            p.check(case, "0x00 " + GREETING[kind],
                    "%s %s" % (hex_or(code), after_tunnel(s, kind)))
        else:
            p.check(case, "0x05 closed", "%s %s" % (hex_or(code),
                                                    expect_closed(s)))


def http_status(s):
    line = recv_line(s)
    parts = line.split()
    return parts[1].decode("ascii", "replace") if len(parts) > 1 else "none"


def http_head_end(s):
    while True:
        line = recv_line(s)
        if line in (b"\r\n", b"\n", b""):
            return


def http_connect(p, host, port):
    authority = "[%s]:%d" % (host, port) if ":" in host else \
        "%s:%d" % (host, port)
    with p.connect() as s:
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
                   "User-Agent: probe\r\n\r\n" % (authority, authority))
                  .encode())
        status = http_status(s)
        case = "http CONNECT %s" % authority
        kind = tunnel_kind(host, port)
        if kind != "refused":
            p.granted[kind] += 1
            http_head_end(s)
            p.check(case, "200 " + GREETING[kind],
                    "%s %s" % (status, after_tunnel(s, kind)))
        else:
            p.check(case, "503", status)


def http_get(p, url, method="GET"):
    with p.connect() as s:
        host = url.split("/")[2]
        s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n"
                   "Content-Length: 0\r\n\r\n" % (method, url, host))
                  .encode())
        # The origin emulator answers with a page; nothing is fetched.
        p.check("http %s %s" % (method, url), "200", http_status(s))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socks", type=int, required=True)
    ap.add_argument("--http", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--served-ports", default="",
                    help="comma-separated ports the sensor's listeners "
                         "serve (their ports and service ports)")
    args = ap.parse_args()
    SERVED_PORTS.update(int(x) for x in args.served_ports.split(",") if x)
    sp = Probe(args.socks, args.timeout)
    hp = Probe(args.http, args.timeout)

    for port in PORTS:
        for host in IPV4_TARGETS + NAMES:
            socks4(sp, host, port)
        for host in IPV4_TARGETS + IPV6_TARGETS + NAMES:
            socks5(sp, host, port)
            http_connect(hp, host, port)
    for host in ("198.51.100.25", "mx.target.example"):
        socks5(sp, host, 25, auth=True)
        socks5(sp, host, 80, auth=True)
        socks5(sp, host, 25, command=2)
        socks5(sp, host, 25, command=3)
    for url in ("http://www.target.example/", "http://127.0.0.1:25/",
                "http://192.0.2.1/index.html", "http://[2001:db8::25]:8080/x",
                "http://localhost:6667/", "http://mx.target.example:587/"):
        http_get(hp, url)
    http_get(hp, "http://www.target.example/form", method="POST")
    http_get(hp, "http://www.target.example/", method="HEAD")

    total = sp.count + hp.count
    failures = sp.failures + hp.failures
    granted = {k: sp.granted[k] + hp.granted[k] for k in sp.granted}
    # The last line is read by no-outbound.sh.
    print("%d requests, %d wrong, %d mail tunnels, %d http tunnels, "
          "%d chains" % (total, failures, granted["mail"], granted["http"],
                         granted["chain"]))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
