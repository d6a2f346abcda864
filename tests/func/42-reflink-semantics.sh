#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# Remap semantics and refusals.  xfs_io reflink/dedupe/copy_range and
# cp --reflink=always share blocks (fiemap: one physical address, shared
# flag) and copy the right bytes; dedupe of unequal ranges reports
# FILE_DEDUPE_RANGE_DIFFERS and changes nothing; clones to EOF with a
# partial last block, beyond the destination's EOF (gap reads zero) and into
# the middle of a file (only that range replaced).  Exact errors, from
# tests/prog/reflink_ops.c: unaligned -> EINVAL, overlapping same-file ->
# EINVAL, another filesystem -> EXDEV, directories -> EISDIR, destination
# not open for writing -> EBADF, an unprivileged user cannot clone into a
# file it cannot write nor out of one it cannot read, and may dedupe into a
# file opened read-only only if it owns it (EPERM otherwise).  Last, a
# write(2) into shared blocks whose user buffer faults part way (short
# write, EFAULT) must leave the blocks it did not write unchanged.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need setpriv
PAT=$(prog pattern)
RO=$(prog reflink_ops)
MH=$(prog maphold)
FW=$(prog faultwrite)
shared() { local f; f=$(blk "$1" "$2"); f=${f##* }; [ $((f & 0x2000)) -ne 0 ]; }
same_blk() { # FILE1 BLK1 FILE2 BLK2 what
	local a b
	a=$(phys "$1" "$2") b=$(phys "$3" "$4")
	if [ -z "$a" ] || [ "$a" = hole ]; then fail "$5: $1 block $2 not mapped"; fi
	assert_eq "$b" "$a" "$5: physical address of $3 block $4 vs $1 block $2"
	shared "$1" "$2" || fail "$5: $1 block $2 not flagged shared"
	shared "$3" "$4" || fail "$5: $3 block $4 not flagged shared"
}
diff_blk() { # FILE1 BLK1 FILE2 BLK2 what
	[ "$(phys "$1" "$2")" != "$(phys "$3" "$4")" ] ||
		fail "$5: $1 block $2 and $3 block $4 share address $(phys "$1" "$2")"
}
# range_eq F1 OFF1 F2 OFF2 LEN: byte ranges equal
range_eq() { cmp -s -n "$5" -i "$2:$4" "$1" "$3"; }
zeros() { cmp -s -n "$3" -i "$2:0" "$1" /dev/zero; }
# op EXPECTED reflink_ops-args...: the one-line result must be EXPECTED.
op() {
	local want=$1 got
	shift
	got=$("$RO" "$@" 2>&1) || true
	assert_eq "$got" "$want" "reflink_ops $*"
}
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"; }
uop() {
	local want=$1 got
	shift
	got=$(as_user "$RO" "$@" 2>&1) || true
	assert_eq "$got" "$want" "as uid 1000: reflink_ops $*"
}
K=4096
cd "$MNT"
chmod 755 .

# ---- whole-file clone, range clone, copy_range, cp --reflink -----------------
"$PAT" write src 0 $((64 * K)) 1 || fail "write src"
xfs_io -f -c "reflink $MNT/src" whole >/dev/null || fail "xfs_io reflink whole file"
cmp src whole || fail "whole-file clone content"
for b in 0 31 63; do same_blk src "$b" whole "$b" "whole-file clone"; done
assert_eq "$(fsize whole)" $((64 * K)) "size of a whole-file clone"

"$PAT" write mid 0 $((64 * K)) 5 || fail "write mid"
xfs_io -c "reflink $MNT/src $((4 * K)) $((16 * K)) $((8 * K))" mid >/dev/null ||
	fail "xfs_io reflink range into the middle"
range_eq src $((4 * K)) mid $((16 * K)) $((8 * K)) || fail "cloned range content"
"$PAT" check mid 0 $((16 * K)) 5 || fail "mid before the cloned range changed"
"$PAT" check mid $((24 * K)) $((40 * K)) 5 || fail "mid after the cloned range changed"
assert_eq "$(fsize mid)" $((64 * K)) "size after cloning into the middle"
same_blk src 4 mid 16 "clone into the middle"
same_blk src 11 mid 23 "clone into the middle"
diff_blk src 12 mid 24 "block after the cloned range"
diff_blk src 3 mid 15 "block before the cloned range"

xfs_io -f -c "copy_range -s $((8 * K)) -d 0 -l $((16 * K)) $MNT/src" cr >/dev/null ||
	fail "xfs_io copy_range"
range_eq src $((8 * K)) cr 0 $((16 * K)) || fail "copy_range content"
assert_eq "$(fsize cr)" $((16 * K)) "copy_range size"
same_blk src 8 cr 0 "aligned copy_file_range shares"
# Unaligned: copied, not shared, still right.
op "OK 5000" copy src r cru rwc 100 300 5000
zeros cru 0 300 || fail "copy_file_range: bytes before the destination offset"
range_eq src 100 cru 300 5000 || fail "unaligned copy_file_range content"

cp --reflink=always src cpr || fail "cp --reflink=always"
cmp src cpr || fail "cp --reflink content"
same_blk src 0 cpr 0 "cp --reflink=always"
same_blk src 63 cpr 63 "cp --reflink=always"

# A write to the source after all that changes none of the copies.
xfs_io -c "pwrite -q -S 0xee $((4 * K)) $((8 * K))" src >/dev/null || fail "overwrite src"
"$PAT" check whole 0 $((64 * K)) 1 || fail "whole changed by a write to src"
"$PAT" check cpr 0 $((64 * K)) 1 || fail "cp --reflink copy changed by a write to src"
"$PAT" write "$T_OUT/ref1" 0 $((64 * K)) 1 || fail "reference"
range_eq "$T_OUT/ref1" $((4 * K)) mid $((16 * K)) $((8 * K)) || fail "mid changed by a write to src"
"$PAT" write src 0 $((64 * K)) 1 || fail "rewrite src"

# ---- dedupe ----------------------------------------------------------------------
"$PAT" write d1 0 $((32 * K)) 7 || fail "write d1"
"$PAT" write d2 0 $((32 * K)) 7 || fail "write d2"
diff_blk d1 0 d2 0 "separately written equal files"
xfs_io -c "dedupe $MNT/d1 0 0 $((16 * K))" d2 >/dev/null || fail "xfs_io dedupe"
for b in 0 15; do same_blk d1 "$b" d2 "$b" "dedupe of equal ranges"; done
diff_blk d1 16 d2 16 "block after the deduped range"
op "OK $((16 * K))" dedupe d1 r d2 r $((16 * K)) $((16 * K)) $((16 * K))
same_blk d1 31 d2 31 "dedupe via FIDEDUPERANGE, destination opened read-only by root"
"$PAT" check d1 0 $((32 * K)) 7 || fail "d1 after dedupe"
"$PAT" check d2 0 $((32 * K)) 7 || fail "d2 after dedupe"
# A length that is not a block multiple, not at EOF, is shortened.
"$PAT" write d3 0 $((32 * K)) 7 || fail "write d3"
# (The VFS reports the requested length in bytes_deduped; fiemap tells.)
got=$("$RO" dedupe d1 r d3 rw 0 0 5000 2>&1) || true
case "$got" in
"OK $K" | "OK 5000") ;;
*) fail "shortened dedupe: $got" ;;
esac
same_blk d1 0 d3 0 "shortened dedupe"
diff_blk d1 1 d3 1 "block past a shortened dedupe"
# Both at EOF with a partial last block: the whole tail is shared.
"$PAT" write e1 0 10000 8 || fail "write e1"
"$PAT" write e2 0 10000 8 || fail "write e2"
op "OK 10000" dedupe e1 r e2 rw 0 0 10000
same_blk e1 2 e2 2 "dedupe of a partial EOF block"
# Unequal: one byte differs in the last block of the range.
"$PAT" write u1 0 $((16 * K)) 9 || fail "write u1"
"$PAT" write u2 0 $((16 * K)) 9 || fail "write u2"
printf 'Z' | dd of=u2 bs=1 seek=$((15 * K + 77)) conv=notrunc 2>/dev/null
u1sum=$(sha256sum <u1) u2sum=$(sha256sum <u2)
p1=$(phys u1 0) p2=$(phys u2 0)
op DIFFERS dedupe u1 r u2 rw 0 0 $((16 * K))
assert_eq "$(phys u1 0)" "$p1" "u1 block 0 after unequal dedupe"
assert_eq "$(phys u2 0)" "$p2" "u2 block 0 after unequal dedupe"
! shared u2 0 || fail "u2 block 0 shared after unequal dedupe"
assert_eq "$(sha256sum <u1)" "$u1sum" "u1 after unequal dedupe"
assert_eq "$(sha256sum <u2)" "$u2sum" "u2 after unequal dedupe"
# xfs_io reports the mismatch (its exit status stays 0).
out=$(xfs_io -c "dedupe $MNT/u1 0 0 $((16 * K))" u2 2>&1) || true
grep -qi "did not match\|differ" <<<"$out" || fail "xfs_io dedupe of unequal ranges: '$out'"
assert_eq "$(phys u2 0)" "$p2" "u2 block 0 after unequal xfs_io dedupe"
# Dedupe past EOF is refused.
op EINVAL dedupe d1 r d2 rw 0 $((28 * K)) $((8 * K))

