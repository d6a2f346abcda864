#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# Refcount records (format v2): sharing is one record per run of blocks
# with one count, split by copy-on-write and merged back when neighbours
# agree again.  A 64 MiB file written in one go is cloned twice (one
# record, count 3), one block of each clone is copied on write (the record
# splits into three, then into two around a private block), a clone goes
# (counts drop to 2), and cloning the base's middle block back over the
# other clone's private copy makes the three records one again; CoW of the
# record's first and last blocks shrinks it, a clone of its middle and a
# dedupe onto an already shared range split it (3, then 5 records), and
# removing those files merges it back into one.  After
# each step: the records and shared blocks the kernel reports (sysfs), the
# fiemap shared flags, the data, and fsck -n on the unmounted device, which
# rebuilds the records from every extent map and compares, with its count
# of shared blocks.  Last, removing everything leaves no record and gives
# back every block.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
NB=16384		# 64 MiB in blocks
MID=2048		# the block the copies-on-write hit

shared() { local f; f=$(blk "$1" "$2"); f=${f##* }; [ $((f & 0x2000)) -ne 0 ]; }
check() { # RECORDS SHARED_BLOCKS what
	assert_eq "$(ctr refcount_records)" "$1" "$3: refcount records"
	assert_eq "$(ctr shared_blocks)" "$2" "$3: shared blocks"
	cd /
	umount "$MNT"
	out=$(fs_fsck 2>&1) || { echo "$out"; fail "$3: fsck -n"; }
	grep -q ", $2 shared\$" <<<"$out" ||
		fail "$3: fsck's shared count: $(tail -n 1 <<<"$out")"
	fs_mount || fail "$3: mount after fsck"
}

"$PAT" write "$MNT/base" 0 $((NB * 4096)) 7 || fail "write base"
check 0 0 "one private file"
free1=$(ctr free_blocks)

cp --reflink=always "$MNT/base" "$MNT/c1" || fail "clone c1"
cp --reflink=always "$MNT/base" "$MNT/c2" || fail "clone c2"
shared "$MNT/c2" 0 || fail "c2 block 0 not shared"
shared "$MNT/base" $((NB - 1)) || fail "base last block not shared"
assert_eq "$(ctr free_blocks)" "$free1" "free blocks after two clones"
check 1 "$NB" "two clones of one extent"

# CoW of one block of c1: [0, MID) 3, MID 2, (MID, NB) 3.
"$PAT" write "$MNT/c1" $((MID * 4096)) 4096 9 || fail "write c1"
shared "$MNT/c1" "$MID" && fail "c1 block $MID still shared after its write"
shared "$MNT/c2" "$MID" || fail "c2 block $MID no longer shared"
check 3 "$NB" "c1 copied one block"

# The same block of c2: base's block MID is private again, no record.
"$PAT" write "$MNT/c2" $((MID * 4096)) 4096 11 || fail "write c2"
shared "$MNT/base" "$MID" && fail "base block $MID still flagged shared"
check 2 $((NB - 1)) "c2 copied the same block"

rm "$MNT/c2"
check 2 $((NB - 1)) "c2 removed (counts 2)"

# Share base's block MID into c1 again: c1's copy goes, and the three runs
# of count 2 are adjacent and equal, so they merge into one record.
xfs_io -c "reflink $MNT/base $((MID * 4096)) $((MID * 4096)) 4096" \
	"$MNT/c1" >/dev/null || fail "reflink block $MID back into c1"
check 1 "$NB" "block $MID shared again (merged)"
"$PAT" check "$MNT/base" 0 $((NB * 4096)) 7 || fail "base data"
"$PAT" check "$MNT/c1" 0 $((MID * 4096)) 7 || fail "c1 data before $MID"
"$PAT" check "$MNT/c1" $((MID * 4096)) $(((NB - MID) * 4096)) 7 ||
	fail "c1 data from $MID (base's block again)"

# CoW at the first and the last block of the record: it shrinks at both ends.
"$PAT" write "$MNT/c1" 0 4096 13 || fail "write c1 block 0"
"$PAT" write "$MNT/c1" $(((NB - 1) * 4096)) 4096 13 || fail "write c1 last block"
check 1 $((NB - 2)) "c1 copied its first and last blocks"

# A clone of the middle of the shared range: [100, 200) goes to 3 and
# splits the record into three.
xfs_io -f -c "reflink $MNT/base $((100 * 4096)) 0 $((100 * 4096))" "$MNT/c3" >/dev/null ||
	fail "reflink the middle of base into c3"
check 3 $((NB - 2)) "clone of the middle of a shared range"

# Dedupe onto an already shared range: d is a private copy of base's
# [300, 400); deduping base's blocks into it frees d's and takes base's
# [300, 400) to 3, a record of its own between two of count 2.
dd if="$MNT/base" of="$MNT/d" bs=4096 skip=300 count=100 conv=fsync status=none ||
	fail "copy base [300, 400) into d"
out=$(xfs_io -c "dedupe $MNT/base $((300 * 4096)) 0 $((100 * 4096))" "$MNT/d") ||
	fail "dedupe base into d"
grep -q "differ" <<<"$out" && fail "dedupe: ranges differ: $out"
[ "$(phys "$MNT/d" 0)" = "$(phys "$MNT/base" 300)" ] || fail "d does not share base's block 300"
check 5 $((NB - 2)) "dedupe onto an already shared range"
cmp <(dd if="$MNT/base" bs=4096 skip=100 count=100 status=none) "$MNT/c3" ||
	fail "c3 data"
cmp <(dd if="$MNT/base" bs=4096 skip=300 count=100 status=none) "$MNT/d" ||
	fail "d data"

# Their removal takes both runs back to 2: the records merge into one.
rm "$MNT/c3" "$MNT/d"
check 1 $((NB - 2)) "c3 and d removed (merged again)"

rm "$MNT/c1"
check 0 0 "c1 removed"
assert_eq "$(ctr free_blocks)" "$free1" "free blocks with the base alone again"
rm "$MNT/base"
check 0 0 "base removed"
assert_eq "$(ctr free_blocks)" $((free1 + NB)) "free blocks at the end"
