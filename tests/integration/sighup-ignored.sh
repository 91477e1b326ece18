#!/bin/bash
# SIGHUP must neither stop the sensor nor cut a session short: the
# configuration is read once, so there is nothing to reload, and a lost
# terminal must not end a capture.  A session open across the signal
# still gets its 250, a new one too, and the sensor logs why it went
# on.
. "$TESTS/integration/lib.sh"

start_smtp_sensor

# One session that is mid-dialogue when the signal arrives.
python3 - "$smtp" >"$WORK/client.log" 2>&1 <<'PY' &
import socket, sys, time

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")

def reply():
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line.decode(errors="replace").strip()

reply()
for cmd in (b"EHLO client.example", b"MAIL FROM:<a@client.example>",
            b"RCPT TO:<b@target.example>"):
    s.sendall(cmd + b"\r\n")
    reply()
print("waiting", flush=True)
time.sleep(1.5)
s.sendall(b"DATA\r\n")
reply()
s.sendall(b"Subject: across the signal\r\n\r\nbody\r\n.\r\n")
print(reply(), flush=True)
PY
client=$!

for _ in $(seq 100); do
	grep -q waiting "$WORK/client.log" && break
	sleep 0.05
done
kill -HUP "$SENSOR_PID"
wait "$client" || true
if running "$SENSOR_PID"; then
	pass "the sensor runs after SIGHUP"
else
	fail "the sensor died on SIGHUP"
fi
expect_eq "reply to the message sent across the signal" 250 \
    "$(tail -n 1 "$WORK/client.log" | cut -c1-3)"
if swaks --server "127.0.0.1:$smtp" --from a@client.example \
    --to b@target.example --silent 2 >"$WORK/swaks.log" 2>&1; then
	pass "a new session after SIGHUP delivers"
else
	fail "a new session after SIGHUP: $(tail -n 3 "$WORK/swaks.log")"
fi
if grep -q "SIGHUP ignored" "$WORK/spampotd.log"; then
	pass "the log says SIGHUP was ignored"
else
	fail "no log line for SIGHUP"
fi
stop_sensor
finish
