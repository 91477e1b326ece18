#!/usr/bin/env python3
"""A DNS responder for tests: every A query gets the one address given.

nmap's socks-open-proxy script resolves its test host itself before it
asks the proxy, through the resolver named by --dns-servers.  This
answers it on loopback, so the query never leaves the machine.

Usage: fake_dns.py LISTEN_ADDR PORT ANSWER_ADDR
Every address is the caller's; the tests pass loopback and TEST-NET
addresses only.
"""

import socket
import struct
import sys


def answer(query, addr):
    """The response to query: its question, then one A record."""
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if qdcount != 1 or flags & 0x8000:
        return None
    end = 12
    while end < len(query) and query[end] != 0:
        end += 1 + query[end]
    end += 5  # the root label, QTYPE and QCLASS
    if end > len(query):
        return None
    question = query[12:end]
    qtype = struct.unpack("!H", question[-4:-2])[0]
    header = struct.pack("!HHHHHH", qid, 0x8180, 1, 1 if qtype == 1 else 0,
                         0, 0)
    if qtype != 1:
        return header + question
    record = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
              socket.inet_aton(addr))
    return header + question + record


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], int(sys.argv[2])))
    while True:
        query, peer = sock.recvfrom(512)
        reply = answer(query, sys.argv[3])
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
