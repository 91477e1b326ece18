#!/bin/bash
# Bandwidth caps: with rate-in-per-ip at 200 kB/s, four addresses each
# stream an endless DATA body for 12 s.  Uncapped they move hundreds of
# megabytes on loopback; capped, each moves about 200 kB/s plus its
# burst and what the socket buffers take, while the good client, with
# a bucket of its own, keeps sending mail.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor "rate-in-per-ip = 200000"
flood_run data --connections 4 --addresses 4 \
    --bytes $((200 * 1024 * 1024)) --seconds 12 --warmup 1
# The kernel's socket buffers take megabytes that the sensor has not
# read yet, so the sender's count says little: the sensor's own count
# of each session's bytes is what the cap bounds.
at_least "bytes sent by four capped addresses" $((4 * 1000 * 1000)) \
    "$(flood_stat bytes_sent)"
flood_stop_and_count
# 200 kB/s, plus the 200 kB burst spread over a session of 12 s or more.
rate=$(event_count attacker_rate_in_max)
at_most "highest input rate of a capped session, bytes/s" 230000 "$rate"
at_least "highest input rate of a capped session, bytes/s" 150000 "$rate"
finish
