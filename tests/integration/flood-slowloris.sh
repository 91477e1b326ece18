#!/bin/bash
# Slowloris: 20 addresses of 100 connections each, one byte every two
# seconds.  Past 64 per address the sensor rejects them at once; the
# rest it holds, since every byte restarts the idle timeout.  A good
# client from 127.0.0.1 must keep sending mail meanwhile.
. "$TESTS/integration/lib.sh"
. "$TESTS/integration/flood-common.sh"

flood_start_sensor
flood_run slowloris --addresses 20 --per-address 100 --interval 2 \
    --seconds 15
flood_stop_and_count
at_least "rejected per-ip-limit" 20 \
    "$(event_count session.rejected/per-ip-limit)"
finish
