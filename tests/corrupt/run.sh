#!/usr/bin/env bash
# Corrupt images never crash the kernel (docs/corruption.md).
#
#   tests/corrupt/run.sh --kver KVER --images N [--seed S] [--start I]
#                        [--out DIR] [--step-timeout SEC] [--stall SEC]
#
# Mounts and walks N corrupted images (indexes I .. I+N-1 of seed S; default
# seed 1, start 0) in QEMU guests of kernel KVER.  The first guest builds the
# base image (DIR/base.img) when DIR has none.  Images are generated inside
# the guest from the base by build/corrupt/corrupt_gen, so only the 32 MiB
# base crosses the 9p share.  When a guest dies (oops -> panic), hangs or
# stalls, the image it was on is reported and the run goes on with the next
# image in a fresh boot.
#
# Output: one "FAIL corrupt-image-<i> [KVER]: <what> (replay: <command>)"
# line per failing image, or
#   PASS corrupt-images [KVER]: N images: R refused, M mounted clean, E mounted with errors
# and last "corrupt: <N> images, <F> failed (...)".
# RDX_CORRUPT_INJECT=crash:I|stall:I makes the guest crash or stall instead
# of running image I (a self-test of the failure handling).  Exit 1 if anything
# failed, 2 on usage or setup errors.  Per-image results: DIR/results.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kver="" images="" seed=1 start=0 out="" step_tmo=60 stall=300
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--images) images=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--start) start=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--step-timeout) step_tmo=$2; shift 2 ;;
	--stall) stall=$2; shift 2 ;;
	*) echo "corrupt: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$kver" ] || [ -z "$images" ]; then
	echo "usage: $0 --kver KVER --images N [--seed S] [--start I] [--out DIR]" >&2
	exit 2
fi
out=${out:-$root/build/corrupt/$kver}
mkdir -p "$out"
out=$(cd "$out" && pwd)
end=$((start + images))

setup_fail() {
	echo "FAIL corrupt-images [$kver]: $*"
	echo "corrupt: $images images, $images failed (setup: $*)"
	exit 2
}
make -s -C "$here" >"$out/build.log" 2>&1 || setup_fail "build of tests/corrupt failed (see $out/build.log)"
[ -x "$root/build/mkfs.refdax" ] && [ -x "$root/build/fsck.refdax" ] || setup_fail "no build/mkfs.refdax or fsck.refdax (make tools)"
[ -f "$root/build/$kver/refdax.ko" ] || setup_fail "no build/$kver/refdax.ko (scripts/build-modules.sh $kver)"

# A base built by other tools than the current ones is rebuilt.
if [ -s "$out/base.img" ] && [ "$root/build/mkfs.refdax" -nt "$out/base.img" ]; then
	rm -f "$out/base.img"
fi
: >"$out/results"
: >"$out/progress"
: >"$out/failures"

replay() { # index
	echo "tests/corrupt/run.sh --kver $kver --images 1 --seed $seed --start $1 --out DIR" \
		"(image: build/corrupt/corrupt_gen $out/base.img IMG $seed $1)"
}

# Boot one guest for images [from, end).  Watches the progress file: a guest
# that writes nothing for $stall seconds is stopped (it is ours: its process
# group was started here).
boot=0
run_boot() { # from
	local from=$1 bdir pid last now mt limit
	boot=$((boot + 1))
	bdir=$out/boot-$boot
	mkdir -p "$bdir"
	cat >"$bdir/job.sh" <<EOF
#!/usr/bin/env bash
export ROOT=$root KVER=$kver C_OUT=$out C_SEED=$seed C_FROM=$from C_TO=$end C_STEP_TMO=$step_tmo
export C_INJECT=${RDX_CORRUPT_INJECT:-}
exec bash $here/guest-job.sh
EOF
	echo "BOOT $boot from $from" >>"$out/progress"
	setsid "$root/scripts/guest/run-guest.sh" --kver "$kver" --out "$out" --job "$bdir/job.sh" \
		--console "$bdir/console.log" \
		--timeout $((600 + (end - from) * step_tmo * 3)) >"$bdir/run-guest.log" 2>&1 &
	pid=$!
	last=$(date +%s)
	mt=$(stat -c %Y "$out/progress")
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		now=$(date +%s)
		# Booting (and building the base image) is slow under load and
		# writes no progress: the stall limit starts with the first image.
		limit=$stall
		case "$(tail -n 1 "$out/progress")" in
		BOOT*|BASE*) [ "$limit" -lt 900 ] && limit=900 ;;
		esac
		if [ "$(stat -c %Y "$out/progress")" != "$mt" ] || [ "$(stat -c %Y "$out/results")" -gt "$mt" ]; then
			mt=$(stat -c %Y "$out/progress")
			[ "$(stat -c %Y "$out/results")" -gt "$mt" ] && mt=$(stat -c %Y "$out/results")
			last=$now
		elif [ $((now - last)) -ge "$limit" ]; then
			echo "STALL boot $boot: no progress for ${stall}s, stopping the guest" >>"$out/progress"
			# run-guest.sh runs QEMU under timeout(1), which is in a process
			# group of its own: signal it (it passes TERM on to QEMU).
			local c
			for c in $(pgrep -P "$pid"); do
				kill -TERM "$c" 2>/dev/null
			done
			sleep 10
			for c in $(pgrep -P "$pid"); do
				kill -KILL "$c" 2>/dev/null
			done
			kill -KILL -- "-$pid" 2>/dev/null
			break
		fi
	done
	wait "$pid" 2>/dev/null
	console=$bdir/console.log
}

