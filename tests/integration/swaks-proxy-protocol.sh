#!/bin/bash
# swaks talks to the SMTP listeners directly and with HAProxy PROXY
# headers.  A listener that trusts 127.0.0.1 records the source address
# the header claims.  A listener that does not trust it must ignore the
# claim, and a trusting listener must reject a client with no header.
# The claimed addresses are documentation addresses: only data.
. "$TESTS/integration/lib.sh"

read -r trusting plain <<<"$(free_ports 2 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener trusting]
port = $trusting
service = smtp
service-port = 25
proxy-protocol-from = 127.0.0.1" \
    "[listener plain]
port = $plain
service = smtp
service-port = 587"
start_sensor "$WORK/sensor.conf" "$plain"

# run_swaks NAME PORT [PROXY OPTIONS...]: one message to victim-NAME;
# swaks' exit status is returned and its transcript kept.
run_swaks() {
	local name=$1 port=$2
	shift 2
	swaks --server "127.0.0.1:$port" --timeout 10 \
	    --helo "spam-$name.example" --from "sender-$name@spam-origin.example" \
	    --to "victim-$name@target.example" --header "Subject: $name" \
	    "$@" >"$WORK/swaks-$name.log" 2>&1
}

# expect_sent NAME PORT [PROXY OPTIONS...]
expect_sent() {
	if run_swaks "$@"; then
		pass "swaks $1 sent"
	else
		fail "swaks $1 failed: $(tail -n 3 "$WORK/swaks-$1.log")"
	fi
}

# expect_rejected NAME PORT [PROXY OPTIONS...]
expect_rejected() {
	if run_swaks "$@"; then
		fail "swaks $1 got its message accepted"
	else
		pass "swaks $1 failed as expected"
	fi
}

v1() {
	printf '%s\n' --proxy-version 1 --proxy-family "$1" \
	    --proxy-source "$2" --proxy-source-port "$3" \
	    --proxy-dest "$4" --proxy-dest-port 25
}

v2() {
	printf '%s\n' --proxy-version 2 --proxy-family "$1" \
	    --proxy-source "$2" --proxy-source-port "$3" \
	    --proxy-dest "$4" --proxy-dest-port 25
}

expect_sent direct "$plain"
mapfile -t opts < <(v1 TCP4 198.51.100.7 40001 192.0.2.25)
expect_sent v1 "$trusting" "${opts[@]}"
mapfile -t opts < <(v1 TCP6 2001:db8::77 40002 2001:db8::25)
expect_sent v1-inet6 "$trusting" "${opts[@]}"
mapfile -t opts < <(v2 AF_INET 203.0.113.9 40003 192.0.2.25)
expect_sent v2 "$trusting" "${opts[@]}"
mapfile -t opts < <(v2 AF_INET6 2001:db8::99 40004 2001:db8::25)
expect_sent v2-inet6 "$trusting" "${opts[@]}"

# A header from an untrusted peer is SMTP noise, not an address, and a
# trusted relay that sends no header is broken: neither gets a message in.
mapfile -t opts < <(v1 TCP4 198.51.100.66 40005 192.0.2.25)
expect_rejected v1-untrusted "$plain" "${opts[@]}"
mapfile -t opts < <(v2 AF_INET 203.0.113.66 40006 192.0.2.25)
expect_rejected v2-untrusted "$plain" "${opts[@]}"
expect_rejected no-header "$trusting" --timeout 3

stop_sensor
ingest

expect_eq "messages" 5 "$(sql 'SELECT count(*) FROM message')"
# check NAME SOURCE_IP SOURCE_PORT RELAY_IP SERVICE_PORT; a source port
# of "any" stands for the kernel's choice.
check() {
	local name=$1 port=$3
	expect_eq "$name message source" "$2" \
	    "$(sql "SELECT source_ip FROM message
	        WHERE mail_from = 'sender-$name@spam-origin.example'")"
	[ "$port" = any ] && port="port"
	expect_eq "$name session" "$2|$3|$4|$5" \
	    "$(sql "SELECT s.source_ip,
	        CASE WHEN '$port' = 'port' THEN 'any' ELSE s.source_port END,
	        coalesce(s.relay_ip, ''), s.service_port
	        FROM session s JOIN message m USING (sensor_id, session_id)
	        WHERE m.mail_from = 'sender-$name@spam-origin.example'")"
}
check direct 127.0.0.1 any "" 587
check v1 198.51.100.7 40001 127.0.0.1 25
check v1-inet6 2001:db8::77 40002 127.0.0.1 25
check v2 203.0.113.9 40003 127.0.0.1 25
check v2-inet6 2001:db8::99 40004 127.0.0.1 25

expect_eq "untrusted claims recorded anywhere" 0 \
    "$(sql "SELECT count(*) FROM session WHERE source_ip IN
        ('198.51.100.66', '203.0.113.66')")"
expect_eq "untrusted messages" 0 \
    "$(sql "SELECT count(*) FROM message WHERE mail_from IN
        ('sender-v1-untrusted@spam-origin.example',
         'sender-v2-untrusted@spam-origin.example',
         'sender-no-header@spam-origin.example')")"
expect_eq "sessions relayed" 4 \
    "$(sql "SELECT count(*) FROM session WHERE relay_ip = '127.0.0.1'")"
finish
