#!/usr/bin/env python3
"""An SMTP sink for tests: accepts every message and writes each one to
DIR/N.json as {"mail_from", "rcpt_to", "data"}.

Usage: smtp_sink.py ADDR PORT DIR
Every address is the caller's; the tests pass 127.0.0.1 only.
"""

import json
import os
import socketserver
import sys
import threading

LOCK = threading.Lock()
COUNT = [0]


class Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink.test.example ESMTP")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250-sink.test.example")
                self.reply("250 8BITMIME")
            elif verb == b"MAIL":
                mail_from, rcpts = line[10:].strip().strip(b"<>"), []
                self.reply("250 2.1.0 Ok")
            elif verb == b"RCPT":
                rcpts.append(line[8:].strip().strip(b"<>"))
                self.reply("250 2.1.5 Ok")
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline(65536)
                    if not chunk:
                        return
                    data += chunk
                # Undo the sender's dot-stuffing (RFC 5321 4.5.2).
                lines = data[:-3].split(b"\r\n")
                data = b"\r\n".join(l[1:] if l.startswith(b".") else l
                                     for l in lines)
                self.store(mail_from, rcpts, data)
                self.reply("250 2.0.0 Ok: queued")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("250 Ok")

    def store(self, mail_from, rcpts, data):
        with LOCK:
            COUNT[0] += 1
            path = os.path.join(self.server.dir, f"{COUNT[0]}.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"mail_from": mail_from.decode("latin-1"),
                       "rcpt_to": [r.decode("latin-1") for r in rcpts],
                       "data": data.decode("latin-1")}, f)
        os.rename(path + ".tmp", path)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    server = Server((sys.argv[1], int(sys.argv[2])), Handler)
    server.dir = sys.argv[3]
    server.serve_forever()


if __name__ == "__main__":
    main()
