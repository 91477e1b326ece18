# Shared helpers for the benchmarks: build, work directory, sensor
# start and stop, and the CSV record.  Everything listens and connects
# on 127.0.0.0/8 only.  Sourced by each case script.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$BENCH/.." && pwd)
BUILD=${BENCH_BUILD:-/tmp/build-bench}
RESULTS=${BENCH_RESULTS:-$BENCH/results}
SPAMPOTD=$BUILD/sensor/spampotd
SPAMPOT=$BUILD/server/spampot
LOADGEN=$BUILD/bench/smtpload
SRCSHIM=$BUILD/bench/srcaddr.so
SYNCPROBE=$BUILD/bench/syncprobe
mkdir -p "$RESULTS"

# A release build without sanitizers, the way a sensor is deployed.
# -O3 raises a format-truncation warning that -Werror would turn into
# a failed build, so the benchmarks build with warnings as warnings.
build() {
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$SRCDIR" --buildtype=release \
		    -Dwerror=false >/dev/null
	fi
	# The tree may be mid-change; then measure the last good build.
	if ! ninja -C "$BUILD" sensor/spampotd server/spampot \
	    >"$BUILD/bench-build.log" 2>&1; then
		if [ ! -x "$SPAMPOTD" ] || [ ! -x "$SPAMPOT" ]; then
			cat "$BUILD/bench-build.log" >&2
			exit 1
		fi
		echo "bench: build failed; using the binaries built before" \
		    "(see $BUILD/bench-build.log)" >&2
	fi
	mkdir -p "$BUILD/bench"
	if [ ! -x "$LOADGEN" ] || [ "$BENCH/smtpload.c" -nt "$LOADGEN" ]; then
		cc -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE -pthread \
		    -o "$LOADGEN" "$BENCH/smtpload.c"
	fi
	if [ ! -x "$SYNCPROBE" ] || [ "$BENCH/syncprobe.c" -nt "$SYNCPROBE" ]; then
		cc -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE \
		    -o "$SYNCPROBE" "$BENCH/syncprobe.c"
	fi
	if [ ! -f "$SRCSHIM" ] || [ "$BENCH/srcaddr.c" -nt "$SRCSHIM" ]; then
		cc -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE -fPIC \
		    -shared -o "$SRCSHIM" "$BENCH/srcaddr.c" -ldl
	fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spampot-bench.XXXXXX")
# The sensor, dropped to nobody, must reach its spool in here.
chmod 711 "$WORK"
PIDS=()

cleanup() {
	local pid

	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -z "${BENCH_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "work directory kept: $WORK" >&2
	fi
}
trap cleanup EXIT

# Print n free TCP ports on 127.0.0.1, one per line.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s).
wait_port() {
	local i

	for i in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

# spawn CMD...: start a background reference or sensor, remembered for
# cleanup; its pid is left in $LAST_PID.
spawn() {
	"$@" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# spawn_quiet CMD...: spawn with its output and log discarded.
spawn_quiet() {
	"$@" >/dev/null 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# stop PID: SIGTERM and wait.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# sensor_config FILE LISTENER_SECTIONS...: a sensor that keeps its
# spool in $WORK, with no banner delay, so that it is measured on its
# own work and not on a deliberate pause.
sensor_config() {
	local file=$1

	shift
	{
		printf '[sensor]\nname = bench\nspool = %s/spool\n' "$WORK"
		printf 'hostnames = mx.bench-isp.example\n'
		printf 'banner-delay-ms = 0\n'
		printf 'min-free-disk-mb = 0\n'
		if [ "$(id -u)" -eq 0 ]; then
			printf 'user = nobody\nchroot = no\n'
		fi
		printf '%s\n' "$@"
	} >"$file"
}

# start_sensor CONFIG PORT: the sensor's pid in $SENSOR_PID.
start_sensor() {
	spawn "$SPAMPOTD" -c "$1" 2>>"$WORK/spampotd.log"
	SENSOR_PID=$LAST_PID
	wait_port "$2"
}

# rss_kib PID: resident set size in KiB.
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# now: seconds since the epoch, with nanoseconds.
now() {
	date +%s.%N
}

# record CASE FIELDS...: one CSV row, time and host first.
record() {
	local file=$RESULTS/$1.csv header=$2

	shift 2
	if [ ! -f "$file" ]; then
		echo "time,host,$header" >"$file"
	fi
	(IFS=,; echo "$(date -u +%Y-%m-%dT%H:%M:%SZ),$(hostname),$*") >>"$file"
}

# ratio A B: A / B with three decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'
}
