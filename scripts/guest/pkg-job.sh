#!/usr/bin/env bash
# Runs inside a test guest for scripts/pkg-check.sh, with the refdax-dkms and
# refdax-tools packages installed in the system under test, and checks them
# the way its user would use them.  Nothing from the source tree's build/ is
# used: the module comes from modprobe (DKMS put it in
# /lib/modules/$KVER/updates/dkms), the tools from mkfs -t refdax / fsck -t
# refdax with a system PATH.
#
# The system under test is one of
#   the host root   (RDX_PKG_ROOT unset) which the guest shares read-only:
#                   the packages were installed on the host, for a bookworm
#                   kernel
#   a build root    (RDX_PKG_ROOT=/var/lib/refdax/trixie-root): the packages
#                   were installed in that trixie root, whose DKMS built the
#                   module for the 7.x kernel.  The guest, booted with the
#                   host root, loads the pmem driver from the host's
#                   /lib/modules (the kernel's own modules are not in the
#                   build root), binds /proc /sys /dev and puts tmpfs on /tmp
#                   /run /mnt in the build root, and runs every command of
#                   the check chrooted there (sys below): trixie's kmod
#                   modprobe, util-linux mkfs/fsck/mount, coreutils, dpkg.
#                   Dependencies of refdax that are modules are loaded from
#                   the host side first.
# The assertions are the same for both; only what a user runs goes through
# sys.  What merely observes (xz/readelf for build IDs, filefrag, dmesg) runs
# in the guest's own root: a minimal build root has no filefrag.
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
R=${RDX_PKG_ROOT:-}
RES=$OUT/results
LOG=$OUT/pkg-job.log
DEV=/dev/pmem0
MNT=/mnt/refdax-pkg
# System directories only: no build/, no /usr/local.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
: >"$RES"
exec 3>>"$LOG"

say() { echo "pkg-job: $*" >&2; echo "$*" >&3; }
# shellcheck source=tests/guest/kmsg.sh
. "$(dirname "$0")/../../tests/guest/kmsg.sh"
KMSG_MARK="pkg-job: checks begin"
record() { echo "$1" >>"$RES"; sync "$RES" 2>/dev/null || true; say "$1"; }
run() { # cmd...: run, log command and output; keep the output in $OUTPUT
	local rc=0
	OUTPUT=$("$@" 2>&1) || rc=$?
	printf '$ %s\n%s\n(exit %d)\n' "$*" "$OUTPUT" "$rc" >&3
	return "$rc"
}
# sys cmd...: run a command of the system under test (its paths are that
# system's; $R$path is the same file seen from the guest's own root).
sys() {
	if [ -n "$R" ]; then
		chroot "$R" /usr/bin/env -i PATH="$PATH" LC_ALL=C "$@"
	else
		"$@"
	fi
}

# The build root, read-only like the rest of the host root, made usable.
enter_root() {
	local d
	for d in proc sys dev; do
		mount --rbind "/$d" "$R/$d" || { echo "cannot bind /$d into $R"; return 1; }
	done
	for d in tmp run mnt; do
		mount -t tmpfs -o mode=0755 tmpfs "$R/$d" || { echo "cannot mount tmpfs on $R/$d"; return 1; }
	done
	chmod 1777 "$R/tmp"
	say "system under test: the build root $R ($(sys sed -n 's/^PRETTY_NAME=//p' /etc/os-release))"
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
	local path dkms_dir dep bid_file bid_sys
	if ! run modprobe nd_e820 || ! run modprobe nd_pmem; then
		echo "cannot load nd_e820/nd_pmem: $OUTPUT"
		return 1
	fi
	for _ in $(seq 1 50); do
		[ -b "$DEV" ] && break
		sleep 0.2
	done
	[ -b "$DEV" ] || { echo "no $DEV"; return 1; }
	if [ -n "$R" ]; then
		enter_root || return 1
	fi
	if grep -q '^refdax ' /proc/modules; then
		echo "refdax was loaded before modprobe"
		return 1
	fi
	run sys modinfo -n refdax || { echo "modinfo finds no refdax module for $KVER"; return 1; }
	path=$OUTPUT
	dkms_dir=$(sys readlink -f "/lib/modules/$KVER/updates/dkms")
	case "$(sys readlink -f "$path")" in
	"$dkms_dir"/refdax.ko*) ;;
	*) echo "modinfo -n refdax gives $path, not the DKMS module in /lib/modules/$KVER/updates/dkms"; return 1 ;;
	esac
	if [ -n "$R" ]; then
		for dep in $(modinfo -F depends "$R$path" | tr ',' ' '); do
			run modprobe "$dep" ||
				{ echo "cannot load refdax's dependency $dep from the host's /lib/modules/$KVER: $OUTPUT"; return 1; }
			say "dependency $dep: loaded from the host's /lib/modules/$KVER"
		done
	fi
	run sys modprobe -v refdax || { echo "modprobe refdax failed: $OUTPUT"; return 1; }
	grep -q "insmod $path" <<<"$OUTPUT" ||
		{ echo "modprobe -v did not insmod $path: $OUTPUT"; return 1; }
	[ -d /sys/module/refdax ] || { echo "no /sys/module/refdax after modprobe"; return 1; }
	# The kernel's copy of the module's build ID (an ELF note: 12-byte
	# header, "GNU\0", then the ID) against the file's.
	bid_sys=$(od -An -v -tx1 /sys/module/refdax/notes/.note.gnu.build-id 2>/dev/null |
		tr -d ' \n' | cut -c33-)
	bid_file=$(file_build_id "$R$path")
	if [ -z "$bid_sys" ] || [ "$bid_sys" != "$bid_file" ]; then
		echo "loaded module's build ID '$bid_sys' is not $path's '$bid_file'"
		return 1
	fi
	if [ -n "${RDX_DKMS_BUILD_ID:-}" ] && [ "$bid_sys" != "$RDX_DKMS_BUILD_ID" ]; then
		echo "loaded module's build ID '$bid_sys' is not the one DKMS built ($RDX_DKMS_BUILD_ID)"
		return 1
	fi
	grep -qw refdax /proc/filesystems || { echo "refdax not in /proc/filesystems"; return 1; }
	say "module: ${R:+$R:}$path (build ID $bid_sys)"
	if [ -n "${ROOT:-}" ] && [ -f "$ROOT/build/$KVER/refdax.ko" ]; then
		say "for comparison, $ROOT/build/$KVER/refdax.ko has build ID $(file_build_id "$ROOT/build/$KVER/refdax.ko")"
	fi
}

