#!/usr/bin/env bash
# refdax-test: nomount refdax-only
# Bad images and unsuitable devices are refused at mount with a one-line
# reason in the kernel log, never an oops: zeroed device, wrong magic, bad
# superblock checksum, geometry that fails the validator (with a valid
# checksum), an unknown incompat feature, a bad refcount root, an image of
# format version 1 (both versions named), and a device that is not DAX.
# A superblock torn by a crash inside a transaction (stale checksum, or a
# half-written refcount root, with its logged copy in the journal) is not
# refused: mount recovers the journal first and then checks it.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
mountpoint -q "$MNT" && umount "$MNT"
loopdev=""
cleanup() {
	cd /
	mountpoint -q "$MNT" && umount "$MNT"
	[ -n "$loopdev" ] && losetup -d "$loopdev"
	true
}
trap cleanup EXIT

# patch_sb FIELD_OFFSET FORMAT VALUE [nocsum]: rewrite one superblock field
# and, unless told not to, the superblock crc32c (field 508, over 512 bytes).
patch_sb() {
	python3 - "$DEV" "$@" <<'PY'
import os, struct, sys
dev, off, fmt, val = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4], 0)
fix = len(sys.argv) < 6
sys.path.insert(0, os.environ["ROOT"] + "/tests/guest")
from rdxfmt import crc32c
with open(dev, "r+b") as f:
    sb = bytearray(f.read(512))
    struct.pack_into("<" + fmt, sb, off, val)
    if fix:
        struct.pack_into("<I", sb, 508, 0)
        struct.pack_into("<I", sb, 508, crc32c(bytes(sb)))
    f.seek(0)
    f.write(sb)
PY
}

# refused WHY: mount must fail and the kernel log must give WHY in one line.
refused() { mount_refused "$DEV" "refdax.*$1"; }

fresh() { "$TOOLS/mkfs.refdax" -q -f "$DEV" >/dev/null || fail mkfs; }

dd if=/dev/zero of="$DEV" bs=1M count=1 conv=fsync status=none
refused "magic"

fresh
patch_sb 0 Q 0x1234 nocsum
refused "magic"

fresh
patch_sb 56 B 0x41 nocsum	# a label byte, checksum left stale
refused "checksum"

fresh
patch_sb 120 Q 0x7fffffffffff	# s_nblocks far beyond the device
refused "cannot mount: .*"

fresh
patch_sb 32 Q 0x8000000000000000	# unknown incompat feature bit
refused "feature"

fresh
patch_sb 8 I 1		# s_version: an image of the previous format
refused "cannot mount: format version 1, refdax reads 2"

fresh
patch_sb 264 H 0x1234	# s_refc_root magic, checksum recomputed
refused "bad refcount root magic"

# torn_sb OFF FORMAT VALUE: what a crash inside a transaction that logged
# the superblock leaves: the journal's live entry holds the superblock as it
# was, the superblock has one field changed and its checksum stale.
torn_sb() {
	python3 - "$DEV" "$@" <<'PY'
import os, struct, sys
dev, off, fmt, val = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4], 0)
sys.path.insert(0, os.environ["ROOT"] + "/tests/guest")
from rdxfmt import crc32c
with open(dev, "r+b") as f:
    sb = bytearray(f.read(512))
    jstart = struct.unpack_from("<Q", sb, 128)[0] * 4096
    f.seek(jstart)
    hdr = f.read(64)
    gen, estart = struct.unpack_from("<QQ", hdr, 8)
    seed = struct.unpack_from("<I", hdr, 32)[0]
    ent = bytearray(struct.pack("<QQIIII", gen, 0, 512, 0, 0, 0)) + sb
    struct.pack_into("<I", ent, 28, crc32c(bytes(ent), seed))
    f.seek(jstart + estart)
    f.write(ent)
    struct.pack_into("<" + fmt, sb, off, val)
    f.seek(0)
    f.write(sb)
PY
}
for torn in "56 B 0x58" "266 H 5"; do	# a label byte; the root's bh_nr
	fresh
	# shellcheck disable=SC2086  # OFF FORMAT VALUE, split on purpose
	torn_sb $torn
	mark="refdax-test-mark-$RANDOM"
	echo "$mark" >/dev/kmsg
	mount -t refdax "$DEV" "$MNT" ||
		fail "torn superblock ($torn) with its logged copy: mount refused: $(dmesg | tail -n 2)"
	dmesg | sed -n "/$mark/,\$p" | grep -q "journal recovery undid 1 entries" ||
		fail "torn superblock ($torn): no recovery in the kernel log"
	umount "$MNT"
	"$TOOLS/fsck.refdax" -n "$DEV" >/dev/null || fail "fsck after the torn superblock ($torn)"
done

fresh
mount -t refdax "$DEV" "$MNT" || fail "a fresh filesystem does not mount"
umount "$MNT"

# A loop device on a tmpfs file has no DAX: refused with that reason.
img=$(mktemp /tmp/refdax-img.XXXXXX)
"$TOOLS/mkfs.refdax" -q -f -s 64M "$img" >/dev/null || fail "mkfs on an image"
modprobe loop 2>/dev/null || true
loopdev=$(losetup -f --show "$img") || skip "no loop device"
mount_refused "$loopdev" "refdax.*does not support DAX"
rm -f "$img"
