#!/bin/bash
# swaks and curl send mail to a real sensor directly and through its
# SOCKS and HTTP proxies; the spool is ingested and `spampot report
# --charts` writes the SVG charts.  Every chart must parse as XML, carry
# the numbers the database holds, and render in headless Chromium with
# no error on its console.
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

for i in 1 2 3; do
	if swaks --server "127.0.0.1:$smtp" --timeout 10 \
	    --helo "spam-$i.example" --from "sender@spam-origin.example" \
	    --to "victim-$i@target.example" --header "Subject: pills $i" \
	    >"$WORK/swaks-$i.log" 2>&1; then
		pass "swaks $i"
	else
		fail "swaks $i: $(tail -n 3 "$WORK/swaks-$i.log")"
	fi
done
printf '%s\r\n' "From: <sender@spam-origin.example>" \
    "To: <victim@target.example>" "Subject: cheap pills" "" "Buy now" \
    >"$WORK/message.eml"
send() {
	local name=$1
	shift
	if curl -sS --max-time 20 "$@" \
	    --mail-from "sender@spam-origin.example" \
	    --mail-rcpt "victim-$name@target.example" \
	    --mail-rcpt "other-$name@target.example" \
	    --upload-file "$WORK/message.eml" 2>"$WORK/curl-$name.err"; then
		pass "curl $name"
	else
		fail "curl $name: $(cat "$WORK/curl-$name.err")"
	fi
}
send socks5 --socks5 "127.0.0.1:$socks" "smtp://127.0.0.1:25"
send http --proxytunnel --proxy "http://127.0.0.1:$http" \
    "smtp://mx.target.example:25"
stop_sensor
ingest

# The address data would come from ip-location-db; an AS name with
# markup characters checks that labels from data are escaped.
sql "UPDATE ip SET asn = 64500, as_name = 'Example <Net> & \"Co\"',
    country = 'BR'"

mkdir "$WORK/charts"
if "$SPAMPOT" report --db "$WORK/spampot.db" --charts "$WORK/charts" \
    >"$WORK/report.txt" 2>"$WORK/report.err"; then
	pass "report --charts"
else
	fail "report --charts: $(cat "$WORK/report.err")"
fi

charts="spams-per-day emails-per-minute bandwidth-per-hour
connections-per-port top-asns top-countries"
for name in $charts; do
	[ -s "$WORK/charts/$name.svg" ] || fail "$name.svg missing or empty"
done

# Each chart's points, as JSON lines "name series x y", read back with
# an XML parser; a file that is not well-formed XML fails here.
python3 - "$WORK/charts" >"$WORK/points.txt" 2>"$WORK/points.err" <<'PY' ||
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
for name in sys.argv[2:] or ["spams-per-day", "emails-per-minute",
        "bandwidth-per-hour", "connections-per-port", "top-asns",
        "top-countries"]:
    root = ET.parse(f"{sys.argv[1]}/{name}.svg").getroot()
    assert root.tag == ns + "svg", root.tag
    assert root.find(ns + "title").text, "no title"
    for el in root.iter():
        for key, value in el.attrib.items():
            assert "href" not in key, f"{name}: external reference {key}"
        assert el.tag != ns + "script", f"{name}: script"
    data = json.loads(root.find(ns + "metadata").text)
    for series in data["series"]:
        for x, y in series["points"]:
            print(name, series["name"].replace(" ", "_"),
                  str(x).replace(" ", "_"), y)
PY
	fail "charts do not parse: $(cat "$WORK/points.err")"

# sum_of CHART [SERIES]: the sum of a chart's points.
sum_of() {
	awk -v c="$1" -v s="${2:-}" \
	    '$1 == c && (s == "" || $2 == s) { n += $4 } END { print n + 0 }' \
	    "$WORK/points.txt"
}

