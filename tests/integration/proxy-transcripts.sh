#!/bin/bash
# Golden transcripts of the proxy dialogues (tests/transcripts/proxy-*)
# against a live sensor: SOCKS ones on a proxy port, HTTP ones on
# another, byte for byte.  Also checks that the runner itself fails on
# a transcript that does not match, so a broken runner cannot pass.
. "$TESTS/integration/lib.sh"

read -r socks http <<<"$(free_ports 2 | tr '\n' ' ')"
write_config "$WORK/sensor.conf" \
    "tunnel-accept-ports = 8443" \
    "[listener socks]
port = $socks
service-port = 1080" \
    "[listener http]
port = $http
service-port = 8080"
start_sensor "$WORK/sensor.conf" "$http"

runner="$TESTS/integration/proxy_transcript.py"
if python3 "$runner" 127.0.0.1 "$socks" "$TESTS"/transcripts/proxy-socks*.txt; then
	pass "SOCKS transcripts"
else
	fail "SOCKS transcripts"
fi
if python3 "$runner" 127.0.0.1 "$http" "$TESTS"/transcripts/proxy-http*.txt; then
	pass "HTTP transcripts"
else
	fail "HTTP transcripts"
fi

# A transcript that cannot match must fail: the runner is not blind.
printf '%s\n' '# A refused CONNECT claimed to succeed.' \
    'C: CONNECT irc.test.example:6667 HTTP/1.1' 'C: ' \
    'S: HTTP/1.1 200 Connection established' >"$WORK/wrong.txt"
if python3 "$runner" 127.0.0.1 "$http" "$WORK/wrong.txt" >/dev/null; then
	fail "runner accepted a transcript that cannot match"
else
	pass "runner rejects a mismatch"
fi

# A rejected client that sends more than the sensor reads before its
# reply still gets the whole 400 and a clean end of stream.  Closing
# with input unread would make the kernel send a reset instead.
expect_eq "reply and end after unread input" "400 EOF" "$(python3 - \
    "$http" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HELLO there\r\n\r\n" + b"x" * 40000)
got = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    end = "EOF"
except ConnectionResetError:
    end = "reset"
print(got.split(b" ")[1].decode() if b" " in got else "nothing", end)
PY
)"

# The wait for the client's end of stream has a deadline, so a byte
# now and then must not keep the connection open.
expect_eq "trickle after the reply cut off" "cut" "$(python3 - \
    "$http" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HELLO trickle\r\n\r\n")
s.recv(65536)
end = time.monotonic() + 10
try:
    while time.monotonic() < end:
        s.send(b"x")
        time.sleep(0.2)
    print("open after 10 s")
except OSError:
    print("cut")
PY
)"
stop_sensor

# The events the dialogues left: judge checks are probes, each chain
# lists its hops, and the sink tunnel counted what the client sent.
events() {
	cat "$WORK"/spool/events/* | python3 -c "$1"
}
expect_eq "judge requests marked as probes" 2 "$(events '
import json, sys
print(sum(1 for l in sys.stdin
          for e in [json.loads(l)]
          if e.get("url.full", "").endswith("/azenv.php")
          and e.get("proxy.probe") is True))')"
expect_eq "chained judge request hops" \
    '2 ["socks5:127.0.0.1:8080", "http:judge.test.example:80"]' "$(events '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("proxy.chain", [""])[0:1] == ["socks5:127.0.0.1:8080"] and \
            e.get("proxy.command") == "GET":
        print(e["proxy.hops"], json.dumps(e["proxy.chain"]))')"
expect_eq "chain to the SOCKS listener" \
    '2 ["http:127.0.0.1:1080", "socks5:mx.test.example:25"]' "$(events '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("proxy.chain", [""])[0:1] == ["http:127.0.0.1:1080"] and \
            e.get("proxy.hops") == 2:
        print(e["proxy.hops"], json.dumps(e["proxy.chain"]))')"
expect_eq "sink tunnel bytes and first bytes" "10 16030100050100000103" \
    "$(events '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e["event.action"] == "proxy.tunnel":
        print(e["tunnel.bytes"], e["tunnel.first_bytes"])')"
expect_eq "chunked POST body" "hello 5 False" "$(events '
import base64, json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("url.full") == "http://form.test.example/submit":
        print(base64.b64decode(e["http.request.body"]).decode(),
              e["http.request.body_size"], e["http.request.body_truncated"])')"
finish
