#!/bin/bash
# proxychains4 pushes swaks through the sensor's SOCKS4, SOCKS5 and
# HTTP CONNECT proxies, to an address and to a name the proxy resolves.
# Each message must be captured with the protocol and target the client
# asked for, and strace must show that the only sockets swaks opened
# went to the sensor's own loopback port: nothing leaks around the hook.
. "$TESTS/integration/lib.sh"

read -r socks http <<<"$(free_ports 2 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener socks]
port = $socks
service-port = 1080" \
    "[listener http]
port = $http
service-port = 3128"
start_sensor "$WORK/sensor.conf" "$http"

# send NAME TYPE PORT TARGET_HOST TARGET_PORT
send() {
	local name=$1 type=$2 port=$3 host=$4 tport=$5
	local conf="$WORK/proxychains-$name.conf" trace="$WORK/strace-$name.txt"

	printf '%s\n' strict_chain proxy_dns quiet_mode \
	    'tcp_read_time_out 15000' 'tcp_connect_time_out 8000' \
	    '[ProxyList]' "$type 127.0.0.1 $port" >"$conf"
	if strace -f -e trace=connect,sendto,sendmsg -o "$trace" \
	    proxychains4 -f "$conf" \
	    swaks --server "$host:$tport" --timeout 10 \
	    --helo "spam-$name.example" --from "sender@spam-origin.example" \
	    --to "victim-$name@target.example" \
	    >"$WORK/swaks-$name.log" 2>&1; then
		pass "swaks through $name"
	else
		fail "swaks through $name: $(tail -n 3 "$WORK/swaks-$name.log")"
	fi
	# Every network address any process of the run gave the kernel.
	local others
	others=$(perl -ne 'next unless /AF_INET/;
	    my ($p) = /sin6?_port=htons\((\d+)\)/;
	    my ($a) = /(?:inet_addr\(|inet_pton\(AF_INET6, )"([^"]+)"/;
	    print "$a:$p\n"' "$trace" | grep -vx "127.0.0.1:$port" || true)
	expect_eq "$name addresses contacted besides 127.0.0.1:$port" "" \
	    "$(echo "$others" | tr '\n' ' ' | sed 's/ *$//')"
	expect_eq "$name connects to the proxy" 1 \
	    "$(grep -cE "connect\(.*htons\($port\).*127\.0\.0\.1" "$trace")"
}

send socks4-ip socks4 "$socks" 127.0.0.1 25
send socks4-name socks4 "$socks" mx.target.example 587
send socks5-ip socks5 "$socks" 127.0.0.1 25
send socks5-name socks5 "$socks" mx.target.example 587
send http-ip http "$http" 127.0.0.1 25
send http-name http "$http" mx.target.example 587

stop_sensor
ingest

expect_eq "messages" 6 "$(sql 'SELECT count(*) FROM message')"
# check NAME PROTOCOL TARGET SERVICE_PORT
check() {
	expect_eq "$1 message" "$2|$3|$4|spam-$1.example|1" \
	    "$(sql "SELECT protocol, proxy_target, service_port, helo,
	        rcpt_count FROM message
	        WHERE rcpt LIKE '%\"victim-$1@target.example\"%'")"
}
check socks4-ip socks4 127.0.0.1:25 1080
check socks4-name socks4a mx.target.example:587 1080
check socks5-ip socks5 127.0.0.1:25 1080
check socks5-name socks5 mx.target.example:587 1080
check http-ip http 127.0.0.1:25 3128
check http-name http mx.target.example:587 3128
expect_eq "proxy requests tunnelled" "6 6" \
    "$(sql "SELECT count(*), sum(outcome = 'tunnel') FROM proxy_request" |
    tr '|' ' ')"
finish
