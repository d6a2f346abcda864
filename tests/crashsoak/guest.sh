#!/usr/bin/env bash
# Crash soak, one boot, INSIDE the guest (see tests/crashsoak/run.sh and
# docs/crash-soak.md).  The host writes a job file that exports the
# variables below and execs this script.
#
#   ROOT      repository root (host path, read-only here)
#   OUT       soak directory shared with the host (writable)
#   VERIFY    point whose crash this boot checks (empty: none)
#   START     point whose workload this boot starts (empty: none; the
#             guest then powers off cleanly after the check)
#   SEED      workload seed of point START
#   FRESH     1: make a new filesystem before starting (first boot, or the
#             previous state is unusable)
#   NEWIMG    1: the nvdimm file is new (make its fsdax namespace)
#   SELFTEST  empty, or byte|unlink: damage the recovered filesystem before
#             the check, which must then FAIL (proves the checker can fail)
#
# Per point i, in $OUT/p<i>/: oracle.log (the workload's oracle), ready (the
# workload runs), wl.log, dmesg-run.log (kernel log while the workload ran);
# the verifying boot adds fsck-pre.log, check.log, fsck-post.log,
# dmesg-verify.log and "result" (PASS or FAIL <why>).
set -uo pipefail

KVER=${KVER:-$(uname -r)}
DEV=/dev/pmem0
MNT=/mnt/crashsoak
W=$MNT/w
CSW=$ROOT/build/crashsoak/csw
FSCK=$ROOT/build/fsck.refdax
MKFS=$ROOT/build/mkfs.refdax
# shellcheck source=tests/guest/kmsg.sh
. "$ROOT/tests/guest/kmsg.sh"

say() {
	echo "crashsoak-guest: $*"
	# Guest uptime at each phase: where a soak's time goes (host: timing.log).
	local up _
	read -r up _ </proc/uptime
	echo "$up ${VERIFY:+v$VERIFY }${START:+s$START }$*" >>"$OUT/timing.log"
}
first_line() { grep -m1 "$@" | cut -c1-240; }

# Kernel log of this boot (saved to $1): prints the bad patterns found
# after the job's start marker (kmsg.sh).
save_kmsg_hits() { # file
	dmesg >"$1" 2>&1
	kmsg_hits "crashsoak: job begins" <"$1"
}

wait_dev() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -b "$DEV" ] && return 0
		sleep 0.1
	done
	return 1
}

setup() {
	modprobe nfit && modprobe nd_pmem || return 1
	wait_dev || return 1
	if [ "${NEWIMG:-0}" = 1 ]; then
		# A fresh backing file is a label-less raw namespace: make it fsdax once.
		ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >/dev/null || return 1
		wait_dev || return 1
	fi
	grep -qw refdax /proc/filesystems || insmod "$ROOT/build/$KVER/refdax.ko" || return 1
	mkdir -p "$MNT"
}

