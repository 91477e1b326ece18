#!/bin/bash
# swaks, through the sensor's SOCKS5 proxy under proxychains4, runs
# STARTTLS and SMTP AUTH against each MTA personality in turn.  Unknown
# credentials must be refused with that MTA's own 535, every attempt
# must reach the spool as an smtp.auth event, the configured pair must
# get 235, and mail sent without AUTH must still be captured.  openssl
# s_client checks the certificate's names, and that a restart brings
# back the same certificate.
. "$TESTS/integration/lib.sh"

read -r smtp socks <<<"$(free_ports 2 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "hostnames = mx.test-isp.example, mail.test-isp.example
smtp-auth-accept = carol:letmein" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25" \
    "[listener socks]
port = $socks
service-port = 1080"

printf '%s\n' strict_chain quiet_mode 'tcp_read_time_out 15000' \
    'tcp_connect_time_out 8000' '[ProxyList]' "socks5 127.0.0.1 $socks" \
    >"$WORK/proxychains.conf"

# write_secret INDEX: a spool secret under which 127.0.0.1 meets the
# personality with that index (0 postfix, 1 sendmail, 2 exim), as
# smtp_personality_pick() chooses: SHA-256(secret, address) mod 3.
write_secret() {
	mkdir -p "$WORK/spool"
	python3 - "$1" "$WORK/spool/secret" <<'PY'
import hashlib, sys
want, path = int(sys.argv[1]), sys.argv[2]
for i in range(1000):
    secret = hashlib.sha256(b"swaks-auth-tls %d" % i).digest()
    digest = hashlib.sha256(secret + b"127.0.0.1").digest()
    if int.from_bytes(digest[:8], "big") % 3 == want:
        open(path, "wb").write(secret)
        break
PY
}

# swaks_run NAME [OPTIONS...]: one message through the tunnel to
# 127.0.0.1:25; the transcript is kept, the exit status returned.
swaks_run() {
	local name=$1
	shift
	proxychains4 -f "$WORK/proxychains.conf" \
	    swaks --server 127.0.0.1:25 --timeout 15 \
	    --helo "spam-$name.example" --from "sender@spam-origin.example" \
	    --to "victim-$name@target.example" --header "Subject: $name" \
	    "$@" >"$WORK/swaks-$name.log" 2>&1
}

# expect_refused NAME REPLY [OPTIONS...]: AUTH fails with REPLY.
expect_refused() {
	local name=$1 want=$2
	shift 2
	if swaks_run "$name" "$@"; then
		fail "$name: AUTH was accepted"
	elif grep -qF -- "$want" "$WORK/swaks-$name.log"; then
		pass "$name refused with '$want'"
	else
		fail "$name: no '$want' in: $(grep -E '^ *<' \
		    "$WORK/swaks-$name.log" | tail -n 2)"
	fi
}

# expect_sent NAME [OPTIONS...]
expect_sent() {
	local name=$1
	shift
	if swaks_run "$name" "$@"; then
		pass "$name sent"
	else
		fail "$name failed: $(tail -n 3 "$WORK/swaks-$name.log")"
	fi
}

