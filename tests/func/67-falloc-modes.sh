#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# The fallocate modes that move or unshare blocks, with xfs_io:
#  - fcollapse / finsert: contents read back against a model built in
#    python (data after the range moves down / up, the inserted range reads
#    zero and is a hole), the size changes by the length, on a file of many
#    extents too (an extent tree with nodes); extents of a reflinked file
#    only move: fiemap shows them still shared, at the same physical
#    blocks, and the other file unchanged;
#  - funshare: the shared blocks of the range get private copies (fiemap:
#    new addresses, not shared, in both files), the rest stays shared, both
#    files read their data; holes are allocated as by a plain fallocate
#    (XFS: xfs_reflink_unshare, then xfs_alloc_file_space);
#  - a shared mapping made before a collapse, insert or unshare sees the
#    new contents, and a store through it after funshare stays in its file;
#  - the errors XFS gives: EINVAL for an unaligned offset or length, a
#    collapse reaching EOF, an insert at or past EOF, COLLAPSE or INSERT
#    with another flag; EFBIG for an insert past the largest file;
#  - funshare that runs out of space: ENOSPC, a prefix private, the rest
#    still shared, both files intact;
#  - everything again after a remount (the runner's fsck -n follows).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
K=4096
cd "$MNT"
M=$(mktemp -d)
trap 'rm -rf "$M"' EXIT

