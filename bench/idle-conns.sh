#!/bin/bash
# Case 3, many idle connections: BENCH_CONNS (10000) connections held
# open to the sensor's SMTP listener, each having received its banner,
# 50 per source address from 127.0.2.1 on (the sensor admits at most
# 64 per address).  Measured: the sensor's resident memory (VmRSS)
# before and after, in all and per connection.  Target: at most
# 64 MiB for 10,000 connections.
. "$(dirname "$0")/lib.sh"
build

CONNS=${BENCH_CONNS:-10000}
# The sensor and the holder each need a descriptor per connection.
ulimit -n "$((CONNS + 2048))"

read -r smtp <<<"$(free_ports 1)"
sensor_config "$WORK/sensor.conf" \
    "max-connections = $((CONNS + 1000))
max-connections-per-ip = 64

[listener smtp]
address = 127.0.0.1
port = $smtp
service = smtp
service-port = 25"
start_sensor "$WORK/sensor.conf" "$smtp"
sleep 1
before=$(rss_kib "$SENSOR_PID")
spawn python3 "$BENCH/idle_hold.py" --count "$CONNS" --per-ip 50 \
    --base 127.0.2.1 "$smtp" "$WORK/ready"
holder=$LAST_PID
for _ in $(seq 1800); do
	[ -f "$WORK/ready" ] && break
	kill -0 "$holder" 2>/dev/null || break
	sleep 0.1
done
held=$(cat "$WORK/ready" 2>/dev/null || echo 0)
sleep 1
after=$(rss_kib "$SENSOR_PID")
open=$(ls "/proc/$SENSOR_PID/fd" | wc -l)
stop "$holder"

per=$(awk -v a="$before" -v b="$after" -v n="$held" \
    'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "nan" }')
mib=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.1f", (b - a) / 1024 }')
scaled=$(awk -v a="$before" -v b="$after" -v n="$held" \
    'BEGIN { if (n > 0) printf "%.1f", (b - a) / 1024 * 10000 / n; else print "nan" }')
record idle-conns \
    "conns,held,sensor_fds,rss_before_kib,rss_after_kib,bytes_per_conn,mib_per_10000" \
    "$CONNS" "$held" "$open" "$before" "$after" "$per" "$scaled"
echo "idle-conns ($held of $CONNS held): spampotd RSS $((before / 1024))" \
    "-> $((after / 1024)) MiB, +$mib MiB, $per bytes/connection," \
    "$scaled MiB per 10,000 (target <= 64 MiB)"
