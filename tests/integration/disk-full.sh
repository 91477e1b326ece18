#!/bin/bash
# A sensor whose spool disk fills up stops taking mail with 452 at MAIL
# and loses nothing it acknowledged before.  Once room is made, capture
# resumes on its own within the disk check interval (5 s).  The spool
# lives on an 8 MiB tmpfs with min-free-disk-mb = 2, which needs root.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/collect-lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: mounting a tmpfs for the spool needs root" >&2
	exit 77
fi

mount_tmpfs "$WORK/full" 8m

read -r port <<<"$(free_ports 1)"
named_config full "$port" "min-free-disk-mb = 2"
start_named full "$port"
wait_heartbeat full

# free_kib: free space on the tmpfs, in KiB.
free_kib() {
	df -k --output=avail "$WORK/full" | tail -n 1 | tr -d ' '
}

# paused: the heartbeat reports capture.paused, as true or false.
paused() {
	jq -r '.["capture.paused"]' "$WORK/full/spool/heartbeat.json" 2>/dev/null
}

acked=0
for i in 1 2 3 4 5; do
	if send_mail "$port" "before$i"; then
		acked=$((acked + 1))
	else
		fail "swaks before the disk filled: $(tail -n 3 "$WORK/swaks-before$i.log")"
	fi
done
expect_eq "acknowledged before the disk filled" 5 "$acked"

# Leave about 1 MiB free, under the 2 MiB minimum.
filler_kib=$(($(free_kib) - 1024))
dd if=/dev/zero of="$WORK/full/filler" bs=1024 count="$filler_kib" \
    status=none 2>/dev/null || true
echo "free after filling: $(free_kib) KiB"

# Within the 5 s disk check, SMTP must answer 452 at MAIL.  Until the
# check runs, mail is still taken, and what is acknowledged must stay.
refused=
for i in $(seq 20); do
	if send_mail "$port" "full$i"; then
		acked=$((acked + 1))
	elif grep -q '<\*\* *452' "$WORK/swaks-full$i.log"; then
		refused=$i
		break
	fi
	sleep 0.5
done
if [ -n "$refused" ]; then
	pass "swaks got 452 once the disk filled"
	grep -m1 '452' "$WORK/swaks-full$refused.log"
	expect_eq "command answered with 452" "MAIL FROM" \
	    "$(grep -B1 -m1 '<\*\* *452' "$WORK/swaks-full$refused.log" |
		head -n 1 | grep -o 'MAIL FROM')"
else
	fail "no 452 within 10 s of filling the disk"
fi
for _ in $(seq 30); do
	[ "$(paused)" = true ] && break
	sleep 0.1
done
expect_eq "heartbeat capture.paused while full" true "$(paused)"

# Nothing acknowledged is lost: every message sent before is stored.
ingest_full() {
	"$SPAMPOT" ingest --db "$WORK/full.db" "$WORK/full/spool" >/dev/null 2>&1
}
ingest_full || fail "ingest of the full spool failed"
expect_eq "messages stored while full" "$acked" \
    "$(sqlite3 -batch -noheader "$WORK/full.db" 'SELECT count(*) FROM message')"
expect_eq "bodies on disk while full" "$acked" \
    "$(python3 "$TESTS/integration/packs.py" list "$WORK/full/spool" |
	sort -u | wc -l)"
sqlite3 -batch -noheader "$WORK/full.db" 'SELECT sha256 FROM message' \
    >"$WORK/full.shas"
expect_eq "acknowledged bodies" "missing 0 damaged 0" \
    "$(check_bodies "$WORK/full/spool" "$WORK/full.shas")"

# Room again: capture resumes by itself within the 5 s check (8 s slack).
rm -f "$WORK/full/filler"
start=$(date +%s.%N)
resumed=
for i in $(seq 40); do
	if send_mail "$port" "after$i"; then
		resumed=$i
		break
	fi
	sleep 0.2
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
if [ -n "$resumed" ]; then
	pass "capture resumed after ${elapsed}s"
	[ "$(echo "$elapsed < 8" | bc)" = 1 ] ||
	    fail "capture took ${elapsed}s to resume, over the 5 s check"
else
	fail "capture did not resume within 8 s of freeing the disk"
fi
for _ in $(seq 30); do
	[ "$(paused)" = false ] && break
	sleep 0.1
done
expect_eq "heartbeat capture.paused after freeing" false "$(paused)"

ingest_full || fail "ingest after the disk was freed failed"
expect_eq "messages stored in all" "$((acked + 1))" \
    "$(sqlite3 -batch -noheader "$WORK/full.db" 'SELECT count(*) FROM message')"
stop_named full
finish
