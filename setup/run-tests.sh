#!/bin/bash
# Install, build and run every test: the unit tests, golden transcripts
# and integration tests (real clients against a real sensor on
# loopback), built with AddressSanitizer and UndefinedBehaviorSanitizer;
# then a short run of every fuzz harness, built with clang.  Ends with
# one line of totals over both, "N passed, N failed, N skipped".
# Arguments are passed to the first meson test (e.g. a test name).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

./setup/install-deps.sh || exit 1
if [ ! -f build-test/build.ninja ]; then
	meson setup build-test -Db_sanitize=address,undefined >/dev/null ||
	    exit 1
fi
ninja -C build-test || exit 1
meson test -C build-test --print-errorlogs "$@"
status=$?

logs=(build-test/meson-logs/testlog.json)
if [ $# -eq 0 ]; then
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false \
		    >/dev/null || exit 1
	fi
	ninja -C build-fuzz || exit 1
	meson test -C build-fuzz --suite fuzz --print-errorlogs ||
	    status=1
	logs+=(build-fuzz/meson-logs/testlog.json)
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            result = json.loads(line)["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
