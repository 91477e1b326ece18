#!/bin/bash
# Golden transcripts of the proxy dialogues (tests/transcripts/proxy-*)
# against a live sensor: SOCKS ones on a proxy port, HTTP ones on
# another, byte for byte.  Also checks that the runner itself fails on
# a transcript that does not match, so a broken runner cannot pass.
. "$TESTS/integration/lib.sh"

read -r socks http < <(free_ports 2 | tr '\n' ' ')
write_config "$WORK/sensor.conf" \
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

# A SOCKS transcript played on the HTTP port must not pass.
if python3 "$runner" 127.0.0.1 "$http" \
    "$TESTS/transcripts/proxy-socks4-refused.txt" >/dev/null; then
	fail "runner accepted a transcript that cannot match"
else
	pass "runner rejects a mismatch"
fi
finish