shared() { local f; f=$(blk "$1" "$2"); f=${f##* }; [ $((f & 0x2000)) -ne 0 ]; }
hole() { local p; p=$(phys "$1" "$2"); [ -z "$p" ] || [ "$p" = hole ]; }
md5() { md5sum <"$1" | cut -d' ' -f1; }
same() { assert_eq "$(md5 "$1")" "$(md5 "$2")" "${3:-content of $1 vs model $2}"; }
# edit MODEL OP OFF LEN: apply a collapse or insert to the model file
edit() {
	python3 - "$@" <<'PY'
import sys
path, op, off, ln = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
d = open(path, 'rb').read()
if op == 'collapse':
    d = d[:off] + d[off + ln:]
elif op == 'insert':
    d = d[:off] + bytes(ln) + d[off:]
open(path, 'wb').write(d)
PY
}
# falloc MODE OFF LEN FILE -> prints "ok" or the errno name
falloc() {
	python3 - "$@" <<'PY'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
fd = os.open(sys.argv[4], os.O_RDWR)
r = libc.fallocate(fd, int(sys.argv[1], 0), int(sys.argv[2]), int(sys.argv[3]))
print('ok' if r == 0 else errno.errorcode[ctypes.get_errno()])
PY
}
# mapped_after FILE OFF LEN CMD...: md5 of bytes OFF..OFF+LEN read, after
# CMD ran, through a shared mapping made (and read in full) before it.
mapped_after() {
	local f=$1 off=$2 len=$3
	shift 3
	python3 - "$f" "$off" "$len" "$@" <<'PY'
import hashlib, mmap, os, subprocess, sys
f, off, ln = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(f, os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED)
hashlib.md5(m[:]).hexdigest()           # fault every page in first
subprocess.run(sys.argv[4:], check=True)
print(hashlib.md5(m[off:off + ln]).hexdigest())
PY
}

# ---- collapse and insert on a private file ----------------------------------
"$PAT" write f 0 $((256 * K)) 11 || fail "write f"
cp f "$M/f"
xfs_io -c "fcollapse $((16 * K)) $((32 * K))" f || fail "fcollapse"
edit "$M/f" collapse $((16 * K)) $((32 * K))
assert_eq "$(fsize f)" $((224 * K)) "size after fcollapse"
same f "$M/f"
xfs_io -c "finsert $((64 * K)) $((8 * K))" f || fail "finsert"
edit "$M/f" insert $((64 * K)) $((8 * K))
assert_eq "$(fsize f)" $((232 * K)) "size after finsert"
same f "$M/f"
for b in 64 71; do
	hole f $b || fail "inserted range, block $b: mapped at $(phys f $b)"
done
# the hole costs no blocks: 224 KiB of data, no more
assert_le "$(fblocks f)" $((224 * K / 512)) "blocks after finsert"
# unaligned size: the partial last block moves with the rest
truncate -s $((232 * K - 1000)) f
truncate -s $((232 * K - 1000)) "$M/f"
xfs_io -c "finsert 0 $K" -c "fcollapse $((100 * K)) $((3 * K))" f || fail "unaligned-size shift"
edit "$M/f" insert 0 $K
edit "$M/f" collapse $((100 * K)) $((3 * K))
assert_eq "$(fsize f)" "$(stat -c %s "$M/f")" "size after shifts of an unaligned-size file"
same f "$M/f"

# Many extents: a tree with node blocks; shifts cross leaves.
fragment frag $((4 * 1024 * K)) 7
cp frag "$M/frag"
xfs_io -c "fcollapse $((12 * K)) $((40 * K))" -c "finsert $((4 * K)) $((20 * K))" \
	-c "fcollapse $((2000 * K)) $((1000 * K))" -c "finsert $((3000 * K)) $((2 * K))" \
	frag || fail "shifts of a fragmented file"
edit "$M/frag" collapse $((12 * K)) $((40 * K))
edit "$M/frag" insert $((4 * K)) $((20 * K))
edit "$M/frag" collapse $((2000 * K)) $((1000 * K))
edit "$M/frag" insert $((3000 * K)) $((2 * K))
same frag "$M/frag"

# Post-EOF blocks (KEEP_SIZE) are freed before a shift, as XFS does.
"$PAT" write pe 0 $((64 * K)) 12 || fail "write pe"
xfs_io -c "falloc -k $((64 * K)) $((64 * K))" pe
xfs_io -c "finsert 0 $((8 * K))" pe || fail "finsert with post-EOF blocks"
assert_eq "$(fsize pe)" $((72 * K)) "size after finsert"
assert_le "$(fblocks pe)" $((64 * K / 512)) "post-EOF blocks freed by finsert"

# ---- collapse and insert keep shared extents shared ----------------------
"$PAT" write src 0 $((128 * K)) 13 || fail "write src"
xfs_io -f -c "reflink $MNT/src" cl >/dev/null || fail "reflink"
cp src "$M/cl"
p100=$(phys src 100) p30=$(phys src 30)
xfs_io -c "fcollapse $((8 * K)) $((16 * K))" cl || fail "fcollapse of a clone"
edit "$M/cl" collapse $((8 * K)) $((16 * K))
same cl "$M/cl"
assert_eq "$(phys cl 84)" "$p100" "clone block 100 -> 84 keeps its address"
shared cl 84 || fail "moved block 84 not shared after fcollapse"
assert_eq "$(phys cl 14)" "$p30" "clone block 30 -> 14 keeps its address"
shared src 100 || fail "source block 100 not shared after the clone's fcollapse"
xfs_io -c "finsert $((2 * K)) $((4 * K))" cl || fail "finsert into a clone"
edit "$M/cl" insert $((2 * K)) $((4 * K))
same cl "$M/cl"
assert_eq "$(phys cl 88)" "$p100" "clone block 84 -> 88 keeps its address"
shared cl 88 || fail "moved block 88 not shared after finsert"
# blocks 8..23 of src left the clone: private again
if shared src 10; then fail "src block 10 still shared after the clone collapsed it away"; fi
"$PAT" write "$M/src" 0 $((128 * K)) 13 || fail "write the model of src"
same src "$M/src" "source content after its clone's shifts"

# Collapse and insert with a mapping: it sees the moved data.
"$PAT" write mp 0 $((64 * K)) 14 || fail "write mp"
xfs_io -f -c "reflink $MNT/mp" mpc >/dev/null
cp mp "$M/mp"
edit "$M/mp" collapse $((4 * K)) $((4 * K))
want=$(python3 -c "import hashlib,sys; print(hashlib.md5(open(sys.argv[1],'rb').read()[:$((60 * K))]).hexdigest())" "$M/mp")
got=$(mapped_after mpc 0 $((60 * K)) xfs_io -c "fcollapse $((4 * K)) $((4 * K))" "$MNT/mpc")
assert_eq "$got" "$want" "shared mapping after fcollapse"
edit "$M/mp" insert $((8 * K)) $((4 * K))
# the mapping was made at 60 KiB: its pages, with new contents
want=$(python3 -c "import hashlib,sys; print(hashlib.md5(open(sys.argv[1],'rb').read()[:$((60 * K))]).hexdigest())" "$M/mp")
got=$(mapped_after mpc 0 $((60 * K)) xfs_io -c "finsert $((8 * K)) $((4 * K))" "$MNT/mpc")
assert_eq "$got" "$want" "shared mapping after finsert"
same mpc "$M/mp"

# ---- unshare ----------------------------------------------------------------
"$PAT" write us 0 $((128 * K)) 15 || fail "write us"
cp us "$M/us"
xfs_io -f -c "reflink $MNT/us" usc >/dev/null || fail "reflink us"
p5=$(phys us 5) p40=$(phys us 40)
xfs_io -c "funshare $((4 * K)) $((16 * K))" usc || fail "funshare"
same usc "$M/us"
same us "$M/us"
for b in 4 5 19; do
	if shared usc "$b"; then fail "usc block $b still shared after funshare"; fi
	if shared us "$b"; then fail "us block $b still shared: its only other owner unshared"; fi
	[ "$(phys usc "$b")" != "$(phys us "$b")" ] || fail "usc block $b still at us's address"
done
assert_eq "$(phys us 5)" "$p5" "the source keeps its blocks"
for b in 3 20 40; do
	shared usc "$b" || fail "usc block $b outside the range no longer shared"
done
assert_eq "$(phys usc 40)" "$p40" "block outside the range moved"
# A mapping of the clone made before funshare: a store through it after
# reaches the clone only.
python3 - usc <<'PY' || fail "store through a mapping after funshare"
import mmap, os, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED)
m[:]
subprocess.run(['xfs_io', '-c', 'funshare 0 %d' % (64 * 4096), sys.argv[1]], check=True)
m[8 * 4096:8 * 4096 + 5] = b'HELLO'
m.flush()
PY
same us "$M/us" "source after a store into its unshared clone"
assert_eq "$(dd if=usc bs=1 skip=$((8 * K)) count=5 status=none)" HELLO "store into the clone"
shared usc 70 || fail "usc block 70 past the funshare range no longer shared"
# funshare of a private file and of a hole: allocates like falloc
truncate -s $((64 * K)) sp
b0=$(fblocks sp)
xfs_io -c "funshare 0 $((32 * K))" sp || fail "funshare of a hole"
assert_ge "$(fblocks sp)" $((b0 + 32 * K / 512)) "funshare allocates holes"
assert_eq "$(fsize sp)" $((64 * K)) "size after funshare inside EOF"
xfs_io -c "funshare $((60 * K)) $((16 * K))" sp || fail "funshare past EOF"
assert_eq "$(fsize sp)" $((76 * K)) "funshare past EOF extends the file (no KEEP_SIZE)"
cmp -s -n $((76 * K)) sp /dev/zero || fail "funshare of holes reads zero"

# ---- errors -----------------------------------------------------------------
"$PAT" write e 0 $((64 * K)) 16 || fail "write e"
cp e "$M/e"
C=0x08 I=0x20 U=0x40 KS=0x01
assert_eq "$(falloc $C 100 $K e)" EINVAL "collapse, unaligned offset"
assert_eq "$(falloc $C $K 100 e)" EINVAL "collapse, unaligned length"
assert_eq "$(falloc $C $((32 * K)) $((32 * K)) e)" EINVAL "collapse reaching EOF"
assert_eq "$(falloc $C $((60 * K)) $((8 * K)) e)" EINVAL "collapse past EOF"
assert_eq "$(falloc $I 100 $K e)" EINVAL "insert, unaligned offset"
assert_eq "$(falloc $I $K 100 e)" EINVAL "insert, unaligned length"
assert_eq "$(falloc $I $((64 * K)) $K e)" EINVAL "insert at EOF"
assert_eq "$(falloc $I $((80 * K)) $K e)" EINVAL "insert past EOF"
# Combinations: the VFS refuses them before any filesystem sees them,
# EINVAL from 6.1's vfs_fallocate, EOPNOTSUPP (python: ENOTSUP) from 6.12's.
combo() { # MODE what
	local r
	r=$(falloc "$1" $K $K e)
	case $r in EINVAL | EOPNOTSUPP | ENOTSUP) ;; *) fail "$2: got $r" ;; esac
}
combo $((C | KS)) "collapse with KEEP_SIZE"
combo $((I | KS)) "insert with KEEP_SIZE"
combo $((C | I)) "collapse with insert"
combo $((U | 0x02 | KS)) "unshare with punch"
same e "$M/e" "content after refused calls"
assert_eq "$(fsize e)" $((64 * K)) "size after refused calls"
maxb=$((16 * 1024 * 1024 * 1024 * 1024))
truncate -s $((maxb - 4 * K)) big
assert_eq "$(falloc $I 0 $((8 * K)) big)" EFBIG "insert past the largest file"
assert_eq "$(fsize big)" $((maxb - 4 * K)) "size after EFBIG"
assert_eq "$(falloc $I 0 $((4 * K)) big)" ok "insert up to the largest file"
assert_eq "$(fsize big)" "$maxb" "size of the largest file"
rm big

