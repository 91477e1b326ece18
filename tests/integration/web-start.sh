#!/bin/bash
# spampot web's start-up errors and its log of failed requests, without
# a sensor or a browser.  A port that another socket holds, a file that
# is not a PEM certificate or key, and a key that does not belong to
# the certificate must each give one line with the cause and exit 1.
# A failed request's log line must carry its path, escaped and cut.
# Every address used is 127.0.0.1.
. "$TESTS/integration/lib.sh"

mkdir -p "$WORK/spool/events"
"$SPAMPOT" ingest --db "$WORK/spampot.db" --geo "$WORK/no-geo" \
    "$WORK/spool" >/dev/null 2>&1 || fail "ingest of an empty spool"

# start_fails NAME ARGS...: spampot web must exit 1 at once; its
# standard error is left in $WORK/NAME.err.
start_fails() {
	local name=$1 status=0
	shift
	timeout 10 "$SPAMPOT" web --db "$WORK/spampot.db" "$@" \
	    >/dev/null 2>"$WORK/$name.err" || status=$?
	expect_eq "$name: exit status" 1 "$status"
	expect_eq "$name: lines on standard error" 1 \
	    "$(wc -l <"$WORK/$name.err")"
}

# A port held by another listener.
read -r held free <<<"$(free_ports 2 | tr "\n" " ")"
python3 - "$held" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(30)
PY
HOLDER_PID=$!
wait_port "$held"
start_fails port-in-use --listen "127.0.0.1:$held"
grep -q "cannot listen on 127.0.0.1:$held: Address already in use" \
    "$WORK/port-in-use.err" || fail "port in use: $(cat "$WORK/port-in-use.err")"
kill "$HOLDER_PID" 2>/dev/null || true
wait "$HOLDER_PID" 2>/dev/null || true

# Certificates and keys that cannot serve TLS.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
	fail "openssl could not make a certificate"
openssl genrsa -out "$WORK/other-key.pem" 2048 >/dev/null 2>&1 ||
	fail "openssl could not make a key"
echo "not a certificate" >"$WORK/junk.pem"
start_fails bad-cert --listen "127.0.0.1:$free" \
    --cert "$WORK/junk.pem" --key "$WORK/key.pem"
grep -q "$WORK/junk.pem: invalid certificate" "$WORK/bad-cert.err" ||
	fail "bad certificate: $(cat "$WORK/bad-cert.err")"
start_fails bad-key --listen "127.0.0.1:$free" \
    --cert "$WORK/cert.pem" --key "$WORK/junk.pem"
grep -q "$WORK/junk.pem: invalid key" "$WORK/bad-key.err" ||
	fail "bad key: $(cat "$WORK/bad-key.err")"
start_fails other-key --listen "127.0.0.1:$free" \
    --cert "$WORK/cert.pem" --key "$WORK/other-key.pem"
grep -q "$WORK/other-key.pem: key does not match the certificate" \
    "$WORK/other-key.err" || fail "other key: $(cat "$WORK/other-key.err")"
start_fails missing-key --listen "127.0.0.1:$free" \
    --cert "$WORK/cert.pem" --key "$WORK/missing.pem"
grep -q "cannot read $WORK/missing.pem: No such file" "$WORK/missing-key.err" ||
	fail "missing key: $(cat "$WORK/missing-key.err")"

# The failure log: the path as sent, quotes and backslashes escaped,
# the query left out, and a long path cut.
"$SPAMPOT" web --db "$WORK/spampot.db" --listen "127.0.0.1:$free" \
    2>"$WORK/web.log" &
WEB_PID=$!
wait_port "$free"
python3 - "$free" <<'PY' || fail "raw requests"
import socket, sys
for path in ['/no"such\\page?token=secret', "/" + "a" * 400]:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Connection: close\r\n\r\n" % path).encode())
    while s.recv(4096):
        pass
    s.close()
PY
kill -TERM "$WEB_PID" 2>/dev/null || true
wait "$WEB_PID" 2>/dev/null || true
grep -qF 'request failed: method=GET path="/no\x22such\x5cpage" status=' \
    "$WORK/web.log" || fail "escaped path not logged: $(cat "$WORK/web.log")"
if grep -q 'secret' "$WORK/web.log"; then
	fail "the query reached the log"
fi
long=$(grep -o 'path="/aaa[a.]*"' "$WORK/web.log" || true)
expect_eq "logged length of a 401-byte path" 170 "${#long}"
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
    "$WORK"/*.err "$WORK/web.log"; then
	fail "sanitizer report from spampot web"
fi
finish
