#!/bin/bash
# Endless DATA: four clients each send a body of up to 200 MiB that
# never ends with a dot.  Past the 10 MB message limit the sensor
# counts the bytes and drops them, so its memory stays bounded by the
# messages in progress (at most 4 x 10 MB here), not by what is sent.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run data --connections 4 --addresses 4 \
    --bytes $((200 * 1024 * 1024)) --seconds 12 --max-rss-growth-mb 96
at_least "bytes of endless DATA sent" $((40 * 1024 * 1024)) \
    "$(flood_stat bytes_sent)"
expect_eq "DATA commands refused" 0 "$(flood_stat data_refused)"
flood_stop_and_count
at_least "sessions recorded" 4 "$(event_count session.end)"
finish
