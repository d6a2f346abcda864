#!/usr/bin/env bash
# Guest half of the store-level crash enumeration of the kernel's metadata
# code (host half: trace-run.sh, replay: trace_replay.c).  Runs INSIDE a test
# guest as root.
#
# Environment:
#   ROOT   repository root (read-only in the guest)
#   KVER   running kernel (default uname -r)
#   OUT    writable directory shared with the host; must hold pre.img, a
#          small refdax image made by mkfs.refdax (the host makes it)
#
# Copies pre.img onto the start of /dev/pmem0, arms the tracer
# (/sys/kernel/debug/refdax/arm), mounts, runs every operation kind with a
# mark before each, unmounts and writes to OUT:
#   trace.bin    the event stream        status.txt   tracer counters
#   post.img     the filesystem after unmount (the replay checks its model
#                against it)
#   guest.log    what ran                dmesg.txt    the kernel log
#   result       "DONE" or "FAIL: why" (last line)
set -uo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
KVER=${KVER:-$(uname -r)}
OUT=${OUT:?OUT not set}
DEV=/dev/pmem0
MNT=/mnt/refdax-trace
DBG=/sys/kernel/debug/refdax
TOOLS=$ROOT/build
PY=/usr/bin/python3
export PATH=$TOOLS:$PATH

exec >"$OUT/guest.log" 2>&1
fail() {
	echo "FAIL: $*" | tee -a "$OUT/result"
	dmesg >"$OUT/dmesg.txt" 2>&1
	exit 1
}
: >"$OUT/result"

modprobe nd_e820 && modprobe nd_pmem || fail "no pmem"
for _ in $(seq 1 50); do [ -b $DEV ] && break; sleep 0.2; done
[ -b $DEV ] || fail "$DEV did not appear"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug ||
	fail "cannot mount debugfs"
insmod "$ROOT/build/$KVER/refdax.ko" || fail "insmod failed"
[ -d $DBG ] || fail "no $DBG (module without tracer?)"
echo none >$DBG/arm

size=$(stat -c %s "$OUT/pre.img")
dd if="$OUT/pre.img" of=$DEV bs=1M oflag=direct conv=fsync status=none ||
	fail "cannot copy pre.img to $DEV"
mkdir -p $MNT
echo pmem0 >$DBG/arm
mount -t refdax $DEV $MNT || fail "mount failed"
grep -q "^attached 1" $DBG/status || fail "mount is not traced: $(dmesg | tail -n 2)"

# mark LABEL: name the operation whose stores follow.
mark() { echo "$1" >$DBG/mark || fail "mark $1"; echo "op $1"; }
# op LABEL CMD...: mark, then run one operation; failure ends the run.
op() {
	local l=$1
	shift
	mark "$l"
	"$@" || fail "operation $l: $*"
}
xio() { xfs_io "$@"; }
renameat2() { # old new flags(2 = RENAME_EXCHANGE)
	$PY - "$@" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
r = libc.syscall(316, AT_FDCWD, sys.argv[1].encode(), AT_FDCWD,
                 sys.argv[2].encode(), int(sys.argv[3]))
if r != 0:
    e = ctypes.get_errno()
    sys.exit("renameat2: " + os.strerror(e))
EOF
}

cd $MNT || fail "cd $MNT"
op create touch a
op write-extend xio -c "pwrite -S 0x11 0 6000" a
op write-overwrite xio -c "pwrite -S 0x22 100 200" a
op write-hole xio -c "pwrite -S 0x33 40960 100" a
op fsync xio -c fsync a
# Eight separate extents: the eighth moves the inline extent root to a node.
op create touch frag
op write-fragment xio -c "pwrite -S 0x12 0 4096" -c "pwrite -S 0x12 8192 4096" \
	-c "pwrite -S 0x12 16384 4096" -c "pwrite -S 0x12 24576 4096" \
	-c "pwrite -S 0x12 32768 4096" -c "pwrite -S 0x12 40960 4096" \
	-c "pwrite -S 0x12 49152 4096" -c "pwrite -S 0x12 57344 4096" \
	-c "pwrite -S 0x12 65536 4096" frag
op mkdir mkdir d1
op mkdir mkdir d2
op rmdir rmdir d2
# Long names, 22 x 216-byte records: a second directory block.
mark create-dirblock
for i in $(seq 1 22); do
	touch "d1/$(printf 'name-%03d-%0191d' "$i" 0)" || fail "create-dirblock $i"
