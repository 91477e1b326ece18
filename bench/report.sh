#!/bin/bash
# Case 5, report: the full `spampot report` (all tables, text) over the
# databases the ingest case left, at each size, best of three runs.
# Reference: the same summary figures and emails per day computed by
# sqlite3 straight from the message table, as a report without rollups
# would.  Target: under 1 second.
. "$(dirname "$0")/lib.sh"
build

DATA=${BENCH_DATA:-/tmp/spampot-bench-data}
SIZES=${BENCH_INGEST_SIZES:-100000,250000,500000,1000000}
for size in ${SIZES//,/ }; do
	if [ ! -f "$DATA/db/$size.db" ]; then
		echo "report: no database for $size messages; running the" \
		    "ingest case first" >&2
		"$BENCH/ingest.sh"
		break
	fi
done

# best3 CMD...: the shortest wall time of three runs, in seconds.
best3() {
	local best= t0 t1 s

	for _ in 1 2 3; do
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		if [ -z "$best" ] || awk -v s="$s" -v b="$best" \
		    'BEGIN { exit !(s < b) }'; then
			best=$s
		fi
	done
	echo "$best"
}

naive() {
	sqlite3 "$1" "SELECT min(day), max(day), count(DISTINCT day),
	    count(*), sum(rcpt_count), count(DISTINCT source_ip) FROM message;
	    SELECT m.service_port, count(*) FROM message m GROUP BY 1;
	    SELECT i.asn, count(*) FROM message m JOIN ip i ON i.ip = m.source_ip
	    GROUP BY 1 ORDER BY 2 DESC LIMIT 10;
	    SELECT day, count(*) FROM message GROUP BY day;"
}

header="messages,seconds,reference_seconds,ratio"
for size in ${SIZES//,/ }; do
	db=$DATA/db/$size.db
	count=$(sqlite3 "$db" 'SELECT count(*) FROM message')
	# A first run to read the database into the page cache, as a
	# report run after ingest finds it.
	"$SPAMPOT" report --db "$db" >"$WORK/report-$size.txt"
	secs=$(best3 "$SPAMPOT" report --db "$db")
	rsecs=$(best3 naive "$db")
	r=$(ratio "$secs" "$rsecs")
	record report "$header" "$count" "$secs" "$rsecs" "$r"
	echo "report ($count messages): spampot report $secs s (target < 1 s)," \
	    "sqlite3 over the message table $rsecs s, ratio $r"
done
