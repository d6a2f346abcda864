#!/usr/bin/env bash
# refdax-test: timeout=600
# Random operations (write, read, truncate, fallocate modes including
# unshare, collapse and insert, same-file clones, mmap store and
# load, reopen) checked byte for byte against an in-memory model, on small
# and large files, then again after a remount.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
FSX=$(prog fsx)
cd "$MNT"

for seed in 1 2 3; do
	"$FSX" -n 2000 -s "$seed" -m -r "fsx$seed" || fail "fsx seed $seed"
done
"$FSX" -n 1500 -s 7 -l $((48 * 1024 * 1024)) -m "fsxbig" || fail "fsx large file"
sha_before=$(sha256sum fsx1 fsxbig)
remount
cd "$MNT"
assert_eq "$(sha256sum fsx1 fsxbig)" "$sha_before" "contents after remount"
