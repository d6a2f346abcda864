#!/usr/bin/env bash
# truncate up (new range reads zero, nothing allocated) and down (data below
# kept, space freed, old data never reappears), unaligned sizes.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

"$PAT" write t 0 $((16 * 1024 * 1024)) 41 || fail write
blocks_full=$(fblocks t)

# Down to an unaligned size.
truncate -s 5000001 t
assert_eq "$(fsize t)" 5000001 "size after truncate down"
"$PAT" check t 0 5000001 41 || fail "data below the cut"
assert_le "$(fblocks t)" $(( (5000001 / 512) + 2 * 4096 / 512 + 64 )) "blocks after truncate down"
[ "$(fblocks t)" -lt "$blocks_full" ] || fail "truncate down freed nothing"

# Up again: everything past the old EOF reads zero, including the tail of
# the page that held the old EOF.
truncate -s $((16 * 1024 * 1024)) t
assert_eq "$(fsize t)" $((16 * 1024 * 1024)) "size after truncate up"
"$PAT" check t 0 5000001 41 || fail "data after truncate up"
"$PAT" zero t 5000001 $((16 * 1024 * 1024 - 5000001)) || fail "extended range is not zero"

# Up from empty: pure hole.
: >u
truncate -s 1G u
assert_eq "$(fblocks u)" 0 "blocks after truncate up of an empty file"
"$PAT" zero u $((1024 * 1024 * 1024 - 8192)) 8192 || fail "tail of extended empty file"

# To zero frees everything.
truncate -s 0 t
assert_eq "$(fsize t)" 0 "size after truncate to 0"
assert_eq "$(fblocks t)" 0 "blocks after truncate to 0"

# Byte-granular cuts inside one block, repeated.
"$PAT" write v 0 12288 42 || fail "write v"
for s in 12287 8193 8192 8191 4097 4096 1 0; do
	truncate -s "$s" v
	assert_eq "$(fsize v)" "$s" "size $s"
	[ "$s" -eq 0 ] || "$PAT" check v 0 "$s" 42 || fail "data at size $s"
done
truncate -s 12288 v
"$PAT" zero v 0 12288 || fail "old data reappeared after truncate 0 + up"

# ftruncate through an open descriptor, then write past the new EOF.
"$PAT" write w 0 100000 43 || fail "write w"
xfs_io -c "truncate 30000" -c "pwrite -q -S 0x61 60000 10" w >/dev/null
assert_eq "$(fsize w)" 60010 "size after truncate + write past EOF"
"$PAT" check w 0 30000 43 || fail "w head"
"$PAT" zero w 30000 30000 || fail "gap after truncate is not zero"

# Persisted.
remount
cd "$MNT"
assert_eq "$(fsize w)" 60010 "size after remount"
"$PAT" zero w 30000 30000 || fail "gap after remount"
"$PAT" check w 0 30000 43 || fail "w head after remount"
