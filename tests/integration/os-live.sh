#!/bin/bash
# The operating system of live clients whose SYNs are crafted: a
# Windows 7 stack, a FreeBSD 9 stack and a stack that matches no p0f
# entry each send one email to a real spampotd over a whole TCP handshake, so
# the signature comes from the kernel's saved SYN (TCP_SAVED_SYN) as in
# production.  The report must count one email as Windows, one as Unix
# with the FreeBSD label and one as Unknown.
#
# On plain loopback the kernel would reset such a handshake, because
# the crafted SYN has no socket on the client side.  So the test makes
# its own network namespace with only lo and a TUN device, 192.0.2.1/24
# (a documentation range) on the TUN and the sensor listening there.
# tun_client.py, in the namespace too, plays the clients 192.0.2.7,
# .9 and .13: it writes their packets to the TUN and reads the
# kernel's answers from it.  The namespace has no other interface and
# no default route, which the test checks, so no packet can leave it.
# Creating a namespace needs root: the test is skipped otherwise.
if [ "$(id -u)" -ne 0 ]; then
	echo "os-live: skipped, creating a network namespace needs root"
	exit 77
fi
if ! /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
	echo "os-live: skipped, /usr/bin/python3 has no scapy (python3-scapy)"
	exit 77
fi
. "$TESTS/integration/lib.sh"

NS=spampot-os-$$
TUN=spt0
SERVER=192.0.2.1
WINDOWS_IP=192.0.2.7
FREEBSD_IP=192.0.2.9
ODD_IP=192.0.2.13

in_ns() {
	ip netns exec "$NS" "$@"
}

# The sensor runs inside the namespace, so it is stopped first.
cleanup_namespace() {
	if [ -n "$SENSOR_PID" ]; then
		kill -TERM "$SENSOR_PID" 2>/dev/null || true
		wait "$SENSOR_PID" 2>/dev/null || true
		SENSOR_PID=
	fi
	ip netns delete "$NS" 2>/dev/null || true
	cleanup
}
trap cleanup_namespace EXIT
trap 'exit 1' TERM INT

if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
	echo "os-live: skipped, cannot create a network namespace:" \
	    "$(cat "$WORK/netns.err")"
	exit 77
fi
in_ns ip link set lo up
# Without IPv6 the TUN carries only the clients' packets.
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
in_ns ip tuntap add dev "$TUN" mode tun
in_ns ip address add "$SERVER/24" dev "$TUN"
in_ns ip link set "$TUN" up