# ---- clone to / beyond EOF ---------------------------------------------------------
# Source with a partial last block whose bytes past EOF are not zero: a
# store through a mapping of the EOF page lands in the block (DAX).
"$PAT" write p 0 10000 2 || fail "write p"
printf '%s\n' "store 10000 $((3 * K - 10000)) 99" quit | "$MH" p rw >/dev/null ||
	fail "store past EOF through a mapping of p"
op "OK 0" clone p r pc rwc
assert_eq "$(fsize pc)" 10000 "size of a clone of a file with a partial last block"
cmp p pc || fail "clone with a partial last block"
same_blk p 2 pc 2 "partial last block"
# Extending the clone must read zeroes past the old EOF.
truncate -s $((4 * K)) pc
zeros pc 10000 $((4 * K - 10000)) || fail "bytes past the old EOF of a clone after extending it"
"$PAT" check p 0 10000 2 || fail "p changed by extending its clone"
# The source grows past its partial block: the clone keeps its bytes.
op "OK 0" clone p r pc2 rwc
xfs_io -c "pwrite -q -S 0xab 12000 100" p >/dev/null || fail "write past p's EOF"
assert_eq "$(fsize pc2)" 10000 "clone size after the source grew"
"$PAT" check pc2 0 10000 2 || fail "clone changed when the source grew"
zeros p 10000 2000 || fail "gap in p after writing past EOF"
# FICLONERANGE with length 0 clones to EOF; into the middle of a larger file a
# partial EOF block is refused.
"$PAT" write big 0 $((32 * K)) 4 || fail "write big"
op EINVAL range p r big rw 0 0 0
"$PAT" check big 0 $((32 * K)) 4 || fail "big changed by a refused clone"
op "OK 0" range p r toeof rwc 0 0 0
cmp p toeof || fail "FICLONERANGE length 0 (to EOF)"
# Beyond the destination's EOF: the gap reads zero, the size grows.
"$PAT" write gap 0 5000 6 || fail "write gap"
printf '%s\n' "store 5000 $((2 * K - 5000)) 98" quit | "$MH" gap rw >/dev/null ||
	fail "store past EOF through a mapping of gap"
