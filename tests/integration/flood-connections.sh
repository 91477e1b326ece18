#!/bin/bash
# 10,000 connections from one address, opened as fast as they go and
# kept open.  The per-address cap (64) admits the first; the sensor
# must close every later one at once and record a session.rejected
# event for it, while a good client from another address sends mail.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run connections --connections 10000 --seconds 5 --warmup 0.5
expect_eq "all 10000 connections made in time" True \
    "$(flood_stat attack_finished)"
at_most "attacking connections the sensor kept open" 64 \
    "$(flood_stat still_open)"
at_least "attacking connections the sensor closed" 9900 \
    "$(flood_stat closed_by_sensor)"
flood_stop_and_count
# An admitted attacker that idles out frees its slot for a later one,
# so each of the 10000 is either rejected or has a session; so has
# each good message, and the probe connection that found the port.
rejected=$(event_count session.rejected/per-ip-limit)
at_least "session.rejected events (per-ip-limit)" 9000 "$rejected"
admitted=$(( $(event_count session.start) - $(flood_stat good_total) - 1 ))
expect_eq "attacking connections rejected or admitted" 10000 \
    "$((rejected + admitted))"
finish
