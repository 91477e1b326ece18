#!/bin/bash
# Run the benchmarks: all cases, or those named.  Each prints one
# summary line per measurement and appends its figures to
# bench/results/CASE.csv.  Benchmarks, not tests: they report what
# they measure and exit 0 however slow the machine is, unless a case
# could not run at all.  Each case is cut off after BENCH_CASE_TIMEOUT
# seconds (1800).
#
#   bench/run.sh                      all cases
#   bench/run.sh smtp-direct ingest   the cases named
set -uo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
ALL="smtp-direct smtp-tunnel idle-conns ingest report"
CASES=${*:-$ALL}
LIMIT=${BENCH_CASE_TIMEOUT:-1800}
status=0

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "tree: $(git -C "$BENCH/.." log -1 --format='%h %cd' --date=iso-strict)" \
    "$(git -C "$BENCH/.." status --porcelain --untracked-files=no |
    grep -q . && echo '(with uncommitted changes)')"
for c in $CASES; do
	if [ ! -x "$BENCH/$c.sh" ]; then
		echo "run.sh: no case $c (cases: $ALL)" >&2
		status=2
		continue
	fi
	echo "== $c"
	timeout --foreground -k 10 "$LIMIT" "$BENCH/$c.sh" || {
		echo "run.sh: $c did not finish (status $?)" >&2
		status=1
	}
done
exit "$status"