op "OK $((8 * K))" range src r gap rw 0 $((16 * K)) $((8 * K))
assert_eq "$(fsize gap)" $((24 * K)) "size after clone beyond EOF"
"$PAT" check gap 0 5000 6 || fail "data before the old EOF"
zeros gap 5000 $((16 * K - 5000)) || fail "gap between old EOF and a clone beyond it"
range_eq src 0 gap $((16 * K)) $((8 * K)) || fail "clone beyond EOF content"
same_blk src 0 gap 16 "clone beyond EOF"

# ---- refusals: exact errors, nothing changed ---------------------------------------
"$PAT" write dst 0 $((16 * K)) 12 || fail "write dst"
dsum=$(sha256sum <dst)
op EINVAL range src r dst rw 100 0 $K
op EINVAL range src r dst rw 0 100 $K
op EINVAL range src r dst rw 0 0 5000
op EINVAL range src r dst rw $K $K 100
op EINVAL dedupe src r dst rw 0 100 $K
# Same file: overlapping ranges refused, disjoint ones work.
"$PAT" write self 0 $((16 * K)) 13 || fail "write self"
op EINVAL range self rw self rw 0 $K $((4 * K))
op EINVAL range self rw self rw $((4 * K)) 0 $((8 * K))
op EINVAL dedupe self rw self rw 0 $((2 * K)) $((4 * K))
op "OK $((4 * K))" range self rw self rw 0 $((8 * K)) $((4 * K))
"$PAT" write "$T_OUT/ref13" 0 $((16 * K)) 13 || fail "reference"
range_eq "$T_OUT/ref13" 0 self $((8 * K)) $((4 * K)) || fail "same-file clone content"
range_eq "$T_OUT/ref13" 0 self 0 $((8 * K)) || fail "same-file clone changed its source"
range_eq "$T_OUT/ref13" $((12 * K)) self $((12 * K)) $((4 * K)) || fail "same-file clone changed the rest"
same_blk self 0 self 8 "same-file clone"
# Another filesystem.
mkdir -p "$T_OUT/tmpfs"
mount -t tmpfs -o size=16m tmpfs "$T_OUT/tmpfs"
trap 'umount "$T_OUT/tmpfs" 2>/dev/null || true' EXIT
"$PAT" write "$T_OUT/tmpfs/t" 0 $((4 * K)) 14 || fail "write tmpfs file"
op EXDEV clone "$T_OUT/tmpfs/t" r dst rw
op EXDEV clone src r "$T_OUT/tmpfs/t" rw
op EXDEV range src r "$T_OUT/tmpfs/t" rw 0 0 $K
op EXDEV dedupe src r "$T_OUT/tmpfs/t" rw 0 0 $K
expect_err "" cp --reflink=always src "$T_OUT/tmpfs/c"
expect_err "" cp --reflink=always "$T_OUT/tmpfs/t" cfromtmp
"$PAT" check "$T_OUT/tmpfs/t" 0 $((4 * K)) 14 || fail "tmpfs file changed"
# Directories.
mkdir dir
op EISDIR clone dir r dst rw
op EISDIR clone src r dir r
op EISDIR range dir r dst rw 0 0 $K
op EISDIR dedupe dir r dst rw 0 0 $K
op EISDIR dedupe src r dir r 0 0 $K
op EISDIR copy dir r dst rw 0 0 $K
# Open modes: destination not writable, source not readable, append.
op EBADF clone src r dst r
op EBADF range src r dst r 0 0 $K
op EBADF clone src w dst rw
op EBADF clone src r dst rwa
op EBADF copy src r dst r 0 0 $K
assert_eq "$(sha256sum <dst)" "$dsum" "dst after refused remaps"
"$PAT" check src 0 $((64 * K)) 1 || fail "src changed by refused remaps"

