#!/bin/bash
# The operating system of each email's client.  swaks on this Linux box
# connects over loopback, so the sensor's saved SYN is Linux's and the
# report must count those emails as Unix.  A session relayed with a
# PROXY header carries no SYN of its client and is Unknown.
#
# A crafted Windows SYN cannot reach the sensor's saved-SYN path here.
# The kernel saves the SYN of accepted connections only (TCP_SAVED_SYN),
# so the SYN would need a whole handshake from a raw socket.  But the
# kernel resets the half-open connection as soon as the SYN+ACK reaches
# a port it has no socket for.  Instead scapy writes the SYNs of a
# Windows 7 client and of an unknown stack to a capture, `spampot
# fingerprint` derives their signatures, and those signatures are
# ingested as the sensor writes them.  The addresses in the capture are
# documentation addresses and nothing is sent.
. "$TESTS/integration/lib.sh"

read -r smtp relayed <<<"$(free_ports 2 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25" \
    "[listener relayed]
port = $relayed
service = smtp
service-port = 587
proxy-protocol-from = 127.0.0.1"
start_sensor "$WORK/sensor.conf" "$relayed"

for i in 1 2; do
	swaks --server "127.0.0.1:$smtp" --timeout 10 \
	    --from "sender@spam-origin.example" --to "victim-$i@target.example" \
	    >"$WORK/swaks-$i.log" 2>&1 || fail "swaks $i: $(tail -n 3 "$WORK/swaks-$i.log")"
done
swaks --server "127.0.0.1:$relayed" --timeout 10 \
    --from "sender@spam-origin.example" --to "victim-relayed@target.example" \
    --proxy-version 1 --proxy-family TCP4 --proxy-source 192.0.2.10 \
    --proxy-source-port 40000 --proxy-dest 127.0.0.1 --proxy-dest-port 25 \
    >"$WORK/swaks-relayed.log" 2>&1 ||
	fail "swaks relayed: $(tail -n 3 "$WORK/swaks-relayed.log")"
stop_sensor

# scapy is Debian's python3-scapy, which another python3 on PATH may lack.
scapy_python=python3
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import scapy' 2>/dev/null; then
		scapy_python=$p
		break
	fi
done
"$scapy_python" - "$WORK/syns.pcap" <<'PY' || fail "scapy could not write the capture"
import sys
from scapy.all import IP, TCP, wrpcap
# Windows 7: TTL 128, DF with a non-zero IP id, window 8192 and
# options mss,nop,ws 8,nop,nop,sok (p0f.fp, "Windows:7 or 8").
windows = IP(src="198.51.100.7", dst="127.0.0.1", ttl=128, flags="DF",
             id=4711) / TCP(sport=49200, dport=25, flags="S", seq=1,
             window=8192, options=[("MSS", 1460), ("NOP", None),
             ("WScale", 8), ("NOP", None), ("NOP", None), ("SAckOK", b"")])
# No database entry has a lone window scale option before the MSS.
odd = IP(src="203.0.113.9", dst="127.0.0.1", ttl=200, id=0) / TCP(
    sport=40000, dport=25, flags="S", seq=1, window=1234,
    options=[("WScale", 3), ("MSS", 1000)])
wrpcap(sys.argv[1], [windows, odd])
PY
"$SPAMPOT" fingerprint --pcap "$WORK/syns.pcap" --format json \
    >"$WORK/fingerprint.json" 2>"$WORK/fingerprint.err" ||
	fail "fingerprint: $(cat "$WORK/fingerprint.err")"

# A file that is not a capture is named in the error.
if "$SPAMPOT" fingerprint --pcap "$WORK/sensor.conf" >/dev/null \
    2>"$WORK/fingerprint-conf.err"; then
	fail "fingerprint accepted a config file as a capture"
fi
grep -q "fingerprint: $WORK/sensor.conf: unknown file format" \
    "$WORK/fingerprint-conf.err" ||
	fail "fingerprint error: $(cat "$WORK/fingerprint-conf.err")"

# field JSON_LINES ADDRESS KEY
field() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("source.ip", o.get("ip", o.get("address"))) == sys.argv[2]:
        print(o.get(sys.argv[3], ""))' "$@"
}
expect_eq "fingerprint of the Windows SYN" Windows \
    "$(field "$WORK/fingerprint.json" 198.51.100.7 class)"
expect_eq "fingerprint of the odd SYN" Unknown \
    "$(field "$WORK/fingerprint.json" 203.0.113.9 class)"
windows_sig=$(field "$WORK/fingerprint.json" 198.51.100.7 signature)
odd_sig=$(field "$WORK/fingerprint.json" 203.0.113.9 signature)

# The two sessions as the sensor records them, one email each.
mkdir -p "$WORK/crafted/events"
day=$(date -u +%Y-%m-%d)
for s in "w 198.51.100.7 $windows_sig" "o 203.0.113.9 $odd_sig"; do
	set -- $s
	printf '{"@timestamp":"%sT00:00:0%dZ","event.action":"session.start","sensor.name":"test","session.id":"crafted-%s","source.ip":"%s","source.port":49200,"source.os.signature":"%s","destination.ip":"127.0.0.1","destination.port":25,"listener.port":25,"listener.service":"smtp"}\n' \
	    "$day" 1 "$1" "$2" "$3"
	printf '{"@timestamp":"%sT00:00:0%dZ","event.action":"message.stored","sensor.name":"test","session.id":"crafted-%s","message.sha256":"%064d","message.size":10,"message.seq":1,"smtp.rcpt_count":1,"source.ip":"%s","destination.port":25,"proxy.protocol":"smtp"}\n' \
	    "$day" 2 "$1" 0 "$2"
