#!/usr/bin/env bash
# refdax-test: nomount refdax-only devdax-only timeout=300
# A device-dax instance (/dev/daxX.Y) as the filesystem's device.
# 6.x: mkfs.refdax and fsck.refdax work through device_dax, and the mount
# is refused with one line naming the ndctl step to an fsdax namespace.
# 7.x: the tools refuse an instance bound to fsdev_dax, naming the rebind;
# the mount refuses one bound to device_dax, naming the rebind to
# fsdev_dax, and a character device that is no dax device; bound to
# fsdev_dax it mounts with the whole device (the filesystem mkfs made
# fits), data survives a mount cycle, a second mount shares the
# superblock, a read-only one beside a read-write one is refused, and
# MAP_SYNC works (a device-dax instance is synchronous).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"

[ -c "$DEV" ] || skip "$DEV is not a device-dax instance"
n=${DEV##*/}
MNT2=$T_OUT/mnt2
mkdir -p "$MNT2"
cleanup() {
	cd /
	mountpoint -q "$MNT2" && umount "$MNT2"
	mountpoint -q "$MNT" && umount "$MNT"
	true
}
trap cleanup EXIT

# refused SRC WHY: mounting SRC must fail, the kernel log saying WHY.
refused() { mount_refused "$1" "$2" -F; }

fs_mkfs || fail "mkfs through device_dax"
if [ "${KVER%%.*}" -lt 7 ]; then
	refused "$DEV" "refdax ($n): cannot mount: device-dax needs Linux 7.x (fsdev_dax); make the namespace fsdax: ndctl create-namespace -f -e NAMESPACE -m fsdax"
	fs_fsck || fail "fsck through device_dax"
	exit 0
fi

# The tools cannot map an instance bound to fsdev_dax: they say so.
why="bound to fsdev_dax, which userspace cannot map: echo $n > /sys/bus/dax/drivers/fsdev_dax/unbind"
expect_err "$why" "$TOOLS/mkfs.refdax" -f -q "$DEV"
expect_err "$why" "$TOOLS/fsck.refdax" -n "$DEV"

dax_bind device_dax || fail "bind to device_dax"
refused "$DEV" "refdax ($n): cannot mount: device-dax not bound to fsdev_dax: echo $n > /sys/bus/dax/drivers/device_dax/unbind; echo $n > /sys/bus/dax/drivers/fsdev_dax/new_id"
refused /dev/null "refdax (null): cannot mount: neither a block device nor a device-dax instance"
dax_bind fsdev_dax || fail "bind to fsdev_dax"

fs_mount || fail "mount through fsdev_dax"
findmnt -n -o FSTYPE,SOURCE "$MNT" | grep -qx "refdax $DEV" || fail "findmnt: $(findmnt -n "$MNT")"
# The mapping covers the device: the filesystem mkfs sized from sysfs fits
# (the mount checks), and df's size is that of a filesystem of this device.
size=$(cat "/sys/bus/dax/devices/$n/size")
total=$(($(stat -f -c %b "$MNT") * 4096))
assert_le "$total" "$size" "filesystem size"
assert_ge "$total" $((size * 9 / 10)) "filesystem size"
[ -d "$(rdx_sysfs)" ] || fail "no $(rdx_sysfs)"

PAT=$(prog pattern)
"$PAT" write "$MNT/f" 0 $((3 << 20)) 53 || fail "write a file"
mount -t refdax "$DEV" "$MNT2" || fail "a second mount of $DEV"
"$PAT" check "$MNT2/f" 0 $((3 << 20)) 53 || fail "the file through the second mount"
umount "$MNT2"
expect_err "already mounted" mount -o ro -t refdax "$DEV" "$MNT2"
"$(prog pmdmap)" write "$MNT/f" 0x11 sync >/dev/null || fail "MAP_SYNC stores"
"$PAT" write "$MNT/f" 0 $((3 << 20)) 53 || fail "write the file again"
umount "$MNT"
fs_mount || fail "mount again"
"$PAT" check "$MNT/f" 0 $((3 << 20)) 53 || fail "the file after a mount cycle"
umount "$MNT"
fs_fsck || fail "fsck through device_dax"
