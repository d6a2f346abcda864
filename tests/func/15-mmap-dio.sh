#!/usr/bin/env bash
# O_DIRECT I/O whose user buffer is itself a DAX mapping of another file on
# the same filesystem (and of the same file): no deadlock, correct data.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MM=$(prog mmaptest)
cd "$MNT"
"$MM" dio "$MNT" || fail "O_DIRECT with mmap buffers"
# Buffered read/write with mmap buffers of the same filesystem (xfs_io).
head -c 1048576 /dev/urandom >src
xfs_io -c "mmap -r 0 1m" -c "mread 0 1m" src >/dev/null || fail "mread"
cp src cp1
cmp src cp1 || fail "copy"
