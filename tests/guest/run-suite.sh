#!/usr/bin/env bash
# refdax functional suite: runs INSIDE a test guest (see scripts/guest/).
#
# Environment (set by the job file that scripts/check.sh writes):
#   ROOT              repository root (as on the host; read-only in the guest)
#   KVER              running kernel (defaults to uname -r)
#   RDX_OUT           writable results directory shared with the host
#   REFDAX_SUITE_FS   refdax (default) or ext4 (ext4 -o dax: validates tests)
#   RDX_PMEM          memmap (default: nd_e820), nvdimm (nfit, fsdax namespace)
#                     or devdax (nfit, devdax namespace, DEV=/dev/dax0.0: made
#                     and checked through device_dax, mounted through
#                     fsdev_dax where the kernel has it, 7.x)
#   RDX_TESTS         optional space-separated list of test names to run
#                     (file names without .sh, shell globs allowed)
#   RDX_CRASH_TEST    with RDX_CRASH_PHASE=1|2: run one two-boot crash test
#   RDX_TEST_TIMEOUT  default per-test limit in seconds (default 300)
#
# Each tests/func/NN-name.sh runs with DEV, MNT, TOOLS, TBIN, KVER, FSTYPE,
# TESTLIB, T_OUT in its environment.  Header comments (first 20 lines):
#   # refdax-test: nomount       runner does not mkfs/mount/fsck
#   # refdax-test: crash         two-boot crash test (PHASE=1, then PHASE=2)
#   # refdax-test: timeout=SEC   per-test limit
#   # refdax-test: refdax-only   skipped when REFDAX_SUITE_FS=ext4
#   # refdax-test: devdax-only   run only when RDX_PMEM=devdax (not recorded
#                                otherwise; scripts/check.sh knows)
# Exit 0 = pass, 77 = skip, anything else = fail.  After a mounted test the
# runner unmounts, runs fsck (-n) and scans the kernel log written since the
# test began for oops/warning patterns; any hit fails the test.
#
# Results: $RDX_OUT/results, one line per test: "PASS name", "FAIL name: why",
# "SKIP name: why"; the last line is "DONE" when the suite completed.  Logs:
# $RDX_OUT/logs/<name>.log and, on a kernel-log hit, <name>.dmesg.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
KVER=${KVER:-$(uname -r)}
RDX_OUT=${RDX_OUT:-/tmp/refdax-results}
FS=${REFDAX_SUITE_FS:-refdax}
RDX_PMEM=${RDX_PMEM:-memmap}
DEFAULT_TIMEOUT=${RDX_TEST_TIMEOUT:-300}
if [ "$RDX_PMEM" = devdax ]; then
	DEV=${DEV:-/dev/dax0.0}
else
	DEV=${DEV:-/dev/pmem0}
fi
MNT=${MNT:-/mnt/refdax}
TOOLS=${TOOLS:-$ROOT/build}
TBIN=${TBIN:-$ROOT/build/tests}
TESTLIB=$ROOT/tests/guest/testlib.sh
export ROOT KVER DEV MNT TOOLS TBIN TESTLIB
export FSTYPE=$FS
export PATH=$TOOLS:$PATH

RESULTS=$RDX_OUT/results
LOGS=$RDX_OUT/logs
mkdir -p "$LOGS" "$MNT"

# shellcheck source=tests/guest/kmsg.sh
. "$ROOT/tests/guest/kmsg.sh"

say() { echo "run-suite: $*"; }
record() { # line
	echo "$1" >>"$RESULTS"
	sync "$RESULTS" 2>/dev/null || true
	echo "$1"
}

header() { # file key -> prints value ("" if absent, "yes" for a bare flag)
	sed -n '1,20s/^# refdax-test:[[:space:]]*//p' "$1" | tr ' ,' '\n' |
		awk -v k="$2" -F= '$1 == k { print (NF > 1 ? $2 : "yes"); exit }'
}

# ---- device --------------------------------------------------------------
wait_dev() {
	local _
	for _ in $(seq 1 50); do
		[ -b "$DEV" ] || [ -c "$DEV" ] && return 0
		sleep 0.2
	done
	return 1
}

setup_pmem() {
	case "$RDX_PMEM" in
	memmap)
		modprobe nd_e820 && modprobe nd_pmem || return 1
		;;
	nvdimm)
		modprobe nfit && modprobe nd_pmem || return 1
		wait_dev || true
		# A fresh backing file shows up as a label-less raw namespace: turn it
		# into fsdax once; the info block lives on the nvdimm file afterwards.
		if ndctl list -N 2>/dev/null | grep -q '"mode":"raw"'; then
			ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >/dev/null || return 1
		fi
		;;
	devdax)
		modprobe nfit && modprobe nd_pmem && modprobe dax_pmem &&
			modprobe device_dax || return 1
		modprobe fsdev_dax 2>/dev/null || true # 7.x only
		if ndctl list -N 2>/dev/null | grep -q '"mode":"raw"'; then
			ndctl create-namespace -f -e namespace0.0 -m devdax >/dev/null || return 1
		fi
		wait_dev || return 1
		dax_bind "$DAX_FS_DRIVER"
		;;
	*) echo "unknown RDX_PMEM=$RDX_PMEM" >&2; return 1 ;;
	esac
	wait_dev
}

