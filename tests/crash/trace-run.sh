#!/usr/bin/env bash
# Store-level crash enumeration of the kernel's metadata code, unchanged.
#
#   tests/crash/trace-run.sh --kver KVER [--out DIR] [--max-states N]
#                            [--seed S] [--reuse]
#
# One guest boot runs every operation kind on a traced 16 MiB refdax
# (trace-guest.sh; the tracer is src/refdax_trace.c), then trace_replay
# enumerates on the host the crash states the recorded stores, flushes and
# fences allow, recovers each as a mount does, runs fsck.refdax -n and checks
# atomicity.  Then the self-test drops single fences and must see failures.
#
#   --out DIR         results (default build/crash-trace/KVER)
#   --max-states N    replay budget (default 20000; a soak: 1000000 or more)
#   --seed S          sampling seed (default 1)
#   --reuse           replay the trace already in DIR, no guest
#
# Prints "PASS|FAIL crash-trace-<op> [KVER]: ..." per operation kind, plus
# crash-trace-tracer (the trace reproduces the device after unmount),
# crash-trace-flush (no line left unflushed at an operation's end) and the
# two self-test lines, then last "crash-trace: <N> ops, <N> fences, <N>
# states checked, <N> failed (KVER)".  Exit 0 only when everything passed.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/guest/kmsg.sh
. "$root/tests/guest/kmsg.sh"
kver="" out="" max=20000 seed=1 reuse=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--max-states) max=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--reuse) reuse=1; shift ;;
	*) echo "usage: $0 --kver KVER [--out DIR] [--max-states N] [--seed S] [--reuse]" >&2; exit 2 ;;
	esac
done
[ -n "$kver" ] || { echo "$0: --kver is required" >&2; exit 2; }
out=${out:-$root/build/crash-trace/$kver}
mkdir -p "$out"
out=$(cd "$out" && pwd)
failf() { echo "FAIL crash-trace [$kver]: $*"; exit 1; }

# Tools and the replay (userspace, no lock needed beyond make's own files).
if [ ! -x "$root/build/fsck.refdax" ] || [ ! -x "$root/build/mkfs.refdax" ]; then
	make -C "$root" tools >"$out/tools.log" 2>&1 || failf "make tools failed (see $out/tools.log)"
fi
make -s -C "$root/tests/crash" trace_replay >"$out/replay-build.log" 2>&1 ||
	failf "trace_replay build failed (see $out/replay-build.log)"
replay=$root/tests/crash/trace_replay

if [ $reuse = 0 ]; then
	mkdir -p "$root/build"
	flock "$root/build/.modules.lock" "$root/scripts/build-modules.sh" "$kver" >"$out/module-build.log" 2>&1 ||
		failf "module build failed: $(tail -n 3 "$out/module-build.log" | tr '\n' ' ')"
	rm -f "$out"/{pre.img,post.img,trace.bin,status.txt,result,guest.log,dmesg.txt}
	"$root/build/mkfs.refdax" -q -s 16M "$out/pre.img" >"$out/mkfs.log" 2>&1 ||
		failf "mkfs.refdax failed (see $out/mkfs.log)"
	job=$out/job.sh
	cat >"$job" <<EOF
#!/usr/bin/env bash
export ROOT=$root KVER=$kver OUT=$out
exec bash $root/tests/crash/trace-guest.sh
EOF
	t0=$(date +%s)
	"$root/scripts/guest/run-guest.sh" --kver "$kver" --out "$out" --job "$job" --timeout 900 \
		>"$out/run-guest.log" 2>&1
	rc=$?
	echo "crash-trace: guest run took $(($(date +%s) - t0)) s (exit $rc)"
	grep -q '^DONE' "$out/result" 2>/dev/null ||
		failf "guest job did not finish: $(tail -n 1 "$out/result" 2>/dev/null) (logs in $out)"
	hits=$(kmsg_hits "" <"$out/dmesg.txt")
	[ -z "$hits" ] || failf "kernel log has '$hits' (see $out/dmesg.txt)"
fi
[ -s "$out/trace.bin" ] || failf "no trace in $out"

t0=$(date +%s)
"$replay" --pre "$out/pre.img" --trace "$out/trace.bin" --post "$out/post.img" \
	--fsck "$root/build/fsck.refdax" --max-states "$max" --seed "$seed" \
	--kver "$kver" --report "$out/replay-report.txt" >"$out/replay.txt" 2>&1
rc=$?
# The summary line comes last, after the self-test.
grep -v '^crash-trace: [0-9]* ops,' "$out/replay.txt"
summary=$(grep '^crash-trace: [0-9]* ops,' "$out/replay.txt")
[ -n "$summary" ] || { echo "FAIL crash-trace [$kver]: replay gave no summary (see $out/replay.txt)"; rc=1; }

# Non-vacuity: a fence or a flush dropped from the trace must make some
# state fail (or leave a line unflushed).
selftest() { # fence|flush
	local what=$1 total=0 found=0 ks="" k pl
	pl=${what}s
	[ "$what" = flush ] && pl=flushes
	for k in $("$replay" --pre "$out/pre.img" --trace "$out/trace.bin" --list-$pl 12); do
		total=$((total + 1))
		if ! "$replay" --pre "$out/pre.img" --trace "$out/trace.bin" \
			--fsck "$root/build/fsck.refdax" --drop-$what "$k" --max-states 1000 \
			--kver "$kver" --quiet >"$out/selftest-$what-$k.txt" 2>&1; then
			found=$((found + 1))
			ks+=" $k"
		fi
	done
	if [ $found -gt 0 ]; then
		echo "PASS crash-trace-selftest-$what [$kver]: $found of $total dropped $pl detected ($pl$ks)"
	else
		echo "FAIL crash-trace-selftest-$what [$kver]: none of $total dropped $pl made a state fail"
		rc=1
	fi
}
selftest fence
selftest flush
echo "crash-trace: replay and self-test took $(($(date +%s) - t0)) s"
[ -n "$summary" ] && echo "$summary"
exit $rc