verify() { # point
	local P=$OUT/p$1 why="" rc hits
	say "verify point $1"
	rc=0
	say "fsck pre"
	"$FSCK" -n "$DEV" >"$P/fsck-pre.log" 2>&1 || rc=$?
	[ "$rc" = 0 ] || why+="fsck -n before recovery: exit $rc ($(grep -v '^ ' "$P/fsck-pre.log" | tail -n 2 | tr '\n' ' ' | cut -c1-200)); "
	say "mount"
	if mount -t refdax "$DEV" "$MNT" 2>"$P/mount.log"; then
		if [ -n "${SELFTEST:-}" ]; then
			"$CSW" corrupt "$W" "$P/oracle.log" "$SELFTEST" >"$P/corrupt.log" 2>&1 ||
				why+="selftest: nothing to corrupt ($(tail -n 1 "$P/corrupt.log")); "
		fi
		rc=0
		say "check"
		(cd / && timeout 300 "$CSW" check "$W" "$P/oracle.log" "$OUT/stats") >"$P/check.log" 2>&1 || rc=$?
		if [ -n "${SELFTEST:-}" ]; then
			if [ "$rc" = 1 ]; then
				echo "selftest: checker caught it: $(first_line CHECK-FAIL "$P/check.log")" >"$P/selftest"
			else
				why+="selftest: the checker did not fail on a corrupted filesystem (exit $rc); "
			fi
		elif [ "$rc" != 0 ]; then
			why+="check (exit $rc): $(grep -c CHECK-FAIL "$P/check.log") problems, first: $(grep -m1 -e CHECK-FAIL -e 'csw:' "$P/check.log" | cut -c1-240); "
		fi
		say "umount"
		if ! umount "$MNT" 2>>"$P/mount.log"; then
			why+="umount failed; "
			umount -l "$MNT" 2>/dev/null
		fi
		rc=0
		say "fsck post"
		"$FSCK" -n "$DEV" >"$P/fsck-post.log" 2>&1 || rc=$?
		[ "$rc" = 0 ] || why+="fsck -n after unmount: exit $rc ($(grep -v '^ ' "$P/fsck-post.log" | tail -n 2 | tr '\n' ' ' | cut -c1-200)); "
	else
		why+="mount (recovery) failed: $(tail -n 1 "$P/mount.log") $(dmesg | grep -i refdax | tail -n 2 | tr '\n' ' '); "
	fi
	hits=$(save_kmsg_hits "$P/dmesg-verify.log")
	[ -z "$hits" ] || why+="kernel log of the verifying boot: $hits (p$1/dmesg-verify.log); "
	if [ -z "$why" ]; then
		echo PASS >"$P/result.tmp"
	else
		echo "FAIL ${why%; }" >"$P/result.tmp"
	fi
	mv "$P/result.tmp" "$P/result"
	say "verified"
	sync "$P/result" 2>/dev/null
	[ -z "$why" ]
}

start() { # point
	local P=$OUT/p$1 rc
	mkdir -p "$P"
	if [ "${FRESH:-0}" = 1 ]; then
		say "new filesystem for point $1"
		"$MKFS" -f -q "$DEV" || { echo "mkfs failed" >"$P/wl-exit"; return 1; }
		mount -t refdax "$DEV" "$MNT" || { echo "mount after mkfs failed" >"$P/wl-exit"; return 1; }
		"$CSW" init "$W" || { echo "csw init failed" >"$P/wl-exit"; return 1; }
	else
		mount -t refdax "$DEV" "$MNT" || { echo "mount for the workload failed" >"$P/wl-exit"; return 1; }
	fi
	echo "crashsoak: start point $1 seed $SEED" >/dev/kmsg
	# The kernel log while the workload runs: the host scans it after the kill.
	dmesg --follow >"$P/dmesg-run.log" 2>&1 &
	say "start point $1 (seed $SEED)"
	rc=0
	(cd / && exec "$CSW" run "$W" "$P/oracle.log" "$SEED" "$P/ready") >"$P/wl.log" 2>&1 || rc=$?
	# Only reached when the workload itself failed: tell the host, wait for the kill.
	echo "workload exited with $rc: $(tail -n 1 "$P/wl.log" | cut -c1-240)" >"$P/wl-exit"
	sync "$P/wl-exit" 2>/dev/null
	sleep 600
}

say "job begins"
echo "crashsoak: job begins (verify ${VERIFY:-none}, start ${START:-none})" >/dev/kmsg
if ! setup; then
	say "pmem/module setup failed"
	[ -n "${VERIFY:-}" ] && echo "FAIL guest setup (nvdimm or insmod) failed" >"$OUT/p$VERIFY/result"
	[ -n "${START:-}" ] && mkdir -p "$OUT/p$START" && echo "guest setup failed" >"$OUT/p$START/wl-exit"
	exit 1
fi
if [ -n "${VERIFY:-}" ]; then
	# A state that failed the check is kept (host side); start afresh from it.
	verify "$VERIFY" || FRESH=1
fi
if [ -n "${START:-}" ]; then
	start "$START"
fi
exit 0
