#!/usr/bin/env bash
# SEEK_DATA / SEEK_HOLE report the extent map: data and holes of a sparse
# file are found exactly (block granular), the implicit hole at EOF, ENXIO
# past EOF, and a sparse copy keeps the holes.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"
# data at [64k,128k) and [1M,1M+4k), size 2M: holes elsewhere
xfs_io -f -c "pwrite -q 64k 64k" -c "pwrite -q 1M 4k" -c "truncate 2M" s >/dev/null
seek() { xfs_io -c "seek $1 $2" s | awk '/^(DATA|HOLE)/ { print $1, $2 }'; }
assert_eq "$(seek -d 0)" "DATA 65536" "first data"
assert_eq "$(seek -h 65536)" "HOLE 131072" "hole after first data"
assert_eq "$(seek -d 131072)" "DATA 1048576" "second data"
assert_eq "$(seek -h 1048576)" "HOLE 1052672" "hole after second data"
assert_eq "$(seek -h 0)" "HOLE 0" "file starts with a hole"
assert_eq "$(seek -d 1052672)" "DATA EOF" "no data after the last extent"
past_eof=$(python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for whence in (os.SEEK_DATA, os.SEEK_HOLE):
    try:
        os.lseek(fd, 3 << 20, whence)
        print("no error")
    except OSError as e:
        print(errno.errorcode[e.errno])
' s)
assert_eq "$(echo $past_eof)" "ENXIO ENXIO" "SEEK_DATA/SEEK_HOLE past EOF"
cp --sparse=always s s.copy
cmp s s.copy || fail "sparse copy differs"
assert_le "$(fblocks s.copy)" "$(fblocks s)" "sparse copy allocated more than the original"
