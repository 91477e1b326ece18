#!/bin/bash
# A write of events that fails on a full disk must leave no cut line in
# the events file.  On a tmpfs, such a write is often short: it fills
# the file's last page, then fails.  A message acknowledged once room
# is made again must then have its event intact, not appended to that
# cut line, where ingest drops it as invalid JSON.
#
# Every message carries the same body, so that after the first one
# only events are written.  A session is opened while the disk is full,
# and its message is sent once the disk has room again, so that its
# message.stored line is the first one written after the failure.
# The spool is an 8 MiB tmpfs with min-free-disk-mb = 0, which needs
# root.
. "$TESTS/integration/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: mounting a tmpfs for the spool needs root" >&2
	exit 77
fi

mount_tmpfs "$WORK/spool" 8m

start_smtp_sensor "min-free-disk-mb = 0"

# The client prints one line per message: "ack N", or "fail N REPLY".
python3 - "$smtp" "$WORK/spool/filler" >"$WORK/client.log" 2>&1 <<'PY' ||
import os, socket, subprocess, sys

port, filler = int(sys.argv[1]), sys.argv[2]
BODY = b"Subject: same offer\r\n\r\nThe same body every time.\r\n.\r\n"

def reply(f):
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line.decode(errors="replace").strip()

def open_session(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    reply(f)
    for cmd in (b"EHLO spam%d.example" % n, b"MAIL FROM:<a@spam.example>",
                b"RCPT TO:<b@target.example>"):
        s.sendall(cmd + b"\r\n")
        reply(f)
    return s, f

def finish_message(n, s, f):
    s.sendall(b"DATA\r\n")
    reply(f)
    s.sendall(BODY)
    r = reply(f)
    s.sendall(b"QUIT\r\n")
    reply(f)
    s.close()
    print(("ack %d" if r.startswith("250") else "fail %d " + r) % n,
          flush=True)
    return r.startswith("250")

def send(n):
    s, f = open_session(n)
    return finish_message(n, s, f)

send(0)
# Fill the disk: dd stops at ENOSPC with an error, as it should.
subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=4096"],
               stderr=subprocess.DEVNULL)
for n in range(1, 40):
    if not send(n):
        break
else:
    sys.exit("no message failed on the full disk")
pending = open_session(100)
os.unlink(filler)
finish_message(100, *pending)
send(101)
PY
    fail "SMTP client: $(tail -n 3 "$WORK/client.log")"
stop_sensor

acked=$(grep -c '^ack' "$WORK/client.log" || true)
if grep -q '^fail' "$WORK/client.log"; then
	pass "a message failed on the full disk: $(grep -m1 '^fail' "$WORK/client.log")"
else
	fail "no message failed on the full disk"
fi
grep -q '^ack 100$' "$WORK/client.log" ||
    fail "the message sent after making room was not acknowledged"

bad=$(cat "$WORK"/spool/events/*.jsonl | python3 -c '
import json, sys
bad = 0
for line in sys.stdin:
    try:
        json.loads(line)
    except ValueError:
        bad += 1
print(bad)')
expect_eq "invalid lines in the events files" 0 "$bad"

ingest
expect_eq "messages in the database" "$acked" \
    "$(sql 'SELECT count(*) FROM message')"
finish
