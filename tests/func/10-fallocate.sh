#!/usr/bin/env bash
# fallocate: default mode allocates (blocks grow, size grows, reads zero),
# KEEP_SIZE keeps the size, PUNCH_HOLE|KEEP_SIZE zeroes the range and frees
# blocks, ENOSPC for more than the device.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

# Default mode.
: >f
xfs_io -c "falloc 0 8m" f || fail "falloc"
assert_eq "$(fsize f)" $((8 * 1024 * 1024)) "size after falloc"
assert_ge "$(fblocks f)" $((8 * 1024 * 1024 / 512)) "blocks after falloc"
"$PAT" zero f 0 $((8 * 1024 * 1024)) || fail "preallocated range is not zero"
# Writing into preallocated space does not need more blocks.
b=$(fblocks f)
"$PAT" write f 4096 1048576 51 || fail "write into prealloc"
assert_eq "$(fblocks f)" "$b" "blocks after writing into preallocated range"
"$PAT" zero f 0 4096 || fail "prealloc head"
"$PAT" check f 4096 1048576 51 || fail "written range"
"$PAT" zero f $((4096 + 1048576)) $((8 * 1024 * 1024 - 4096 - 1048576)) || fail "prealloc tail"

# KEEP_SIZE beyond EOF.
printf 'abc' >k
xfs_io -c "falloc -k 0 4m" k || fail "falloc -k"
assert_eq "$(fsize k)" 3 "size after falloc KEEP_SIZE"
assert_ge "$(fblocks k)" $((4 * 1024 * 1024 / 512)) "blocks after falloc KEEP_SIZE"
assert_eq "$(cat k)" abc "content after falloc KEEP_SIZE"
truncate -s 2M k
"$PAT" zero k 3 $((2 * 1024 * 1024 - 3)) || fail "extending into KEEP_SIZE space is not zero"

# Punch a hole.
"$PAT" write p 0 $((4 * 1024 * 1024)) 52 || fail "write p"
b0=$(fblocks p)
xfs_io -c "fpunch 1m 1m" p || fail "fpunch"
assert_eq "$(fsize p)" $((4 * 1024 * 1024)) "size after punch"
"$PAT" check p 0 1048576 52 || fail "before hole"
"$PAT" zero p 1048576 1048576 || fail "punched range is not zero"
"$PAT" check p $((2 * 1048576)) $((2 * 1048576)) 52 || fail "after hole"
b1=$(fblocks p)
assert_le "$b1" $((b0 - 1048576 / 512)) "blocks after punching 1 MiB"
# Unaligned punch: partial blocks zeroed, the rest kept.
xfs_io -c "fpunch 3000000 10001" p || fail "unaligned fpunch"
"$PAT" check p $((2 * 1048576)) $((3000000 - 2 * 1048576)) 52 || fail "before unaligned hole"
"$PAT" zero p 3000000 10001 || fail "unaligned punched range"
"$PAT" check p 3010001 $((4 * 1048576 - 3010001)) 52 || fail "after unaligned hole"
# Punch past EOF does not change the size.
xfs_io -c "fpunch 3m 10m" p || fail "fpunch past EOF"
assert_eq "$(fsize p)" $((4 * 1024 * 1024)) "size after punch past EOF"

# More than the device holds.
expect_err "no space" xfs_io -f -c "falloc 0 2g" nospace
rm -f nospace

# Survives remount.
remount
cd "$MNT"
"$PAT" zero p 1048576 1048576 || fail "hole after remount"
assert_eq "$(fsize k)" $((2 * 1024 * 1024)) "k size after remount"
assert_ge "$(fblocks f)" $((8 * 1024 * 1024 / 512)) "prealloc after remount"
