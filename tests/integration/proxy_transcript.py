#!/usr/bin/env python3
"""Run golden transcripts of proxy dialogues against a live sensor.

A transcript is a text file of steps, one per line:

    # comment
    C: text        the client sends text and CRLF
    CX: 05 01 00   the client sends these bytes (hex, blanks ignored)
    S: text        the server must send exactly text and CRLF
    S~ regex       the server must send a line (CRLF) matching regex
    SX: 05 00 ..   the server must send these bytes; ".." is any byte
    SB: n          the server sends n or more bytes we do not check
                   (an HTML body), up to the connection's close
    S* text        the rest of the output, up to the close, contains
                   text (several S* and S! steps check the same rest)
    S! text        the rest of the output does not contain text
    END            the server must close the connection now

Usage: proxy_transcript.py HOST PORT FILE...
Every address is the caller's; the tests pass 127.0.0.1 only.
"""

import re
import socket
import sys

TIMEOUT = 10


class Mismatch(Exception):
    pass


class Peer:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.buf = b""
        self.tail = None

    def recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Mismatch(f"connection closed; expected {n} bytes, "
                               f"got {self.buf!r}")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv_line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Mismatch("line longer than 64 KiB")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Mismatch(f"connection closed before a line; "
                               f"got {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def recv_rest(self):
        data = self.buf
        self.buf = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def rest(self):
        """The output up to the close, read once for S* and S! steps."""
        if self.tail is None:
            self.tail = self.recv_rest()
        return self.tail


def parse_hex(text):
    """Bytes and a mask (None for '..') from a hex step."""
    out = []
    for tok in text.split():
        out.append(None if tok == ".." else int(tok, 16))
    return out


def run(host, port, path):
    peer = Peer(host, port)
    with open(path, encoding="utf-8") as f:
        steps = [l.rstrip("\n") for l in f]
    for lineno, step in enumerate(steps, 1):
        if not step or step.startswith("#"):
            continue
        where = f"{path}:{lineno}"
        if step.startswith("C: "):
            peer.sock.sendall(step[3:].encode("latin-1") + b"\r\n")
        elif step.startswith("CX: "):
            peer.sock.sendall(bytes(parse_hex(step[4:])))
        elif step.startswith("S: "):
            got = peer.recv_line()
            if got != step[3:]:
                raise Mismatch(f"{where}: expected {step[3:]!r}, got {got!r}")
        elif step.startswith("S~ "):
            got = peer.recv_line()
            if not re.fullmatch(step[3:], got):
                raise Mismatch(f"{where}: {got!r} does not match "
                               f"{step[3:]!r}")
        elif step.startswith("SX: "):
            want = parse_hex(step[4:])
            got = peer.recv_exact(len(want))
            for i, (w, g) in enumerate(zip(want, got)):
                if w is not None and w != g:
                    raise Mismatch(f"{where}: byte {i}: expected {w:02x}, "
                                   f"got {g:02x} in {got.hex(' ')}")
        elif step.startswith("SB: "):
            rest = peer.recv_rest()
            if len(rest) < int(step[4:]):
                raise Mismatch(f"{where}: expected at least {step[4:]} "
                               f"bytes, got {len(rest)}")
            return
        elif step.startswith("S* "):
            if step[3:].encode("latin-1") not in peer.rest():
                raise Mismatch(f"{where}: {step[3:]!r} not in "
                               f"{peer.rest()[:2000]!r}")
        elif step.startswith("S! "):
            if step[3:].encode("latin-1") in peer.rest():
                raise Mismatch(f"{where}: {step[3:]!r} found in "
                               f"{peer.rest()[:2000]!r}")
        elif step == "END":
            rest = peer.recv_rest()
            if rest:
                raise Mismatch(f"{where}: expected close, got {rest!r}")
            return
        else:
            raise Mismatch(f"{where}: unknown step {step!r}")
    peer.sock.close()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    host, port = sys.argv[1], int(sys.argv[2])
    failed = 0
    for path in sys.argv[3:]:
        try:
            run(host, port, path)
            print(f"ok: {path}")
        except (Mismatch, OSError) as e:
            print(f"FAIL: {path}: {e}")
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
