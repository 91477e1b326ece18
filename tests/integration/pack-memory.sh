#!/bin/bash
# A burst of large messages that compress poorly grows the buffer in
# which the sensor compresses a batch's bodies for its pack.  Once the
# burst is committed, that memory is freed, not held until the sensor
# stops.
. "$TESTS/integration/lib.sh"

# ASan keeps freed memory in quarantine (256 MiB by default), which
# would hide what the sensor itself frees; keep it small.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

BURST=24

start_smtp_sensor

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$SENSOR_PID/status"
}

peak_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$SENSOR_PID/status"
}

before=$(rss_kib)
# Each client sends a different body of about 10 MB of random bytes,
# and all of them end it at the same moment.
python3 - "$smtp" "$BURST" >"$WORK/burst.out" <<'PY'
import os, socket, sys, threading

port, count = int(sys.argv[1]), int(sys.argv[2])
noise = bytes(b for b in os.urandom(11_000_000) if b not in b"\r\n.")
body = b"\r\n".join(noise[i:i + 900] for i in range(0, len(noise), 900))
body = body[:10_000_000] + b"\r\n"
replies = []

def reply(f):
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            return line

def client(n):
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        f = s.makefile("rb")
        reply(f)
        for cmd in (b"EHLO burst.example", b"MAIL FROM:<a@burst.example>",
                    b"RCPT TO:<b@burst.example>", b"DATA"):
            s.sendall(cmd + b"\r\n")
            reply(f)
        s.sendall(b"X-Burst: %d\r\n" % n + body)
        # Every body ends at once, so that one batch commits them all.
        barrier.wait()
        s.sendall(b".\r\n")
        replies.append(reply(f)[:3].decode())

barrier = threading.Barrier(count)
threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(replies))
PY
expect_eq "messages of the burst acknowledged" "$BURST" \
    "$(grep -c '^250' "$WORK/burst.out" || true)"
# The burst's bodies wait in memory, within the sensor's body budget
# of 256 MiB (SMTP_BODY_MEMORY_MAX), and the commit thread frees each
# copy once it is compressed.  One burst stays under 320 MiB even when
# the thread keeps all of a batch's records at once.  PACK_RECORDS_KEEP_MAX
# bounds a second burst that arrives meanwhile, which this test does
# not time.
peak=$((($(peak_kib) - before) / 1024))
if [ "$peak" -le 320 ]; then
	pass "peak memory during the burst: +$peak MiB (at most 320)"
else
	fail "peak memory during the burst: +$peak MiB, over 320"
fi
sleep 2
after=$(rss_kib)
growth=$(((after - before) / 1024))
if [ "$growth" -le 48 ]; then
	pass "memory after the burst grew by $growth MiB (at most 48)"
else
	fail "memory after the burst grew by $growth MiB, over 48"
fi

stop_sensor
finish
