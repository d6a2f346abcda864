#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# Concurrent copy-on-write through MAP_SHARED mappings of reflinked copies
# (tests/prog/mwrite_copies.c): a 1 MiB file is FICLONEd into N copies
# (N = 2, 16); N processes map their own copy and, released together, store
# their own pattern into the same shared blocks (block 5 whole, unaligned
# bytes in block 9 and across blocks 19/20).  Every copy must hold exactly
# its own stores over the original, the base must be unchanged, before and
# after remount; fiemap must show private blocks where stores went and the
# base's blocks elsewhere; the copy-on-write and master-table counters must
# match; after the inodes are dropped no master entry or shadow is left.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MW=$(prog mwrite_copies)
PAT=$(prog pattern)
S=$(rdx_sysfs)
[ -d "$S" ] || fail "no $S"
# bmap FILE: one line per mapped 4 KiB block, "BLOCK PHYS S|-" (PHYS in
# 4 KiB units, S = fiemap shared flag).  One fiemap call per block (all in
# one xfs_io): whole-file fiemap reports wrong physical addresses on refdax
# (see 45-reflink-clients), which this test is not about.
bmap() {
	local args=() b
	for b in $(seq 0 $(($(stat -c %s "$1") / 4096 - 1))); do
		args+=(-c "fiemap -v $((b * 4096)) 4096")
	done
	xfs_io -r "${args[@]}" "$1" | awk '
	function hex(s,   i, v) {
		v = 0
		s = tolower(substr(s, 3))
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	$1 ~ /^[0-9]+:$/ && $3 != "hole" {
		gsub(/\[|\]|:/, "", $2)
		split($2, l, /\.\./)
		split($3, p, /\.\./)
		sh = int(hex($5) / 8192) % 2 ? "S" : "-"
		lo = l[1] + 0
		hi = l[2] + 0
		ps = p[1] + 0
		for (o = lo; o <= hi; o += 8)
			printf "%.0f %.0f %s\n", o / 8, (ps + o - lo) / 8, sh
	}'
}
STORED_BLOCKS="5 9 19 20"	# blocks the ranges of mwrite_copies touch
NSTORED=4

run() { # N
	local n=$1 d=$MNT/n$1 cf0 cc0 cb0 cf cc cb i touchers bad dup
	mkdir "$d"
	drop_inodes
	cf0=$(ctr cow_faults) cc0=$(ctr cow_copies) cb0=$(ctr cow_bytes)
	"$MW" write "$d" "$n" || fail "mwrite_copies write $d $n"
	cf=$(($(ctr cow_faults) - cf0))
	cc=$(($(ctr cow_copies) - cc0))
	cb=$(($(ctr cow_bytes) - cb0))
	note "N=$n: cow_faults +$cf, cow_copies +$cc, cow_bytes +$cb"
	# Each copy copies each stored block exactly once (the base keeps a
	# reference, so no copy is ever the last owner).
	assert_ge "$cf" "$n" "cow_faults increase for N=$n"
	assert_eq "$cf" $((n * NSTORED)) "cow_faults increase for N=$n"
	assert_eq "$cc" $((n * NSTORED)) "cow_copies increase for N=$n"
	assert_eq "$cb" $((n * NSTORED * 4096)) "cow_bytes increase for N=$n"

	# The children read every page of even copies: those shadows stay (until
	# the inodes go) for all blocks but the stored ones, one master entry
	# per still-shared block.
	touchers=$(((n + 1) / 2))
	assert_eq "$(ctr shadows)" $((touchers * (256 - NSTORED))) "shadows after N=$n"
	assert_eq "$(ctr master_entries)" $((256 - NSTORED)) "master entries after N=$n"

	# Independent check of the content with pattern(1)'s generator.
	"$PAT" check "$d/base" 0 1048576 1 || fail "base changed"
	"$PAT" check "$d/copy.0" $((5 * 4096)) 4096 100 || fail "copy.0 block 5"
	"$PAT" check "$d/copy.$((n - 1))" $((5 * 4096)) 4096 $((100 + n - 1)) ||
		fail "copy.$((n - 1)) block 5"
	"$PAT" check "$d/copy.0" 0 $((5 * 4096)) 1 || fail "copy.0 blocks 0-4"

	# Addresses: stored blocks are private and distinct per copy, the rest
	# is still the base's blocks, marked shared.
	bmap "$d/base" >"$T_OUT/map.base"
	assert_eq "$(wc -l <"$T_OUT/map.base")" 256 "mapped blocks of the base"
	: >"$T_OUT/stored.phys"
	for i in $(seq 0 $((n - 1))); do
		bmap "$d/copy.$i" >"$T_OUT/map.$i"
		assert_eq "$(wc -l <"$T_OUT/map.$i")" 256 "mapped blocks of copy.$i"
		bad=$(awk -v stored=" $STORED_BLOCKS " '
			NR == FNR { bp[$1] = $2; next }
			index(stored, " " $1 " ") {
				if ($2 == bp[$1] || $3 == "S")
					printf "block %s at %s (base %s) flag %s; ", $1, $2, bp[$1], $3
				next
			}
			$2 != bp[$1] || $3 != "S" {
				printf "block %s at %s (base %s) flag %s; ", $1, $2, bp[$1], $3
			}' "$T_OUT/map.base" "$T_OUT/map.$i")
		[ -z "$bad" ] || fail "copy.$i addresses: $bad"
		awk -v stored=" $STORED_BLOCKS " 'index(stored, " " $1 " ") { print $2 }' \
			"$T_OUT/map.$i" >>"$T_OUT/stored.phys"
	done
	dup=$(sort "$T_OUT/stored.phys" | uniq -d | head -n 3 | tr '\n' ' ')
	[ -z "$dup" ] || fail "private copies of stored blocks share addresses: $dup"
	assert_eq "$(wc -l <"$T_OUT/stored.phys")" $((n * NSTORED)) "private stored blocks"
	# The base: stored blocks no longer shared (every copy has its own).
	bad=$(awk -v stored=" $STORED_BLOCKS " '
		(index(stored, " " $1 " ") > 0) != ($3 == "-") { printf "block %s flag %s; ", $1, $3 }' "$T_OUT/map.base")
	[ -z "$bad" ] || fail "base shared flags: $bad"

	drop_inodes
	assert_eq "$(ctr master_entries)" 0 "master entries after dropping the inodes (N=$n)"
	assert_eq "$(ctr shadows)" 0 "shadows after dropping the inodes (N=$n)"
}

run 2
run 16
# 2 + 16 copies share all but the 4 stored blocks of their bases.
assert_eq "$(ctr shared_blocks)" $((2 * (256 - NSTORED))) "shared_blocks"
remount
"$MW" verify "$MNT/n2" 2 || fail "N=2 content after remount"
"$MW" verify "$MNT/n16" 16 || fail "N=16 content after remount"
assert_eq "$(ctr shared_blocks)" $((2 * (256 - NSTORED))) "shared_blocks after remount"
assert_eq "$(ctr master_entries)" 0 "master entries after remount"
# Independent count: fsck recomputes every refcount from the trees.
cd /
umount "$MNT"
out=$(fs_fsck 2>&1) || { echo "$out"; fail "fsck after the test"; }
note "$(tail -n 1 <<<"$out")"
grep -q ", $((2 * (256 - NSTORED))) shared\$" <<<"$out" || fail "fsck shared count: $(tail -n 1 <<<"$out")"
fs_mount || fail "mount after fsck"
