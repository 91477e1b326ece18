#!/usr/bin/python3
"""Send one email to an SMTP server over a TUN device, from a crafted SYN.

The script plays a remote client whose TCP stack it imitates: it
writes the SYN of the chosen profile (TTL, window, IP flags and TCP
options as p0f's database lists them for that system) to the TUN
device, acknowledges the kernel's SYN+ACK, and then runs a whole SMTP
transaction over its own minimal TCP.  That TCP takes in-order data
only and never retransmits, because the TUN device drops nothing at
this rate.  The script must run inside the network namespace of the
TUN device, and the addresses it uses exist only there.

Needs scapy (Debian's python3-scapy).  Prints the server's replies and
exits 1 if the handshake or the transaction fails.
"""

import argparse
import fcntl
import os
import random
import select
import struct
import sys
import time

from scapy.all import IP, TCP, raw

# From <linux/if_tun.h>.
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

READ_MAX = 65536
TIMEOUT = 20.0

# The SYN of each profile.  The option layouts are those of p0f.fp in
# Debian's p0f 3.09b: "Windows:7 or 8" (mss,nop,ws,nop,nop,sok, window
# 8192, scale 8) and "FreeBSD:9.x or newer" (mss,nop,ws,sok,ts, window
# 65535, scale 6).  "odd" has a TTL, window and option order that no
# entry has.
PROFILES = {
    "windows": {
        "ttl": 128,
        "df": True,
        "window": 8192,
        "options": [("MSS", 1460), ("NOP", None), ("WScale", 8),
                    ("NOP", None), ("NOP", None), ("SAckOK", b"")],
        "timestamps": False,
        "helo": "win-desktop",
    },
    "freebsd": {
        "ttl": 64,
        "df": True,
        "window": 65535,
        "options": [("MSS", 1460), ("NOP", None), ("WScale", 6),
                    ("SAckOK", b""), "timestamp"],
        "timestamps": True,
        "helo": "bsd-server",
    },
    "odd": {
        "ttl": 200,
        "df": False,
        "window": 1234,
        "options": [("WScale", 3), ("MSS", 1000)],
        "timestamps": False,
        "helo": "odd-stack",
    },
}


class ProtocolError(Exception):
    pass


