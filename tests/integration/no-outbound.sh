#!/bin/bash
# The sensor must never open a connection, whatever a client requests.
# It runs under strace while tunnel_probe.py asks its SOCKS4, SOCKS4a,
# SOCKS5 and HTTP proxies for tunnels to many ports, addresses and
# names (targets that are only data in the requests).  strace must see
# the sensor accept every probe and call connect() not once; tunnels to
# mail ports, to port 80 and to the sensor's own ports must be granted
# (each leads to an emulator) and the rest refused with the right codes.
. "$TESTS/integration/lib.sh"

read -r socks http <<<"$(free_ports 2 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener socks]
port = $socks
service-port = 1080" \
    "[listener http]
port = $http
service-port = 8080"

trace="$WORK/strace.txt"
# LeakSanitizer cannot run under ptrace, so the other tests check leaks.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    strace -f -qq -e trace=connect,accept,accept4 -o "$trace" \
    "$SPAMPOTD" -c "$WORK/sensor.conf" 2>>"$WORK/spampotd.log" &
strace_pid=$!
wait_port "$http"
# Signal the sensor itself: strace would only detach from it.
SENSOR_PID=$(pgrep -P "$strace_pid" -x spampotd || true)
if [ -z "$SENSOR_PID" ]; then
	fail "no spampotd under strace"
	finish
fi

if python3 "$TESTS/integration/tunnel_probe.py" --socks "$socks" \
    --http "$http" --served-ports "$socks,$http,1080,8080" \
    >"$WORK/probe.log" 2>&1; then
	pass "$(tail -n 1 "$WORK/probe.log")"
else
	grep -v '^ok:' "$WORK/probe.log" >&2
	fail "tunnel answers"
fi
summary=$(tail -n 1 "$WORK/probe.log")
field() { sed -n "s/.* \([0-9]*\) $1.*/\1/p" <<<"$summary"; }
requests=$(sed -n 's/^\([0-9]*\) requests.*/\1/p' <<<"$summary")
mail=$(field "mail tunnels")
http_tunnels=$(field "http tunnels")
chains=$(field chains)

stop_sensor
wait "$strace_pid" || true

accepts=$(grep -cE '^[0-9]+ +accept4?\(.*= [0-9]+$' "$trace" || true)
if [ -n "$requests" ] && [ "$accepts" -ge "$requests" ]; then
	pass "strace saw $accepts accepted connections"
else
	fail "strace saw $accepts accepted connections for ${requests:-no} requests"
fi
# Looking up the user to run as may query the local name service cache
# over a Unix socket, before any client is accepted.  That is not a
# network connection, but every other connect() is a failure.
grep 'connect(' "$trace" |
    grep -v 'sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"' \
    >"$WORK/connects.txt" || true
expect_eq "connect() calls by the sensor" 0 "$(wc -l <"$WORK/connects.txt")"
head -n 5 "$WORK/connects.txt" >&2

ingest
# Behind each HTTP tunnel and each chain the probe sends one GET, which
# the sensor records as a request of its own.
expect_eq "proxy requests recorded" "$((requests + http_tunnels + chains))" \
    "$(sql 'SELECT count(*) FROM proxy_request')"
expect_eq "tunnels recorded" "$((mail + http_tunnels))" \
    "$(sql "SELECT count(*) FROM proxy_request WHERE outcome = 'tunnel'")"
expect_eq "chains recorded" "$chains" \
    "$(sql "SELECT count(*) FROM proxy_request WHERE outcome = 'chain'")"
expect_eq "tunnels to ports other than 25, 587 and 80" 0 \
    "$(sql "SELECT count(*) FROM proxy_request WHERE outcome = 'tunnel'
        AND target_port NOT IN (25, 587, 80)")"
expect_eq "protocols seen" "http socks4 socks4a socks5" \
    "$(sql 'SELECT DISTINCT protocol FROM proxy_request ORDER BY 1' |
    tr '\n' ' ' | sed 's/ $//')"
finish
