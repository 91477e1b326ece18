#!/bin/bash
# curl fetches a proxy-judge page through every kind of proxy port
# (HTTP proxy, SOCKS4a, SOCKS5 with remote names) and must see the echo
# an elite proxy gives: its own User-Agent, the sensor's address as
# REMOTE_ADDR, and no Via or X-Forwarded-For.  Then proxychains4 chains
# two of the sensor's ports (strict_chain) to reach the judge, and the
# event must list both hops.  The judge host name is never resolved.
. "$TESTS/integration/lib.sh"

read -r socks http <<<"$(free_ports 2 | tr '\n' ' ')"
write_config "$WORK/sensor.conf" \
    "[listener socks]
port = $socks
service-port = 1080" \
    "[listener http]
port = $http
service-port = 3128"
start_sensor "$WORK/sensor.conf" "$http"

url=http://judge.test.example/azenv.php

# check_echo NAME FILE: FILE contains a judge page fetched with agent NAME.
check_echo() {
	local name=$1 page=$2
	if grep -qx "HTTP_USER_AGENT = judge-agent/$name" "$page" &&
	    grep -qx "REMOTE_ADDR = 127.0.0.1" "$page" &&
	    grep -qx "HTTP_HOST = judge.test.example" "$page"; then
		pass "$name: elite echo with its own User-Agent"
	else
		fail "$name: no elite echo in: $(head -c 600 "$page")"
	fi
	if grep -qiE "VIA|FORWARDED" "$page"; then
		fail "$name: proxy fields in the echo: $(grep -iE 'VIA|FORWARDED' "$page")"
	else
		pass "$name: no Via, X-Forwarded-For or Forwarded"
	fi
}

# fetch NAME CURL_ARGS...: the judge page through one proxy.
fetch() {
	local name=$1
	shift
	if env -u http_proxy -u HTTP_PROXY -u ALL_PROXY -u all_proxy \
	    curl -sS --max-time 20 -A "judge-agent/$name" \
	    -D "$WORK/$name.head" -o "$WORK/$name.html" "$@" "$url" \
	    2>"$WORK/$name.err"; then
		pass "curl through $name"
		check_echo "$name" "$WORK/$name.html"
		expect_eq "$name Server field" "Server: squid/3.5.27" \
		    "$(grep -i '^Server:' "$WORK/$name.head" | tr -d '\r')"
	else
		fail "curl through $name: $(cat "$WORK/$name.err")"
	fi
}

fetch http --proxy "http://127.0.0.1:$http"
fetch socks4a --socks4a "127.0.0.1:$socks"
fetch socks5h --socks5-hostname "127.0.0.1:$socks"

# Two of the sensor's own ports chained: SOCKS5, then the HTTP proxy,
# which proxychains asks to CONNECT to the judge.
printf '%s\n' strict_chain proxy_dns quiet_mode \
    'tcp_read_time_out 15000' 'tcp_connect_time_out 8000' \
    '[ProxyList]' "socks5 127.0.0.1 $socks" "http 127.0.0.1 $http" \
    >"$WORK/proxychains.conf"
if env -u http_proxy -u HTTP_PROXY -u ALL_PROXY -u all_proxy \
    strace -f -e trace=connect -o "$WORK/strace-chain.txt" \
    proxychains4 -f "$WORK/proxychains.conf" \
    curl -sS --max-time 20 -A "judge-agent/chain" -o "$WORK/chain.html" \
    "$url" 2>"$WORK/chain.err"; then
	pass "curl through a chain of two sensor ports"
	check_echo chain "$WORK/chain.html"
else
	fail "curl through the chain: $(cat "$WORK/chain.err")"
fi
expect_eq "chain: addresses contacted besides 127.0.0.1:$socks" "" \
    "$(grep -oE 'sin_port=htons\([0-9]+\), sin_addr=inet_addr\("[^"]+"\)' \
    "$WORK/strace-chain.txt" | grep -v "htons($socks), sin_addr=inet_addr(\"127.0.0.1\")" |
    sort -u | tr '\n' ' ' | sed 's/ *$//')"
if grep -qE "connect\(.*htons\($socks\).*127\.0\.0\.1" "$WORK/strace-chain.txt"; then
	pass "chain: curl connected to the first proxy"
else
	fail "chain: strace saw no connect to 127.0.0.1:$socks"
fi

stop_sensor

# The judge request that came through the chain, from the events.
expect_eq "chain event" \
    "2 socks5:127.0.0.1:$http http:judge.test.example:80 True" \
    "$(cat "$WORK"/spool/events/* | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event.action"] == "proxy.request" and \
            "User-Agent: judge-agent/chain" in e.get("http.request.headers", []):
        print(e["proxy.hops"], " ".join(e["proxy.chain"]), e["proxy.probe"])')"
expect_eq "judge requests marked as probes" 4 \
    "$(cat "$WORK"/spool/events/* | grep -c '"proxy.probe":true')"

# After ingest the judge checks are counted, and no email.
ingest
expect_eq "chain row" "2|[\"socks5:127.0.0.1:$http\",\"http:judge.test.example:80\"]" \
    "$(sql "SELECT hops || '|' || chain FROM proxy_request
    WHERE probe = 1 AND hops = 2")"
expect_eq "report judge checks" "emails=0 probe_messages=0 judge_checks=4" \
    "$("$SPAMPOT" report --db "$WORK/spampot.db" --format json |
    python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print(" ".join("%s=%s" % (k, s[k])
               for k in ("emails", "probe_messages", "judge_checks")))')"
finish