done >"$WORK/crafted/events/20261204T000000.jsonl"

"$SPAMPOT" ingest --db "$WORK/spampot.db" "$WORK/spool" "$WORK/crafted" \
    >/dev/null 2>"$WORK/ingest.err" || fail "ingest: $(cat "$WORK/ingest.err")"

# os_emails REPORT_JSON CLASS: emails of CLASS in the source_os table.
os_emails() {
	python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))["source_os"]
print(sum(r["emails"] for r in rows if r["class"] == sys.argv[2]))' "$@"
}
"$SPAMPOT" report --db "$WORK/spampot.db" --format json >"$WORK/report.json"
expect_eq "Unix emails" 2 "$(os_emails "$WORK/report.json" Unix)"
expect_eq "Windows emails" 1 "$(os_emails "$WORK/report.json" Windows)"
expect_eq "Unknown emails (relayed and odd)" 2 \
    "$(os_emails "$WORK/report.json" Unknown)"
expect_eq "class of 127.0.0.1" Unix \
    "$(sql "SELECT os_class FROM ip WHERE ip = '127.0.0.1'")"
expect_eq "class of the Windows address" "Windows|Windows 7 or 8|0|0" \
    "$(sql "SELECT os_class, os_label, os_generic, os_fuzzy FROM ip
	WHERE ip = '198.51.100.7'")"
expect_eq "class of the relayed session" "Unknown|" \
    "$(sql "SELECT os_class, os_signature_id FROM session
	WHERE source_ip = '192.0.2.10'")"
expect_eq "distinct signatures matched" 3 \
    "$(sql 'SELECT count(*) FROM os_signature WHERE matched = 1')"
"$SPAMPOT" report --db "$WORK/spampot.db" --detail --format csv |
    grep -q '^source_os_labels,[0-9]*,Windows 7 or 8,Windows,1,' ||
	fail "report --detail has no Windows 7 or 8 row"

# A newer database that names that SYN otherwise: reclassify applies it
# to the stored signature without any new capture.
sed 's/^label = s:win:Windows:7 or 8$/label = s:unix:Testix:9/' \
    /etc/p0f/p0f.fp >"$WORK/newer.fp"
"$SPAMPOT" reclassify --db "$WORK/spampot.db" --p0f "$WORK/newer.fp" \
    >"$WORK/reclassify.out" 2>&1 || fail "reclassify: $(cat "$WORK/reclassify.out")"
expect_eq "session after reclassify" "Unix|Testix 9" \
    "$(sql "SELECT os_class, os_label FROM session
	WHERE session_id = 'crafted-w'")"
expect_eq "address after reclassify" "Unix" \
    "$(sql "SELECT os_class FROM ip WHERE ip = '198.51.100.7'")"
expect_eq "raw signature kept" "$windows_sig" \
    "$(sql "SELECT source_os_signature FROM session
	WHERE session_id = 'crafted-w'")"
"$SPAMPOT" report --db "$WORK/spampot.db" --format json >"$WORK/report2.json"
expect_eq "Unix emails after reclassify" 3 \
    "$(os_emails "$WORK/report2.json" Unix)"

# A file without signatures, such as the sensor's config, parses as an
# empty p0f database.  reclassify rejects it and changes nothing, where
# matching with it would turn every class into Unknown.
if "$SPAMPOT" reclassify --db "$WORK/spampot.db" --p0f "$WORK/sensor.conf" \
    >"$WORK/reclassify-empty.out" 2>&1; then
	fail "reclassify accepted a file without p0f signatures"
fi
grep -q "no p0f signatures in $WORK/sensor.conf" "$WORK/reclassify-empty.out" ||
	fail "reclassify error: $(cat "$WORK/reclassify-empty.out")"
expect_eq "session after a reclassify without signatures" "Unix|Testix 9" \
    "$(sql "SELECT os_class, os_label FROM session
	WHERE session_id = 'crafted-w'")"
expect_eq "address after a reclassify without signatures" "Unix" \
    "$(sql "SELECT os_class FROM ip WHERE ip = '198.51.100.7'")"
"$SPAMPOT" ingest --db "$WORK/third.db" --p0f "$WORK/sensor.conf" \
    "$WORK/spool" >/dev/null 2>"$WORK/ingest3.err" || fail "third ingest"
grep -q "warning: no p0f signatures in $WORK/sensor.conf" "$WORK/ingest3.err" ||
	fail "no warning about a p0f database without signatures"
expect_eq "unmatched without signatures" 0 \
    "$(sqlite3 "$WORK/third.db" 'SELECT count(*) FROM os_signature WHERE matched = 1')"

# Without a database, ingest warns and leaves the signatures unmatched;
# a report given one matches them.
SPAMPOT_P0F="$WORK/missing.fp" "$SPAMPOT" ingest --db "$WORK/second.db" \
    "$WORK/spool" >/dev/null 2>"$WORK/ingest2.err" || fail "second ingest"
grep -q 'cannot read p0f database' "$WORK/ingest2.err" ||
	fail "no warning about the missing p0f database"
expect_eq "unmatched without a database" 0 \
    "$(sqlite3 "$WORK/second.db" 'SELECT count(*) FROM os_signature WHERE matched = 1')"
"$SPAMPOT" report --db "$WORK/second.db" --p0f /etc/p0f/p0f.fp --format json \
    >"$WORK/report3.json"
expect_eq "Unix emails once matched" 2 "$(os_emails "$WORK/report3.json" Unix)"
finish
