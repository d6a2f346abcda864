#!/usr/bin/env bash
# refdax-test: nomount refdax-only timeout=600
# An extent-tree node whose contents no longer match its checksum is refused
# on its first visit after mount: reading through it fails with EUCLEAN and
# the kernel log names the node, instead of the read returning another
# block's data.  The damage here is a physical block number moved by two,
# which every structural check still accepts; only the checksum shows it.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
mountpoint -q "$MNT" && umount "$MNT"
"$TOOLS/mkfs.refdax" -f -q "$DEV" || fail "mkfs"
fs_mount || fail "mount"
cd "$MNT"
# 1024 one-block extents: far more than the inode's root holds, so the
# tree has leaf nodes of its own.
fragment frag $((8 * 1024 * 1024)) 7
"$PAT" write plain 0 65536 8 || fail "write plain"
cd /
umount "$MNT" || fail "umount"
"$TOOLS/fsck.refdax" -n "$DEV" >/dev/null || fail "fsck before the damage"

# Find a leaf node (magic 0xb3a9, 255 entries capacity, depth 0, in use) and
# add 2 to its first extent's physical block, leaving the checksum stale.
node=$(python3 - "$DEV" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    blk = 0
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            sys.exit("no extent leaf node on the device")
        for o in range(0, len(chunk), 4096):
            magic, nr, mx, depth = struct.unpack_from("<4H", chunk, o)
            if magic == 0xb3a9 and mx == 255 and depth == 0 and nr > 0:
                at = (blk + o // 4096) * 4096 + 16 + 8
                f.seek(at)
                pblk, = struct.unpack("<Q", f.read(8))
                f.seek(at)
                f.write(struct.pack("<Q", pblk + 2))
                print(blk + o // 4096)
                sys.exit(0)
        blk += len(chunk) // 4096
PY
) || fail "could not damage a node: $node"
note "moved the first extent of leaf node $node by two blocks"
rc=0
"$TOOLS/fsck.refdax" -n "$DEV" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "fsck -n calls the damaged node clean"

mark="refdax-test-mark-$RANDOM"
echo "$mark" >/dev/kmsg
fs_mount || fail "mount with a damaged (but unvisited) node"
err=$(cat "$MNT/frag" 2>&1 >/dev/null) && fail "read through the damaged node succeeded"
grep -q "Structure needs cleaning" <<<"$err" || fail "read failed with '$err', expected EUCLEAN"
dmesg | sed -n "/$mark/,\$p" | grep -q "refdax.*extent node checksum mismatch" ||
	fail "no checksum line in the kernel log: $(dmesg | sed -n "/$mark/,\$p" | tail -n 3)"
# Files that do not go through the node are still whole.
(cd "$MNT" && "$PAT" check plain 0 65536 8) || fail "undamaged file"
umount "$MNT" || fail "umount"
