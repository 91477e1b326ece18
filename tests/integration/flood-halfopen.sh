#!/bin/bash
# Half-open floods.  First 1000 connections to the proxy port from 20
# addresses that never send a byte: the handshake timeout (3 s here)
# must close each, and each is reopened at once.  Then, where hping3
# is installed and we are root, a bounded SYN flood at the SMTP port
# from 127.0.0.1 itself (no spoofed sources, so no reply leaves the
# host).  A good client must keep sending mail throughout.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run halfopen --connections 1000 --addresses 20 --seconds 12
at_least "connections closed by the sensor" 900 \
    "$(flood_stat closed_by_sensor)"
# Handshake timeout plus libevent's timer slack and the poll interval.
held=$(flood_stat held_max_seconds)
if python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= 6)" "$held"; then
	pass "longest silent connection held $held s (at most 6)"
else
	fail "a silent connection was held $held s, past the 3 s timeout"
fi

if command -v hping3 >/dev/null && [ "$(id -u)" -eq 0 ]; then
	# 20000 SYNs at 10 per millisecond: about two seconds.
	timeout 30 hping3 -q -S -p "$SMTP_PORT" -i u100 -c 20000 127.0.0.1 \
	    >"$WORK/hping3.log" 2>&1 &
	hping=$!
	flood_run slowloris --addresses 1 --per-address 1 --seconds 6 \
	    --warmup 0.5
	wait "$hping" || fail "hping3 failed: $(tail -n 3 "$WORK/hping3.log")"
else
	echo "skipped the SYN flood: needs hping3 and root"
fi

flood_stop_and_count
at_least "sessions ended by the handshake timeout" 900 \
    "$(event_count session.end/idle-timeout)"
finish