# A device-dax $DEV is made and checked through device_dax (the tools map
# it) and mounted through fsdev_dax (7.x; 6.x refuses the mount anyway).
DAX_FS_DRIVER=device_dax
[ "$RDX_PMEM" = devdax ] && [ "${KVER%%.*}" -ge 7 ] && DAX_FS_DRIVER=fsdev_dax
export DAX_FS_DRIVER
# dax_bind DRIVER: bind $DEV's device-dax instance to DRIVER (if it is not).
dax_bind() {
	local n=${DEV##*/} cur d=/sys/bus/dax/drivers
	cur=$(readlink "/sys/bus/dax/devices/$n/driver" 2>/dev/null) || true
	cur=${cur##*/}
	[ "$cur" = "$1" ] && return 0
	[ -z "$cur" ] || echo "$n" >"$d/$cur/unbind" || return 1
	if [ "$1" = fsdev_dax ]; then
		# fsdev_dax binds only the instances named to it
		echo "$n" >"$d/fsdev_dax/new_id" || return 1
	else
		echo "$n" >"$d/$1/bind" || return 1
	fi
	cur=$(readlink "/sys/bus/dax/devices/$n/driver" 2>/dev/null) || true
	[ "${cur##*/}" = "$1" ] || { echo "dax_bind: $n is not bound to $1" >&2; return 1; }
}

# ---- filesystem under test ----------------------------------------------
# Exported to the tests (remount etc.), so they use only exported variables.
fs_mkfs() {
	case "$FSTYPE" in
	refdax)
		if [ -c "$DEV" ]; then
			dax_bind device_dax && "$TOOLS/mkfs.refdax" -f -q "$DEV" &&
				dax_bind "$DAX_FS_DRIVER"
		else
			"$TOOLS/mkfs.refdax" -f -q "$DEV"
		fi
		;;
	ext4) mkfs.ext4 -q -F -b 4096 -i 8192 "$DEV" ;;
	esac
}
fs_mount() {
	case "$FSTYPE" in
	refdax) mount -t refdax "$DEV" "$MNT" ;;
	ext4) mount -t ext4 -o dax "$DEV" "$MNT" ;;
	esac
}
fs_fsck() {
	case "$FSTYPE" in
	refdax)
		if [ -c "$DEV" ]; then
			dax_bind device_dax && "$TOOLS/fsck.refdax" -n "$DEV" &&
				dax_bind "$DAX_FS_DRIVER"
		else
			"$TOOLS/fsck.refdax" -n "$DEV"
		fi
		;;
	ext4) e2fsck -fn "$DEV" ;;
	esac
}
export -f fs_mkfs fs_mount fs_fsck dax_bind

load_fs() {
	case "$FS" in
	refdax)
		local ko=$ROOT/build/$KVER/refdax.ko
		[ -f "$ko" ] || { echo "no module $ko (build failed?)"; return 1; }
		[ -x "$TOOLS/mkfs.refdax" ] || { echo "no $TOOLS/mkfs.refdax (make tools failed?)"; return 1; }
		[ -x "$TOOLS/fsck.refdax" ] || { echo "no $TOOLS/fsck.refdax (make tools failed?)"; return 1; }
		grep -qw refdax /proc/filesystems && return 0
		local err
		err=$(insmod "$ko" 2>&1) || { echo "insmod failed: $err; $(dmesg | tail -n 3 | tr '\n' ' ')"; return 1; }
		grep -qw refdax /proc/filesystems || { echo "module loaded but filesystem type refdax not registered"; return 1; }
		;;
	ext4)
		modprobe ext4 || { echo "modprobe ext4 failed"; return 1; }
		;;
	*) echo "unknown REFDAX_SUITE_FS=$FS"; return 1 ;;
	esac
}

# ---- kernel log ------------------------------------------------------------
mark_kmsg() { echo "refdax-suite: $1" >/dev/kmsg 2>/dev/null || true; }

# Kernel log since the marker "refdax-suite: begin NAME".
kmsg_since() { # name
	local all
	all=$(dmesg 2>/dev/null)
	if grep -qF "refdax-suite: begin $1" <<<"$all"; then
		awk -v m="refdax-suite: begin $1" 'index($0, m) { on = 1 } on' <<<"$all"
	else
		printf '%s\n' "$all"
	fi
}

kmsg_check() { # name -> 0 if clean; prints hits
	local text hits
	text=$(kmsg_since "$1" | grep -v 'refdax-suite: ')
	hits=$(kmsg_hits "" <<<"$text")
	if [ -n "$hits" ]; then
		printf '%s\n' "$text" >"$LOGS/$1.dmesg"
		echo "$hits"
		return 1
	fi
	return 0
}

cleanup_mount() {
	if mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
}

