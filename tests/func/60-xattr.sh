#!/usr/bin/env bash
# Extended attributes: user./trusted./security. values set, read, listed,
# replaced and removed (small values inline, up to 64 KiB remote), the
# errors ext4 gives (ENODATA, ERANGE, E2BIG, EEXIST, ENOSPC for a full
# block), values surviving umount/mount, blocks given back on removal and
# unlink, cp -a preserving them, and what an unprivileged user may do.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need setfattr getfattr setpriv python3
cd "$MNT"

# getx FILE NAME: the value as text (empty if absent).
getx() { getfattr --only-values --absolute-names -n "$2" "$1" 2>/dev/null; }
# ask PY-EXPR: errno name of an os.*xattr call, or OK.
ask() {
	python3 -c "
import errno, os, sys
try:
    $1
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])"
}

echo data >f
mkdir d
setfattr -n user.small -v hello f
setfattr -n trusted.t1 -v tval f
setfattr -n security.s1 -v sval f
setfattr -n user.dirattr -v dval d
assert_eq "$(getx f user.small)" hello "user.small"
assert_eq "$(getx f trusted.t1)" tval "trusted.t1"
assert_eq "$(getx f security.s1)" sval "security.s1"
assert_eq "$(getx d user.dirattr)" dval "directory attribute"
setfattr -n user.empty f
assert_eq "$(ask "print(len(os.getxattr('f', 'user.empty')))" | head -1)" 0 \
	"empty value"
names() { python3 -c "import os, sys; print(' '.join(sorted(os.listxattr(sys.argv[1], follow_symlinks=False))))" "$1"; }
assert_eq "$(names f)" "security.s1 trusted.t1 user.empty user.small" "listing"

# Values of every size class: inline, just past inline, 64 KiB (remote).
blocks0=$(fblocks f)
for n in 1024 1025 4096 4097 65536; do
	head -c "$n" /dev/urandom >"v$n"
	python3 -c "import os,sys; os.setxattr('f', 'user.v$n', open('v$n','rb').read())"
	python3 -c "import os,sys; sys.stdout.buffer.write(os.getxattr('f', 'user.v$n'))" >"r$n"
	assert_file_eq "v$n" "r$n"
done
# 1024 bytes inline; remote: 1025 and 4096 one block each, 4097 two,
# 65536 sixteen
assert_eq "$(( $(fblocks f) - blocks0 ))" "$(( (1 + 1 + 2 + 16) * 8 ))" \
	"i_blocks counts remote values"

# Errors.
assert_eq "$(ask "os.getxattr('f', 'user.nosuch')")" ENODATA "get of a missing name"
assert_eq "$(ask "os.removexattr('f', 'user.nosuch')")" ENODATA "remove of a missing name"
assert_eq "$(ask "os.setxattr('f', 'user.small', b'x', os.XATTR_CREATE)")" EEXIST \
	"XATTR_CREATE over an existing name"
assert_eq "$(ask "os.setxattr('f', 'user.new', b'x', os.XATTR_REPLACE)")" ENODATA \
	"XATTR_REPLACE of a missing name"
assert_eq "$(ask "os.setxattr('f', 'user.big', b'x' * 65537)")" E2BIG "value over 64 KiB"
assert_eq "$(ask "os.setxattr('f', 'user.' + 'n' * 256, b'x')")" ERANGE "name over 255 bytes"
assert_eq "$(ask "os.setxattr('f', 'user.' + 'n' * 250, b'x')")" OK "name of 255 bytes"
python3 - <<'PY' || fail "ERANGE for a small buffer"
import ctypes, ctypes.util, errno, os
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
buf = ctypes.create_string_buffer(2)
n = libc.getxattr(b'f', b'user.small', buf, ctypes.c_size_t(2))
assert n == -1 and ctypes.get_errno() == errno.ERANGE, (n, ctypes.get_errno())
n = libc.listxattr(b'f', buf, ctypes.c_size_t(2))
assert n == -1 and ctypes.get_errno() == errno.ERANGE, (n, ctypes.get_errno())
PY

