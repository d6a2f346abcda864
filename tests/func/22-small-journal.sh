#!/usr/bin/env bash
# refdax-test: nomount refdax-only timeout=600
# The smallest journal mkfs allows (-J 8: 28 KiB of undo entries) must not
# stall or fail operations that take many transactions (truncate, punch,
# clone, copy-on-write, fallocate, big writes, unlink of a big file): each
# sizes its steps by the room left and asks for a new transaction only
# after a step.
# Found by the corrupt-image suite, where a shrunken journal header made
# truncate loop forever (such a header is now refused at mount).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
mountpoint -q "$MNT" && umount "$MNT"
"$TOOLS/mkfs.refdax" -f -q -J 8 "$DEV" || fail "mkfs -J 8"
fs_mount || fail "mount of a -J 8 filesystem"
cd "$MNT"
size=$((48 * 1024 * 1024))
"$PAT" write big 0 "$size" 5 || fail "write 48 MiB"
# Many extents: every other 4 KiB block punched out.
fragment frag $((8 * 1024 * 1024)) 6
# A small clone fits one transaction, and so does a 48 MiB one of a
# contiguous file (one refcount record, whatever its length); it must
# share every block.
xfs_io -f -c "reflink $MNT/big 0 0 1048576" small >/dev/null || fail "clone 1 MiB"
"$PAT" check small 0 1048576 5 || fail "small clone content"
rc=0
err=$(timeout 300 xfs_io -f -c "reflink $MNT/big" clone 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 124 ] || fail "clone of 48 MiB did not finish"
if [ "$rc" -ne 0 ] || [ -n "$err" ]; then
	fail "clone of 48 MiB: rc $rc, '$err'"
fi
"$PAT" check clone 0 "$size" 5 || fail "clone content"
for b in 0 $((size / 8192)) $((size / 4096 - 1)); do
	p=$(phys big "$b")
	if [ -z "$p" ] || [ "$(phys clone "$b")" != "$p" ]; then
		fail "clone does not share block $b (big at '$p')"
	fi
done
# One 16 MiB write over shared blocks: copy-on-write runs of up to 4096
# blocks, each allocating (bitmap bits), splitting the shared record and
# changing the tree twice; the runs must shrink to what this journal holds.
# The source keeps its data.
xfs_io -c "pwrite -q -b 16m -S 0x77 4096 16m" clone || fail "16 MiB write over shared blocks"
"$PAT" check big 0 "$size" 5 || fail "source changed by a write to its clone"
"$PAT" check clone 0 4096 5 || fail "clone before the write"
cmp -n $((16 << 20)) -i 0:4096 <(head -c $((16 << 20)) /dev/zero | tr '\0' '\167') clone ||
	fail "clone after the write"
[ "$(phys clone 1)" != "$(phys big 1)" ] || fail "written block still shared"
# Allocation logs free-space bits and extent-tree changes: a 64 MiB
# fallocate and a single 64 MiB write into a hole must finish.
timeout 300 fallocate -l 64M falloc || fail "fallocate 64 MiB"
[ "$(stat -c %b falloc)" -ge $((64 * 2048)) ] || fail "fallocate left holes"
timeout 300 xfs_io -f -c "pwrite -q -b 64m -S 0x55 0 64m" bigwrite ||
	fail "one 64 MiB write into a hole"
cmp -n $((64 << 20)) <(head -c $((64 << 20)) /dev/zero | tr '\0' '\125') bigwrite ||
	fail "64 MiB write content"
rm -f falloc bigwrite
# The 8 MiB fragmented file: 1024 one-block extents, each run its own
# record, so the record tree grows nodes of its own on this small journal.
xfs_io -f -c "reflink $MNT/frag" fragclone >/dev/null || fail "clone frag"
cmp frag fragclone || fail "fragmented clone content"
timeout 300 truncate -s 4096 big || fail "truncate 48 MiB to 4 KiB"
"$PAT" check big 0 4096 5 || fail "big after truncate"
"$PAT" check small 0 1048576 5 || fail "small clone after truncating its source"
timeout 300 xfs_io -c "fpunch 0 4096" small || fail "punch"
timeout 300 rm -f clone frag fragclone small || fail "unlink"
cd /
umount "$MNT" || fail "umount"
"$TOOLS/fsck.refdax" -n "$DEV" >/dev/null || fail "fsck after the small-journal run"
