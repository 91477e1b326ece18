#!/bin/bash
# curl sends mail with smtp:// through each of the sensor's proxy
# paths (SOCKS5 with local and remote names, SOCKS4a, HTTP CONNECT) and
# directly; every message must be in the database once, with a body
# equal byte for byte to what curl uploaded.
. "$TESTS/integration/lib.sh"

read -r smtp socks http <<<"$(free_ports 3 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25" \
    "[listener socks]
port = $socks
service-port = 1080" \
    "[listener http]
port = $http
service-port = 8080"
start_sensor "$WORK/sensor.conf" "$http"

# A message with CRLF line endings, a line that needs dot-stuffing and
# 8-bit text, so that byte-for-byte equality means something.
printf '%s\r\n' "From: <sender@spam-origin.example>" \
    "To: <victim@target.example>" "Subject: cheap pills" "" \
    "Dear friend," ".this line starts with a dot" "..and this with two" \
    "Ol$(printf '\xc3\xa1') mundo" "." "end" >"$WORK/message.eml"
want=$(sha256sum <"$WORK/message.eml" | cut -d' ' -f1)

# The target host names are never resolved: the sensor does not
# connect anywhere, and the remote-name modes hand the name over as is.
send() {
	local name=$1
	shift
	if curl -sS --max-time 20 "$@" \
	    --mail-from "sender@spam-origin.example" \
	    --mail-rcpt "victim-$name@target.example" \
	    --upload-file "$WORK/message.eml" 2>"$WORK/curl-$name.err"; then
		pass "curl $name"
	else
		fail "curl $name: $(cat "$WORK/curl-$name.err")"
	fi
}
send direct "smtp://127.0.0.1:$smtp"
send socks5 --socks5 "127.0.0.1:$socks" "smtp://127.0.0.1:25"
send socks5h --socks5-hostname "127.0.0.1:$socks" "smtp://mx.target.example:25"
send socks4a --socks4a "127.0.0.1:$socks" "smtp://mx.target.example:587"
send http --proxytunnel --proxy "http://127.0.0.1:$http" "smtp://mx.target.example:25"

stop_sensor
ingest

expect_eq "messages" 5 "$(sql 'SELECT count(*) FROM message')"
for name in direct socks5 socks5h socks4a http; do
	sha=$(sql "SELECT sha256 FROM message WHERE rcpt LIKE '%\"victim-$name@%'")
	expect_eq "$name body hash" "$want" "$sha"
	if [ -n "$sha" ]; then
		got=$(body_of "$sha" | sha256sum | cut -d' ' -f1)
		expect_eq "$name stored body" "$want" "$got"
	fi
done
expect_eq "protocols" "http smtp socks4a socks5 socks5" \
    "$(sql "SELECT protocol FROM message ORDER BY protocol" | tr '\n' ' ' | sed 's/ $//')"
# SOCKS5 with a local name asks for 127.0.0.1:25: the sensor's own
# address and the port its SMTP listener stands for, so that hop is a
# chain into the SMTP listener and the message counts for port 25.
expect_eq "service ports" "25 25 1080 1080 8080" \
    "$(sql "SELECT service_port FROM message ORDER BY service_port" | tr '\n' ' ' | sed 's/ $//')"
finish
