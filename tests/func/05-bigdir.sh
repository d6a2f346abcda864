#!/usr/bin/env bash
# refdax-test: timeout=1200
# A directory with 100,000 entries: create, look each up, exact readdir,
# remove half and recheck, remove the rest (tests/prog/manydir.c).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MANY=$(prog manydir)
start=$(date +%s)
"$MANY" "$MNT/big" 100000 || fail "manydir 100000"
note "100000 entries took $(( $(date +%s) - start ))s"
[ ! -e "$MNT/big" ] || fail "big directory still exists"
