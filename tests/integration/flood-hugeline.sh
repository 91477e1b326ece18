#!/bin/bash
# Huge lines: eight SMTP clients each send a 64 MiB command line, and
# only then its line end.  The sensor must reply 500 (the line limit is
# 2048 bytes) and never buffer more than one read-ahead per connection.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run hugeline --connections 8 --addresses 8 \
    --bytes $((64 * 1024 * 1024)) --seconds 10
at_least "clients answered with an error or closed" 8 \
    "$(( $(flood_stat rejected_by_reply) + $(flood_stat closed_by_sensor) ))"
flood_stop_and_count
at_least "sessions recorded" 8 "$(event_count session.end)"
finish
