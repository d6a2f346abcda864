#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the libFuzzer targets built by tests/fuzz/Makefile.
#
#   run.sh [--secs N] [--targets "t1 t2 ..."] [--seed N] [--keep-corpus]
#	fuzz each target for N seconds (default 10), one after the other,
#	from its seed corpus (with --keep-corpus also from, and into, the
#	corpus earlier such runs grew in build/fuzz/corpus/<target>; without
#	it, what the run finds is thrown away, so every run does the same
#	work); print one line per target:
#	  PASS fuzz-<target> [host]: <runs> runs, <cov> cov
#	  FAIL fuzz-<target> [host]: <summary> (reproducer: <file>)
#	(full output in build/fuzz/logs/run-<target>.log, or soak-<target>.log
#	with --keep-corpus)
#	With --seed, libFuzzer's own random choices start from N (make check
#	passes a fixed one, so its bounded runs repeat; the rest of the
#	variation is how many runs fit in the time).
#	Exit 0 if every target passed, 1 otherwise.
#   run.sh --replay <target> <input>...
#	run the inputs once through the target (with fsck's output shown).
#
# Environment: FUZZ_JOBS (default 1) targets run at once; FUZZ_NICE
# (default 10) niceness; FUZZ_LAX=1 lets fuzz-fsck tolerate a -y that
# leaves errors a second -n still sees.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=$(cd "$here/../.." && pwd)/build/fuzz
secs=10
targets="super geometry inode symlink bmap refc dir xattr journal fsck"
nice=${FUZZ_NICE:-10}
jobs=${FUZZ_JOBS:-1}
keep=0
seedopt=()

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export FUZZ_BASE_IMAGE="$B/base.img"

if [ "${1:-}" = --replay ]; then
	t=$2
	shift 2
	FUZZ_VERBOSE=1 exec "$B/fuzz-$t" -runs=1 "$@"
fi

while [ $# -gt 0 ]; do
	case $1 in
	--secs) secs=$2; shift 2 ;;
	--targets) targets=$2; shift 2 ;;
	--keep-corpus) keep=1; shift ;;
	--seed) seedopt=(-seed="$2"); shift 2 ;;
	*) echo "usage: $0 [--secs N] [--targets LIST] [--seed N] | --replay T FILE..." >&2
	   exit 2 ;;
	esac
done

mkdir -p "$B/logs"

# One target: fuzz, then turn libFuzzer's log into the PASS/FAIL line.
fuzz_one() {
	local t=$1 final="$B/logs/soak-$1.log" cdir="$B/corpus/$1"
	local xdir="$B/crashes/$1" rc runs cov repro why log

	# runs may overlap: each writes its own log, renamed into place at
	# the end; a bounded run also has its own throw-away corpus
	if [ $keep -eq 0 ]; then
		final="$B/logs/run-$1.log"
		cdir="$B/corpus/run-$1.$$"
		rm -rf "$cdir"
	fi
	log="$final.$$"
	mkdir -p "$cdir" "$xdir"
	nice -n "$nice" "$B/fuzz-$t" -max_total_time="$secs" -timeout=20 \
		-rss_limit_mb=2048 -malloc_limit_mb=1024 -use_value_profile=1 \
		-print_final_stats=1 -artifact_prefix="$xdir/" "${seedopt[@]}" \
		"$cdir" "$B/seeds/$t" >"$log" 2>&1
	rc=$?
	[ $keep -eq 1 ] || rm -rf "$cdir"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ $rc -eq 0 ] && grep -aq '^Done [0-9]* runs' "$log"; then
		mv -f "$log" "$final"
		echo "PASS fuzz-$t [host]: ${runs:-0} runs, ${cov:-0} cov"
		return 0
	fi
	repro=$(sed -n "s/.*Test unit written to \(.*\)/\1/p" "$log" | tail -1)
	why=$(grep -a -m1 -E 'INVARIANT FAILED|runtime error:|^==[0-9]+== ?ERROR|^SUMMARY: ' "$log")
	[ -n "$why" ] || why="exit status $rc"
	mv -f "$log" "$final"
	echo "FAIL fuzz-$t [host]: $why (reproducer: ${repro:-none})"
	return 1
}

fail=0
if [ "$jobs" -le 1 ]; then
	for t in $targets; do
		fuzz_one "$t" || fail=1
	done
else
	pids=()
	for t in $targets; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
			wait -n
		done
		fuzz_one "$t" >"$B/logs/$t.line.$$" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail=1
	done
	for t in $targets; do
		cat "$B/logs/$t.line.$$"
		rm -f "$B/logs/$t.line.$$"
	done
fi
exit $fail