done
echo "d1: $(stat -c '%s bytes, %b sectors' d1)"
op create touch d1/f
op link ln a d1/a-link
op unlink rm d1/a-link
op unlink rm d1/f
op create xio -f -c "pwrite -S 0x44 0 100" o
exec 9<o
op unlink-open rm o
mark close-unlinked
exec 9<&-
op symlink-short ln -s short-target s1
op symlink-long ln -s "$(printf 'long/%.0s' $(seq 1 40))target" s2
op create touch r1
op create touch r2
op rename mv r1 r3
op rename-over mv r3 r2
op create touch x1
op rename-exchange renameat2 x1 r2 2
op rename-dir mv x1 d1/x1
op create xio -f -c "pwrite -S 0x55 0 20000" t
op truncate-down truncate -s 5000 t
op truncate-up truncate -s 30000 t
op create touch fa
op fallocate xio -c "falloc 0 16384" fa
op fallocate-keep xio -c "falloc -k 16384 8192" fa
op punch-hole xio -c "fpunch 4096 4096" fa
op zero-range xio -c "fzero 100 5000" fa
op chmod chmod 600 a
op chown chown 12:34 a
op utimes touch -d "2001-02-03 04:05:06" a
# Attributes: the first allocates the attribute block, a value over 1 KiB
# goes to a remote run, a replace rewrites the block in place and frees a
# run, the last removal frees the block.
op setxattr-inline setfattr -n user.small -v hello a
op setxattr-remote $PY -c "import os; os.setxattr('$MNT/a', 'user.big', b'r' * 9000)"
op setxattr-replace $PY -c "import os; os.setxattr('$MNT/a', 'user.big', b'i' * 100)"
op setxattr-remote $PY -c "import os; os.setxattr('$MNT/a', 'user.big', b's' * 5000)"
op setacl setfacl -m u:12:r a
op removexattr setfattr -x user.big a
op removexattr-last $PY -c "import os; [os.removexattr('$MNT/a', n) for n in os.listxattr('$MNT/a')]"
op create-inherit-acl mkdir d3
op setacl-default setfacl -d -m u:12:rwx d3
op create-inherit-acl touch d3/f
op setxattr-remote $PY -c "import os; os.setxattr('$MNT/d3/f', 'trusted.t', b't' * 20000)"
op unlink-xattr rm d3/f
op create xio -f -c "pwrite -S 0x66 0 8192" src
op create touch c1
op ficlone xio -c "reflink $MNT/src" c1
op create touch c2
op ficlonerange xio -c "reflink $MNT/src 4096 0 4096" c2
op create touch c3
op copy-file-range xio -c "copy_range -s 0 -d 0 -l 8192 $MNT/src" c3
op create xio -f -c "pwrite -S 0x66 0 8192" dd
op dedupe xio -c "dedupe $MNT/src 0 0 8192" dd
op cow-write xio -c "pwrite -S 0x77 10 20" c1
op cow-mmap xio -c "mmap -w 0 8192" -c "mwrite -S 0x78 4096 64" -c "msync -s 0 8192" c1
# Eight one-block clones with gaps between them: eight refcount records,
# one more than the superblock's root holds, so the record tree grows a
# leaf node; a CoW write splits no record but drops one; the unlink takes
# the rest and the node goes again.
op create xio -f -c "pwrite -S 0x79 0 65536" rsrc
op create touch rdst
scatter=()
for i in 0 2 4 6 8 10 12 14; do
	scatter+=(-c "reflink $MNT/rsrc $((i * 4096)) $((i * 4096)) 4096")
done
op reflink-scatter xio "${scatter[@]}" rdst
op cow-unshare xio -c "pwrite -S 0x7a 8192 4096" rdst
op unlink-shared rm rdst
cd / || fail "cd /"
mark umount
umount $MNT || fail "umount failed"

cat $DBG/status >"$OUT/status.txt" || fail "no tracer status"
cat $DBG/trace >"$OUT/trace.bin" || fail "cannot read the trace"
echo reset >$DBG/trace
dd if=$DEV of="$OUT/post.img" bs=1M count=$((size >> 20)) iflag=direct status=none ||
	fail "cannot read back $DEV"
dmesg >"$OUT/dmesg.txt" 2>&1
grep -q '^dropped 0$' "$OUT/status.txt" || fail "tracer dropped events: $(tr '\n' ' ' <"$OUT/status.txt")"

# A filesystem over the tracer's 32 MiB limit mounts untraced, with a message.
big=/tmp/refdax-trace-big.img	# the guest's tmpfs: mkfs maps the image
mkfs.refdax -q -s 64M $big || fail "mkfs of the 64 MiB image"
dd if=$big of=$DEV bs=1M oflag=direct conv=fsync status=none || fail "dd $big"
rm -f $big
echo pmem0 >$DBG/arm
mount -t refdax $DEV $MNT || fail "mount of the 64 MiB filesystem failed"
grep -q '^attached 1' $DBG/status && fail "a 64 MiB filesystem was traced"
dmesg | grep -q 'pmem0: not traced: filesystem has' || fail "no message for the untraced mount"
umount $MNT || fail "umount of the 64 MiB filesystem"
echo none >$DBG/arm
echo "64 MiB filesystem: mounted untraced, as it should"
dmesg >"$OUT/dmesg.txt" 2>&1
echo DONE >>"$OUT/result"
