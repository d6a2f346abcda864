#!/usr/bin/env bash
# make check: install deps, build tools/unit tests/module/test programs, run
# the functional suite in one QEMU/TCG guest per kernel plus the two-boot
# crash tests, and print one aggregated result list.
#
# Output: "PASS name [kver]" / "FAIL name [kver]: why" / "SKIP name [kver]: why"
# lines, then exactly "N passed, N failed" (", N skipped" if any) as the last
# line.  Exit status non-zero if anything failed.
#
# Environment:
#   REFDAX_SUITE_FS=ext4   run the guest suite against ext4 -o dax instead of
#                          refdax (validates the tests themselves)
#   RDX_KVERS="k1 k2"      kernels to test (default: all with headers)
#   RDX_TESTS="05-* 07-rename"  only these functional tests (the device-dax
#                          guest runs those of them in DEVDAX_TESTS, below)
#   RDX_NO_CRASH=1         skip the two-boot crash tests
#   RDX_NO_ANYPATH=1       skip "make demo" from a copy of the checkout under
#                          /tmp (tests/anypath/run.sh; one guest, on the
#                          6.1 kernel if it is tested; 20-40 s)
#   RDX_GUEST_TIMEOUT=SEC  limit for one suite guest (default 1500)
#   RDX_SKIP_DEPS=1        do not run scripts/install-deps.sh
#   RDX_CHECK_DIR=DIR      output directory (default build/check)
#   RDX_CRASH_POINTS=N     whole-guest crash points per kernel (default 20)
#   RDX_CORRUPT_IMAGES=N   corrupted images mounted per kernel (default 300)
#   RDX_ROBUSTNESS="..."   robustness suites to run (default: all of
#                          crash-trace crash-soak corrupt fuzz); "" for none
#   RDX_SOAK_ALL=1         crash soak on every kernel (default: the first
#                          and the last kernel, i.e. 6.1 and 7.x)
#   RDX_SEED=N|random      seed of the crash-soak workloads, the corrupt
#                          images and the fuzzers (default 1: every run does
#                          the same work, so a failure reproduces from the
#                          printed seed; the soak targets explore instead)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
FS=${REFDAX_SUITE_FS:-refdax}
GUEST_TIMEOUT=${RDX_GUEST_TIMEOUT:-1500}
# Several people may run this in one tree at once: the first takes
# build/check (locked for the run), later ones get build/check.<pid>.
out_base=${RDX_CHECK_DIR:-$root/build/check}
# the guests see the host tree at the same absolute paths only
[[ $out_base == /* ]] || out_base=$root/$out_base
mkdir -p "$(dirname "$out_base")"
exec 9>"$out_base.lock"
if ! flock -n 9; then
	out_base=$root/build/check.$$
	echo "check: build/check is in use by another run; using ${out_base#"$root"/}"
	exec 9>"$out_base.lock"
	flock -n 9 || { echo "check: cannot lock $out_base" >&2; exit 1; }
	trap 'rm -f "$out_base.lock"' EXIT
fi
mkdir -p "$out_base"
summary=$out_base/summary.txt
: >"$summary"
npass=0 nfail=0 nskip=0
t_start=$(date +%s)

result() { # PASS|FAIL|SKIP name kver [detail]
	local line="$1 $2 [$3]${4:+$4}"
	case "$1" in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	esac
	echo "$line" >>"$summary"
	echo "$line"
}
section() { echo "=== $* ($(($(date +%s) - t_start))s)"; }

# Run a step, log to a file; PASS/FAIL by exit status.
step() { # name log cmd...
	local name=$1 log=$2 rc=0
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		result PASS "$name" host
	else
		result FAIL "$name" host ": exit $rc (log: ${log#"$root"/})"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
	return "$rc"
}

# Run a suite that prints its own "PASS|FAIL|SKIP name [kver]..." lines; fold
# them into the totals, echo its summary lines (prefix PREFIX:), and fail the
# step when it exits non-zero without a FAIL line of its own.
suite() { # name kver log summary-prefix cmd...
	local name=$1 kv=$2 log=$3 pfx=$4 rc=0 nf=0 verdict n k rest
	shift 4
	"$@" >"$log" 2>&1 || rc=$?
	while read -r verdict n k rest; do
		k=${k#[}
		k=${k%]*}
		result "$verdict" "$n" "$k" "${rest:+ $rest}"
		[ "$verdict" = FAIL ] && nf=$((nf + 1))
	done < <(grep -E '^(PASS|FAIL|SKIP) [^ ]+ \[[^]]*\]' "$log" || true)
	grep -h "^$pfx:" "$log" | sed 's/^/    /' || true
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		result FAIL "$name" "$kv" ": exit $rc (log: ${log#"$root"/})"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
}

# ---- 1. dependencies --------------------------------------------------------
section "dependencies"
if [ "${RDX_SKIP_DEPS:-0}" != 1 ]; then
	step install-deps "$out_base/install-deps.log" ./scripts/install-deps.sh || true
fi

# ---- 2. userspace tools and unit tests ---------------------------------------
section "userspace tools and unit tests"
tools_ok=1
step make-tools "$out_base/tools.log" make tools || tools_ok=0

unit_log=$out_base/unit.log
rc=0
make unit >"$unit_log" 2>&1 || rc=$?
# Fold the unit runner's own "N passed, N failed[, N skipped]" into the totals.
unit_line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$unit_log" | tail -n 1 || true)
if [ -n "$unit_line" ]; then
	up=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$unit_line")
	uf=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$unit_line")
	us=0
	grep -q skipped <<<"$unit_line" && us=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$unit_line")
	grep -E '^(PASS|FAIL|SKIP|ok|not ok) ' "$unit_log" | sed 's/^/    unit| /' || true
	echo "unit tests: $up pass, $uf fail, $us skip (make unit exit $rc; log: ${unit_log#"$root"/})"
	npass=$((npass + up))
	nfail=$((nfail + uf))
	nskip=$((nskip + us))
	if [ "$rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
		result FAIL make-unit host ": exit $rc with no failed test counted"
	fi
elif [ "$rc" -eq 0 ]; then
	result FAIL make-unit host ": no 'N passed, N failed' line in the output (log: ${unit_log#"$root"/})"
else
	result FAIL make-unit host ": exit $rc (log: ${unit_log#"$root"/})"
	tail -n 15 "$unit_log" | sed 's/^/    /'
fi

# Store-level crash enumeration of the journal (bounded run, seconds).
if [ -f tests/crash/Makefile ]; then
	step crash-enumeration "$out_base/crash-enum.log" make -C tests/crash || true
	grep -h "^crash-enum:" "$out_base/crash-enum.log" | sed 's/^/    /' || true
fi

# The kernels under test: the package check and the guest suites.
# shellcheck source=scripts/buildroot.sh
. ./scripts/buildroot.sh
kvers=() build_only=()
if [ -n "${RDX_KVERS:-}" ]; then
	read -r -a kvers <<<"$RDX_KVERS"
else
	mapfile -t kvers < <(rdx_kernels)
	# Kernels refdax must build for without a guest (sid's 7.x, gcc-16).
	mapfile -t build_only < <(rdx_buildonly_kernels)
fi

# Kernel coding style (checkpatch --strict, sparse per kernel), then the
# Debian packages: built, installed (DKMS builds the module for each kernel;
# on the host for 6.x, in the trixie build root for 7.x), used in one guest
# per kernel (modprobe, mkfs -t, fsck -t) and purged again, before the guest
# suites, which load build/<kver>/refdax.ko themselves.
section "lint and packages"
step lint "$out_base/lint.log" ./scripts/lint.sh || true
suite packages host "$out_base/packages.log" packages \
	./scripts/pkg-check.sh --out "$out_base/pkg" "${kvers[@]}"

# ---- 3. test programs and kernel modules ---------------------------------------
section "test programs and modules"
# Each program on its own: a broken one fails its build step and the tests
# that use it ("test program missing"), not the whole guest run.
mkdir -p build/tests
for p in tests/prog/*.c; do
	[ -f "$p" ] || continue
	pn=$(basename "$p" .c)
	step "build-prog-$pn" "$out_base/prog-$pn.log" \
		gcc -O2 -g -Wall -Wextra -Werror -o "build/tests/$pn" "$p" || rm -f "build/tests/$pn"
done

declare -A mod_ok=()
while read -r verdict name kv rest; do
	kv=${kv#[}
	kv=${kv%]*}
	case "$verdict" in
	PASS) result PASS "$name" "$kv"; mod_ok[$kv]=1 ;;
	FAIL) result FAIL "$name" "$kv" "${rest:+ $rest}" ;;
	*) echo "    $verdict $name $kv $rest" ;;
	esac
done < <(./scripts/build-modules.sh "${kvers[@]}" "${build_only[@]}" 2>&1 || true)

# ---- 4. guest suites --------------------------------------------------------------
# A second guest per kernel works on a device-dax namespace (RDX_PMEM=devdax):
# the devdax-only tests everywhere (6.x: the mount is refused), and on 7.x,
# where refdax mounts it through fsdev_dax, these functional tests as well.
DEVDAX_TESTS="00-mount 01-basic-io 14-mmap 16-persist 41-reflink-shared-page
	42-reflink-semantics"
func_tests=() crash_tests=() devdax_only=() devdax_7=()
for f in tests/func/[0-9][0-9]-*.sh; do
	[ -f "$f" ] || continue
	n=$(basename "$f" .sh)
	if [ -n "${RDX_TESTS:-}" ]; then
		sel=0
		for pat in $RDX_TESTS; do
			# shellcheck disable=SC2053
			[[ $n == $pat ]] && sel=1
		done
		[ "$sel" = 1 ] || continue
	fi
	if sed -n '1,20p' "$f" | grep -q '^# refdax-test:.*\bcrash\b'; then
		crash_tests+=("$n")
	elif sed -n '1,20p' "$f" | grep -q '^# refdax-test:.*\bdevdax-only\b'; then
		devdax_only+=("$n")
	else
		func_tests+=("$n")
		[[ " ${DEVDAX_TESTS//[[:space:]]/ } " == *" $n "* ]] && devdax_7+=("$n")
	fi
done
[ "${RDX_NO_CRASH:-0}" = 1 ] && crash_tests=()

write_job() { # dir kver pmem [crash-test phase]
	local dir=$1
	mkdir -p "$dir"
	{
		echo "# generated by scripts/check.sh"
		printf 'export ROOT=%q KVER=%q RDX_OUT=%q REFDAX_SUITE_FS=%q RDX_PMEM=%q\n' \
			"$root" "$2" "$dir" "$FS" "$3"
		printf 'export RDX_TESTS=%q\n' "${RDX_TESTS:-}"
		[ -z "${4:-}" ] || printf 'export RDX_CRASH_TEST=%q RDX_CRASH_PHASE=%q\n' "$4" "$5"
		printf 'exec bash %q/tests/guest/run-suite.sh\n' "$root"
	} >"$dir/job.sh"
	rm -f "$dir/results"
	rm -rf "$dir/logs"
}

# Result of NAME from a results file: prints "VERDICT detail" or nothing.
lookup() { # results-file name
	[ -f "$1" ] || return 0
	awk -v n="$2" '($1 == "PASS" || $1 == "FAIL" || $1 == "SKIP") {
		name = $2; sub(/:$/, "", name)
		if (name == n) { v = $1; $1 = ""; $2 = ""; d = $0; sub(/^ +/, "", d) }
	} END { if (v != "") print v " " d }' "$1"
}

report() { # results-file name kver guest-rc console
	local r verdict detail last how
	r=$(lookup "$1" "$2")
	if [ -z "$r" ]; then
		# The test the guest was in when it died gets the blame.
		last=$(grep -a -o 'run-suite: === [^ ]*' "$5" 2>/dev/null | tail -n 1 | awk '{ print $3 }')
		how="guest ended"
		[ "$4" = 124 ] && how="guest timed out"
		grep -aq 'Kernel panic' "$5" 2>/dev/null && how="guest kernel panicked"
		if [ "$last" = "$2" ]; then
			result FAIL "$2" "$3" ": $how during this test (rc $4; see ${5#"$root"/})"
		else
			result FAIL "$2" "$3" ": not run: $how before it (rc $4)"
		fi
		return
	fi
	verdict=${r%% *}
	detail=${r#"$verdict"}
	detail=${detail# }
	case "$verdict" in
	PASS) result PASS "$2" "$3" "${detail:+ $detail}" ;;
	*) result "$verdict" "$2" "$3" "${detail:+: $detail}" ;;
	esac
}

for kv in "${kvers[@]}"; do
	section "guest suite on $kv ($FS)"
	reason=""
	if [ "$FS" = refdax ]; then
		[ -n "${mod_ok[$kv]:-}" ] || reason="refdax.ko did not build for $kv"
		[ "$tools_ok" = 1 ] || reason="${reason:+$reason; }mkfs.refdax/fsck.refdax did not build"
	fi
	if [ ! -r "/boot/vmlinuz-$kv" ]; then
		reason="no /boot/vmlinuz-$kv"
	fi
	dd_tests=()
	if [ "$FS" = refdax ]; then
		dd_tests=("${devdax_only[@]}")
		[ "${kv%%.*}" -ge 7 ] && dd_tests+=("${devdax_7[@]}")
	fi
	if [ -n "$reason" ]; then
		for n in "${func_tests[@]}" "${crash_tests[@]}"; do
			result FAIL "$n" "$kv" ": $reason"
		done
		for n in "${dd_tests[@]}"; do
			result FAIL "$n" "$kv/devdax" ": $reason"
		done
		continue
	fi

	dir=$out_base/$kv
	mkdir -p "$dir"
	if [ "${#func_tests[@]}" -gt 0 ]; then
		write_job "$dir" "$kv" memmap
		t0=$(date +%s)
		rc=0
		./scripts/guest/run-guest.sh --kver "$kv" --out "$dir" --job "$dir/job.sh" \
			--timeout "$GUEST_TIMEOUT" || rc=$?
		echo "guest on $kv: exit $rc after $(($(date +%s) - t0))s (console: ${dir#"$root"/}/console.log)"
		if ! grep -qx DONE "$dir/results" 2>/dev/null; then
			echo "guest on $kv did not complete the suite; console tail:"
			tail -n 25 "$dir/console.log" 2>/dev/null | sed 's/^/    /'
		fi
		for n in "${func_tests[@]}"; do
			report "$dir/results" "$n" "$kv" "$rc" "$dir/console.log"
		done
	fi

	if [ "${#dd_tests[@]}" -gt 0 ]; then
		section "device-dax guest on $kv"
		ddir=$dir/devdax
		img=$ddir/pmem.img
		rm -f "$img"
		RDX_TESTS="${dd_tests[*]}" write_job "$ddir" "$kv" devdax
		t0=$(date +%s)
		rc=0
		./scripts/guest/run-guest.sh --kver "$kv" --out "$ddir" --job "$ddir/job.sh" \
			--pmem "nvdimm:$img" --timeout "$GUEST_TIMEOUT" || rc=$?
		echo "device-dax guest on $kv: exit $rc after $(($(date +%s) - t0))s" \
			"(console: ${ddir#"$root"/}/console.log)"
		for n in "${dd_tests[@]}"; do
			report "$ddir/results" "$n" "$kv/devdax" "$rc" "$ddir/console.log"
		done
		rm -f "$img"
	fi

	for n in "${crash_tests[@]}"; do
		cdir=$out_base/$kv/crash-$n
		img=$cdir/pmem.img
		rm -f "$img"
		write_job "$cdir/boot1" "$kv" nvdimm "$n" 1
		rc=0
		./scripts/guest/run-guest.sh --kver "$kv" --out "$cdir/boot1" --job "$cdir/boot1/job.sh" \
			--pmem "nvdimm:$img" --timeout 600 || rc=$?
		if ! grep -q "^PHASE1 $n ok" "$cdir/boot1/results" 2>/dev/null; then
			report "$cdir/boot1/results" "$n" "$kv" "$rc" "$cdir/boot1/console.log"
			rm -f "$img"
			continue
		fi
		# Phase 2 reads the state phase 1 left in its per-test directory.
		write_job "$cdir/boot2" "$kv" nvdimm "$n" 2
		mkdir -p "$cdir/boot2/logs"
		cp -a "$cdir/boot1/logs/$n.d" "$cdir/boot2/logs/" 2>/dev/null || true
		rc=0
		./scripts/guest/run-guest.sh --kver "$kv" --out "$cdir/boot2" --job "$cdir/boot2/job.sh" \
			--pmem "nvdimm:$img" --timeout 600 || rc=$?
		report "$cdir/boot2/results" "$n" "$kv" "$rc" "$cdir/boot2/console.log"
		rm -f "$img"
	done
done

# ---- 4b. a checkout anywhere ------------------------------------------------------
# make demo from a copy under /tmp, which the guest hides under a tmpfs unless
# /init keeps the checkout.  One kernel: 6.1 (boots fastest) if tested.
if [ "${RDX_NO_ANYPATH:-0}" != 1 ] && [ "${#kvers[@]}" -gt 0 ]; then
	akv=${kvers[0]}
	for kv in "${kvers[@]}"; do
		case "$kv" in 6.1.*) akv=$kv; break ;; esac
	done
	section "make demo from a checkout under /tmp on $akv"
	suite anypath-demo "$akv" "$out_base/anypath.log" anypath \
		tests/anypath/run.sh --kver "$akv" --out "$out_base/anypath"
fi

# ---- 5. robustness: crash soak, store trace, corrupt images, fuzzing --------
robust=" ${RDX_ROBUSTNESS-crash-trace crash-soak corrupt fuzz} "
seed=${RDX_SEED:-1}
[ "$seed" = random ] && seed=$(date +%s)
want() { [[ $robust == *" $1 "* ]]; }
# The whole-guest crash soak tests the on-media atomicity of the module's
# transactions, which is the same code on every kernel: it runs on the
# oldest and the newest kernel under test only (6.1 and 7.x), which keeps
# make check with three kernels under an hour (docs/testing.md).
# RDX_SOAK_ALL=1 runs it on every kernel.
soak_kernel() {
	[ "${RDX_SOAK_ALL:-0}" = 1 ] || [ "$1" = "${kvers[0]}" ] ||
		[ "$1" = "${kvers[${#kvers[@]} - 1]}" ]
}
if [ "$robust" != "  " ] && [ "$FS" = refdax ]; then
	for kv in "${kvers[@]}"; do
		if [ -z "${mod_ok[$kv]:-}" ] || [ "$tools_ok" != 1 ]; then
			result FAIL robustness "$kv" ": module or tools did not build"
			continue
		fi
		# (the guest suite makes it too, unless RDX_TESTS chose no test)
		mkdir -p "$out_base/$kv"
		if want crash-trace; then
			section "store-trace crash enumeration on $kv"
			suite crash-trace "$kv" "$out_base/$kv/crash-trace.log" crash-trace \
				tests/crash/trace-run.sh --kver "$kv" --out "$out_base/$kv/crash-trace"
		fi
		if want crash-soak && soak_kernel "$kv"; then
			section "whole-guest crash soak on $kv"
			suite crash-soak "$kv" "$out_base/$kv/crash-soak.log" crash-soak \
				tests/crashsoak/run.sh --kver "$kv" --points "${RDX_CRASH_POINTS:-20}" \
				--seed "$seed" --out "$out_base/$kv/crash-soak"
		fi
		if want corrupt; then
			section "corrupt images on $kv"
			suite corrupt "$kv" "$out_base/$kv/corrupt.log" corrupt \
				tests/corrupt/run.sh --kver "$kv" --images "${RDX_CORRUPT_IMAGES:-300}" \
				--seed "$seed" --out "$out_base/$kv/corrupt"
		fi
	done
	if want fuzz; then
		section "libFuzzer (bounded)"
		suite fuzz host "$out_base/fuzz.log" fuzz make -s -C tests/fuzz run SEED="$seed"
	fi
fi

section "done"
echo "results: ${summary#"$root"/}; guest logs: ${out_base#"$root"/}/<kver>/logs/"
line="$npass passed, $nfail failed"
[ "$nskip" -gt 0 ] && line+=", $nskip skipped"
echo "$line"
[ "$nfail" -eq 0 ]
