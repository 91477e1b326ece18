#!/bin/bash
# nmap's open-proxy and open-relay scripts must rate the sensor's HTTP
# proxy, SOCKS proxy and SMTP ports as open, and strace must show that
# nmap sent nothing to any address but 127.0.0.1.
#
# Script arguments, and why:
# - proxy.url and proxy.pattern: by default the proxy scripts fetch
#   www.google.com and look for "Server: gws" (then wikipedia.org and
#   computerhistory.org), the real sites' own headers and text, which
#   a sensor that fetches nothing cannot return.  A judge URL whose
#   echo contains REMOTE_ADDR is what a proxy checker uses instead.
# - --dns-servers 127.0.0.1: socks-open-proxy resolves the test host
#   itself before asking the proxy, so fake_dns.py answers on loopback
#   with a TEST-NET address, which nobody connects to: the sensor only
#   pretends.  Binding port 53 needs root; without it that part is
#   skipped and said so.
# - smtp-open-relay needs none: its addresses only appear in the SMTP
#   dialogue and are never resolved.
# Scripts are forced with "+" because the random test ports match none
# of their port rules; -sT and -e lo keep the scan to plain loopback
# connections.
. "$TESTS/integration/lib.sh"

read -r socks http smtp <<<"$(free_ports 3 | tr '\n' ' ')"
write_config "$WORK/sensor.conf" \
    "[listener socks]
port = $socks
service-port = 1080" \
    "[listener http]
port = $http
service-port = 3128" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25"
start_sensor "$WORK/sensor.conf" "$smtp"

judge_args=proxy.url=http://judge.test.example/azenv.php,proxy.pattern=REMOTE_ADDR

# scan NAME PORT SCRIPT [NMAP_ARGS...]: nmap's output in $WORK/NAME.txt
scan() {
	local name=$1 port=$2 script=$3
	shift 3
	strace -f -e trace=connect,sendto,sendmsg -o "$WORK/strace-$name.txt" \
	    nmap -Pn -n -sT -e lo -p "$port" --script "+$script" "$@" \
	    127.0.0.1 >"$WORK/$name.txt" 2>&1 || true
	# Every IPv4 or IPv6 address nmap gave the kernel.
	local others
	others=$(grep -oE 'inet_addr\("[^"]+"\)|inet_pton\(AF_INET6, "[^"]+"' \
	    "$WORK/strace-$name.txt" | grep -v '"127\.0\.0\.1"' || true)
	expect_eq "$name: addresses besides 127.0.0.1" "" \
	    "$(echo "$others" | sort -u | tr '\n' ' ' | sed 's/ *$//')"
}

scan http "$http" http-open-proxy --script-args "$judge_args"
if grep -q "http-open-proxy: Potentially OPEN proxy" "$WORK/http.txt" &&
    grep -q "Methods supported: GET CONNECTION" "$WORK/http.txt"; then
	pass "http-open-proxy reports the HTTP proxy open (GET, CONNECT)"
else
	fail "http-open-proxy: $(cat "$WORK/http.txt")"
fi

# Without arguments the script still finds CONNECT open, since a
# tunnel to port 80 reaches the origin emulator.
scan http-default "$http" http-open-proxy
if grep -q "Potentially OPEN proxy" "$WORK/http-default.txt"; then
	pass "http-open-proxy with its default URLs reports open"
else
	fail "http-open-proxy defaults: $(cat "$WORK/http-default.txt")"
fi

if [ "$(id -u)" -eq 0 ] &&
    python3 -c 'import socket; s = socket.socket(socket.AF_INET,
        socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))' 2>/dev/null; then
	python3 "$TESTS/integration/fake_dns.py" 127.0.0.1 53 192.0.2.80 &
	dns_pid=$!
	sleep 0.3
	scan socks "$socks" socks-open-proxy --dns-servers 127.0.0.1 \
	    --script-args "$judge_args"
	kill "$dns_pid"
	wait "$dns_pid" 2>/dev/null || true
	if grep -q "status: open" "$WORK/socks.txt"; then
		pass "socks-open-proxy reports the SOCKS proxy open"
	else
		fail "socks-open-proxy: $(cat "$WORK/socks.txt")"
	fi
else
	echo "skip: socks-open-proxy needs root and a free 127.0.0.1:53 for its DNS query"
fi

scan smtp "$smtp" smtp-open-relay
if grep -q "smtp-open-relay: Server is an open relay" "$WORK/smtp.txt"; then
	pass "smtp-open-relay reports an open relay"
else
	fail "smtp-open-relay: $(cat "$WORK/smtp.txt")"
fi

stop_sensor
# Each judge fetch is a probe in the events, never spam.
probes=$(cat "$WORK"/spool/events/* | grep -c '"proxy.probe":true' || true)
if [ "$probes" -ge 1 ]; then
	pass "judge fetches recorded as probes ($probes)"
else
	fail "no judge fetch recorded as a probe"
fi
finish
