#!/usr/bin/env bash
# Runs inside a test guest for scripts/pkg-check.sh, with the refdax-dkms and
# refdax-tools packages installed on the host (whose root the guest shares
# read-only).  Nothing from the source tree's build/ is used: the module comes
# from modprobe (DKMS put it in /lib/modules/$KVER/updates/dkms), the tools
# from mkfs -t refdax / fsck -t refdax with a system PATH.
#
# Results: $RDX_OUT/results, "PASS name" / "FAIL name: why" for
#   pkg-modprobe   modprobe loads refdax from updates/dkms, and that is the
#                  module the kernel has: the build ID in /sys/module/refdax/
#                  notes is the file's and the one the host saw DKMS build
#                  (RDX_DKMS_BUILD_ID, from the job file)
#   pkg-fs         mkfs -t refdax and fsck -t refdax run the packaged tools;
#                  mount /dev/pmem0, write, remount, read back, reflink, umount,
#                  fsck clean with the clone's blocks shared, no kernel warning
# then "DONE".  Step log: $RDX_OUT/pkg-job.log.
set -uo pipefail
KVER=${KVER:-$(uname -r)}
OUT=${RDX_OUT:?}
RES=$OUT/results
LOG=$OUT/pkg-job.log
DEV=/dev/pmem0
MNT=/mnt/refdax-pkg
DKMS_DIR=/lib/modules/$KVER/updates/dkms
# System directories only: no build/, no /usr/local.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
: >"$RES"
exec 3>>"$LOG"

say() { echo "pkg-job: $*" >&2; echo "$*" >&3; }
record() { echo "$1" >>"$RES"; sync "$RES" 2>/dev/null || true; say "$1"; }
run() { # cmd...: run, log command and output; keep the output in $OUTPUT
	local rc=0
	OUTPUT=$("$@" 2>&1) || rc=$?
	printf '$ %s\n%s\n(exit %d)\n' "$*" "$OUTPUT" "$rc" >&3
	return "$rc"
}

file_build_id() { # module file, maybe compressed
	case "$1" in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac >/tmp/refdax-pkg.ko
	readelf -n /tmp/refdax-pkg.ko | awk '/Build ID:/ { print $3 }'
}

check_modprobe() {
	local path bid_file bid_sys
	if ! run modprobe nd_e820 || ! run modprobe nd_pmem; then
		echo "cannot load nd_e820/nd_pmem: $OUTPUT"
		return 1
	fi
	for _ in $(seq 1 50); do
		[ -b "$DEV" ] && break
		sleep 0.2
	done
	[ -b "$DEV" ] || { echo "no $DEV"; return 1; }
	if grep -q '^refdax ' /proc/modules; then
		echo "refdax was loaded before modprobe"
		return 1
	fi
	run modinfo -n refdax || { echo "modinfo finds no refdax module for $KVER"; return 1; }
	path=$OUTPUT
	case "$path" in
	"$DKMS_DIR"/refdax.ko*) ;;
	*) echo "modinfo -n refdax gives $path, not the DKMS module in $DKMS_DIR"; return 1 ;;
	esac
	run modprobe -v refdax || { echo "modprobe refdax failed: $OUTPUT"; return 1; }
	grep -q "insmod $DKMS_DIR/refdax.ko" <<<"$OUTPUT" ||
		{ echo "modprobe -v did not insmod from $DKMS_DIR: $OUTPUT"; return 1; }
	[ -d /sys/module/refdax ] || { echo "no /sys/module/refdax after modprobe"; return 1; }
	# The kernel's copy of the module's build ID (an ELF note: 12-byte
	# header, "GNU\0", then the ID) against the file's.
	bid_sys=$(od -An -v -tx1 /sys/module/refdax/notes/.note.gnu.build-id 2>/dev/null |
		tr -d ' \n' | cut -c33-)
	bid_file=$(file_build_id "$path")
	if [ -z "$bid_sys" ] || [ "$bid_sys" != "$bid_file" ]; then
		echo "loaded module's build ID '$bid_sys' is not $path's '$bid_file'"
		return 1
	fi
	if [ -n "${RDX_DKMS_BUILD_ID:-}" ] && [ "$bid_sys" != "$RDX_DKMS_BUILD_ID" ]; then
		echo "loaded module's build ID '$bid_sys' is not the one DKMS built ($RDX_DKMS_BUILD_ID)"
		return 1
	fi
	grep -qw refdax /proc/filesystems || { echo "refdax not in /proc/filesystems"; return 1; }
	say "module: $path (build ID $bid_sys)"
	if [ -n "${ROOT:-}" ] && [ -f "$ROOT/build/$KVER/refdax.ko" ]; then
		say "for comparison, $ROOT/build/$KVER/refdax.ko has build ID $(file_build_id "$ROOT/build/$KVER/refdax.ko")"
	fi
}

