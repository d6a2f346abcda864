#!/usr/bin/env bash
# mmap on DAX files (tests/prog/mmaptest.c): MAP_SHARED stores reach the file
# after msync, MAP_PRIVATE stores never do, read faults on holes read zero
# and do not allocate while a later store does, SIGBUS past EOF, truncate of
# a mapped file.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MM=$(prog mmaptest)
cd "$MNT"
"$MM" shared shared.1m 1048576 || fail "shared 1 MiB"
"$MM" shared shared.big $((40 * 1024 * 1024 + 4096)) || fail "shared 40 MiB (PMD-sized ranges)"
"$MM" private private || fail "private"
"$MM" hole hole || fail "hole"
"$MM" sigbus sigbus || fail "sigbus"
"$MM" truncate trunc || fail "truncate while mapped"
# The files written through mappings persist.
sum=$(sha256sum <shared.big)
remount
cd "$MNT"
assert_eq "$(sha256sum <shared.big)" "$sum" "mmap-written file after remount"
