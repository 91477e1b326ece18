#!/bin/bash
# Case 1, SMTP capture direct: Postfix's smtp-source against the
# sensor's SMTP listener (every message written and flushed to disk
# before its 250) and against smtp-sink (accepts and discards: the
# upper bound), same load, same run.  The same load is then repeated
# with bench/smtpload, which sends each message in one write with
# TCP_NODELAY, to show how much the client's own behaviour matters.
#
# Last, bench/syncprobe shows on the spool's own disk what the two
# ways of flushing a batch of small files cost (see the README).
#
# BENCH_SESSIONS (100), BENCH_MESSAGES (100000), BENCH_RCPTS (5) and
# BENCH_SIZE (4096 bytes) set the load; BENCH_TIMEOUT (300 s) bounds
# each run.
. "$(dirname "$0")/lib.sh"
build

SESSIONS=${BENCH_SESSIONS:-100}
MESSAGES=${BENCH_MESSAGES:-100000}
RCPTS=${BENCH_RCPTS:-5}
SIZE=${BENCH_SIZE:-4096}
TIMEOUT=${BENCH_TIMEOUT:-300}
# 25 sessions per source address: under the sensor's cap of 64.
SRC_BASE=127.0.1.1
SRC_COUNT=$(((SESSIONS + 24) / 25))

read -r smtp sink <<<"$(free_ports 2 | tr '\n' ' ')"
sensor_config "$WORK/sensor.conf" \
    "max-connections = 1000
max-connections-per-ip = 64

[listener smtp]
address = 127.0.0.1
port = $smtp
service = smtp
service-port = 25"
start_sensor "$WORK/sensor.conf" "$smtp"
spawn smtp-sink -u nobody "127.0.0.1:$sink" 1000
wait_port "$sink"

# stored: messages the sensor has acknowledged so far.
stored() {
	cat "$WORK"/spool/events/*.jsonl |
	    grep -c '"event.action":"message.stored"' || true
}

# source_rate PORT [sensor]: smtp-source's messages per second.  For
# the sensor, the messages it stored are counted, so that a run cut
# short by the time limit still gives its rate.
source_rate() {
	local t0 t1 n=$MESSAGES s0=0

	[ -n "${2:-}" ] && s0=$(stored)
	t0=$(now)
	if ! LD_PRELOAD=$SRCSHIM SPAMPOT_BENCH_SRC="$SRC_BASE+$SRC_COUNT" \
	    timeout "$TIMEOUT" smtp-source -d -N -s "$SESSIONS" \
	    -m "$MESSAGES" -r "$RCPTS" -l "$SIZE" -M load.bench-origin.example \
	    -f load@bench-origin.example -t rcpt@bench-target.example \
	    "127.0.0.1:$1" >"$WORK/smtp-source.log" 2>&1; then
		echo "smtp-source against port $1 failed or timed out:" \
		    "$(tail -n 2 "$WORK/smtp-source.log")" >&2
		[ -n "${2:-}" ] || { echo 0; return; }
	fi
	t1=$(now)
	[ -n "${2:-}" ] && n=$(($(stored) - s0))
	awk -v n="$n" -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "%.1f", n / (b - a) }'
}

# load PORT: smtpload's messages per second, or 0 on failure.
load_rate() {
	local out

	out=$("$LOADGEN" -s "$SESSIONS" -m "$MESSAGES" -r "$RCPTS" \
	    -l "$SIZE" -B "$SRC_BASE" -b "$SRC_COUNT" -t "$TIMEOUT" \
	    "127.0.0.1:$1" 2>"$WORK/smtpload.log") || {
		echo "smtpload against port $1: $out" \
		    "$(tail -n 2 "$WORK/smtpload.log")" >&2
		echo 0
		return
	}
	echo "${out##*rate=}"
}

sink_src=$(source_rate "$sink")
pot_src=$(source_rate "$smtp" sensor)
pot_src_stored=$(stored)
sink_load=$(load_rate "$sink")
pot_load=$(load_rate "$smtp")
pot_stored=$(($(stored) - pot_src_stored))

r_src=$(ratio "$pot_src" "$sink_src")
r_load=$(ratio "$pot_load" "$sink_load")
record smtp-direct \
    "client,sessions,messages,rcpts,size,spampotd_msg_s,smtp_sink_msg_s,ratio,stored" \
    smtp-source "$SESSIONS" "$MESSAGES" "$RCPTS" "$SIZE" "$pot_src" \
    "$sink_src" "$r_src" "$pot_src_stored"
record smtp-direct \
    "client,sessions,messages,rcpts,size,spampotd_msg_s,smtp_sink_msg_s,ratio,stored" \
    smtpload "$SESSIONS" "$MESSAGES" "$RCPTS" "$SIZE" "$pot_load" \
    "$sink_load" "$r_load" "$pot_stored"
echo "smtp-direct (smtp-source, $SESSIONS sessions): spampotd $pot_src msg/s," \
    "smtp-sink $sink_src msg/s, ratio $r_src (target >= 0.8);" \
    "stored $pot_src_stored of $MESSAGES"
echo "smtp-direct (smtpload, $SESSIONS sessions): spampotd $pot_load msg/s," \
    "smtp-sink $sink_load msg/s, ratio $r_load (target >= 0.8);" \
    "stored $pot_stored of $MESSAGES"

# What a flush per file would cost on this disk, against the sensor's
# one syncfs per batch.
mkdir "$WORK/probe"
while read -r line; do
	echo "smtp-direct (syncprobe): $line"
	files=${line##*, }
	record syncprobe "mode,files_s" "\"${line%%:*}\"" "${files% files/s}"
done < <("$SYNCPROBE" "$WORK/probe" 100 5)
