#!/usr/bin/env bash
# refdax-test: nomount refdax-only
# The DAX mount options scripts and test suites pass: "dax" and "dax=always"
# mount (refdax is always DAX) and /proc/mounts shows dax=always;
# "dax=never" and "dax=inode" are refused at mount and at remount with a
# one-line reason in the kernel log, and the mount is left as it was.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"

mountpoint -q "$MNT" && umount "$MNT"
cleanup() { cd /; mountpoint -q "$MNT" && umount "$MNT"; true; }
trap cleanup EXIT

fs_mkfs || fail "mkfs failed"

# opts_of: the options /proc/mounts shows for $MNT.
opts_of() { awk -v m="$MNT" '$2 == m { print $4 }' /proc/mounts; }

for o in dax dax=always "dax,errors=continue"; do
	mount -t refdax -o "$o" "$DEV" "$MNT" || fail "mount -o $o refused"
	grep -q '\(^\|,\)dax=always\(,\|$\)' <<<"$(opts_of)" ||
		fail "-o $o: /proc/mounts shows '$(opts_of)', no dax=always"
	echo data >"$MNT/f-$o" || fail "write after mount -o $o"
	umount "$MNT"
done

# Without any option the mount is DAX all the same.
fs_mount || fail "plain mount"
grep -q 'dax=always' <<<"$(opts_of)" || fail "plain mount: no dax=always in '$(opts_of)'"
umount "$MNT"

refuse() { # OPTION
	local mark="refdax-test-mark-$RANDOM"
	echo "$mark" >/dev/kmsg
	if mount -t refdax -o "$1" "$DEV" "$MNT" 2>/dev/null; then
		fail "mount -o $1 succeeded"
	fi
	dmesg | sed -n "/$mark/,\$p" | grep -q "refdax: $1 not supported: every file is DAX" ||
		fail "-o $1: no reason in the kernel log: $(dmesg | tail -n 2)"
}
refuse dax=never
refuse dax=inode
mountpoint -q "$MNT" && fail "a refused mount left $MNT mounted"

# A remount that asks for a mode refdax does not have is refused too, and
# the mount goes on as it was.
fs_mount || fail "mount"
if mount -o remount,dax=never "$MNT" 2>/dev/null; then
	fail "remount -o dax=never succeeded"
fi
mount -o remount,dax "$MNT" || fail "remount -o dax refused"
echo more >>"$MNT/f-dax" || fail "write after remount"
assert_eq "$(cat "$MNT/f-dax")" "data
more" "file content"
umount "$MNT"
fs_fsck >/dev/null || fail "fsck after the mounts"
