#!/usr/bin/env bash
# refdax-test: nomount timeout=300
# mkfs + mount by hand: filesystem type, DAX attribute on files, read-only
# mounts refuse writes, a device without a filesystem is refused cleanly,
# and mount/umount cycles keep data.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"

mountpoint -q "$MNT" && umount "$MNT"
cleanup() { cd /; mountpoint -q "$MNT" && umount "$MNT"; true; }
trap cleanup EXIT

# A zeroed start of the device is not a filesystem: mount must fail, no oops.
dev_wipe 4 || fail "cannot zero the device"
if [ "$FSTYPE" = refdax ]; then
	if mount -t refdax "$DEV" "$MNT" 2>/dev/null; then
		fail "mount of a zeroed device succeeded"
	fi
fi

fs_mkfs || fail "mkfs failed"
fs_mount || fail "mount failed"
fstype=$(stat -f -c %T "$MNT")
findmnt -n -o FSTYPE "$MNT" | grep -qx "$FSTYPE" || fail "findmnt type is not $FSTYPE"
note "stat -f type: $fstype"

# Empty filesystem: only lost+found (ext4) may exist.
entries=$(find "$MNT" -mindepth 1 -maxdepth 1 ! -name lost+found | wc -l)
assert_eq "$entries" 0 "entries in a new filesystem"
assert_eq "$(stat -c %a "$MNT")" 755 "root directory mode"

echo hello >"$MNT/a"
# STATX_ATTR_DAX (0x200000): the VFS reports it for S_DAX inodes.
attrs=$(xfs_io -r -c 'statx -r' "$MNT/a" | awk '$1 == "stat.attributes" { print $3 }')
[ $((attrs & 0x200000)) -ne 0 ] || fail "file is not DAX (statx attributes $attrs)"

for i in 1 2 3; do
	umount "$MNT" || fail "umount $i"
	fs_mount || fail "mount $i"
	assert_eq "$(cat "$MNT/a")" hello "content after mount cycle $i"
done

# Read-only mount refuses every kind of change with EROFS.
umount "$MNT"
mount -o ro -t "$FSTYPE" "$DEV" "$MNT" || fail "read-only mount failed"
assert_eq "$(cat "$MNT/a")" hello "content on read-only mount"
expect_err "read-only" touch "$MNT/b"
expect_err "read-only" mkdir "$MNT/d"
expect_err "read-only" rm "$MNT/a"
expect_err "read-only" sh -c "echo x >>'$MNT/a'"
# ...and remounting read-write works.
mount -o remount,rw "$MNT" || fail "remount rw failed"
echo more >>"$MNT/a"
assert_eq "$(tail -n 1 "$MNT/a")" more "append after remount rw"
umount "$MNT"
# Runner does not fsck nomount tests: do it here.
fs_fsck >/dev/null || fail "fsck after the test found errors"
