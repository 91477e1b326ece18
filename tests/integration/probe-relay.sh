#!/bin/bash
# With probe-relay on, only probe messages reach the smarthost (an SMTP
# sink this test runs on 127.0.0.1), within the hourly caps in all and
# per recipient domain.  Spam never does.  The sensor runs with its
# seccomp filter, which then must allow the relay's connections.
. "$TESTS/integration/lib.sh"

read -r socks sink <<<"$(free_ports 2 | tr '\n' ' ')"
mkdir "$WORK/sink"
python3 "$TESTS/integration/smtp_sink.py" 127.0.0.1 "$sink" "$WORK/sink" &
SINK_PID=$!
trap 'kill $SINK_PID 2>/dev/null; cleanup' EXIT
write_config "$WORK/sensor.conf" \
    "probe-relay = yes
probe-relay-host = 127.0.0.1:$sink
probe-relay-per-hour = 3
probe-relay-per-domain = 2
probe-recipients = proxycheck-*@*" \
    "[listener socks]
port = $socks
service-port = 1080"
start_sensor "$WORK/sensor.conf" "$socks"
wait_port "$sink"

# send NAME RCPT SUBJECT: a message through the SOCKS5 proxy.
send() {
	printf '%s\r\n' "From: <checker@checker.test.example>" "To: <$2>" \
	    "Subject: $3" "" "Test message $1." "..dot line" >"$WORK/$1.eml"
	if curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$socks" \
	    "smtp://mx.target.example:25" \
	    --mail-from "checker@checker.test.example" --mail-rcpt "$2" \
	    --upload-file "$WORK/$1.eml" 2>"$WORK/$1.err"; then
		pass "sent $1"
	else
		fail "send $1: $(cat "$WORK/$1.err")"
	fi
}

send spam victim@target.example "cheap pills"
send pattern proxycheck-7@d.test.example "hello"
send addr1 checker@a.test.example "proxy 127.0.0.1:1080 works"
send addr2 checker@a.test.example "proxy 127.0.0.1 1080 works"
send addr3 checker@a.test.example "proxy 127.0.0.1:1080 again"
send addr4 checker@b.test.example "proxy 127.0.0.1:1080 other"

# Relays run in the background; give them time to land.
for _ in $(seq 100); do
	[ "$(ls "$WORK/sink" | grep -c '\.json$')" -ge 3 ] && break
	sleep 0.1
done
sleep 0.5
stop_sensor

expect_eq "messages at the smarthost" 3 \
    "$(ls "$WORK/sink" | grep -c '\.json$')"
expect_eq "relayed recipients" \
    "checker@a.test.example checker@a.test.example proxycheck-7@d.test.example" \
    "$(cat "$WORK"/sink/*.json | python3 -c '
import json, sys
dec = json.JSONDecoder()
text, out = sys.stdin.read(), []
while text.strip():
    obj, end = dec.raw_decode(text.strip())
    out += obj["rcpt_to"]
    text = text.strip()[end:]
print(" ".join(sorted(out)))')"
if grep -l "cheap pills" "$WORK"/sink/*.json >/dev/null 2>&1; then
	fail "spam reached the smarthost"
else
	pass "spam never relayed"
fi
# The relay dot-stuffs again what the sensor unstuffed.
expect_eq "relayed body" 1 "$(grep -l 'Test message pattern.\\r\\n..dot line' \
    "$WORK"/sink/*.json | wc -l)"

# Each message's event: recipient, probe flag and relay outcome.
expect_eq "message events" \
    "checker@a.test.example True capped
checker@a.test.example True queued
checker@a.test.example True queued
checker@b.test.example True capped
proxycheck-7@d.test.example True queued
victim@target.example False -" \
    "$(cat "$WORK"/spool/events/* | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event.action"] == "message.stored":
        print(e["smtp.rcpt_to"][0], e["message.probe"],
              e.get("message.probe_relay", "-"))' | sort)"

# After ingest the report counts the spam alone and the probes apart.
ingest
expect_eq "probe rows" "5 3 2" \
    "$(sql "SELECT count(*), sum(probe_relay = 'queued'),
    sum(probe_relay = 'capped') FROM message WHERE probe = 1" | tr '|' ' ')"
expect_eq "report summary" "emails=1 recipients=1 probe_messages=5" \
    "$("$SPAMPOT" report --db "$WORK/spampot.db" --format json |
    python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print(" ".join("%s=%s" % (k, s[k])
               for k in ("emails", "recipients", "probe_messages")))')"
finish
