# Shared helpers for the integration tests: each test sources this,
# gets a private work directory and free loopback ports, starts a real
# spampotd, drives it with real clients and checks the spool and the
# database.  Every address used is on 127.0.0.0/8.
set -euo pipefail

: "${SPAMPOTD:?run through meson test}"
: "${SPAMPOT:?run through meson test}"
: "${SRCDIR:?run through meson test}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spampot-test.XXXXXX")
# The sensor, dropped to nobody, must reach its spool in here.
chmod 711 "$WORK"
SENSOR_PID=
FAILURES=0
MOUNTED=

cleanup() {
	if [ -n "$SENSOR_PID" ]; then
		kill -TERM "$SENSOR_PID" 2>/dev/null || true
		wait "$SENSOR_PID" 2>/dev/null || true
	fi
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED" || echo "cannot unmount $MOUNTED" >&2
	fi
	if [ "$FAILURES" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
		rm -rf "$WORK"
	else
		echo "work directory kept: $WORK" >&2
	fi
}
trap cleanup EXIT

# mount_tmpfs DIR SIZE: a tmpfs of SIZE at DIR, for a disk that fills
# up; cleanup unmounts it once the sensors have stopped.  Needs root.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=755" spampot-test "$1"
	MOUNTED=$1
}

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

# Record a failed check and go on, so one run shows every failure.
fail() {
	echo "FAIL: $*" >&2
	FAILURES=$((FAILURES + 1))
}

pass() {
	echo "ok: $*"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1 = $3"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# Exit with the test's verdict; call at the end of every test.  A
# sanitizer report in the sensor's log fails the test whatever else
# passed.
finish() {
	if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
	    "$WORK/spampotd.log" 2>/dev/null; then
		fail "sanitizer report in the sensor's log"
		grep -A12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$WORK/spampotd.log" | head -n 40 >&2
	fi
	if [ "$FAILURES" -ne 0 ]; then
		echo "$FAILURES check(s) failed" >&2
		exit 1
	fi
	exit 0
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

# start_sensor CONFIG_FILE PORT: run spampotd and wait for PORT.
start_sensor() {
	"$SPAMPOTD" -c "$1" 2>>"$WORK/spampotd.log" &
	SENSOR_PID=$!
	if ! wait_port "$2"; then
		cat "$WORK/spampotd.log" >&2
		return 1
	fi
}

# running PID: the process exists and is not a zombie waiting to be reaped.
running() {
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$(echo "${stat##*) }" | cut -d' ' -f1)" != Z ]
}

# stop_sensor: SIGTERM, which must find the sensor alive and end it
# with status 0; a crash or a leak report fails the test.
stop_sensor() {
	local status=0

	if ! kill -TERM "$SENSOR_PID" 2>/dev/null; then
		fail "the sensor had died before it was stopped"
		tail -n 20 "$WORK/spampotd.log" >&2
	fi
	# Ten seconds to shut down, then it is killed: a hang is a failure
	# too, and must not stall the test until its timeout.
	for _ in $(seq 200); do
		running "$SENSOR_PID" || break
		sleep 0.05
	done
	if running "$SENSOR_PID"; then
		fail "the sensor did not exit within 10 s of SIGTERM"
		kill -KILL "$SENSOR_PID" 2>/dev/null || true
		wait "$SENSOR_PID" 2>/dev/null || true
		SENSOR_PID=
		return
	fi
	# A process that is not this shell's child cannot be waited for
	# (127); its status is then unknown.
	wait "$SENSOR_PID" 2>/dev/null || status=$?
	if [ "$status" -ne 0 ] && [ "$status" -ne 127 ]; then
		fail "the sensor exited with status $status"
	fi
	SENSOR_PID=
}

# write_config FILE SECTIONS...: a sensor section for $WORK/spool plus
# the listener sections given as text.
write_config() {
	local file=$1 extra
	shift
	extra=$(printf '%s\n' "$@")
	# A key may appear once per section: a default gives way to the
	# test's own line.
	default() {
		grep -qE "^$1[[:space:]]*=" <<<"$extra" ||
		    printf '%s = %s\n' "$1" "$2"
	}
	{
		printf '[sensor]\n'
		default name test
		default spool "$WORK/spool"
		default hostnames mx.test-isp.example
		# As root (CI), the sensor must be told whom to run as.
		# LeakSanitizer needs /proc, so the tests skip the chroot;
		# the privileges test checks it with leak checks off.
		if [ "$(id -u)" -eq 0 ]; then
			default user nobody
			default chroot no
		fi
		printf '%s\n' "$extra"
	} >"$file"
}

# start_smtp_sensor [SENSOR_LINE...]: a sensor with one SMTP listener
# on a free port of 127.0.0.1, left in $smtp, configured in
# $WORK/sensor.conf with the given [sensor] lines.
start_smtp_sensor() {
	read -r smtp <<<"$(free_ports 1)"
	write_config "$WORK/sensor.conf" "$@" \
	    "[listener smtp]
address = 127.0.0.1
port = $smtp
service = smtp
service-port = 25"
	start_sensor "$WORK/sensor.conf" "$smtp"
}

# ingest: the spool into $WORK/spampot.db, quietly.
ingest() {
	"$SPAMPOT" ingest --db "$WORK/spampot.db" "$WORK/spool" >/dev/null
}

sql() {
	sqlite3 -batch -noheader "$WORK/spampot.db" "$1"
}

# clear_of_hour SECONDS: return at once when the next UTC hour is more
# than SECONDS away, else once it has begun.  The sensor starts a new
# events file and pack at each hour, which a test that names the open
# file must not straddle.
clear_of_hour() {
	local left=$((3600 - $(date -u +%s) % 3600))

	if [ "$left" -le "$1" ]; then
		echo "waiting ${left} s for the hour to turn" >&2
		sleep $((left + 1))
	fi
}

# body_of SHA256 [SPOOL]: the stored body of a message, decompressed.
body_of() {
	python3 "$TESTS/integration/packs.py" body "${2:-$WORK/spool}" "$1"
}

# check_bodies SPOOL FILE: "missing N damaged M" for the hashes in FILE.
check_bodies() {
	python3 "$TESTS/integration/packs.py" check "$1" "$2"
}
