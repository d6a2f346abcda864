#!/usr/bin/env bash
# O_DIRECT: aligned writes and reads through O_DIRECT agree with buffered I/O
# in both directions, including partial overwrites and extension.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

"$PAT" write d 0 $((8 * 1024 * 1024)) 21 direct || fail "O_DIRECT pattern write"
"$PAT" check d 0 $((8 * 1024 * 1024)) 21 || fail "buffered read of O_DIRECT data"
"$PAT" check d 0 $((8 * 1024 * 1024)) 21 direct || fail "O_DIRECT read"

"$PAT" write b 0 $((4 * 1024 * 1024)) 22 || fail "buffered write"
"$PAT" check b 0 $((4 * 1024 * 1024)) 22 direct || fail "O_DIRECT read of buffered data"

# O_DIRECT overwrite of an inner range, then extension past EOF.
"$PAT" write b 1048576 65536 23 direct || fail "O_DIRECT overwrite"
"$PAT" write b $((6 * 1024 * 1024)) 4096 24 direct || fail "O_DIRECT extend"
"$PAT" check b 0 1048576 22 || fail "before O_DIRECT overwrite"
"$PAT" check b 1048576 65536 23 || fail "O_DIRECT overwritten range"
"$PAT" check b $((1048576 + 65536)) $((3 * 1024 * 1024 - 65536)) 22 || fail "after O_DIRECT overwrite"
"$PAT" zero b $((4 * 1024 * 1024)) $((2 * 1024 * 1024)) || fail "hole before O_DIRECT extension"
"$PAT" check b $((6 * 1024 * 1024)) 4096 24 || fail "O_DIRECT extension"
assert_eq "$(fsize b)" $((6 * 1024 * 1024 + 4096)) "size after O_DIRECT extend"

# dd with direct flags both ways.
head -c $((3 * 1024 * 1024)) /dev/urandom >/tmp/r
dd if=/tmp/r of=dd1 bs=1M oflag=direct status=none || fail "dd oflag=direct"
dd if=dd1 of=/tmp/r2 bs=1M iflag=direct status=none || fail "dd iflag=direct"
cmp /tmp/r /tmp/r2 || fail "dd direct round trip"
cmp /tmp/r dd1 || fail "dd direct file vs buffered read"
rm -f /tmp/r /tmp/r2
