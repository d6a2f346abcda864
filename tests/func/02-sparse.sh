#!/usr/bin/env bash
# Sparse files: holes read as zeros, allocate nothing, a file much larger than
# the device can exist as long as it is sparse; writes into holes.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

truncate -s 100M hole
assert_eq "$(fsize hole)" $((100 * 1024 * 1024)) "size of truncated file"
assert_eq "$(fblocks hole)" 0 "blocks of an all-hole file"
cmp -n $((100 * 1024 * 1024)) hole /dev/zero || fail "hole does not read as zeros"

# A few islands of data inside a big sparse file.
"$PAT" write s $((5 * 1024 * 1024 + 17)) 10000 1 || fail write1
"$PAT" write s $((64 * 1024 * 1024)) 4096 2 || fail write2
"$PAT" write s $((4 * 1024 * 1024 * 1024)) 8192 3 || fail "write at 4 GiB"
assert_eq "$(fsize s)" $((4 * 1024 * 1024 * 1024 + 8192)) "size of sparse file"
"$PAT" zero s 0 $((5 * 1024 * 1024 + 17)) || fail "leading hole"
"$PAT" check s $((5 * 1024 * 1024 + 17)) 10000 1 || fail "island 1"
"$PAT" zero s $((5 * 1024 * 1024 + 10017)) $((64 * 1024 * 1024 - 5 * 1024 * 1024 - 10017)) || fail "hole between islands"
"$PAT" check s $((64 * 1024 * 1024)) 4096 2 || fail "island 2"
"$PAT" zero s $((2 * 1024 * 1024 * 1024)) 4096 || fail "hole at 2 GiB"
"$PAT" check s $((4 * 1024 * 1024 * 1024)) 8192 3 || fail "island at 4 GiB"
# Far less allocated than the apparent size (device is 1 GiB).
kb=$(( $(fblocks s) / 2 ))
assert_le "$kb" 2048 "KiB allocated for ~22 KiB of data"

# Filling a hole later: neighbours stay zero.
"$PAT" write hole $((50 * 1024 * 1024)) 4096 4 || fail "write into hole"
"$PAT" zero hole $((50 * 1024 * 1024 - 4096)) 4096 || fail "before filled hole"
"$PAT" check hole $((50 * 1024 * 1024)) 4096 4 || fail "filled hole"
"$PAT" zero hole $((50 * 1024 * 1024 + 4096)) 4096 || fail "after filled hole"
assert_ge "$(fblocks hole)" 8 "blocks after filling a hole"

# seek past EOF and write with dd: the gap is a hole of zeros.
printf 'head' >g
dd if=/dev/urandom of=g bs=4096 seek=100 count=1 conv=notrunc status=none
assert_eq "$(fsize g)" $((101 * 4096)) "size after seek+write"
cmp -n $((100 * 4096 - 4)) -i 4:0 g /dev/zero || fail "gap is not zero"
assert_eq "$(head -c 4 g)" head "head bytes kept"
cp --sparse=always g g2
cmp g g2 || fail "copy of sparse file differs"
