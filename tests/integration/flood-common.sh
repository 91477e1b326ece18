# Shared steps of the flood tests, sourced after lib.sh: a sensor with
# an SMTP, a proxy and a PROXY-protocol SMTP listener, and short
# timeouts, run under flood.py's attack while a good client sends mail.

# ASan keeps freed memory in quarantine (256 MiB by default), which
# would hide what the sensor itself holds; keep it small.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

read -r SMTP_PORT PROXY_PORT RELAY_PORT <<<"$(free_ports 3 | tr "\n" " ")"

# flood_start_sensor [SENSOR KEYS...]: extra [sensor] lines may follow.
flood_start_sensor() {
	write_config "$WORK/sensor.conf" \
	    "handshake-timeout = 3
idle-timeout = 5
$*
[listener smtp]
port = $SMTP_PORT
service = smtp
[listener proxy]
port = $PROXY_PORT
service = proxy
[listener relayed]
port = $RELAY_PORT
service = smtp
proxy-protocol-from = 127.0.0.3"
	start_sensor "$WORK/sensor.conf" "$RELAY_PORT"
}

# flood_run ATTACK [OPTIONS...]: flood.py's verdicts become checks.
flood_run() {
	local out=$WORK/flood.out line

	python3 "$TESTS/integration/flood.py" run "$@" --pid "$SENSOR_PID" \
	    --smtp-port "$SMTP_PORT" --proxy-port "$PROXY_PORT" \
	    --relay-port "$RELAY_PORT" --relay 127.0.0.3 >"$out" 2>&1 || true
	while IFS= read -r line; do
		case $line in
		ok:*) pass "${line#ok: }" ;;
		FAIL:*) fail "${line#FAIL: }" ;;
		*) echo "$line" ;;
		esac
	done <"$out"
	grep -q '^stats: ' "$out" || fail "flood.py did not finish: $(tail -n 5 "$out")"
	FLOOD_STATS=$(sed -n 's/^stats: //p' "$out")
}

# flood_stat KEY: a number from the attack's statistics.
flood_stat() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' \
	    "$FLOOD_STATS" "$1"
}

flood_stop_and_count() {
	stop_sensor
	EVENT_COUNTS=$(python3 "$TESTS/integration/flood.py" count "$WORK/spool")
	echo "events: $EVENT_COUNTS"
}

# event_count ACTION[/REASON]
event_count() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' \
	    "$EVENT_COUNTS" "$1"
}

# at_least WHAT MINIMUM ACTUAL
at_least() {
	if [ "$3" -ge "$2" ]; then
		pass "$1 = $3 (at least $2)"
	else
		fail "$1: expected at least $2, got $3"
	fi
}

# at_most WHAT MAXIMUM ACTUAL
at_most() {
	if [ "$3" -le "$2" ]; then
		pass "$1 = $3 (at most $2)"
	else
		fail "$1: expected at most $2, got $3"
	fi
}