# events ACTION: that action's events in the spool, one JSON per line.
events() {
	cat "$WORK"/spool/events/*.jsonl | grep -F "\"event.action\":\"$1\""
}

# auth_event MECHANISM USER: the fields of that smtp.auth event.
auth_event() {
	events smtp.auth | python3 -c '
import json, sys
mech, user = sys.argv[1:]
for line in sys.stdin:
    e = json.loads(line)
    if e["smtp.auth.mechanism"] == mech and e["user.name"] == user:
        print("|".join(str(e.get(k, "-")) for k in (
            "user.password", "event.outcome", "smtp.personality",
            "proxy.protocol", "proxy.target", "tls.version")
            ) + "|" + ("digest" if e.get("user.password_digest") else "")
            + ("challenge" if e.get("smtp.auth.challenge") else ""))
' "$1" "$2" | head -n 1
}

# The certificate's subject and names, and its SHA-256 fingerprint.
cert_of() {
	openssl s_client -starttls smtp -connect "127.0.0.1:$smtp" \
	    -servername mx.test-isp.example </dev/null 2>/dev/null |
	    openssl x509 -noout -subject -ext subjectAltName -fingerprint \
	    -sha256 2>/dev/null
}

declare -A refusal=(
	[postfix]="535 5.7.8 Error: authentication failed:"
	[sendmail]="535 5.7.0 authentication failed"
	[exim]="535 Incorrect authentication data"
)
declare -A accepted=(
	[postfix]="235 2.7.0 Authentication successful"
	[sendmail]="235 2.0.0 OK Authenticated"
	[exim]="235 Authentication succeeded"
)
names=(postfix sendmail exim)
first_cert=

for index in 0 1 2; do
	p=${names[$index]}
	rm -rf "$WORK/spool"
	write_secret "$index"
	if [ -n "$first_cert" ]; then
		# A restart keeps the spool, and with it the certificate.
		mkdir -p "$WORK/spool/tls"
		cp -p "$WORK/keep-tls/"* "$WORK/spool/tls/"
	fi
	start_sensor "$WORK/sensor.conf" "$socks"

	cert=$(cert_of)
	if [ -z "$first_cert" ]; then
		first_cert=$cert
		mkdir -p "$WORK/keep-tls"
		cp -p "$WORK/spool/tls/"* "$WORK/keep-tls/"
		expect_eq "certificate subject" "subject=CN = mx.test-isp.example" \
		    "$(echo "$cert" | grep '^subject=')"
		expect_eq "certificate names" \
		    "DNS:mx.test-isp.example, DNS:mail.test-isp.example" \
		    "$(echo "$cert" | grep 'DNS:' | sed 's/^ *//')"
		expect_eq "key file mode" 600 \
		    "$(stat -c %a "$WORK/spool/tls/key.pem")"
	else
		expect_eq "$p: same certificate after a restart" \
		    "$(echo "$first_cert" | grep -i fingerprint)" \
		    "$(echo "$cert" | grep -i fingerprint)"
	fi

	tls=(--tls)
	expect_refused "$p-plain" "${refusal[$p]}" "${tls[@]}" \
	    --auth PLAIN --auth-user alice --auth-password wonderland
	expect_refused "$p-login" "${refusal[$p]}" "${tls[@]}" \
	    --auth LOGIN --auth-user bob --auth-password hound
	if [ "$p" = sendmail ]; then
		expect_refused "$p-cram" "${refusal[$p]}" "${tls[@]}" \
		    --auth CRAM-MD5 --auth-user dave --auth-password hunter2
		# Sendmail offers AUTH without TLS too.
		expect_refused "$p-plain-notls" "${refusal[$p]}" \
		    --auth PLAIN --auth-user erin --auth-password secret
	fi
	expect_sent "$p-tls" "${tls[@]}"
	expect_sent "$p-accepted" "${tls[@]}" \
	    --auth PLAIN --auth-user carol --auth-password letmein
	if grep -qF "${accepted[$p]}" "$WORK/swaks-$p-accepted.log"; then
		pass "$p: configured pair got '${accepted[$p]}'"
	else
		fail "$p: no '${accepted[$p]}' for the configured pair"
	fi
	if [ "$p" != sendmail ]; then
		# Postfix and Exim offer AUTH only over TLS.
		if swaks_run "$p-notls" --auth PLAIN --auth-user erin \
		    --auth-password secret; then
			fail "$p: AUTH succeeded without TLS"
		elif grep -qF "250-AUTH" "$WORK/swaks-$p-notls.log"; then
			fail "$p: AUTH offered before STARTTLS"
		else
			pass "$p: no AUTH before STARTTLS"
		fi
	fi
	stop_sensor

	target="socks5|127.0.0.1:25"
	expect_eq "$p PLAIN event" \
	    "wonderland|failure|$p|$target|TLSv1.3|" \
	    "$(auth_event PLAIN alice)"
	expect_eq "$p LOGIN event" "hound|failure|$p|$target|TLSv1.3|" \
	    "$(auth_event LOGIN bob)"
	expect_eq "$p accepted event" "letmein|success|$p|$target|TLSv1.3|" \
	    "$(auth_event PLAIN carol)"
	if [ "$p" = sendmail ]; then
		expect_eq "$p CRAM-MD5 event" \
		    "-|failure|$p|$target|TLSv1.3|digestchallenge" \
		    "$(auth_event CRAM-MD5 dave)"
		expect_eq "$p PLAIN event without TLS" \
		    "secret|failure|$p|$target|-|" "$(auth_event PLAIN erin)"
	fi
	# Both messages, with and without AUTH, are captured over TLS.
	expect_eq "$p messages over TLS" 2 \
	    "$(events message.stored | grep -c '"tls.version":"TLSv1.3"')"
	# Each swaks run with --tls ended with QUIT under TLS.
	tls_sessions=4
	[ "$p" = sendmail ] && tls_sessions=5
	expect_eq "$p sessions ended under TLS" "$tls_sessions" \
	    "$(events session.end | grep -F '"event.reason":"quit"' |
	    grep -c '"tls.version":"TLSv1.3"' || true)"

	# After ingest every attempt is a row of the auth table.
	rm -f "$WORK/spampot.db"
	ingest
	expect_eq "$p auth rows" "$(events smtp.auth | wc -l)" \
	    "$(sql "SELECT count(*) FROM auth WHERE protocol = 'smtp'")"
	expect_eq "$p PLAIN row" "alice|wonderland|failure|TLSv1.3" \
	    "$(sql "SELECT user_name || '|' || password || '|' || outcome
	    || '|' || tls_version FROM auth WHERE mechanism = 'PLAIN'
	    AND user_name = 'alice'")"
	expect_eq "$p accepted row" "carol|letmein|success" \
	    "$(sql "SELECT user_name || '|' || password || '|' || outcome
	    FROM auth WHERE mechanism = 'PLAIN' AND user_name = 'carol'")"
	if [ "$p" = sendmail ]; then
		expect_eq "$p CRAM-MD5 row" "dave|-|32|1|failure" \
		    "$(sql "SELECT user_name || '|' || coalesce(password, '-')
		    || '|' || length(password_digest) || '|'
		    || (challenge LIKE '<%>') || '|' || outcome FROM auth
		    WHERE mechanism = 'CRAM-MD5'")"
		expect_eq "$p PLAIN row without TLS" "erin|secret|-" \
		    "$(sql "SELECT user_name || '|' || password || '|'
		    || coalesce(tls_version, '-') FROM auth
		    WHERE user_name = 'erin'")"
	fi
done

finish