# ---- unshare meets ENOSPC -----------------------------------------------------
# A 32 MiB clone unshared with about 8 MiB free: ENOSPC part way; what was
# copied stays private, the rest stays shared, both files read their data.
rm -f pe sp mp mpc
"$PAT" write big1 0 $((8192 * K)) 21 || fail "write big1"
xfs_io -f -c "reflink $MNT/big1" big2 >/dev/null || fail "reflink big1"
fill=$((($(free_kb) - 8 * 1024) * 1024))
xfs_io -f -c "falloc 0 $fill" filler || fail "filling the filesystem"
assert_eq "$(falloc $U 0 $((8192 * K)) big2)" ENOSPC "funshare with too little space"
"$PAT" check big1 0 $((8192 * K)) 21 || fail "big1 after ENOSPC in its clone's funshare"
"$PAT" check big2 0 $((8192 * K)) 21 || fail "big2 after ENOSPC in its funshare"
if shared big2 0; then fail "nothing unshared before ENOSPC"; fi
shared big2 8191 || fail "big2's last block unshared in spite of ENOSPC"
rm -f filler big1 big2

# ---- remount ------------------------------------------------------------------
remount
cd "$MNT"
same f "$M/f" "f after remount"
same frag "$M/frag" "frag after remount"
same cl "$M/cl" "cl after remount"
same src "$M/src" "src after remount"
same us "$M/us" "us after remount"
shared cl 88 || fail "cl block 88 not shared after remount"