# The file TOOL that mkfs(8)/fsck(8) execute: the first in their search path
# (/sbin:/sbin/fs.d:/sbin/fs, fsck also /etc/fs:/etc, then PATH).  It must be
# the file of the refdax-tools package.
check_tool() { # tool
	local d f="" real owner
	for d in /sbin /sbin/fs.d /sbin/fs /etc/fs /etc ${PATH//:/ }; do
		if sys test -x "$d/$1"; then
			f=$d/$1
			break
		fi
	done
	[ -n "$f" ] || { echo "no $1 in the path of mkfs/fsck"; return 1; }
	real=$(sys readlink -f "$f")
	owner=$(sys dpkg -S "$real" 2>/dev/null | cut -d: -f1)
	[ "$owner" = refdax-tools ] || { echo "$f (-> $real) is not from refdax-tools (dpkg -S: '${owner:-none}')"; return 1; }
	say "tool: $f from $owner"
}

check_fs() {
	local sum1 sum2 shared dm
	check_tool mkfs.refdax || return 1
	check_tool fsck.refdax || return 1
	sys mkdir -p "$MNT"
	run sys mkfs -t refdax -f "$DEV" || { echo "mkfs -t refdax failed: $OUTPUT"; return 1; }
	run sys fsck -V -t refdax -n "$DEV" || { echo "fsck -t refdax -n after mkfs: $OUTPUT"; return 1; }
	grep -Eq '^\[(/usr)?/sbin/fsck\.refdax ' <<<"$OUTPUT" ||
		{ echo "fsck did not run /sbin/fsck.refdax: $OUTPUT"; return 1; }
	grep -q ': clean, ' <<<"$OUTPUT" || { echo "fsck after mkfs: $OUTPUT"; return 1; }
	run sys mount -t refdax "$DEV" "$MNT" || { echo "mount failed: $OUTPUT"; return 1; }
	run sys dd if=/dev/urandom of="$MNT/data" bs=1M count=8 conv=fsync status=none ||
		{ echo "write failed: $OUTPUT"; return 1; }
	sum1=$(sys sha256sum "$MNT/data")
	if ! run sys umount "$MNT" || ! run sys mount -t refdax "$DEV" "$MNT"; then
		echo "remount failed: $OUTPUT"
		return 1
	fi
	sum2=$(sys sha256sum "$MNT/data")
	if [ -z "$sum1" ] || [ "$sum1" != "$sum2" ]; then
		echo "data read back after remount differs ('$sum1', '$sum2')"
		return 1
	fi
	run sys cp --reflink=always "$MNT/data" "$MNT/clone" || { echo "cp --reflink=always failed: $OUTPUT"; return 1; }
	sys cmp -s "$MNT/data" "$MNT/clone" || { echo "clone differs from the original"; return 1; }
	run filefrag -v "$R$MNT/clone"
	grep -q shared <<<"$OUTPUT" || { echo "clone's extents are not shared: $OUTPUT"; return 1; }
	run sys umount "$MNT" || { echo "umount failed: $OUTPUT"; return 1; }
	run sys fsck -V -t refdax -n "$DEV" || { echo "fsck -t refdax -n at the end: $OUTPUT"; return 1; }
	shared=$(sed -n 's/.*: clean, .*, \([0-9]*\) shared$/\1/p' <<<"$OUTPUT")
	if [ -z "$shared" ] || [ "$shared" -eq 0 ]; then
		echo "fsck at the end is not clean with shared blocks: $OUTPUT"
		return 1
	fi
	dm=$(dmesg | kmsg_hits "$KMSG_MARK")
	[ -z "$dm" ] || { echo "kernel log: $dm"; return 1; }
	say "fs: 8 MiB written, read back after remount, reflinked; fsck clean, $shared blocks shared"
}

say "=== kernel $KVER${R:+, packages in $R}"
# The kernel's own boot is not judged (kmsg.sh): the checks are, from here.
echo "$KMSG_MARK" >/dev/kmsg
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
mountpoint -q "$R$MNT" && umount "$R$MNT"
record DONE
