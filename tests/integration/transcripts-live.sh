#!/bin/bash
# The golden SMTP transcripts, replayed against a live sensor: directly
# on an SMTP listener, and through SOCKS5 and HTTP CONNECT tunnels.
# Each connection starts with a PROXY v1 header carrying the
# transcript's client address, and the sensor picks its personality
# and host name from that address and the spool's secret.  The test
# writes a secret under which every transcript's client gets the
# personality and host name the transcript was written for, so no
# transcript may be skipped for having met the wrong personality.
. "$TESTS/integration/lib.sh"

transcripts=("$TESTS"/transcripts/smtp-*.txt)
mkdir -p "$WORK/spool"

# The sensor hashes the secret and the client address with SHA-256.
# Its first eight bytes, big-endian, modulo the number of personalities
# select one in the order personality.c lists them.  The next eight
# bytes, modulo the number of host names, select one in config order.
python3 - "$SRCDIR/sensor/personality.c" "$WORK/spool/secret" \
    "$WORK/hostnames" "${transcripts[@]}" <<'PY' || fail "no secret found"
import hashlib, re, sys

source, secret_path, hostnames_path, *paths = sys.argv[1:]
personalities = re.findall(r'\.name = "([a-z]+)"', open(source).read())
want = {}
for path in paths:
    head = dict(l[1:].split(" ", 1) for l in open(path).read().splitlines()
                if l.startswith("@") and " " in l)
    if "client" not in head:
        continue
    pick = (head.get("personality"), head.get("hostname"))
    if want.setdefault(head["client"], pick) != pick:
        sys.exit("%s: client %s has two personalities" % (path,
                                                          head["client"]))
hostnames = sorted({h for _, h in want.values()})
for n in range(1 << 20):
    secret = hashlib.sha256(b"spampot transcripts %d" % n).digest()
    for ip, (pers, host) in want.items():
        d = hashlib.sha256(secret + ip.encode()).digest()
        a = int.from_bytes(d[:8], "big")
        b = int.from_bytes(d[8:16], "big")
        if (personalities[a % len(personalities)] != pers or
                hostnames[b % len(hostnames)] != host):
            break
    else:
        open(secret_path, "wb").write(secret)
        open(hostnames_path, "w").write(", ".join(hostnames) + "\n")
        print("secret %d fits %d client addresses" % (n, len(want)))
        sys.exit(0)
sys.exit("no secret fits")
PY

read -r smtp proxy <<<"$(free_ports 2 | tr "\n" " ")"
# The hostnames key repeats the [sensor] one, which it replaces.
write_config "$WORK/sensor.conf" \
    "hostnames = $(cat "$WORK/hostnames")" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25
proxy-protocol-from = 127.0.0.1" \
    "[listener proxy]
port = $proxy
service-port = 1080
proxy-protocol-from = 127.0.0.1"
start_sensor "$WORK/sensor.conf" "$proxy"

# Transcripts that need the unit runner's control of storage, budget,
# time, TLS or AUTH cannot run live, so transcript.py skips them.
eligible=$(grep -L -E '^(@store|@budget|@starttls|@auth-accept|T:|TLS$|A: )' \
    "${transcripts[@]}" | wc -l)

# replay NAME [TUNNEL OPTIONS...]
replay() {
	local name=$1 log="$WORK/transcripts-$1.log"
	shift
	python3 "$TESTS/integration/transcript.py" --proxy-v1 "$@" \
	    "${transcripts[@]}" >"$log" 2>&1 ||
	    fail "$name: $(grep -v '^ok\|^SKIP' "$log" | head -n 5)"
	expect_eq "$name transcripts passed" "$eligible" "$(grep -c '^ok' "$log")"
	expect_eq "$name skipped for the personality" "" \
	    "$(grep 'another personality' "$log" || true)"
}
replay direct --connect "127.0.0.1:$smtp"
replay socks5 --connect "127.0.0.1:$proxy" --socks5 mx.target.example:25
replay http --connect "127.0.0.1:$proxy" --http-connect mx.target.example:587

stop_sensor
ingest

# Every message is stored under the personality its client was meant
# to meet, and each path carried the same number of messages.
expect_eq "messages under the wrong personality" 0 \
    "$(sql "SELECT count(*) FROM message WHERE NOT (
        (source_ip = '198.51.100.23' AND personality = 'postfix') OR
        (source_ip = '203.0.113.9' AND personality = 'sendmail') OR
        (source_ip = '192.0.2.77' AND personality = 'exim'))")"
counts=$(sql "SELECT protocol || ':' || count(*) FROM message
    GROUP BY protocol ORDER BY protocol" | tr '\n' ' ')
per=$(sql "SELECT count(*) FROM message WHERE protocol = 'smtp'")
if [ "$per" -gt 0 ]; then
	expect_eq "messages per path" "http:$per smtp:$per socks5:$per " "$counts"
else
	fail "no message stored by the transcripts"
fi
expect_eq "relayed sessions from other addresses" 0 \
    "$(sql "SELECT count(*) FROM session WHERE relay_ip IS NOT NULL
        AND source_ip NOT IN ('198.51.100.23', '203.0.113.9', '192.0.2.77')")"
finish
