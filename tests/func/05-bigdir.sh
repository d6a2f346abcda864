#!/usr/bin/env bash
# refdax-test: timeout=1200
# A directory with 100,000 entries: create, look each up, exact readdir,
# remove half and recheck, remove the rest (tests/prog/manydir.c).  The
# entries are 20,000 files plus hard links (5 names each), so the test does
# not depend on the inode count mkfs chooses for a 1 GiB device; a second
# directory of 30,000 distinct files checks a big directory of real inodes.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MANY=$(prog manydir)
start=$(date +%s)
"$MANY" "$MNT/big" 100000 20000 || fail "manydir 100000 entries"
note "100000 entries took $(( $(date +%s) - start ))s"
[ ! -e "$MNT/big" ] || fail "big directory still exists"
"$MANY" "$MNT/files" 30000 || fail "manydir 30000 files"
