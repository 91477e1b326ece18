#!/bin/bash
# Clients that never read: eight SMTP clients pipeline EHLO after EHLO
# and read no reply.  The sensor must stop reading a client once
# CONN_OUTPUT_MAX bytes of replies wait for it, so that its memory and
# each session's output stay bounded whatever the clients send.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run noread --connections 8 --addresses 8 \
    --bytes $((64 * 1024 * 1024)) --seconds 10
flood_stop_and_count
at_least "sessions recorded" 8 "$(event_count session.end)"
# What one session queued: the socket's buffers and CONN_OUTPUT_MAX,
# far below the hundreds of MiB the replies to 64 MiB of EHLO would be.
at_most "largest output of one session, MiB" 16 "$(cat "$WORK"/spool/events/* |
    python3 -c '
import json, sys
print(max([json.loads(l).get("network.bytes_out", 0) for l in sys.stdin]
          + [0]) >> 20)')"
finish
