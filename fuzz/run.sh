#!/bin/sh
# Run the libFuzzer harnesses one after another, each for a bounded
# time or number of runs, and print how many inputs each executed.
#
# usage: fuzz/run.sh [-b builddir] [-t seconds] [-n runs] [-l max_len]
#                    [harness ...]
#
# builddir is a tree set up with CC=clang and -Dfuzz=true (default
# ./build-fuzz).  Each harness stops after seconds (default 60) or runs
# inputs (default unlimited), whichever comes first.  Harnesses are
# named without the fuzz_ prefix (socks, httpproxy, ...); the default
# is every fuzz_* program built.  New inputs go to
# builddir/fuzz/corpus/NAME, crashing ones to builddir/fuzz/artifacts/NAME,
# and the seeds in fuzz/seeds/NAME are read but never written.
# The exit status is 1 if any harness found a crash.
set -u

srcdir=$(cd "$(dirname "$0")" && pwd)
builddir=build-fuzz
seconds=60
runs=-1
max_len=
while getopts b:t:n:l: opt; do
	case $opt in
	b) builddir=$OPTARG ;;
	t) seconds=$OPTARG ;;
	n) runs=$OPTARG ;;
	l) max_len=$OPTARG ;;
	*)
		echo "usage: $0 [-b builddir] [-t seconds] [-n runs]" \
		    "[-l max_len] [harness ...]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))

if [ ! -d "$builddir/fuzz" ]; then
	echo "$0: $builddir/fuzz not found; set it up with:" >&2
	echo "  CC=clang meson setup $builddir -Dfuzz=true -Db_lundef=false" >&2
	exit 2
fi

if [ $# -eq 0 ]; then
	for prog in "$builddir"/fuzz/fuzz_*; do
		[ -f "$prog" ] && [ -x "$prog" ] &&
		    set -- "$@" "${prog##*/fuzz_}"
	done
fi

status=0
for name in "$@"; do
	prog=$builddir/fuzz/fuzz_$name
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		echo "$name: $prog not built"
		status=1
		continue
	fi
	corpus=$builddir/fuzz/corpus/$name
	artifacts=$builddir/fuzz/artifacts/$name
	log=$builddir/fuzz/$name.log
	mkdir -p "$corpus" "$artifacts"
	seeds=
	[ -d "$srcdir/seeds/$name" ] && seeds=$srcdir/seeds/$name

	"$prog" -max_total_time="$seconds" -runs="$runs" \
	    ${max_len:+-max_len="$max_len"} \
	    -artifact_prefix="$artifacts/" "$corpus" $seeds >"$log" 2>&1
	rc=$?

	done_line=$(grep '^Done [0-9]* runs' "$log" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$done_line" ]; then
		# "Done 123456 runs in 60 second(s)"
		echo "$name: ${done_line#Done }" | sed 's/ runs / executions /'
	else
		echo "$name: FAILED (exit $rc), see $log and $artifacts/"
		status=1
	fi
done
exit $status
