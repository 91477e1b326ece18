#!/bin/bash
# Postfix's smtp-source loads the SMTP listener: 50 parallel sessions
# sending 2000 messages of three recipients over kept-open connections,
# then 300 messages on a connection each.  The database must hold
# exactly what smtp-source sent, recipient for recipient.
# smtp-source cannot use a proxy, so this test is direct only.
. "$TESTS/integration/lib.sh"

read -r smtp <<<"$(free_ports 1 | tr "\n" " ")"
write_config "$WORK/sensor.conf" \
    "[listener smtp]
port = $smtp
service = smtp
service-port = 25"
start_sensor "$WORK/sensor.conf" "$smtp"

# Sessions stay under the sensor's per-address cap of 64.
if smtp-source -d -N -s 50 -m 2000 -r 3 -l 2048 -M spam-kept.example \
    -f sender-kept@spam-origin.example -t rcpt@target.example \
    "127.0.0.1:$smtp" >"$WORK/smtp-source-kept.log" 2>&1; then
	pass "smtp-source, kept-open sessions"
else
	fail "smtp-source, kept-open sessions: $(tail -n 3 "$WORK/smtp-source-kept.log")"
fi
if smtp-source -s 30 -m 300 -r 1 -l 512 -M spam-single.example \
    -f sender-single@spam-origin.example -t rcpt@target.example \
    "127.0.0.1:$smtp" >"$WORK/smtp-source-single.log" 2>&1; then
	pass "smtp-source, one message per session"
else
	fail "smtp-source, one message per session: $(tail -n 3 "$WORK/smtp-source-single.log")"
fi

stop_sensor
ingest

expect_eq "kept-open messages, recipients, sizes" "2000|6000|3|3" \
    "$(sql "SELECT count(*), sum(rcpt_count), min(rcpt_count),
        max(rcpt_count) FROM message
        WHERE mail_from = 'sender-kept@spam-origin.example'")"
# -N numbers every recipient anew, so each address appears once.
expect_eq "distinct kept-open recipients" 6000 \
    "$(sql "SELECT count(DISTINCT r.value) FROM message m, json_each(m.rcpt) r
        WHERE m.mail_from = 'sender-kept@spam-origin.example'")"
expect_eq "kept-open sessions" "50|2000" \
    "$(sql "SELECT count(DISTINCT session_id), count(DISTINCT session_id || '-' || seq)
        FROM message WHERE helo = 'spam-kept.example'")"
expect_eq "single messages, recipients" "300|300|1" \
    "$(sql "SELECT count(*), count(DISTINCT session_id), max(seq) FROM message
        WHERE mail_from = 'sender-single@spam-origin.example'")"
expect_eq "all messages" 2300 "$(sql 'SELECT count(*) FROM message')"
expect_eq "session message counts" 2300 \
    "$(sql "SELECT sum(messages) FROM session")"
expect_eq "sessions that ended with QUIT" 350 \
    "$(sql "SELECT count(*) FROM session WHERE end_reason = 'quit'")"

# smtp-source gives each message its own Message-ID, so every body is
# distinct, stored once, and must decompress to its own hash.
expect_eq "distinct bodies" 2300 "$(sql 'SELECT count(DISTINCT sha256) FROM message')"
expect_eq "records in the packs" 2300 \
    "$(python3 "$TESTS/integration/packs.py" list "$WORK/spool" | wc -l)"
sql "SELECT sha256 FROM message ORDER BY random() LIMIT 200" >"$WORK/sample"
expect_eq "sampled bodies" "missing 0 damaged 0" \
    "$(check_bodies "$WORK/spool" "$WORK/sample")"
finish
