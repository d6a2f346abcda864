#!/usr/bin/env bash
# Runs inside a test guest for scripts/fstests.sh: fstests on one
# filesystem, FS=refdax (tests/fstests/local.config) or FS=xfs-dax
# (tests/fstests/xfs-dax.config, for comparison), on the two pmem devices of
# run-guest.sh --pmem memmap2:N.
#
# From the job file: ROOT (the checkout), FSTESTS (an fstests build, read-only
# here like the rest of the host root), FS, FSTESTS_ARGS (what to run, e.g.
# "-g generic/clone").  fstests writes only below RESULT_BASE
# ($RDX_OUT/results, on the writable share) and /tmp.
#
# Results: $RDX_OUT/results/ (fstests' own: check.log, result.xml, per test
# .out.bad/.full/.notrun/.dmesg), $RDX_OUT/fstests-job.log (check's output),
# and $RDX_OUT/status: "check exit N", then "DONE" when check returned.
set -uo pipefail
ROOT=${ROOT:?}
FSTESTS=${FSTESTS:?}
FS=${FS:?}
KVER=${KVER:-$(uname -r)}
OUT=${RDX_OUT:?}
LOG=$OUT/fstests-job.log
exec >>"$LOG" 2>&1

say() { echo "fstests-job: $*"; }
fail() {
	say "FAIL: $*"
	echo "FAIL $*" >>"$OUT/status"
	exit 1
}

say "kernel $KVER, fs $FS, fstests $FSTESTS, args: $FSTESTS_ARGS"
if ! modprobe nd_e820 || ! modprobe nd_pmem; then
	fail "cannot load nd_e820/nd_pmem"
fi
for _ in $(seq 1 100); do
	[ -b /dev/pmem0 ] && [ -b /dev/pmem1 ] && break
	sleep 0.2
done
if [ ! -b /dev/pmem0 ] || [ ! -b /dev/pmem1 ]; then
	fail "no /dev/pmem0 and /dev/pmem1: $(ls /dev/pmem* 2>&1)"
fi
say "devices: $(lsblk -bndo NAME,SIZE /dev/pmem0 /dev/pmem1 | tr '\n' ' ')"

# The kernel does not load filesystem modules by itself in this guest.
if [ "$FS" = refdax ]; then
	insmod "$ROOT/build/$KVER/refdax.ko" || fail "insmod $ROOT/build/$KVER/refdax.ko failed"
else
	modprobe xfs || fail "cannot load xfs"
fi
# mkfs.refdax and fsck.refdax, for mkfs -t refdax and fsck -t refdax.
export PATH=$ROOT/build:$PATH

# fstests' users (fsgqa, fsgqa2, 123456-fsgqa) and group, in this guest
# only: the host's /etc is read-only here, so copies go over it.
etc_users() {
	local f
	for f in passwd group; do
		cp "/etc/$f" "/run/fstests-$f" || return 1
	done
	cat >>/run/fstests-passwd <<-'EOF'
		fsgqa:x:2501:2501:fstests:/tmp:/bin/bash
		fsgqa2:x:2502:2502:fstests:/tmp:/bin/bash
		123456-fsgqa:x:2503:2503:fstests:/tmp:/bin/bash
	EOF
	cat >>/run/fstests-group <<-'EOF'
		fsgqa:x:2501:
		fsgqa2:x:2502:
		123456-fsgqa:x:2503:
	EOF
	for f in passwd group; do
		mount --bind "/run/fstests-$f" "/etc/$f" || return 1
	done
}
etc_users || say "cannot add the fsgqa users: tests that need them will not run"

# fstests mounts TEST_DEV before anything else: it must hold the
# filesystem already (as the config's MKFS_OPTIONS make it).
case "$FS" in
refdax)
	mk=(mkfs -t refdax -f /dev/pmem0)
	conf=local.config
	;;
xfs-dax)
	mk=(mkfs.xfs -f -m reflink=1 /dev/pmem0)
	conf=xfs-dax.config
	;;
*) fail "unknown FS=$FS" ;;
esac
"${mk[@]}" >/dev/null || fail "${mk[*]} failed"

export RDX_FSTESTS_MNT=${RDX_FSTESTS_MNT:-/mnt/fstests}
mkdir -p "$RDX_FSTESTS_MNT/test" "$RDX_FSTESTS_MNT/scratch"
export HOST_OPTIONS=$ROOT/tests/fstests/$conf
export RESULT_BASE=$OUT/results
mkdir -p "$RESULT_BASE"
cd "$FSTESTS" || fail "cannot cd to $FSTESTS"
t0=$(date +%s)
rc=0
# shellcheck disable=SC2086  # FSTESTS_ARGS is a list of check's arguments
./check -R xunit-quiet $FSTESTS_ARGS || rc=$?
say "check exited with $rc after $(($(date +%s) - t0)) s"
echo "check exit $rc" >>"$OUT/status"
dmesg >"$OUT/dmesg.txt"
for d in "$RDX_FSTESTS_MNT/test" "$RDX_FSTESTS_MNT/scratch"; do
	mountpoint -q "$d" && umount "$d"
done
echo DONE >>"$OUT/status"
