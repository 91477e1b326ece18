#!/bin/bash
# spampot collect pulls real sensors' spools through a real sshd on
# 127.0.0.1, ingests them under their configured names and records each
# attempt.  A sensor whose sshd is gone is reported while the others are
# collected.  A pull cut half way, by killing rsync or by killing collect
# itself with SIGKILL, leaves a database that the next run makes equal
# to one from uninterrupted runs.  With confirm = yes, the sensor deletes
# exactly the closed events files and packs of bodies the server holds,
# has indexed and has checked record by record.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/collect-lib.sh"

read -r port_a port_b port_c dead <<<"$(free_ports 4 | tr '\n' ' ')"
start_sshd
for name in a b c; do
	port_var=port_$name
	named_config "$name" "${!port_var}"
	start_named "$name" "${!port_var}"
done
for name in a b c; do
	wait_heartbeat "$name"
done

for i in 1 2 3; do
	send_mail "$port_a" "a$i" || fail "swaks to a: $(tail -n 3 "$WORK/swaks-a$i.log")"
done
for i in 1 2 3 4 5; do
	send_mail "$port_b" "b$i" || fail "swaks to b: $(tail -n 3 "$WORK/swaks-b$i.log")"
done
for i in 1 2; do
	send_mail "$port_c" "c$i" || fail "swaks to c: $(tail -n 3 "$WORK/swaks-c$i.log")"
done

conf=$WORK/collector.conf
collector_head "$conf" "$WORK/mirror" "$WORK/collect.db" "parallel = 2"
remote_sensor "$conf" a
remote_sensor "$conf" b
local_sensor "$conf" c
# d stands for a sensor whose sshd is gone: nothing listens on its port.
printf '\n[sensor d]\nhost = 127.0.0.1\nport = %s\nuser = %s\nkey = %s\npath = %s\n' \
    "$dead" "$SSH_USER" "$SSH_KEY" "$WORK/a/spool" >>"$conf"

# run_collect CONFIG TAG: collect, keeping its output; sets status.
run_collect() {
	status=0
	"$SPAMPOT" collect --config "$1" >"$WORK/collect-$2.out" \
	    2>"$WORK/collect-$2.err" || status=$?
}

# count_bodies SPOOL: records in finished packs, not in rsync's partial
# files.
count_bodies() {
	python3 "$TESTS/integration/packs.py" list "$1" | wc -l
}


# expect_line TAG REGEX: a line of collect's output matches.
expect_line() {
	if grep -qE "$2" "$WORK/collect-$1.out"; then
		pass "collect $1: $(grep -E "$2" "$WORK/collect-$1.out" | head -n 1)"
	else
		fail "collect $1: no line matching '$2' in: $(cat "$WORK/collect-$1.out" "$WORK/collect-$1.err")"
	fi
}

# The first run through an rsync that logs its arguments.
mkdir "$WORK/wrap"
printf '#!/bin/sh\necho "$*" >>"%s"\nexec %s "$@"\n' \
    "$WORK/rsync-args.log" "$(command -v rsync)" >"$WORK/wrap/rsync"
chmod +x "$WORK/wrap/rsync"
PATH="$WORK/wrap:$PATH" run_collect "$conf" first
pulls=$(grep -c -- '--archive' "$WORK/rsync-args.log" || true)
expect_eq "pulls logged by the rsync wrapper (a, b, d)" 3 "$pulls"
# A crash of the server must not leave zeros that confirmation would
# take for a sensor crash's cut tail.
expect_eq "pulls without --fsync" 0 \
    "$(grep -- '--archive' "$WORK/rsync-args.log" | grep -vc -- '--fsync' || true)"
expect_eq "collect status with sensor d down" 1 "$status"
expect_line first '^a: ok: '
expect_line first '^b: ok: '
expect_line first '^c: ok: '
expect_line first '^d: transfer-failed after .*Connection refused'
expect_eq "messages per sensor" "a 3 b 5 c 2 " \
    "$(messages_by_sensor "$WORK/collect.db" | tr '\n' ' ')"
expect_eq "recorded outcomes" "a ok b ok c ok d transfer-failed " \
    "$(sqlite3 -batch -noheader -separator ' ' "$WORK/collect.db" \
	"SELECT sensor, outcome FROM collect_attempt ORDER BY sensor" |
	tr '\n' ' ')"
