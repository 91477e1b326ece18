#!/bin/bash
# SOCKS and PROXY headers whose length fields promise more than is
# sent, or that never end: a SOCKS5 greeting announcing 255 methods, a
# SOCKS5 domain of 255 bytes cut short, a SOCKS4 user id with no NUL,
# a PROXY v2 header announcing 65535 bytes and a PROXY v1 line with no
# end, from the relay the PROXY listener trusts.  The sensor must close
# every one within the handshake timeout (3 s here), or at once when
# the header is over its bound.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run lying --addresses 10 --seconds 12 --close-within 8
for name in socks5-nmethods socks5-domain socks4-userid proxy-v2-length \
    proxy-v1-endless; do
	expect_eq "$name connections left open" 0 \
	    "$(flood_stat "not_closed_$name")"
	held=$(flood_stat "held_max_seconds_$name")
	if python3 -c "import sys; sys.exit(not 0 <= float(sys.argv[1]) <= 6)" "$held"; then
		pass "$name closed within $held s"
	else
		fail "$name: held $held s (expected closed within 6 s)"
	fi
done
at_least "lying connections made" 10 "$(flood_stat connections)"
flood_stop_and_count
at_least "sessions ended as protocol errors" 2 \
    "$(event_count session.end/protocol-error)"
finish