# ---- one test ---------------------------------------------------------------
# run_test FILE [PHASE]  -> records a result line (or PHASE1 progress line)
run_test() {
	local file=$1 phase=${2:-} name log tmo nomount rc why="" hits t0 t1
	name=$(basename "$file" .sh)
	log=$LOGS/$name${phase:+.phase$phase}.log
	tmo=$(header "$file" timeout)
	tmo=${tmo:-$DEFAULT_TIMEOUT}
	nomount=$(header "$file" nomount)
	export T_OUT=$LOGS/$name.d
	mkdir -p "$T_OUT"

	if [ -n "$(header "$file" devdax-only)" ] && [ "$RDX_PMEM" != devdax ]; then
		return
	fi
	if [ -n "$(header "$file" refdax-only)" ] && [ "$FS" != refdax ]; then
		record "SKIP $name: refdax-only test"
		return
	fi
	if [ -n "$LOAD_ERR" ]; then
		record "FAIL $name: $LOAD_ERR"
		return
	fi

	say "=== $name${phase:+ (phase $phase)} (timeout ${tmo}s)"
	mark_kmsg "begin $name"
	t0=$(date +%s)
	: >"$log"
	if [ -z "$nomount" ]; then
		cleanup_mount
		if [ "$phase" != 2 ]; then
			if ! fs_mkfs >>"$log" 2>&1; then
				record "FAIL $name: mkfs failed ($(tail -n 2 "$log" | tr '\n' ' '))"
				return
			fi
		fi
		if ! fs_mount >>"$log" 2>&1; then
			record "FAIL $name: mount failed ($(tail -n 2 "$log" | tr '\n' ' '))"
			kmsg_check "$name" >/dev/null || true
			return
		fi
	fi

	rc=0
	# Run from / so that nothing but the test itself holds the mount busy.
	(cd / && PHASE=$phase exec timeout -k 10 "$tmo" bash "$file") >>"$log" 2>&1 </dev/null || rc=$?
	t1=$(date +%s)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="timed out after ${tmo}s"
	elif [ "$rc" = 77 ]; then
		why=skip
	elif [ "$rc" != 0 ]; then
		why="exit $rc: $({ grep -v '^+' "$log" || true; } | tail -n 1 | cut -c1-200)"
	fi

	if [ "$phase" = 1 ] && [ -z "$why" ]; then
		# Crash test, first boot: the caller powers off without unmounting.
		record "PHASE1 $name ok"
		return
	fi

	if [ -z "$nomount" ]; then
		cd /
		if mountpoint -q "$MNT"; then
			if ! umount "$MNT" >>"$log" 2>&1; then
				if [ "$why" = skip ]; then
					why="umount failed"
				else
					why="${why:+$why; }umount failed"
				fi
				umount -l "$MNT" 2>/dev/null || true
			fi
		fi
		if [ "$why" != skip ] && ! fs_fsck >>"$log" 2>&1; then
			why="${why:+$why; }fsck reported errors ($(tail -n 2 "$log" | tr '\n' ' ' | cut -c1-200))"
		fi
	fi
	if hits=$(kmsg_check "$name"); then :; else
		why="${why:+$why; }kernel log: $hits (see logs/$name.dmesg)"
	fi
	if [ -z "$why" ]; then
		record "PASS $name ($((t1 - t0))s)"
	elif [ "$why" = skip ]; then
		record "SKIP $name: $(tail -n 1 "$log" | cut -c1-200)"
	else
		record "FAIL $name: $why"
		say "--- tail of $name log:"
		tail -n 15 "$log"
	fi
}

# ---- main -------------------------------------------------------------------
say "kernel $KVER, fs $FS, pmem $RDX_PMEM, results in $RDX_OUT"
LOAD_ERR=""
if ! setup_pmem >>"$LOGS/setup.log" 2>&1; then
	LOAD_ERR="no pmem device $DEV ($RDX_PMEM): $(tail -n 2 "$LOGS/setup.log" | tr '\n' ' ')"
fi
if [ -z "$LOAD_ERR" ]; then
	LOAD_ERR=$(load_fs 2>&1) || true
	# load_fs prints only on failure
fi
[ -z "$LOAD_ERR" ] || say "setup failed: $LOAD_ERR"

selected() { # name
	local pat
	[ -z "${RDX_TESTS:-}" ] && return 0
	for pat in $RDX_TESTS; do
		# shellcheck disable=SC2053
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

if [ -n "${RDX_CRASH_TEST:-}" ]; then
	file=$ROOT/tests/func/$RDX_CRASH_TEST.sh
	phase=${RDX_CRASH_PHASE:-1}
	run_test "$file" "$phase"
	if [ "$phase" = 1 ]; then
		# Power off without unmounting: what survives is what was persisted.
		say "crash: powering off without unmount"
		sync "$RESULTS" 2>/dev/null || true
		echo o >/proc/sysrq-trigger
		sleep 30
	fi
	exit 0
fi

for file in "$ROOT"/tests/func/[0-9][0-9]-*.sh; do
	[ -f "$file" ] || continue
	name=$(basename "$file" .sh)
	selected "$name" || continue
	if [ -n "$(header "$file" crash)" ]; then
		say "$name is a two-boot crash test: run separately (scripts/check.sh)"
		continue
	fi
	run_test "$file"
done
cleanup_mount
echo DONE >>"$RESULTS"
say "suite done"
