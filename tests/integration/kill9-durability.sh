#!/bin/bash
# A message acknowledged with 250 must survive the sensor's sudden death.
# load_client.py keeps 40 sessions busy and records the hash of every
# acknowledged body.  The sensor is killed with SIGKILL mid-load and
# restarted on the same spool, and more mail goes in.  After ingest,
# every acknowledged body must be in the database and on disk, intact.
# A second ingest must change nothing.
. "$TESTS/integration/lib.sh"

read -r smtp <<<"$(free_ports 1 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25"
start_sensor "$WORK/sensor.conf" "$smtp"

acks="$WORK/acks.txt"
: >"$acks"
python3 "$TESTS/integration/load_client.py" --port "$smtp" \
    --sessions 40 --seconds 30 --acks "$acks" >"$WORK/load1.log" 2>&1 &
load=$!

# Kill once the load is well under way, so that commits are in flight.
for _ in $(seq 300); do
	[ "$(wc -l <"$acks")" -ge 400 ] && break
	sleep 0.05
done
kill -KILL "$SENSOR_PID"
wait "$SENSOR_PID" 2>/dev/null || true
SENSOR_PID=
wait "$load" || fail "load client before the kill: $(cat "$WORK/load1.log")"
before=$(wc -l <"$acks")
if [ "$before" -ge 400 ]; then
	pass "acknowledged before the kill: $before"
else
	fail "only $before messages acknowledged before the kill"
fi

# The same spool again: the sensor must start and keep accepting mail.
start_sensor "$WORK/sensor.conf" "$smtp"
python3 "$TESTS/integration/load_client.py" --port "$smtp" \
    --sessions 10 --messages 20 --seconds 40 --acks "$acks" >"$WORK/load2.log" 2>&1 ||
    fail "load client after the restart: $(cat "$WORK/load2.log")"
after=$(($(wc -l <"$acks") - before))
expect_eq "acknowledged after the restart" 200 "$after"
stop_sensor

ingest
sort -u "$acks" >"$WORK/acks.sorted"
expect_eq "distinct acknowledged bodies" "$((before + after))" \
    "$(wc -l <"$WORK/acks.sorted")"
sql "SELECT DISTINCT sha256 FROM message ORDER BY sha256" >"$WORK/db.sorted"
expect_eq "acknowledged bodies missing from the database" "" \
    "$(comm -23 "$WORK/acks.sorted" "$WORK/db.sorted" | head -n 5 | tr '\n' ' ')"
# A message may be stored but unacknowledged, because the kill came
# before its 250 went out.  An acknowledged message may not be lost.
stored=$(sql 'SELECT count(*) FROM message')
if [ "$stored" -ge "$((before + after))" ]; then
	pass "messages in the database: $stored"
else
	fail "$stored messages in the database, $((before + after)) acknowledged"
fi

expect_eq "acknowledged bodies" "missing 0 damaged 0" \
    "$(check_bodies "$WORK/spool" "$WORK/acks.sorted")"

counts() {
	sql "SELECT (SELECT count(*) FROM message), (SELECT count(*) FROM session),
	    (SELECT sum(messages) FROM rollup_minute),
	    (SELECT sum(messages) FROM rollup_ip_day)"
}
first=$(counts)
ingest
expect_eq "counts after a second ingest" "$first" "$(counts)"
finish
