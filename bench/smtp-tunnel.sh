#!/bin/bash
# Case 2, SMTP capture through a tunnel: bench/smtpload opens each
# session through the sensor's SOCKS5 and HTTP CONNECT proxies (which
# hand the tunnel to the SMTP emulator; the sensor connects nowhere)
# and, for reference, through microsocks (SOCKS5) and tinyproxy (HTTP
# CONNECT) to smtp-sink.  The same client and load on both sides.
#
# BENCH_SESSIONS (100), BENCH_MESSAGES (20000), BENCH_RCPTS (5),
# BENCH_SIZE (4096) and BENCH_TIMEOUT (300 s) as in smtp-direct.sh.
. "$(dirname "$0")/lib.sh"
build

SESSIONS=${BENCH_SESSIONS:-100}
MESSAGES=${BENCH_MESSAGES:-20000}
RCPTS=${BENCH_RCPTS:-5}
SIZE=${BENCH_SIZE:-4096}
TIMEOUT=${BENCH_TIMEOUT:-300}
SRC_BASE=127.0.1.1
SRC_COUNT=$(((SESSIONS + 24) / 25))

for tool in microsocks tinyproxy smtp-sink; do
	command -v "$tool" >/dev/null ||
	    { echo "smtp-tunnel: $tool is not installed" >&2; exit 1; }
done

read -r psocks phttp sink msocks tproxy <<<"$(free_ports 5 | tr '\n' ' ')"
sensor_config "$WORK/sensor.conf" \
    "max-connections = 1000
max-connections-per-ip = 64

[listener socks]
address = 127.0.0.1
port = $psocks
service = proxy
service-port = 1080

[listener http]
address = 127.0.0.1
port = $phttp
service = proxy
service-port = 8080"
start_sensor "$WORK/sensor.conf" "$psocks"

spawn smtp-sink -u nobody "127.0.0.1:$sink" 1000
spawn_quiet microsocks -i 127.0.0.1 -p "$msocks"
# tinyproxy: CONNECT allowed to the sink's port only, from loopback.
cat >"$WORK/tinyproxy.conf" <<CONF
User nobody
Group nogroup
Port $tproxy
Listen 127.0.0.1
Timeout 600
MaxClients 1000
Allow 127.0.0.0/8
ConnectPort $sink
LogLevel Critical
CONF
spawn tinyproxy -d -c "$WORK/tinyproxy.conf"
wait_port "$sink"
wait_port "$msocks"
wait_port "$tproxy"

# rate TUNNEL PROXY_PORT TARGET: smtpload's messages per second.
rate() {
	local out

	out=$("$LOADGEN" -p "$1" -T "$3" -s "$SESSIONS" -m "$MESSAGES" \
	    -r "$RCPTS" -l "$SIZE" -B "$SRC_BASE" -b "$SRC_COUNT" \
	    -t "$TIMEOUT" "127.0.0.1:$2" 2>"$WORK/smtpload.log") || {
		echo "smtpload $1 via port $2: $out" \
		    "$(tail -n 2 "$WORK/smtpload.log")" >&2
		echo 0
		return
	}
	echo "${out##*rate=}"
}

header="tunnel,sessions,messages,rcpts,size,spampotd_msg_s,reference,reference_msg_s,ratio"
# The sensor's tunnels name port 25 of a loopback address; it never
# connects there, it answers as the SMTP server itself.
ref_socks=$(rate socks5 "$msocks" "127.0.0.1:$sink")
pot_socks=$(rate socks5 "$psocks" "127.0.0.1:25")
ref_http=$(rate http "$tproxy" "127.0.0.1:$sink")
pot_http=$(rate http "$phttp" "127.0.0.1:25")
r_socks=$(ratio "$pot_socks" "$ref_socks")
r_http=$(ratio "$pot_http" "$ref_http")
record smtp-tunnel "$header" socks5 "$SESSIONS" "$MESSAGES" "$RCPTS" \
    "$SIZE" "$pot_socks" microsocks+smtp-sink "$ref_socks" "$r_socks"
record smtp-tunnel "$header" http-connect "$SESSIONS" "$MESSAGES" "$RCPTS" \
    "$SIZE" "$pot_http" tinyproxy+smtp-sink "$ref_http" "$r_http"
echo "smtp-tunnel (SOCKS5, $SESSIONS sessions): spampotd $pot_socks msg/s," \
    "microsocks+smtp-sink $ref_socks msg/s, ratio $r_socks (target >= 0.8)"
echo "smtp-tunnel (HTTP CONNECT, $SESSIONS sessions): spampotd $pot_http msg/s," \
    "tinyproxy+smtp-sink $ref_http msg/s, ratio $r_http (target >= 0.8)"
