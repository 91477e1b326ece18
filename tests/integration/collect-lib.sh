# Helpers for the collector tests, on top of lib.sh: several named
# sensors at once, an sshd of the test's own on 127.0.0.1, and the
# collector's configuration.  Source after lib.sh.

declare -A SENSOR_PIDS=()
SSHD_PID=

stop_named() {
	local pid=${SENSOR_PIDS[$1]:-}

	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "SENSOR_PIDS[$1]"
}

collect_cleanup() {
	local name

	for name in "${!SENSOR_PIDS[@]}"; do
		stop_named "$name"
	done
	if [ -n "$SSHD_PID" ]; then
		kill -TERM "$SSHD_PID" 2>/dev/null || true
		wait "$SSHD_PID" 2>/dev/null || true
	fi
	cleanup
}
trap collect_cleanup EXIT

# named_config NAME PORT [LINES...]: $WORK/NAME.conf, a sensor called
# NAME with its spool in $WORK/NAME/spool, a heartbeat every second
# and one SMTP listener on PORT.
named_config() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$WORK/$name"
	chmod 755 "$WORK/$name"
	{
		printf '[sensor]\nname = %s\nspool = %s/%s/spool\n' \
		    "$name" "$WORK" "$name"
		printf 'hostnames = mx.%s.example\nheartbeat-interval = 1\n' \
		    "$name"
		if [ "$(id -u)" -eq 0 ]; then
			printf 'user = nobody\nchroot = no\n'
		fi
		printf '%s\n' "$@"
		printf '[listener smtp]\naddress = 127.0.0.1\nport = %s\n' \
		    "$port"
		printf 'service = smtp\nservice-port = 25\n'
	} >"$WORK/$name.conf"
}

# start_named NAME PORT: run the sensor of $WORK/NAME.conf.
start_named() {
	"$SPAMPOTD" -c "$WORK/$1.conf" 2>>"$WORK/spampotd.log" &
	SENSOR_PIDS[$1]=$!
	if ! wait_port "$2"; then
		tail -n 20 "$WORK/spampotd.log" >&2
		return 1
	fi
}

# send_mail PORT TAG [BODY_FILE]: one message through swaks.
send_mail() {
	local port=$1 tag=$2
	local body=${3:-}

	if [ -z "$body" ]; then
		body="$WORK/body-$tag.txt"
		printf 'Cheap pills, offer %s.\n' "$tag" >"$body"
	fi
	swaks --server "127.0.0.1:$port" --timeout 30 \
	    --helo "spam-$tag.example" --from "sender-$tag@spam.example" \
	    --to "victim-$tag@target.example" --header "Subject: $tag" \
	    --body "$body" >"$WORK/swaks-$tag.log" 2>&1
}

# wait_heartbeat NAME: until NAME's spool has a heartbeat (10 s).
wait_heartbeat() {
	local i
	for i in $(seq 100); do
		[ -s "$WORK/$1/spool/heartbeat.json" ] && return 0
		sleep 0.1
	done
	fail "no heartbeat from sensor $1"
	return 1
}

# start_sshd: an sshd on a free 127.0.0.1 port that accepts the test's
# key for the user running the test.  As root (CI) that user is root:
# the spools belong to the sensor's user, nobody, whose login shell is
# nologin, and root can read them without changing their modes.  As
# another user, sshd cannot switch users, so the test logs in as itself.
# Sets SSH_PORT, SSH_USER, SSH_KEY and KNOWN_HOSTS.
start_sshd() {
	local dir=$WORK/ssh

	mkdir -p "$dir"
	chmod 700 "$dir"
	SSH_PORT=$(free_ports 1)
	SSH_USER=$(id -un)
	SSH_KEY=$dir/client_key
	KNOWN_HOSTS=$dir/known_hosts
	ssh-keygen -q -t ed25519 -N '' -C spampot-test-host -f "$dir/host_key"
	ssh-keygen -q -t ed25519 -N '' -C spampot-test-client -f "$SSH_KEY"
	cp "$SSH_KEY.pub" "$dir/authorized_keys"
	printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" \
	    "$(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$KNOWN_HOSTS"
	cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $SSH_USER
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
	# sshd running as root insists on its privilege separation
	# directory, which Debian creates only when the service starts.
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
		mkdir -p -m 755 /run/sshd
	fi
	/usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
	SSHD_PID=$!
	if ! wait_port "$SSH_PORT"; then
		cat "$dir/sshd.log" >&2
		return 1
	fi
}

# collector_head FILE MIRROR DB [LINES...]: the [collector] section.
collector_head() {
	local file=$1 mirror=$2 db=$3
	shift 3
	{
		printf '[collector]\nmirror = %s\ndatabase = %s\n' \
		    "$mirror" "$db"
		printf 'known-hosts = %s\ngeo = %s/no-geo\n' \
		    "$KNOWN_HOSTS" "$WORK"
		printf 'connect-timeout = 5\nio-timeout = 30\n'
		printf '%s\n' "$@"
	} >"$file"
}

# remote_sensor FILE NAME [LINES...]: NAME's spool through the sshd.
remote_sensor() {
	local file=$1 name=$2
	shift 2
	{
		printf '\n[sensor %s]\nhost = 127.0.0.1\nport = %s\n' \
		    "$name" "$SSH_PORT"
		printf 'user = %s\nkey = %s\npath = %s/%s/spool\n' \
		    "$SSH_USER" "$SSH_KEY" "$WORK" "$name"
		printf '%s\n' "$@"
	} >>"$file"
}

# local_sensor FILE NAME: NAME's spool read in place.
local_sensor() {
	printf '\n[sensor %s]\npath = %s/%s/spool\n' "$2" "$WORK" "$2" >>"$1"
}

# messages_by_sensor DB: "name count" lines.
messages_by_sensor() {
	sqlite3 -batch -noheader -separator ' ' "$1" \
	    "SELECT s.name, count(m.id) FROM sensor s LEFT JOIN message m
	    ON m.sensor_id = s.id GROUP BY s.name ORDER BY s.name"
}

# db_digest DB: the stored events, without row ids, for comparing runs.
db_digest() {
	sqlite3 -batch -noheader "$1" "
	    SELECT s.name, m.session_id, m.seq, m.time, m.sha256, m.size,
	    m.mail_from, m.rcpt FROM message m JOIN sensor s
	    ON s.id = m.sensor_id ORDER BY 1, 2, 3;
	    SELECT s.name, x.session_id, x.start_time, x.end_time,
	    x.bytes_in, x.messages FROM session x JOIN sensor s
	    ON s.id = x.sensor_id ORDER BY 1, 2;
	    SELECT s.name, r.minute, r.service_port, r.messages, r.recipients,
	    r.connections, r.bytes_in FROM rollup_minute r JOIN sensor s
	    ON s.id = r.sensor_id ORDER BY 1, 2, 3;
	    SELECT s.name, r.day, r.source_ip, r.messages FROM rollup_ip_day r
	    JOIN sensor s ON s.id = r.sensor_id ORDER BY 1, 2, 3;" |
	    sha256sum | cut -d' ' -f1
}
