#!/bin/bash
# spampot status reads the heartbeat a running sensor writes every
# second and the database that collect fills.  A live sensor is up with
# its pid and message counts.  A stopped one turns down, and the exit
# status to 1, once its heartbeat's own @timestamp is older than
# heartbeat-stale, whatever the file's mtime.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/collect-lib.sh"

read -r port <<<"$(free_ports 1)"
named_config live "$port"
start_named live "$port"
wait_heartbeat live

for i in 1 2; do
	send_mail "$port" "live$i" || fail "swaks: $(tail -n 3 "$WORK/swaks-live$i.log")"
done

conf=$WORK/collector.conf
KNOWN_HOSTS=$WORK/no-known-hosts
collector_head "$conf" "$WORK/mirror" "$WORK/status.db" "heartbeat-stale = 3"
local_sensor "$conf" live
"$SPAMPOT" collect --config "$conf" >"$WORK/collect.out" 2>/dev/null ||
    fail "collect: $(cat "$WORK/collect.out")"
sleep 1.5

status=0
"$SPAMPOT" status --config "$conf" >"$WORK/status.txt" 2>&1 || status=$?
expect_eq "status exit with the sensor running" 0 "$status"
row=$(grep '^live ' "$WORK/status.txt" || true)
echo "$row"
case $(echo "$row" | awk '{print $2}') in
ok | warn) pass "text verdict of a running sensor" ;;
*) fail "text verdict: $row" ;;
esac
expect_eq "daemon column" "up/${SENSOR_PIDS[live]}" "$(echo "$row" | awk '{print $4}')"

"$SPAMPOT" status --config "$conf" --format json >"$WORK/status.json" 2>&1 ||
    fail "status --format json failed: $(cat "$WORK/status.json")"
j() {
	jq -r "$1" "$WORK/status.json"
}
expect_eq "json sensor" live "$(j '.[0].sensor')"
expect_eq "json daemon up" true "$(j '.[0].daemon.up')"
expect_eq "json pid" "${SENSOR_PIDS[live]}" "$(j '.[0].daemon.pid')"
expect_eq "json listeners accepting" 1 "$(j '.[0].daemon.accepting')"
expect_eq "json heartbeat fresh" true "$(j '.[0].heartbeat_age_s <= 3')"
expect_eq "json messages in 15 minutes" 2 "$(j '.[0].messages.last_15m')"
expect_eq "json messages today" 2 "$(j '.[0].messages.today')"
expect_eq "json last collect outcome" ok "$(j '.[0].collect.last_outcome')"
expect_eq "json last collect age known" true "$(j '.[0].collect.last_ok_age_s >= 0')"
expect_eq "json disk free known" true "$(j '.[0].disk.free_bytes > 0')"
expect_eq "json capture running" false "$(j '.[0].disk.capture_paused')"
expect_eq "json ntp field" true "$(j '.[0].ntp.synchronized | type == "boolean"')"
case $(j '.[0].verdict') in
ok | warn) pass "json verdict of a running sensor" ;;
*) fail "json verdict: $(j '.[0]')" ;;
esac

# A threshold from the configuration: more free space than any disk has.
greedy=$WORK/greedy.conf
collector_head "$greedy" "$WORK/mirror" "$WORK/status.db" \
    "min-free-disk-mb = 100000000"
local_sensor "$greedy" live
status=0
"$SPAMPOT" status --config "$greedy" --format json >"$WORK/greedy.json" ||
    status=$?
expect_eq "status exit with a disk warning" 0 "$status"
expect_eq "disk warning verdict" warn "$(jq -r '.[0].verdict' "$WORK/greedy.json")"
expect_eq "disk warning reason" true \
    "$(jq -r '.[0].reason | test("MiB free, under 100000000 MiB")' "$WORK/greedy.json")"

# A configured sensor that never wrote a heartbeat is down.
missing=$WORK/missing.conf
cp "$conf" "$missing"
printf '\n[sensor ghost]\npath = %s/ghost/spool\n' "$WORK" >>"$missing"
status=0
"$SPAMPOT" status --config "$missing" --format json >"$WORK/missing.json" ||
    status=$?