# ---- unprivileged user ----------------------------------------------------------------
mkdir u
chown 1000:1000 u
# (Written, not cp/cat: those use reflink or copy_file_range, and these
# must start with their own blocks.)  Same content as src.
"$PAT" write u/theirs 0 $((64 * K)) 1 && chmod 644 u/theirs	# readable only
"$PAT" write u/secret 0 $((64 * K)) 1 && chmod 600 u/secret	# not readable
as_user "$PAT" write u/mine 0 $((64 * K)) 1 || fail "user write"
diff_blk u/mine 0 u/theirs 0 "independent copies"
chmod 444 u/mine		# owned by the user, not writable
as_user touch u/mine2
tsum=$(sha256sum <u/theirs)
uop "open-DST: EACCES" clone u/mine r u/theirs rw
uop "open-DST: EACCES" range u/mine r u/theirs w 0 0 $K
uop "open-SRC: EACCES" clone u/secret r u/mine2 rw
uop "OK 0" clone u/theirs r u/mine2 rw			# readable source: fine
cmp src u/mine2 || fail "user clone content"
# Dedupe into a file opened read-only: owner may, others may not.
uop EPERM dedupe u/mine r u/theirs r 0 0 $((4 * K))
diff_blk u/mine 0 u/theirs 0 "refused dedupe by a non-owner"
uop "OK $((4 * K))" dedupe u/theirs r u/mine r 0 0 $((4 * K))
same_blk u/theirs 0 u/mine 0 "dedupe by the owner into a read-only open"
assert_eq "$(sha256sum <u/theirs)" "$tsum" "root's file after the user's attempts"
"$PAT" check u/secret 0 $((64 * K)) 1 || fail "unreadable file changed"

# ---- short and failed writes into shared blocks ----------------------------------
# write(2) copies shared blocks before writing; blocks the write covers
# wholly need no copy, but if the user buffer faults part way, the blocks
# not written must keep their old content (not whatever the fresh block
# held).  Freed blocks of a junk file make stale content likely.
"$PAT" write junk 0 $((1024 * K)) 66 || fail "write junk"
rm junk
"$PAT" write sw 0 $((16 * K)) 15 || fail "write sw"
xfs_io -f -c "reflink $MNT/sw" sw.a >/dev/null || fail "reflink sw"
xfs_io -f -c "reflink $MNT/sw" sw.b >/dev/null || fail "reflink sw"
out=$("$FW" "$MNT/sw.a" 0 $((12 * K)) $K 0x5a) || fail "faultwrite sw.a"
note "write of 12 KiB with 4 KiB readable into a clone: $out"
case "$out" in
"wrote $K") cmp -s -n $K sw.a <(head -c $K /dev/zero | tr '\0' '\132') || fail "sw.a block 0 (written)" ;;
EFAULT) "$PAT" check sw.a 0 $K 15 || fail "sw.a block 0 changed by a failed write" ;;
*) fail "short write into a clone: $out" ;;
esac
"$PAT" check sw.a $K $((15 * K)) 15 || fail "short write into a clone: blocks past the written part lost their content"
out=$("$FW" "$MNT/sw.b" 0 $((12 * K)) 0 0x5a) || fail "faultwrite sw.b"
assert_eq "$out" EFAULT "write from an unreadable buffer"
"$PAT" check sw.b 0 $((16 * K)) 15 || fail "failed write (EFAULT) into a clone changed it"
"$PAT" check sw 0 $((16 * K)) 15 || fail "clone source changed by writes into its clones"
assert_eq "$(fsize sw.a)" $((16 * K)) "size after a short write"