fail_image() { # index what
	echo "FAIL corrupt-image-$1 [$kver]: $2 (replay: $(replay "$1"))" | tee -a "$out/failures"
}

t_start=$(date +%s)
next=$start
while [ "$next" -lt "$end" ]; do
	run_boot "$next"
	if grep -q '^SETUP-FAILED\|^BASE-FAILED' "$out/progress"; then
		setup_fail "guest setup: $(grep -m1 '^SETUP-FAILED\|^BASE-FAILED' "$out/progress" | cut -c1-300) (console: $console)"
	fi
	if grep -q "^DONE [0-9]* $end\$" "$out/progress"; then
		break
	fi
	# The image this boot was on when it ended.
	cur=$(awk '$1 == "BOOT" { c = "" } $1 == "BEGIN" { c = $2 } END { print c }' "$out/progress")
	if [ -z "$cur" ]; then
		# Died before its first image: boot trouble, not an image.
		if [ "${retried:-0}" = 1 ]; then
			setup_fail "guest ran no image twice (console: $console)"
		fi
		retried=1
		continue
	fi
	retried=0
	next=$((cur + 1))
	# A hang the guest caught itself is already recorded.
	grep -q "^RESULT $cur " "$out/results" && continue
	why="guest stopped while on this image"
	if grep -q "^STALL boot $boot" "$out/progress"; then
		why="guest stalled (no progress for ${stall}s): hang or lockup"
	elif grep -aqE 'Oops|BUG:|general protection|Kernel panic' "$console" 2>/dev/null; then
		why="kernel crash: $(grep -aE -m1 'BUG:|Oops|general protection|Kernel panic' "$console" | tr -d '\r' | sed 's/^\[[^]]*\] //' | cut -c1-160)"
		# The kernel's RIP (0010), not a user-space one a sysrq trace shows.
		if grep -aq 'RIP: 0010:' "$console"; then
			why+="; $(grep -a -m1 'RIP: 0010:' "$console" | tr -d '\r' | sed 's/^\[[^]]*\] //' | cut -c1-120)"
		fi
	fi
	mut=$(grep -m1 "^IMAGE $cur " "$out/progress" | cut -d' ' -f3- | sed "s/ (generated in .*//")
	echo "RESULT $cur FAIL	${mut:-?}	$why (console: image-$cur.console.log)" >>"$out/results"
	cp "$console" "$out/image-$cur.console.log" 2>/dev/null || true
done
t_end=$(date +%s)

# ---- report --------------------------------------------------------------
nref=0 nclean=0 nerr=0 nfail=0
for ((i = start; i < end; i++)); do
	line=$(awk -F'\t' -v i="$i" '{ split($1, a, " "); if (a[1] == "RESULT" && a[2] == i) l = $0 } END { print l }' "$out/results")
	st=$(awk '{ print $3 }' <<<"$line")
	case "$st" in
	refused) nref=$((nref + 1)) ;;
	clean) nclean=$((nclean + 1)) ;;
	errors) nerr=$((nerr + 1)) ;;
	FAIL)
		nfail=$((nfail + 1))
		mut=$(cut -f2 <<<"$line")
		what=$(cut -f3 <<<"$line" | cut -c1-300)
		fail_image "$i" "$what; mutation: $mut"
		;;
	*)
		nfail=$((nfail + 1))
		fail_image "$i" "no result recorded"
		;;
	esac
done
secs=$((t_end - t_start))
if [ "$nfail" -eq 0 ]; then
	echo "PASS corrupt-images [$kver]: $images images: $nref refused, $nclean mounted clean, $nerr mounted with errors"
fi
echo "corrupt: $images images, $nfail failed ($nref refused, $nclean mounted clean, $nerr mounted with errors; seed $seed, start $start; $boot boots, ${secs}s; results: $out/results)"
[ "$nfail" -eq 0 ]
