#!/usr/bin/env bash
# refdax-test: nomount refdax-only
# mkfs.refdax with a size on a block device (-s SIZE, or SIZE after the
# device as mkfs.ext4 takes it): the filesystem takes the start of the
# device, mounts, statfs shows its size (not the device's), files fill only
# it, and fsck is clean; a size larger than the device is refused with a
# clear error and leaves the device as it was.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
[ -b "$DEV" ] || skip "$DEV is not a block device"
mountpoint -q "$MNT" && umount "$MNT"
cleanup() { cd /; mountpoint -q "$MNT" && umount "$MNT"; true; }
trap cleanup EXIT

devbytes=$(blockdev --getsize64 "$DEV")
MKFS=$TOOLS/mkfs.refdax
[ "$devbytes" -gt $((512 << 20)) ] || skip "$DEV is only $devbytes bytes"

# total_kb: the mounted filesystem's size in KiB (statfs f_blocks).
total_kb() { df -Pk "$MNT" | awk 'NR == 2 { print $2 }'; }

check_size() { # MIB: mounted, statfs between MIB minus metadata and MIB
	local kb
	fs_mount || fail "mount of a $1 MiB filesystem"
	kb=$(total_kb)
	assert_le "$kb" $(($1 * 1024)) "statfs size (KiB) of a $1 MiB filesystem"
	assert_ge "$kb" $(($1 * 1024 * 9 / 10)) "statfs size (KiB) of a $1 MiB filesystem"
	# it fills at its own size, not the device's
	if dd if=/dev/zero of="$MNT/fill" bs=1M count=$(($1 + 16)) status=none 2>/dev/null; then
		fail "wrote $(($1 + 16)) MiB into a $1 MiB filesystem"
	fi
	assert_le "$(fsize "$MNT/fill")" $(($1 << 20)) "bytes written into a $1 MiB filesystem"
	rm "$MNT/fill"
	umount "$MNT"
	fs_fsck >/dev/null || fail "fsck of a $1 MiB filesystem"
}

"$MKFS" -q -f "$DEV" 256M || fail "mkfs.refdax DEV 256M"
check_size 256
"$MKFS" -q -f -s 300M "$DEV" || fail "mkfs.refdax -s 300M DEV"
check_size 300
# the summary names the size it made
"$MKFS" -f "$DEV" 128M | grep -q "128" || fail "mkfs summary does not say 128 MiB"
check_size 128

# larger than the device: refused, with the reason, and nothing written
mark=$(dd if="$DEV" bs=4096 count=1 status=none | md5sum)
big=$((devbytes + (1 << 20)))
expect_err "larger than $DEV" "$MKFS" -q -f "$DEV" "$big"
expect_err "larger than $DEV" "$MKFS" -q -f -s 64G "$DEV"
assert_eq "$(dd if="$DEV" bs=4096 count=1 status=none | md5sum)" "$mark" "superblock after a refused mkfs"
expect_err "bad size" "$MKFS" -q -f "$DEV" 12Q
expect_err "size given twice" "$MKFS" -q -f -s 64M "$DEV" 64M
expect_err "too many arguments" "$MKFS" -q -f "$DEV" 64M extra

# the whole device again, as other tests expect
fs_mkfs || fail "mkfs of the whole device"
fs_mount || fail "mount of the whole device"
assert_ge "$(total_kb)" $((devbytes / 1024 * 9 / 10)) "statfs size of the whole device"
umount "$MNT"