emails=$(sql 'SELECT count(*) FROM message')
expect_eq "messages stored" 5 "$emails"
expect_eq "spams per day, total" "$emails" "$(sum_of spams-per-day)"
day=$(sql "SELECT min(day) FROM message")
day_epoch=$(date -u -d "$day" +%s)
expect_eq "spams on $day" \
    "$(sql "SELECT count(*) FROM message WHERE day = '$day'")" \
    "$(awk -v x="$day_epoch" '$1 == "spams-per-day" && $3 == x { print $4 }' \
	"$WORK/points.txt")"
expect_eq "emails per minute, total" "$emails" "$(sum_of emails-per-minute)"
expect_eq "bytes in" "$(sql 'SELECT sum(bytes_in) FROM session')" \
    "$(sum_of bandwidth-per-hour test_in)"
expect_eq "bytes out" "$(sql 'SELECT sum(bytes_out) FROM session')" \
    "$(sum_of bandwidth-per-hour test_out)"
for port in 25 1080 8080; do
	expect_eq "connections on port $port" \
	    "$(sql "SELECT count(*) FROM session WHERE service_port = $port")" \
	    "$(awk -v p="$port" '$1 == "connections-per-port" &&
		index($3, p "_") == 1 { print $4 }' "$WORK/points.txt")"
done
expect_eq "top ASN label and emails" "AS64500_Example_<Net>_&_\"Co\" $emails" \
    "$(awk '$1 == "top-asns" { print $3, $4 }' "$WORK/points.txt")"
expect_eq "top country" "BR_Brazil $emails" \
    "$(awk '$1 == "top-countries" { print $3, $4 }' "$WORK/points.txt")"
points=$(awk '$1 == "emails-per-minute"' "$WORK/points.txt" | wc -l)
if [ "$points" -le 400 ] && [ "$points" -gt 0 ]; then
	pass "emails per minute has $points points"
else
	fail "emails per minute has $points points"
fi

# The ports table lists every port that took a connection.
expect_eq "ports in the report" 3 \
    "$("$SPAMPOT" report --db "$WORK/spampot.db" --format csv --top 1 |
	grep -c '^service_ports,')"

# Headless Chromium renders each chart; it must exit 0, write a PNG and
# log no error about the page.
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	fail "chromium is not installed"
	finish
fi
for name in $charts; do
	png="$WORK/charts/$name.png"
	height=$(grep -o -m1 'height="[0-9]*"' "$WORK/charts/$name.svg" |
	    tr -dc 0-9)
	if "$chromium" --headless --no-sandbox --disable-gpu \
	    --disable-background-networking --disable-component-update \
	    --disable-sync --no-first-run --user-data-dir="$WORK/chrome" \
	    --enable-logging=stderr --v=0 --hide-scrollbars \
	    --window-size="960,${height:-440}" --screenshot="$png" \
	    "file://$WORK/charts/$name.svg" >"$WORK/chrome-$name.log" 2>&1; then
		pass "chromium renders $name"
	else
		fail "chromium failed on $name: $(tail -n 5 "$WORK/chrome-$name.log")"
	fi
	[ -s "$png" ] || fail "no screenshot of $name"
	# An XML error shows as a parsererror page instead of the chart;
	# script and resource errors reach the log as CONSOLE lines.
	"$chromium" --headless --no-sandbox --disable-gpu \
	    --disable-background-networking --disable-component-update \
	    --disable-sync --no-first-run --user-data-dir="$WORK/chrome" \
	    --dump-dom "file://$WORK/charts/$name.svg" \
	    >"$WORK/dom-$name.xml" 2>/dev/null || true
	if ! head -c 4 "$WORK/dom-$name.xml" | grep -q '^<svg' ||
	    grep -q parsererror "$WORK/dom-$name.xml"; then
		fail "chromium did not load $name as SVG"
	fi
	if grep -E 'CONSOLE|Uncaught|error on line|XML Parsing Error' \
	    "$WORK/chrome-$name.log" >&2; then
		fail "chromium reported an error on $name"
	fi
	if [ -n "${CHARTS_OUT:-}" ]; then
		cp "$png" "$CHARTS_OUT/$name.png"
	fi
done
finish
