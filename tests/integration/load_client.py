#!/usr/bin/env python3
"""Parallel SMTP load for the integration tests.

Runs SESSIONS connections at once, and each sends distinct messages
until the time is up or the server goes away.  For every message
acknowledged with 250 after the final dot, the SHA-256 of its body (the bytes between
DATA and the dot, as the sensor stores them) is appended to ACKS, one
per line, and flushed at once: a line in ACKS is a promise the server
made.  Only the Python standard library is used.
"""

import argparse
import hashlib
import os
import socket
import sys
import threading
import time


class Closed(Exception):
    """The server closed the connection or sent an unexpected reply."""


class Session:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def reply(self):
        """Read one possibly multi-line reply; return its code."""
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise Closed("connection closed")
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            if len(line) < 3 or not line[:3].isdigit():
                raise Closed("malformed reply %r" % line[:80])
            if line[3:4] != b"-":
                return int(line[:3])

    def command(self, text, want):
        self.sock.sendall(text)
        code = self.reply()
        if code != want:
            raise Closed("%r got reply %d" % (text[:20], code))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def make_body(session_no, seq, size):
    """A distinct body: no line starts with a dot, every line ends CRLF."""
    head = (
        "From: <sender-%d@spam-origin.example>\r\n"
        "To: <victim@target.example>\r\n"
        "Subject: load %d.%d\r\n"
        "Message-ID: <%d.%d.%s@spam-origin.example>\r\n\r\n"
        % (session_no, session_no, seq, session_no, seq, os.urandom(8).hex())
    ).encode()
    line = os.urandom(max(size // 2, 16)).hex().encode()
    lines = [line[i:i + 76] for i in range(0, len(line), 76)]
    return head + b"\r\n".join(lines) + b"\r\n"


class Load:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.acks = open(args.acks, "a", buffering=1)
        self.sent = 0
        self.failed = 0
        self.deadline = time.monotonic() + args.seconds

    def ack(self, sha):
        with self.lock:
            self.acks.write(sha + "\n")
            self.acks.flush()
            self.sent += 1

    def run_session(self, session_no):
        a = self.args
        try:
            s = Session(a.host, a.port, a.timeout)
        except OSError:
            with self.lock:
                self.failed += 1
            return
        try:
            if s.reply() != 220:
                raise Closed("no greeting")
            s.command(b"EHLO load-%d.spam-origin.example\r\n" % session_no,
                      250)
            seq = 0
            while time.monotonic() < self.deadline and seq < a.messages:
                seq += 1
                body = make_body(session_no, seq, a.size)
                s.command(b"MAIL FROM:<sender-%d@spam-origin.example>\r\n"
                          % session_no, 250)
                s.command(b"RCPT TO:<victim-%d-%d@target.example>\r\n"
                          % (session_no, seq), 250)
                s.command(b"DATA\r\n", 354)
                s.sock.sendall(body + b".\r\n")
                if s.reply() == 250:
                    self.ack(hashlib.sha256(body).hexdigest())
            s.command(b"QUIT\r\n", 221)
        except (Closed, OSError):
            # The server went away: whatever was not acknowledged is
            # not owed, so the session simply ends.
            with self.lock:
                self.failed += 1
        finally:
            s.close()

    def run(self):
        threads = [threading.Thread(target=self.run_session, args=(i,))
                   for i in range(self.args.sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.acks.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--messages", type=int, default=1000000,
                   help="messages per session at most")
    p.add_argument("--seconds", type=float, default=10,
                   help="stop starting messages after this long")
    p.add_argument("--size", type=int, default=2000,
                   help="approximate body size in bytes")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--acks", required=True,
                   help="file to append acknowledged body hashes to")
    args = p.parse_args()
    if not args.host.startswith("127."):
        sys.exit("load_client: refusing a host outside 127.0.0.0/8")
    load = Load(args)
    load.run()
    print("acknowledged %d, sessions cut short %d" % (load.sent, load.failed))


if __name__ == "__main__":
    main()
