#!/bin/bash
# Install, build with AddressSanitizer and UndefinedBehaviorSanitizer,
# and run every test: unit tests, golden transcripts and integration
# tests with real clients against a real sensor on loopback.  Ends with
# one line of totals, "N passed, N failed, N skipped".
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

python3 - build-test/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
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