expect_eq "bytes recorded for a" 1 \
    "$(sqlite3 -batch -noheader "$WORK/collect.db" \
	"SELECT bytes > 0 FROM collect_attempt WHERE sensor = 'a'")"

# The mirror contains what ingest and status need, and nothing else.
[ -s "$WORK/mirror/a/heartbeat.json" ] && pass "heartbeat mirrored" ||
    fail "no heartbeat.json in the mirror of a"
[ -e "$WORK/mirror/a/secret" ] && fail "the sensor's secret was pulled" ||
    pass "secret not pulled"
[ -e "$WORK/mirror/a/tmp" ] && fail "the sensor's tmp/ was pulled" ||
    pass "tmp/ not pulled"
expect_eq "bodies mirrored for b" 5 "$(count_bodies "$WORK/mirror/b")"
# Every body of b is located in its pack, where the records are.
expect_eq "bodies of b located" "$(python3 "$TESTS/integration/packs.py" \
    list "$WORK/mirror/b" | sort | tr '\n' ' ')" \
    "$(sqlite3 -batch -noheader "$WORK/collect.db" \
	"SELECT b.sha256 FROM body b JOIN sensor s ON s.id = b.sensor_id
	WHERE s.name = 'b' AND b.pack IS NOT NULL ORDER BY 1" | tr '\n' ' ')"
[ -e "$WORK/mirror/c" ] && fail "a local sensor got a mirror" ||
    pass "local sensor read in place"

# A big body and a bandwidth limit make a pull that lasts seconds.
head -c 3000000 /dev/urandom | base64 -w 76 >"$WORK/big.txt"
send_mail "$port_a" big-a "$WORK/big.txt" ||
    fail "swaks big body to a: $(tail -n 3 "$WORK/swaks-big-a.log")"
slow=$WORK/slow.conf
collector_head "$slow" "$WORK/mirror" "$WORK/collect.db" "bwlimit-kbps = 200"
remote_sensor "$slow" a
remote_sensor "$slow" b

