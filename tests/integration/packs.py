#!/usr/bin/env python3
"""Read a spool's body packs the way docs/spool.md describes them.

The tests' own reader, apart from the C code under test: each record
is a header "<64 hex> <8 hex>\\n" (the SHA-256 of the body and the
length of the zstd frame after it), then that frame.  zstd(1)
decompresses the frames.

    packs.py list SPOOL         the hash of every record, one per line
    packs.py body SPOOL SHA     the body with that hash, decompressed
    packs.py check SPOOL FILE   for each hash in FILE, one per line:
                                "missing N damaged M" over all of them

A pack may end with a record cut by a crash (short, or zeros where its
data never reached the disk): reading stops there, since its message
was never acknowledged.  Any other header that is not one is an error.
"""
import glob
import hashlib
import os
import re
import subprocess
import sys

HEADER = re.compile(rb"([0-9a-f]{64}) ([0-9a-f]{8})\n")


def records(spool):
    """Yield (sha, frame) for every record of every pack, in name order."""
    for path in sorted(glob.glob(os.path.join(spool, "bodies", "*.pack"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            head = data[pos:pos + 74]
            if len(head) < 74 or head == bytes(74):
                break
            m = HEADER.fullmatch(head)
            if m is None:
                sys.exit("%s: no record header at offset %d" % (path, pos))
            length = int(m.group(2), 16)
            end = pos + 74 + length
            if end > len(data):
                break
            yield m.group(1).decode(), data[pos + 74:end]
            pos = end


def decompress(frame):
    return subprocess.run(["zstd", "-dcq"], input=frame, check=True,
                          stdout=subprocess.PIPE).stdout


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, spool = sys.argv[1], sys.argv[2]
    if cmd == "list" and len(sys.argv) == 3:
        for sha, _ in records(spool):
            print(sha)
    elif cmd == "body" and len(sys.argv) == 4:
        for sha, frame in records(spool):
            if sha == sys.argv[3]:
                sys.stdout.buffer.write(decompress(frame))
                return
        sys.exit("no record of %s in %s" % (sys.argv[3], spool))
    elif cmd == "check" and len(sys.argv) == 4:
        frames = {}
        for sha, frame in records(spool):
            frames.setdefault(sha, frame)
        missing = damaged = 0
        with open(sys.argv[3]) as f:
            for line in f:
                sha = line.strip()
                if not sha:
                    continue
                if sha not in frames:
                    missing += 1
                elif hashlib.sha256(
                        decompress(frames[sha])).hexdigest() != sha:
                    damaged += 1
        print("missing %d damaged %d" % (missing, damaged))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
