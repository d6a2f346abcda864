#!/usr/bin/env bash
# refdax-test: refdax-only
# O_TMPFILE: a nameless file is written, mapped and stored to, then given a
# name with linkat (through /proc/self/fd, and AT_EMPTY_PATH by xfs_io -T
# flink); the name and content survive a remount.  A tmpfile closed without
# a name leaves nothing behind: the free inode and block counts come back
# and fsck finds no extra inode.  RENAME_WHITEOUT leaves a 0:0 character
# device at the old name in the same step (a file, over an existing target,
# a directory; also for an unprivileged user) and survives a remount.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need python3 xfs_io setpriv
R2=$(prog renameat2)
cd "$MNT"
chmod 755 .

ifree() { stat -f -c %d "$MNT"; }
bfree() { stat -f -c %f "$MNT"; }

# ---- write + mmap store + linkat through /proc/self/fd ----------------------------
python3 - "$MNT" <<'PY' || fail "tmpfile write/mmap/linkat"
import mmap, os, sys
d = sys.argv[1]
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o640)
assert os.fstat(fd).st_nlink == 0, "tmpfile has links"
os.write(fd, b"A" * 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[4096:4101] = b"hello"
m.flush()
m.close()
# a dir fd makes os.link use linkat(AT_SYMLINK_FOLLOW), not link(2)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
os.link("/proc/self/fd/%d" % fd, "named", dst_dir_fd=dfd, follow_symlinks=True)
assert os.fstat(fd).st_nlink == 1, "no link after linkat"
os.write(fd, b"tail")
os.close(fd)
PY
assert_eq "$(fnlink named)" 1 "named tmpfile link count"
assert_eq "$(fsize named)" 8196 "named tmpfile size"
assert_eq "$(dd if=named bs=1 skip=4096 count=5 status=none)" hello "mmap store in the tmpfile"

# ---- xfs_io -T: O_TMPFILE, pwrite, flink (AT_EMPTY_PATH) --------------------------
xfs_io -T -c "pwrite -S 0x5a 0 65536" -c "flink $MNT/flinked" "$MNT" >/dev/null ||
	fail "xfs_io -T flink"
[ -f flinked ] || fail "xfs_io -T flink made no name"
cmp -s -n 65536 flinked <(head -c 65536 /dev/zero | tr '\0' 'Z') ||
	fail "content of the flinked tmpfile"

# ---- a tmpfile closed without a name is freed ---------------------------------------
sync
i0=$(ifree)
b0=$(bfree)
python3 - "$MNT" <<'PY' || fail "unlinked tmpfile"
import os, sys
fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, os.urandom(1 << 20))
st = os.statvfs(sys.argv[1])
print("# while open: %d inodes free" % st.f_ffree)
os.close(fd)
PY
sync
assert_eq "$(ifree)" "$i0" "free inodes after a tmpfile was closed"
assert_eq "$(bfree)" "$b0" "free blocks after a tmpfile was closed"
# O_EXCL: never linkable
python3 - "$MNT" <<'PY' || fail "O_TMPFILE|O_EXCL was linked"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
try:
    dfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
    os.link("/proc/self/fd/%d" % fd, "excl", dst_dir_fd=dfd, follow_symlinks=True)
    sys.exit(1)
except OSError as e:
    assert e.errno == errno.ENOENT, e
PY
[ -e excl ] && fail "O_EXCL tmpfile got a name"

# ---- RENAME_WHITEOUT ------------------------------------------------------------------
is_whiteout() { assert_eq "$(stat -c '%F %t:%T' "$1")" "character special file 0:0" "whiteout $1"; }
echo one >w1
ino=$(finode w1)
"$R2" whiteout w1 w2 || fail "renameat2 whiteout"
is_whiteout w1
assert_eq "$(finode w2)" "$ino" "moved inode"
assert_eq "$(cat w2)" one "moved content"
echo two >w3
echo old >w4
"$R2" whiteout w3 w4 || fail "renameat2 whiteout over a file"
is_whiteout w3
assert_eq "$(cat w4)" two "target replaced"
mkdir -p wd/sub
touch wd/sub/f
mkdir wdst
"$R2" whiteout wd wdst/moved || fail "renameat2 whiteout of a directory"
is_whiteout wd
[ -e wdst/moved/sub/f ] || fail "moved directory contents"
assert_eq "$(fnlink wdst)" 3 "link count of the directory a directory moved into"
# an unprivileged user may leave a whiteout too (no CAP_MKNOD since 5.8);
# it is theirs
touch u1
chown 1000:1000 u1 .
setpriv --reuid=1000 --regid=1000 --clear-groups -- "$R2" whiteout u1 u2 ||
	fail "unprivileged RENAME_WHITEOUT"
is_whiteout u1
assert_eq "$(stat -c %u:%g u1)" 1000:1000 "owner of an unprivileged whiteout"
chown 0:0 .

remount
cd "$MNT"
is_whiteout w1
is_whiteout w3
is_whiteout wd
assert_eq "$(cat w2)" one "moved content after remount"
assert_eq "$(fnlink named)" 1 "named tmpfile after remount"
assert_eq "$(dd if=named bs=1 skip=4096 count=5 status=none)" hello "tmpfile content after remount"
cmp -s -n 65536 flinked <(head -c 65536 /dev/zero | tr '\0' 'Z') ||
	fail "flinked content after remount"

# fsck of the unmounted image: the inodes in use are exactly the names
# (no hard links here), so no tmpfile was left behind
names=$(find "$MNT" | wc -l)
cd /
umount "$MNT"
out=$(fs_fsck 2>&1) || fail "fsck: $out"
used=$(sed -n 's|.* \([0-9]*\)/[0-9]* inodes.*|\1|p' <<<"$out")
assert_eq "$used" "$names" "inodes in use (fsck) vs names"
fs_mount || fail "mount after fsck"