# wait_partial SENSOR: until some of a body has arrived, unfinished (20 s).
wait_partial() {
	local i
	for i in $(seq 200); do
		if [ -n "$(find "$WORK/mirror/$1/bodies" -name '.*' -type f \
		    -size +64k 2>/dev/null | head -n 1)" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# big_sha SENSOR: the hash of the big message in the sensor's spool.
big_sha() {
	cat "$WORK/$1/spool/events/"*.jsonl | jq -r \
	    'select(.["event.action"] == "message.stored" and
	    .["message.size"] > 1000000) | .["message.sha256"]'
}

# 1. rsync killed half way.
"$SPAMPOT" collect --config "$slow" >"$WORK/collect-cut.out" \
    2>"$WORK/collect-cut.err" &
collect_pid=$!
if wait_partial a; then
	pass "part of the big body arrived"
else
	fail "no partial body in the mirror of a"
fi
for rsync_pid in $(pgrep -P "$collect_pid" -x rsync); do
	kill -KILL "$rsync_pid"
done
status=0
wait "$collect_pid" || status=$?
expect_eq "collect status after rsync was killed" 1 "$status"
expect_line cut '^a: transfer-failed after .*killed by signal 9'
sha=$(big_sha a)
expect_eq "big body of a in the mirror before the rerun" absent \
    "$(body_of "$sha" "$WORK/mirror/a" >/dev/null 2>&1 && echo present || echo absent)"
expect_eq "messages of a after the cut" 3 \
    "$(sqlite3 -batch -noheader "$WORK/collect.db" \
	"SELECT count(*) FROM message m JOIN sensor s ON s.id = m.sensor_id
	WHERE s.name = 'a'")"

# 2. collect itself killed with SIGKILL: its rsync dies with it.
cp "$WORK/big.txt" "$WORK/big-b.txt"
echo "for b" >>"$WORK/big-b.txt"
send_mail "$port_b" big-b "$WORK/big-b.txt" ||
    fail "swaks big body to b: $(tail -n 3 "$WORK/swaks-big-b.log")"
"$SPAMPOT" collect --config "$slow" >"$WORK/collect-kill.out" \
    2>"$WORK/collect-kill.err" &
collect_pid=$!
wait_partial b || fail "no partial body in the mirror of b"
rsync_pids=$(pgrep -P "$collect_pid" -x rsync | tr '\n' ' ')
kill -KILL "$collect_pid"
wait "$collect_pid" 2>/dev/null || true
sleep 0.5
left=
for pid in $rsync_pids; do
	running "$pid" && left="$left $pid"
done
expect_eq "rsync processes left after collect was killed" "" "$left"

run_collect "$conf" rerun
expect_line rerun '^a: ok: '
expect_line rerun '^b: ok: '
expect_eq "messages per sensor after the reruns" "a 4 b 6 c 2 " \
    "$(messages_by_sensor "$WORK/collect.db" | tr '\n' ' ')"
for name in a b; do
	sha=$(big_sha "$name")
	got=$(body_of "$sha" "$WORK/mirror/$name" | sha256sum | cut -d' ' -f1)
	expect_eq "big body of $name intact in the mirror" "$sha" "$got"
done

# The same spools collected without interruption, into a fresh mirror
# and database, must give the same rows.
ref=$WORK/reference.conf
collector_head "$ref" "$WORK/mirror-ref" "$WORK/reference.db"
remote_sensor "$ref" a
remote_sensor "$ref" b
local_sensor "$ref" c
run_collect "$ref" reference
expect_eq "reference collect status" 0 "$status"
expect_eq "interrupted runs equal an uninterrupted one" \
    "$(db_digest "$WORK/reference.db")" "$(db_digest "$WORK/collect.db")"
# SIGKILL at assorted moments of fresh runs (pulling, ingesting or
# recording), then one run to the end: the same rows again.
killed=$WORK/killed.conf
collector_head "$killed" "$WORK/mirror-killed" "$WORK/killed.db"
remote_sensor "$killed" a
remote_sensor "$killed" b
local_sensor "$killed" c
for delay in 0.05 0.2 0.4 0.7 1.0 1.5; do
	"$SPAMPOT" collect --config "$killed" >/dev/null 2>&1 &
	collect_pid=$!
	sleep "$delay"
	kill -KILL "$collect_pid" 2>/dev/null || true
	wait "$collect_pid" 2>/dev/null || true
done
run_collect "$killed" after-kills
expect_eq "collect status after the kills" 0 "$status"
expect_eq "runs killed at random equal an uninterrupted one" \
    "$(db_digest "$WORK/reference.db")" "$(db_digest "$WORK/killed.db")"

before=$(db_digest "$WORK/collect.db")
run_collect "$conf" again
expect_eq "another run changes no row" "$before" \
    "$(db_digest "$WORK/collect.db")"

# Confirm: a restart closes a's events file and its pack.  The list
# names them, and never the open events file or the pack begun with
# it.  The closed events file ends in a line cut short, as a crash
# mid-append leaves it.  It is still confirmed, because the sensor
# never completes it.
clear_of_hour 120
stop_named a
cut_events=$(ls "$WORK/a/spool/events" | sort | tail -n 1)
printf '{"@timestamp":"2026-12-04T' >>"$WORK/a/spool/events/$cut_events"
start_named a "$port_a"
send_mail "$port_a" a-after || fail "swaks to a after the restart"
for _ in $(seq 50); do
	[ "$(ls "$WORK/a/spool/events" | wc -l)" -ge 2 ] && break
	sleep 0.1
done
old_events=$(ls "$WORK/a/spool/events" | sort | head -n 1)
new_events=$(ls "$WORK/a/spool/events" | sort | tail -n 1)
new_pack=${new_events%.jsonl}.pack
[ -s "$WORK/a/spool/bodies/$new_pack" ] && pass "new pack begun after the restart" ||
    fail "no bodies/$new_pack after the restart: $(ls "$WORK/a/spool/bodies")"
# Every file of the sensor's spool but the open events file and its pack.
closed=$( (cd "$WORK/a/spool" && ls events/*.jsonl bodies/*.pack) |
    grep -vx -e "events/$new_events" -e "bodies/$new_pack" | sort)
closed_packs=$(grep -c '^bodies/' <<<"$closed" || true)
[ "$closed_packs" -ge 1 ] && pass "$closed_packs closed packs on a" ||
    fail "no closed pack on a: $closed"
confirm=$WORK/confirm.conf
collector_head "$confirm" "$WORK/mirror" "$WORK/collect.db" "confirm = yes"
remote_sensor "$confirm" a
run_collect "$confirm" confirm
expect_line confirm "^a: ok: .* $(wc -l <<<"$closed") files confirmed"
list=$WORK/mirror/.state/a/confirm.txt
expect_eq "confirm list: the closed files" "$closed" "$(sort "$list")"
grep -qx "events/$old_events" "$list" && pass "closed events file listed" ||
    fail "events/$old_events not in the confirm list"
grep -qx "events/$cut_events" "$list" && pass "file with a cut line listed" ||
    fail "events/$cut_events, cut mid-line, not in the confirm list"
if grep -q "events/$cut_events: 26 bytes after the last line end" \
    "$WORK/collect-confirm.err"; then
	pass "cut line reported"
else
	fail "cut line not reported: $(cat "$WORK/collect-confirm.err")"
fi
grep -qx "events/$new_events" "$list" && fail "the open events file was listed" ||
    pass "open events file not listed"
grep -qx "bodies/$new_pack" "$list" && fail "the open pack was listed" ||
    pass "open pack not listed"
# Each listed pack is indexed to its end.
for pack in $(sed -n 's|^bodies/||p' "$list"); do
	expect_eq "$pack indexed to its end" \
	    "$(stat -c %s "$WORK/mirror/a/bodies/$pack")" \
	    "$(sqlite3 -batch -noheader "$WORK/collect.db" \
		"SELECT offset_bytes FROM ingested_file
		WHERE path LIKE '%/mirror/a/bodies/$pack'")"
done
for _ in $(seq 100); do
	[ -e "$WORK/a/spool/confirm/a.txt" ] || break
	sleep 0.1
done
[ -e "$WORK/a/spool/confirm/a.txt" ] && fail "the sensor did not read the confirm list" ||
    pass "sensor read the confirm list"
[ -e "$WORK/a/spool/events/$old_events" ] && fail "closed events file not deleted" ||
    pass "closed events file deleted on the sensor"
[ -e "$WORK/a/spool/events/$new_events" ] && pass "open events file kept" ||
    fail "the open events file was deleted"
expect_eq "packs left on the sensor" "$new_pack" \
    "$(ls "$WORK/a/spool/bodies")"
expect_eq "bodies left on the sensor" 1 "$(count_bodies "$WORK/a/spool")"
[ -s "$WORK/a/spool/secret" ] && pass "secret kept" || fail "secret deleted"
expect_eq "bodies still in the mirror" 5 "$(count_bodies "$WORK/mirror/a")"
run_collect "$confirm" after-confirm
expect_line after-confirm '^a: ok: '
expect_eq "messages per sensor after confirm" "a 5 b 6 c 2 " \
    "$(messages_by_sensor "$WORK/collect.db" | tr '\n' ' ')"

# Damage on sensor b.  A byte is flipped inside a frame of its pack,
# which a restart then closes.  A closed pack has a second header that
# is not one.  Another closed pack is shorter than what was indexed of
# it, as when a reimaged sensor reuses a name.  No pack is confirmed,
# and all stay on the sensor, while b's closed events file is
# confirmed.
stop_named b
b_events=$(ls "$WORK/b/spool/events" | sort | tail -n 1)
b_pack=${b_events%.jsonl}.pack
odd_pack=20200101T000000.pack
short_pack=20200102T000000.pack
# Prints the offset of the odd pack's bad header.
odd_offset=$(python3 - "$WORK/b/spool/bodies/$b_pack" \
    "$WORK/b/spool/bodies/$odd_pack" "$WORK/b/spool/bodies/$short_pack" <<'PY'
import sys
pack, odd, short = sys.argv[1:4]
with open(pack, "rb") as f:
    data = f.read()
first = 74 + int(data[65:73], 16)
second = first + 74 + int(data[first + 65:first + 73], 16)
with open(odd, "wb") as f:
    f.write(data[:first] + b"X" * 73 + b"\n" + data[first:])
with open(short, "wb") as f:
    f.write(data[:second])
with open(pack, "r+b") as f:
    f.seek(74 + 20)
    f.write(bytes([data[74 + 20] ^ 0xff]))
print(first)
PY
)
# The short pack is pulled and indexed whole, then cut to one record.
b_only=$WORK/b-only.conf
collector_head "$b_only" "$WORK/mirror" "$WORK/collect.db"
remote_sensor "$b_only" b
run_collect "$b_only" b-only
expect_line b-only '^b: ok: '
short_size=$(stat -c %s "$WORK/b/spool/bodies/$short_pack")
python3 - "$WORK/b/spool/bodies/$short_pack" <<'PY'
import os, sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
os.truncate(sys.argv[1], 74 + int(data[65:73], 16))
PY
start_named b "$port_b"
send_mail "$port_b" b-after || fail "swaks to b after the restart"
for _ in $(seq 50); do
	[ "$(ls "$WORK/b/spool/events" | wc -l)" -ge 2 ] && break
	sleep 0.1
done
confirm_b=$WORK/confirm-b.conf
collector_head "$confirm_b" "$WORK/mirror" "$WORK/collect.db" "confirm = yes"
remote_sensor "$confirm_b" b
run_collect "$confirm_b" confirm-b
expect_line confirm-b '^b: ok: '
list=$WORK/mirror/.state/b/confirm.txt
grep -qx "events/$b_events" "$list" && pass "closed events file of b listed" ||
    fail "events/$b_events not in b's confirm list: $(cat "$list")"
grep -qx "bodies/$b_pack" "$list" && fail "pack with a damaged frame listed" ||
    pass "pack with a damaged frame not listed"
grep -qx "bodies/$odd_pack" "$list" && fail "pack with a damaged header listed" ||
    pass "pack with a damaged header not listed"
grep -qx "bodies/$short_pack" "$list" && fail "pack shorter than its index listed" ||
    pass "pack shorter than its index not listed"
if grep -q "bodies/$short_pack: warning: file is shorter .* than the $short_size bytes already indexed" \
    "$WORK/collect-confirm-b.err"; then
	pass "pack shorter than its index reported"
else
	fail "shorter pack not reported: $(cat "$WORK/collect-confirm-b.err")"
fi
if grep -q "bodies/$odd_pack: warning: damaged pack: no record header at offset $odd_offset;" \
    "$WORK/collect-confirm-b.err"; then
	pass "damaged header reported with its offset"
else
	fail "damaged header not reported: $(cat "$WORK/collect-confirm-b.err")"
fi
for _ in $(seq 100); do
	[ -e "$WORK/b/spool/confirm/b.txt" ] || break
	sleep 0.1
done
[ -e "$WORK/b/spool/events/$b_events" ] && fail "closed events file of b not deleted" ||
    pass "closed events file of b deleted"
for pack in "$b_pack" "$odd_pack" "$short_pack"; do
	[ -s "$WORK/b/spool/bodies/$pack" ] && pass "damaged $pack kept on b" ||
	    fail "damaged $pack deleted on b"
done

# A sensor that restarted within one second opened events/S-1.jsonl
# after events/S.jsonl.  S.jsonl is closed and confirmed; S-1.jsonl,
# the open one, is newer although it sorts first as a string.  The
# spool of e is made by hand: no sensor runs for it.
mkdir -p "$WORK/e/spool/events" "$WORK/e/spool/bodies" "$WORK/e/spool/confirm"
for n in "" -1; do
	printf '{"@timestamp":"2026-12-04T10:00:00.00000%sZ","event.action":"session.start","sensor.name":"e","session.id":"e%s","source.ip":"192.0.2.9","source.port":40000,"destination.ip":"192.0.2.1","destination.port":25,"listener.port":25,"listener.service":"smtp"}\n' \
	    "${n#-}0" "$n" >"$WORK/e/spool/events/20261204T100000$n.jsonl"
done
printf '{"events.current":"20261204T100000-1.jsonl"}\n' \
    >"$WORK/e/spool/heartbeat.json"
same_second=$WORK/same-second.conf
collector_head "$same_second" "$WORK/mirror" "$WORK/collect.db" "confirm = yes"
remote_sensor "$same_second" e
run_collect "$same_second" same-second
expect_line same-second '^e: ok: .* 1 files confirmed'
expect_eq "confirm list of e" "events/20261204T100000.jsonl" \
    "$(cat "$WORK/mirror/.state/e/confirm.txt")"

for name in a b c; do
	stop_named "$name"
done
finish
