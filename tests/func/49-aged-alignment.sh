#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# Huge-page friendly allocation on an aged filesystem (issue 8).  A seeded
# churn of creates, interleaved append-grown files, small appends and
# deletes (files of 4 KiB to 64 MiB, peaks at 80% used, 2x the device
# written in all, then deleted down to 40% free) leaves the free space
# fragmented; then a 256 MiB file is appended 1 MiB per write.  At least
# 90% of it must lie in 2 MiB pieces aligned both in the file and on the
# device and contiguous, which is what a PMD mapping needs.  Then it grows
# into the rest of the free space, and the share is reported.  The
# filesystem must check clean afterwards.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
AGE=$(prog agefs)
SEED=${AGE_SEED:-49}
MIN_PCT=90

mkdir "$MNT/age"
out=$("$AGE" age "$MNT/age" "$SEED" 80 40 2) || fail "aging: $out"
note "aged (seed $SEED): $out"
note "free space after aging: $("$AGE" chunks "$MNT" "$DEV")"

# A 256 MiB file appended 1 MiB per write: its share in aligned pieces.
BIG=256
assert_ge "$(($(free_kb) / 1024))" $((BIG + 64)) "MiB free after aging"
"$AGE" write "$MNT/big" "$BIG" || fail "writing the $BIG MiB file"
assert_eq "$(fsize "$MNT/big")" $((BIG << 20)) "size of the big file"
res=$("$AGE" aligned "$MNT/big") || fail "fiemap of the big file"
note "big file, $BIG MiB: $res"
filefrag -v "$MNT/big" >"$T_OUT/big.filefrag" 2>&1 || true
note "filefrag: $(tail -n 1 "$T_OUT/big.filefrag")"
pct=$(awk '{ printf "%d", $2 * 10 }' <<<"$res")	# tenths of a percent
[ "$pct" -ge $((MIN_PCT * 10)) ] ||
	{ head -n 60 "$T_OUT/big.filefrag"; fail "only $res; want >= $MIN_PCT% in aligned 2 MiB pieces"; }

# Grown until the free space is used up, it can be aligned only as far as
# the aging left whole free chunks (reported, not asserted).
more=$(($(free_kb) / 1024 - 16))
if [ "$more" -gt 0 ]; then
	"$AGE" write "$MNT/big" "$more" || fail "growing the big file by $more MiB"
	note "grown to $((BIG + more)) MiB: $("$AGE" aligned "$MNT/big")"
fi

# The churn left a consistent filesystem (the runner checks again at the end).
cd /
umount "$MNT"
o=$(fs_fsck 2>&1) || { echo "$o"; fail "fsck -n after aging"; }
fs_mount || fail "mount after fsck"