expect_eq "status exit with a sensor missing" 1 "$status"
expect_eq "missing sensor verdict" down \
    "$(jq -r '.[] | select(.sensor == "ghost") | .verdict' "$WORK/missing.json")"
expect_eq "missing sensor reason" "no readable heartbeat.json; never collected" \
    "$(jq -r '.[] | select(.sensor == "ghost") | .reason' "$WORK/missing.json")"

# Stopped: the heartbeat ages past heartbeat-stale.
stop_named live
sleep 4.5
# A fresh mtime must not make an old heartbeat look fresh.
touch "$WORK/live/spool/heartbeat.json"
status=0
"$SPAMPOT" status --config "$conf" >"$WORK/stale.txt" 2>&1 || status=$?
expect_eq "status exit with the sensor stopped" 1 "$status"
row=$(grep '^live ' "$WORK/stale.txt" || true)
echo "$row"
expect_eq "text verdict when stale" down "$(echo "$row" | awk '{print $2}')"
expect_eq "daemon column when stale" down "$(echo "$row" | awk '{print $4}')"
status=0
"$SPAMPOT" status --config "$conf" --format json >"$WORK/stale.json" ||
    status=$?
expect_eq "json status exit when stale" 1 "$status"
expect_eq "json verdict when stale" down "$(jq -r '.[0].verdict' "$WORK/stale.json")"
expect_eq "json daemon down when stale" false "$(jq -r '.[0].daemon.up' "$WORK/stale.json")"
expect_eq "json reason when stale" true \
    "$(jq -r '.[0].reason | test("^heartbeat [0-9]+s old \\(stale after 3s\\)")' \
	"$WORK/stale.json")"
expect_eq "messages still counted" 2 "$(jq -r '.[0].messages.today' "$WORK/stale.json")"

status=0
"$SPAMPOT" status --config "$conf" --format yaml >/dev/null 2>&1 || status=$?
expect_eq "invalid --format" 2 "$status"
# Columns as wide as their widest cell: a long name and a clock error of
# 16 s are wider than their titles, and every row must still line up.
wide=$WORK/wide.conf
collector_head "$wide" "$WORK/mirror" "$WORK/status.db"
local_sensor "$wide" a-sensor-name-wider-than-its-column
local_sensor "$wide" live
mkdir -p "$WORK/a-sensor-name-wider-than-its-column/spool"
printf '{"@timestamp":"%s","process.pid":4242,"listeners":[{"accepting":true}],"clock.synchronized":false,"clock.esterror_us":16000000,"disk.free_bytes":1073741824000,"capture.paused":true,"load.1m":0.68}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >"$WORK/a-sensor-name-wider-than-its-column/spool/heartbeat.json"
"$SPAMPOT" status --config "$wide" >"$WORK/wide.txt" 2>/dev/null || true
grep -q 'unsync/16000000us' "$WORK/wide.txt" ||
	fail "no wide NTP cell in: $(cat "$WORK/wide.txt")"
# Left-aligned cells start under their title, the two counts end under
# theirs, and the reason starts under REASON.
misaligned=$(python3 - "$WORK/wide.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
titles = [(m.start(), m.end()) for m in re.finditer(r"\S+", lines[0])]
for line in lines[1:]:
    cells = [(m.start(), m.end()) for m in re.finditer(r"\S+", line)]
    for i in range(10):
        right = i in (8, 9)
        if cells[i][right] != titles[i][right]:
            print("column %d of: %s" % (i + 1, line))
    if cells[10][0] != titles[10][0]:
        print("reason of: %s" % line)
PY
)
expect_eq "misaligned cells in the wide table" "" "$misaligned"

# Without --config and with no default file, the error names the option.
if [ ! -e /etc/spampot/collector.conf ]; then
	status=0
	"$SPAMPOT" status >/dev/null 2>"$WORK/noconf.err" || status=$?
	expect_eq "status exit without a configuration" 1 "$status"
	grep -q 'cannot read /etc/spampot/collector.conf: .*--config FILE' \
	    "$WORK/noconf.err" || fail "no --config hint: $(cat "$WORK/noconf.err")"
fi
finish