# The file TOOL that mkfs(8)/fsck(8) execute: the first in their search path
# (/sbin:/sbin/fs.d:/sbin/fs, fsck also /etc/fs:/etc, then PATH).  It must be
# the file of the refdax-tools package.
check_tool() { # tool
	local d f="" owner
	for d in /sbin /sbin/fs.d /sbin/fs /etc/fs /etc ${PATH//:/ }; do
		if [ -x "$d/$1" ]; then
			f=$d/$1
			break
		fi
	done
	[ -n "$f" ] || { echo "no $1 in the path of mkfs/fsck"; return 1; }
	owner=$(dpkg -S "$(readlink -f "$f")" 2>/dev/null | cut -d: -f1)
	[ "$owner" = refdax-tools ] || { echo "$f (-> $(readlink -f "$f")) is not from refdax-tools (dpkg -S: '${owner:-none}')"; return 1; }
	say "tool: $f from $owner"
}

check_fs() {
	local sum1 sum2 shared dm
	check_tool mkfs.refdax || return 1
	check_tool fsck.refdax || return 1
	mkdir -p "$MNT"
	run mkfs -t refdax -f "$DEV" || { echo "mkfs -t refdax failed: $OUTPUT"; return 1; }
	run fsck -V -t refdax -n "$DEV" || { echo "fsck -t refdax -n after mkfs: $OUTPUT"; return 1; }
	grep -Eq '^\[(/usr)?/sbin/fsck\.refdax ' <<<"$OUTPUT" ||
		{ echo "fsck did not run /sbin/fsck.refdax: $OUTPUT"; return 1; }
	grep -q ': clean, ' <<<"$OUTPUT" || { echo "fsck after mkfs: $OUTPUT"; return 1; }
	run mount -t refdax "$DEV" "$MNT" || { echo "mount failed: $OUTPUT"; return 1; }
	run dd if=/dev/urandom of="$MNT/data" bs=1M count=8 conv=fsync status=none ||
		{ echo "write failed: $OUTPUT"; return 1; }
	sum1=$(sha256sum <"$MNT/data")
	if ! run umount "$MNT" || ! run mount -t refdax "$DEV" "$MNT"; then
		echo "remount failed: $OUTPUT"
		return 1
	fi
	sum2=$(sha256sum <"$MNT/data")
	[ "$sum1" = "$sum2" ] || { echo "data read back after remount differs"; return 1; }
	run cp --reflink=always "$MNT/data" "$MNT/clone" || { echo "cp --reflink=always failed: $OUTPUT"; return 1; }
	cmp -s "$MNT/data" "$MNT/clone" || { echo "clone differs from the original"; return 1; }
	run filefrag -v "$MNT/clone"
	grep -q shared <<<"$OUTPUT" || { echo "clone's extents are not shared: $OUTPUT"; return 1; }
	run umount "$MNT" || { echo "umount failed: $OUTPUT"; return 1; }
	run fsck -V -t refdax -n "$DEV" || { echo "fsck -t refdax -n at the end: $OUTPUT"; return 1; }
	shared=$(sed -n 's/.*: clean, .*, \([0-9]*\) shared$/\1/p' <<<"$OUTPUT")
	if [ -z "$shared" ] || [ "$shared" -eq 0 ]; then
		echo "fsck at the end is not clean with shared blocks: $OUTPUT"
		return 1
	fi
	dm=$(dmesg | grep -E 'BUG|WARNING|Oops|general protection|Call Trace' | head -n 3)
	[ -z "$dm" ] || { echo "kernel log: $dm"; return 1; }
	say "fs: 8 MiB written, read back after remount, reflinked; fsck clean, $shared blocks shared"
}

say "=== kernel $KVER"
if why=$(check_modprobe); then
	record "PASS pkg-modprobe"
	if why=$(check_fs); then
		record "PASS pkg-fs"
	else
		record "FAIL pkg-fs: $why"
	fi
else
	record "FAIL pkg-modprobe: $why"
	record "FAIL pkg-fs: not run: no DKMS module loaded"
fi
mountpoint -q "$MNT" && umount "$MNT"
record DONE
