#!/usr/bin/env bash
# Hard links and symlinks: nlink from stat, shared data, link to a directory
# refused, short and long (~4000 byte) symlinks with readlink, dangling and
# looping symlinks.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"

echo data >a
ino=$(finode a)
ln a b
mkdir sub
ln a sub/c
assert_eq "$(fnlink a)" 3 "nlink with 3 names"
assert_eq "$(finode b)" "$ino" "inode of hard link b"
assert_eq "$(finode sub/c)" "$ino" "inode of hard link sub/c"
echo more >>b
assert_eq "$(cat sub/c)" "$(printf 'data\nmore')" "write through one link seen through another"
rm a
assert_eq "$(fnlink b)" 2 "nlink after unlinking one name"
rm b
assert_eq "$(fnlink sub/c)" 1 "nlink of the last name"
assert_eq "$(cat sub/c)" "$(printf 'data\nmore')" "data of the last link"
expect_err "not permitted\|not allowed" ln -d sub sub2
expect_err "exists" ln sub/c sub/c
ctime_before=$(stat -c %Z sub/c)
sleep 1.1
ln sub/c d
[ "$(stat -c %Z sub/c)" -gt "$ctime_before" ] || fail "link did not update ctime"

# Many links to one file.
for i in $(seq 1 100); do ln d "l$i"; done
assert_eq "$(fnlink d)" 102 "nlink with 102 names"
rm l[0-9]*
assert_eq "$(fnlink d)" 2 "nlink after removing 100 links"

# Symlinks: short (inline-sized) and long (~4000 bytes).
ln -s d short
assert_eq "$(readlink short)" d "readlink short"
assert_eq "$(cat short)" "$(cat d)" "read through short symlink"
assert_eq "$(stat -c %F short)" "symbolic link" "type of short symlink"
assert_eq "$(stat -c %s short)" 1 "size of short symlink"
target99=$(printf 'a%.0s' $(seq 1 99))
ln -s "$target99" s99
assert_eq "$(readlink s99)" "$target99" "99-byte symlink"
long=""
while [ ${#long} -lt 3990 ]; do long+="dir_component_$((${#long} % 97))/"; done
long=${long}end
ln -s "$long" longlink
assert_eq "$(readlink longlink)" "$long" "readlink of a ${#long}-byte symlink"
assert_eq "$(stat -c %s longlink)" "${#long}" "size of long symlink"
max=$(printf 'm%.0s' $(seq 1 4095))
ln -s "$max" maxlink
assert_eq "$(readlink maxlink)" "$max" "4095-byte symlink"
expect_err "too long" ln -s "${max}m" toolong

# Long symlink resolving to a real path.
mkdir -p "$MNT/x/y"
echo target >"$MNT/x/y/t"
rel=$(printf './%.0s' $(seq 1 1500))x/y/t
ln -s "$rel" rellink
assert_eq "$(cat rellink)" target "read through a 3003-byte relative symlink"
ln -s "$MNT/x/y/t" abslink
assert_eq "$(cat abslink)" target "read through absolute symlink"

ln -s nowhere dangling
expect_err "no such file" cat dangling
ln -s loop2 loop1
ln -s loop1 loop2
expect_err "too many levels" cat loop1

# Symlinks and links survive a remount.
remount
cd "$MNT"
assert_eq "$(readlink longlink)" "$long" "long symlink after remount"
assert_eq "$(readlink short)" d "short symlink after remount"
assert_eq "$(fnlink d)" 2 "nlink after remount"
rm -r short s99 longlink maxlink rellink abslink dangling loop1 loop2 x