# No packet may leave the namespace: abort before anything is sent if
# it has an interface or a route the test did not make.
links=$(in_ns ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')
if [ "$links" != "lo $TUN " ]; then
	echo "os-live: unexpected interfaces in the namespace: $links" >&2
	exit 1
fi
# The TUN's own subnet is the only route ("linkdown" until a client
# attaches to the TUN).
routes=$(in_ns ip route show; in_ns ip -6 route show)
if [ "$(echo "$routes" | cut -d' ' -f1-3)" != "192.0.2.0/24 dev $TUN" ]; then
	echo "os-live: unexpected routes in the namespace: $routes" >&2
	exit 1
fi

write_config "$WORK/sensor.conf" \
    "[listener smtp]
address = $SERVER
port = 25
service = smtp"
# nsenter execs the sensor, where ip netns exec would fork and leave
# SENSOR_PID naming ip, not the sensor.
nsenter --net="/run/netns/$NS" "$SPAMPOTD" -c "$WORK/sensor.conf" \
    2>>"$WORK/spampotd.log" &
SENSOR_PID=$!
# Poll with ss, because a test connection would be recorded as a session.
for _ in $(seq 200); do
	[ -n "$(in_ns ss -Hltn "sport = :25")" ] && break
	sleep 0.05
done
if [ -z "$(in_ns ss -Hltn "sport = :25")" ]; then
	cat "$WORK/spampotd.log" >&2
	echo "os-live: the sensor does not listen on $SERVER:25" >&2
	exit 1
fi

for client in "windows $WINDOWS_IP" "freebsd $FREEBSD_IP" "odd $ODD_IP"; do
	read -r profile address <<<"$client"
	in_ns /usr/bin/python3 "$TESTS/integration/tun_client.py" \
	    "$TUN" "$address" "$SERVER" 25 "$profile" \
	    >"$WORK/client-$profile.log" 2>&1 ||
		fail "$profile client: $(tail -n 3 "$WORK/client-$profile.log")"
done
stop_sensor

"$SPAMPOT" ingest --db "$WORK/spampot.db" "$WORK/spool" \
    >/dev/null 2>"$WORK/ingest.err" || fail "ingest: $(cat "$WORK/ingest.err")"

# session_of ADDRESS COLUMNS: COLUMNS of the session from ADDRESS.
session_of() {
	sql "SELECT $2 FROM session WHERE source_ip = '$1'"
}
expect_eq "Windows session" \
    "1|4:128+0:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0" \
    "$(session_of "$WINDOWS_IP" "messages, source_os_signature")"
expect_eq "Windows class" "Windows|Windows 7 or 8|0|0" \
    "$(session_of "$WINDOWS_IP" "os_class, os_label, os_generic,
	os_fuzzy")"
expect_eq "Windows address" "Windows|Windows 7 or 8" \
    "$(sql "SELECT os_class, os_label FROM ip WHERE ip = '$WINDOWS_IP'")"
expect_eq "FreeBSD session" \
    "1|4:64+0:0:1460:65535,6:mss,nop,ws,sok,ts:df,id+:0" \
    "$(session_of "$FREEBSD_IP" "messages, source_os_signature")"
expect_eq "FreeBSD class" "Unix|FreeBSD 9.x or newer|0|0" \
    "$(session_of "$FREEBSD_IP" "os_class, os_label, os_generic,
	os_fuzzy")"
expect_eq "FreeBSD address" "Unix|FreeBSD 9.x or newer" \
    "$(sql "SELECT os_class, os_label FROM ip WHERE ip = '$FREEBSD_IP'")"
# The odd stack has a signature that matches nothing, which differs
# from a session without one.
expect_eq "odd session" "1|1" \
    "$(session_of "$ODD_IP" "messages, source_os_signature <> ''")"
expect_eq "odd class" "Unknown|" \
    "$(session_of "$ODD_IP" "coalesce(os_class, 'Unknown'), os_label")"
expect_eq "sessions" 3 "$(sql 'SELECT count(*) FROM session')"

# table_rows REPORT_JSON TABLE: the rows of TABLE as "label/class=emails".
table_rows() {
	python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))[sys.argv[2]]
print(" ".join(sorted(
    "%s/%s=%d" % (r.get("label", "-"), r["class"], r["emails"])
    for r in rows)))' "$@"
}
"$SPAMPOT" report --db "$WORK/spampot.db" --format json >"$WORK/report.json" ||
	fail "report --format json"
expect_eq "source OS classes" "-/Unix=1 -/Unknown=1 -/Windows=1" \
    "$(table_rows "$WORK/report.json" source_os)"
"$SPAMPOT" report --db "$WORK/spampot.db" --detail --format json \
    >"$WORK/detail.json" || fail "report --detail --format json"
expect_eq "source OS labels" \
    "FreeBSD 9.x or newer/Unix=1 Windows 7 or 8/Windows=1 unknown/Unknown=1" \
    "$(table_rows "$WORK/detail.json" source_os_labels)"

# The text report a person reads shows the labels too.
"$SPAMPOT" report --db "$WORK/spampot.db" --detail >"$WORK/detail.txt" ||
	fail "report --detail"
for label in "Windows 7 or 8" "FreeBSD 9.x or newer"; do
	if grep -q "$label" "$WORK/detail.txt"; then
		pass "text report shows $label"
	else
		fail "text report lacks $label"
	fi
done
finish
