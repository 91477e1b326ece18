#!/bin/bash
# A sensor stopped with SIGTERM while an SMTP session is under STARTTLS
# must still exit cleanly: status 0 and no leak report.  The session's
# TLS filter sends its last records and frees its bufferevents only from
# callbacks of the event loop, so the sensor must turn the loop once
# after it closes its sessions.  The client must get the shutdown reply,
# encrypted.  A session under TLS that ends while its last replies still
# wait to be sent must not crash the sensor either.
. "$TESTS/integration/lib.sh"

start_smtp_sensor
export PYTHONPATH="$TESTS/integration${PYTHONPATH:+:$PYTHONPATH}"

# The client prints "ready" once TLS is up, then the first reply that
# the sensor sends unasked, or "closed" if none came.
python3 - "$smtp" >"$WORK/client.log" 2>&1 <<'PY' &
import sys
from starttls_client import reply, starttls

plain, ctx = starttls(int(sys.argv[1]))
tls = ctx.wrap_socket(plain, server_hostname="mx.test-isp.example")
f = tls.makefile("rb")
tls.sendall(b"EHLO client.example\r\n")
reply(f)
print("ready", flush=True)
print(reply(f) or "closed", flush=True)
PY
client=$!

for _ in $(seq 100); do
	grep -q '^ready' "$WORK/client.log" && break
	sleep 0.1
done
expect_eq "client under TLS" ready "$(head -n 1 "$WORK/client.log")"
stop_sensor
wait "$client" || fail "TLS client: $(tail -n 3 "$WORK/client.log")"
expect_eq "shutdown reply under TLS" 421 \
    "$(sed -n 2p "$WORK/client.log" | cut -c1-3)"

# NOOP and QUIT go as two TLS records in one TCP segment, so that the
# sensor decrypts both in one read of the socket.  The QUIT closes the
# session while both replies still wait under the TLS filter, and the
# TLS filter must not call back into the freed session for the rest of
# that read.  The client prints the reply codes it got.
start_sensor "$WORK/sensor.conf" "$smtp"
expect_eq "NOOP and QUIT in one read under TLS" "250 221" "$(python3 - \
    "$smtp" 2>&1 <<'PY'
import ssl, sys
from starttls_client import starttls

plain, ctx = starttls(int(sys.argv[1]))
# Memory BIOs let the client choose how its TLS records are sent.
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname="mx.test-isp.example")

def receive():
    data = plain.recv(65536)
    if not data:
        incoming.write_eof()
    incoming.write(data)

while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        plain.sendall(outgoing.read())
        receive()
plain.sendall(outgoing.read())
tls.write(b"NOOP\r\n")
tls.write(b"QUIT\r\n")
plain.sendall(outgoing.read())
got = b""
try:
    while True:
        try:
            data = tls.read(65536)
        except ssl.SSLWantReadError:
            receive()
            continue
        if not data:
            break
        got += data
except (ssl.SSLError, OSError):
    pass
print(" ".join(line[:3].decode() for line in got.splitlines()) or "nothing")
PY
)"
stop_sensor
finish
