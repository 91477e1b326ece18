#!/bin/bash
# spampot web on packs that a damaged or hostile sensor could leave.
# The records: a frame that decompresses past the largest message, one
# that needs a window over the reader's limit, and one that decompresses
# to bytes other than its header's SHA-256.  Then a length that swallows
# the next record, two frames in one record, and a frame with no data.
# Each message view and raw download must give a clear error or the
# right body, and the server must go on serving.  Every address used
# is 127.0.0.1.
. "$TESTS/integration/lib.sh"

mkdir -p "$WORK/spool/events" "$WORK/spool/bodies"
python3 - "$WORK/spool" <<'PY'
import hashlib, json, subprocess, sys

spool = sys.argv[1]
pack, events = b"", []

def zstd(data, *args):
    return subprocess.run(["zstd", "-q", "-c", *args], input=data,
                          stdout=subprocess.PIPE, check=True).stdout

def header(sha, length):
    return ("%s %08x\n" % (sha, length)).encode()

def message(n, sha, size):
    events.append({
        "@timestamp": "2026-12-05T00:00:%02d.000000Z" % n,
        "event.action": "message.stored", "sensor.name": "hostile",
        "session.id": "s-%d" % n, "message.sha256": sha,
        "message.size": size, "message.seq": 1, "smtp.queue_id": "q%d" % n,
        "smtp.helo": "x", "smtp.esmtp": True, "smtp.mail_from": "a@b",
        "smtp.rcpt_to": ["c@d"], "smtp.rcpt_count": 1,
        "smtp.personality": "postfix", "smtp.hostname": "mx",
        "source.ip": "127.0.0.1", "destination.port": 25,
        "proxy.protocol": "smtp"})

def sha256(data):
    return hashlib.sha256(data).hexdigest()

# q1: a whole record.
body = b"Subject: good\r\n\r\nhello\r\n"
frame = zstd(body)
pack += header(sha256(body), len(frame)) + frame
message(1, sha256(body), len(body))
# q2: 200 MB of zeros in a small frame.
frame = zstd(bytes(200_000_000), "-1")
pack += header("2" * 64, len(frame)) + frame
message(2, "2" * 64, 100)
# q3: a frame of other bytes than the header's SHA-256 names.
claimed = sha256(b"claimed")
frame = zstd(b"Subject: other\r\n\r\nreal\r\n")
pack += header(claimed, len(frame)) + frame
message(3, claimed, 7)
# q4: a body under the limit in a frame with a 128 MiB window.
frame = zstd(bytes(9_000_000), "--long=27")
pack += header("4" * 64, len(frame)) + frame
message(4, "4" * 64, 9_000_000)
# q5 and q6: q5's length also covers q6's record.
five, six = b"five\r\n", b"six\r\n"
f5, f6 = zstd(five), zstd(six)
pack += header(sha256(five), len(f5) + 74 + len(f6)) + f5
pack += header(sha256(six), len(f6)) + f6
message(5, sha256(five), len(five))
message(6, sha256(six), len(six))
# q7: two frames in one record.
frame = zstd(b"a") + zstd(b"b")
pack += header(sha256(b"ab"), len(frame)) + frame
message(7, sha256(b"ab"), 2)
# q8: a skippable frame only, whose body is empty.
frame = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"abcd"
pack += header(sha256(b""), len(frame)) + frame
message(8, sha256(b""), 0)

with open(spool + "/bodies/20261205T000000.pack", "wb") as f:
    f.write(pack)
with open(spool + "/events/20261205T000000.jsonl", "w") as f:
    f.write("".join(json.dumps(e) + "\n" for e in events))
PY
"$SPAMPOT" ingest --db "$WORK/spampot.db" --geo "$WORK/no-geo" \
    "$WORK/spool" >/dev/null 2>"$WORK/ingest.err" ||
	fail "ingest: $(cat "$WORK/ingest.err")"

read -r port <<<"$(free_ports 1)"
BASE="http://127.0.0.1:$port"
"$SPAMPOT" web --db "$WORK/spampot.db" --listen "127.0.0.1:$port" \
    2>"$WORK/web.log" &
WEB_PID=$!
trap 'kill "$WEB_PID" 2>/dev/null || true; cleanup' EXIT
wait_port "$port"

id_of() {
	sqlite3 -batch "$WORK/spampot.db" \
	    "SELECT id FROM message WHERE queue_id = '$1'"
}

raw_status() {
	curl -s -o "$WORK/raw" -w '%{http_code}' --max-time 20 \
	    "$BASE/messages/$(id_of "$1")/raw" || true
}

body_error() {
	curl -s --max-time 20 "$BASE/api/messages/$(id_of "$1")" |
	    jq -r .body_error
}

pack=20261205T000000.pack
expect_eq "whole record: raw" 200 "$(raw_status q1)"
expect_eq "whole record: bytes" "Subject: good" "$(head -n 1 "$WORK/raw" | tr -d '\r')"
expect_eq "frame past the largest message: raw" 404 "$(raw_status q2)"
expect_eq "body of other bytes than its hash: raw" 404 "$(raw_status q3)"
expect_eq "body of other bytes than its hash: error" \
    "the body in the pack $pack at offset $(sqlite3 -batch "$WORK/spampot.db" \
    "SELECT offset FROM body WHERE sha256 = (SELECT sha256 FROM message
    WHERE queue_id = 'q3')") does not have the message's SHA-256" \
    "$(body_error q3)"
expect_eq "window over the limit: raw" 404 "$(raw_status q4)"
case "$(body_error q4)" in
"the body cannot be read or decompressed from the pack $pack at offset "*)
	pass "window over the limit: error" ;;
*) fail "window over the limit: $(body_error q4)" ;;
esac
expect_eq "length over the next record: raw" 404 "$(raw_status q5)"
case "$(body_error q6)" in
"the body's location is unknown"*) pass "swallowed record: no location" ;;
*) fail "swallowed record: $(body_error q6)" ;;
esac
expect_eq "two frames in one record: raw" 404 "$(raw_status q7)"
expect_eq "skippable frame: raw" 200 "$(raw_status q8)"
expect_eq "skippable frame: bytes" 0 "$(wc -c <"$WORK/raw")"
expect_eq "overview after all of these" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$BASE/" || true)"

if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$WORK/web.log"; then
	fail "sanitizer report in the web server's log"
	grep -A12 -E 'ERROR: AddressSanitizer|runtime error:' "$WORK/web.log" >&2
fi
kill -TERM "$WEB_PID"
wait "$WEB_PID" 2>/dev/null || true
finish