# Replace (inline -> remote -> inline) and remove, freeing the remote run.
free0=$(free_kb)
python3 -c "import os; os.setxattr('f', 'user.small', b'y' * 30000, os.XATTR_REPLACE)"
assert_eq "$(getx f user.small | wc -c)" 30000 "replaced by a remote value"
setfattr -n user.small -v again f
assert_eq "$(getx f user.small)" again "replaced by an inline value"
assert_eq "$(free_kb)" "$free0" "remote run of a replaced value freed"
setfattr -x user.v65536 f
assert_eq "$(ask "os.getxattr('f', 'user.v65536')")" ENODATA "removed attribute"
assert_eq "$(( free0 + 64 ))" "$(free_kb)" "remote run of a removed value freed"

# A full attribute block answers ENOSPC, like ext4.
echo full >full
fullblocks=$(fblocks full)
rc=$(python3 - <<'PY'
import errno, os
for i in range(100):
    try:
        os.setxattr('full', 'user.fill%03d' % i, b'z' * 900)
    except OSError as e:
        print(errno.errorcode[e.errno], i)
        break
else:
    print('none')
PY
)
assert_eq "${rc%% *}" ENOSPC "filling the attribute block"
[ "${rc#* }" -ge 3 ] || fail "attribute block full after only ${rc#* } values"
# Removing every attribute gives the block back.
free1=$(free_kb)
for n in $(getfattr --absolute-names -d full | sed -n 's/^\(user\.[^=]*\)=.*/\1/p'); do
	setfattr -x "$n" full
done
assert_eq "$(names full)" "" "all removed"
assert_eq "$(free_kb)" "$(( free1 + 4 ))" "empty attribute block freed"
assert_eq "$(fblocks full)" "$fullblocks" "no attribute blocks left on an emptied file"

# user.* only on regular files and directories.
ln -s f link
mkfifo fifo
assert_eq "$(ask "os.setxattr('fifo', 'user.x', b'1')")" EPERM "user.* on a fifo"
assert_eq "$(ask "os.setxattr('link', 'user.x', b'1', follow_symlinks=False)")" EPERM \
	"user.* on a symlink"
setfattr -h -n trusted.onlink -v L link
assert_eq "$(getfattr -h --only-values -n trusted.onlink link)" L "trusted.* on a symlink"

# cp -a keeps every attribute.
cp -a f copy
for n in user.small trusted.t1 security.s1 user.v4097; do
	assert_eq "$(getx copy "$n" | md5sum)" "$(getx f "$n" | md5sum)" "cp -a kept $n"
done

# Unlink frees the attribute block and the remote values (1025, 4096:
# one block each, 4097: two); cp may have reflinked the data block.
free2=$(free_kb)
rm copy
sync
assert_ge "$(free_kb)" "$(( free2 + 4 + 4 + 4 + 8 ))" "unlink freed the attributes"

# Persistence.
before=$(getfattr --absolute-names -d -m - -e hex f d link -h | md5sum)
remount
cd "$MNT"
after=$(getfattr --absolute-names -d -m - -e hex f d link -h | md5sum)
assert_eq "$after" "$before" "attributes after remount"
python3 -c "import os,sys; sys.stdout.buffer.write(os.getxattr('f', 'user.v4097'))" >r
assert_file_eq v4097 r

# An unprivileged user: user.* on its own file, not on root's; no trusted.*.
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
mkdir pub
chmod 777 pub
as_user sh -c "echo mine >'$MNT/pub/mine'"
as_user setfattr -n user.own -v ok "$MNT/pub/mine" || fail "user.* on own file refused"
assert_eq "$(getx pub/mine user.own)" ok "user.* set by nobody"
chmod 644 f
out=$(as_user setfattr -n user.foreign -v no "$MNT/f" 2>&1) && fail "user.* on root's file allowed"
grep -qi "permission denied" <<<"$out" || fail "user.* on a foreign file: '$out'"
out=$(as_user setfattr -n trusted.x -v no "$MNT/pub/mine" 2>&1) && fail "trusted.* allowed to nobody"
grep -qi "not permitted" <<<"$out" || fail "trusted.* as nobody: '$out'"
assert_eq "$(as_user getfattr --only-values -n user.small "$MNT/f")" again \
	"nobody reads user.* of a readable file"
as_user getfattr -d -m - "$MNT/f" 2>/dev/null | grep -q trusted &&
	fail "trusted.* listed to nobody"
true