def open_tun(name):
    """Attach to the existing TUN device NAME; return its fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifreq = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifreq)
    return fd


class Connection:
    """One TCP connection whose segments go through a TUN fd."""

    def __init__(self, fd, profile, client, server, port):
        self.fd = fd
        self.profile = profile
        self.client = client
        self.server = server
        self.dport = port
        self.sport = random.randint(49152, 65535)
        self.ip_id = random.randint(1, 0xFFFF)
        self.snd_nxt = random.randint(0, 0xFFFFFFFF)
        self.rcv_nxt = 0
        self.tsval = random.randint(1, 0x7FFFFFFF)
        self.ts_recent = 0
        self.received = b""
        self.fin_received = False

    def options(self, syn):
        """The TCP options of the next segment."""
        if syn:
            opts = self.profile["options"]
        elif self.profile["timestamps"]:
            opts = [("NOP", None), ("NOP", None), "timestamp"]
        else:
            return []
        self.tsval += 1
        stamp = ("Timestamp", (self.tsval, self.ts_recent))
        return [stamp if o == "timestamp" else o for o in opts]

    def send(self, flags, payload=b""):
        syn = "S" in flags
        self.ip_id = self.ip_id % 0xFFFF + 1
        ip = IP(src=self.client, dst=self.server, ttl=self.profile["ttl"],
                id=self.ip_id, flags="DF" if self.profile["df"] else 0)
        tcp = TCP(sport=self.sport, dport=self.dport, flags=flags,
                  seq=self.snd_nxt, ack=0 if syn else self.rcv_nxt,
                  window=self.profile["window"], options=self.options(syn))
        os.write(self.fd, raw(ip / tcp / payload))
        self.snd_nxt = (self.snd_nxt + len(payload) + syn +
                        ("F" in flags)) & 0xFFFFFFFF

    def next_segment(self, deadline):
        """The next segment of this connection the kernel writes."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("timed out waiting for the server")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            data = os.read(self.fd, READ_MAX)
            # The kernel may write other packets, such as IPv6 router
            # solicitations; only IPv4 can be this connection's.
            if not data or data[0] >> 4 != 4:
                continue
            packet = IP(data)
            if (TCP in packet and packet.src == self.server and
                    packet.dst == self.client and
                    packet[TCP].sport == self.dport and
                    packet[TCP].dport == self.sport):
                return packet[TCP]

    def note_timestamp(self, tcp):
        for kind, value in tcp.options:
            if kind == "Timestamp":
                self.ts_recent = value[0]

    def connect(self):
        self.send("S")
        deadline = time.monotonic() + TIMEOUT
        while True:
            tcp = self.next_segment(deadline)
            if tcp.flags.R:
                raise ProtocolError("the server reset the handshake")
            if tcp.flags.S and tcp.flags.A and tcp.ack == self.snd_nxt:
                break
        self.rcv_nxt = (tcp.seq + 1) & 0xFFFFFFFF
        self.note_timestamp(tcp)
        self.send("A")

    def receive(self, deadline):
        """Take in one segment: in-order data and FIN, then ACK them."""
        tcp = self.next_segment(deadline)
        if tcp.flags.R:
            raise ProtocolError("the server reset the connection")
        payload = bytes(tcp.payload)
        if tcp.seq != self.rcv_nxt:
            # A retransmission of what was taken already: ACK it again.
            if payload or tcp.flags.F:
                self.send("A")
            return
        self.note_timestamp(tcp)
        self.received += payload
        self.rcv_nxt = (self.rcv_nxt + len(payload)) & 0xFFFFFFFF
        if tcp.flags.F:
            self.fin_received = True
            self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
        if payload or tcp.flags.F:
            self.send("A")

    def reply(self):
        """The next SMTP reply, as (code, text)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            lines = self.received.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b" ":
                    self.received = b"\r\n".join(lines[i + 1:])
                    text = b"\r\n".join(lines[:i + 1]).decode("latin-1")
                    print("S: " + text.replace("\r\n", "\nS: "))
                    return int(line[:3]), text
            if self.fin_received:
                raise ProtocolError("the server closed the connection")
            self.receive(deadline)

    def command(self, line, expected):
        print("C: " + line)
        self.send("PA", line.encode() + b"\r\n")
        code, text = self.reply()
        if code != expected:
            raise ProtocolError(f"{line!r}: expected {expected}, got {text!r}")

    def close(self):
        """Wait for the server's FIN, then send ours."""
        deadline = time.monotonic() + TIMEOUT
        while not self.fin_received:
            self.receive(deadline)
        self.send("FA")


def transaction(conn, helo):
    code, text = conn.reply()
    if code != 220:
        raise ProtocolError(f"greeting: expected 220, got {text!r}")
    conn.command(f"EHLO {helo}.example", 250)
    conn.command("MAIL FROM:<sender@spam-origin.example>", 250)
    conn.command(f"RCPT TO:<victim-{helo}@target.example>", 250)
    conn.command("DATA", 354)
    message = (f"From: sender@spam-origin.example\r\n"
               f"To: victim-{helo}@target.example\r\n"
               f"Subject: sent from {helo}\r\n\r\nBuy now.\r\n.")
    conn.command(message, 250)
    conn.command("QUIT", 221)
    conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tun", help="name of the TUN device")
    parser.add_argument("client", help="source address of the client")
    parser.add_argument("server", help="address of the SMTP server")
    parser.add_argument("port", type=int, help="port of the SMTP server")
    parser.add_argument("profile", choices=sorted(PROFILES))
    args = parser.parse_args()

    profile = PROFILES[args.profile]
    fd = open_tun(args.tun)
    conn = Connection(fd, profile, args.client, args.server, args.port)
    try:
        conn.connect()
        transaction(conn, profile["helo"])
    except ProtocolError as e:
        print(f"{args.profile}: {e}", file=sys.stderr)
        conn.send("RA")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
