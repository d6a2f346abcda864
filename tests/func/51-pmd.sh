#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# 2 MiB faults.  An 8 MiB file in 2 MiB-aligned extents, mapped shared at a
# 2 MiB-aligned address, maps with one PMD per chunk: reads, stores and
# MAP_SYNC stores each take 4 PMD faults (sysfs pmd_faults) and a handful
# of page faults, not 2048.  A reflinked copy maps its shared chunks
# read-only as PMDs from one master entry per chunk (4 entries, not 2048),
# and the original maps the same chunks from the same entries.  A store
# into a shared PMD copies one 4 KiB page for that file only: the other
# file's data and fiemap stay, the writer sees its byte, and the chunk now
# partly shared maps with 4 KiB pages.  Truncating into
# the middle of a chunk leaves the chunk before it to a PMD and the rest
# to 4 KiB pages; a mapping of no whole aligned chunk never gets a PMD,
# and a mapping 4 KiB past a 2 MiB boundary, all 4 KiB pages, takes one
# fault per first store (6.12 too, where the core alone would take two).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
PM=$(prog pmdmap)
S=$(rdx_sysfs)
[ -d "$S" ] || fail "no $S"
pmd_mappings || skip "refdax maps no PMDs on $(uname -r) (special PMDs cannot be split in a DAX VMA on 7.x)"
# faults OUTPUT -> the page-fault count pmdmap printed
faults() { awk '$1 == "faults" { print $2 }' <<<"$1"; }
# map_run EXPECTED_PMDS MAX_FAULTS pmdmap-args...: run pmdmap, check the
# PMDs it took and bound its page faults; prints pmdmap's output.
map_run() {
	local want=$1 max=$2 p0 out
	shift 2
	p0=$(ctr pmd_faults)
	out=$("$PM" "$@") || fail "pmdmap $*: $out"
	assert_eq $(($(ctr pmd_faults) - p0)) "$want" "PMD faults of pmdmap $*"
	assert_le "$(faults "$out")" "$max" "page faults of pmdmap $*"
	echo "$out"
}
# aligned FILE: every 2 MiB chunk of FILE starts a 2 MiB-aligned physical
# run (fiemap sectors: 4096 per 2 MiB).
aligned() {
	local c p
	for c in $(seq 0 $(($(fsize "$1") / 2097152 - 1))); do
		p=$(phys "$1" $((c * 512)))
		assert_eq $((p % 4096)) 0 "physical alignment of chunk $c of $1"
		assert_eq "$(phys "$1" $((c * 512 + 511)))" $((p + 511 * 8)) \
			"contiguity of chunk $c of $1"
	done
}
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }

cd "$MNT"
xfs_io -f -c "falloc 0 8m" a || fail "falloc a"
"$PAT" write a 0 $((8 << 20)) 5 || fail "write a"
aligned a

note "private: reads, stores and MAP_SYNC stores through PMDs"
map_run 4 16 read a >/dev/null
map_run 4 16 write a 0x5a >/dev/null
for off in 0 4096 $((3 << 20)) $(((8 << 20) - 4096)); do
	assert_eq "$(byte_at a $off)" 90 "byte at $off after PMD stores"
done
xfs_io -c fsync a || fail "fsync after PMD stores"
map_run 4 16 write a 0x6b sync >/dev/null
assert_eq "$(byte_at a $((5 << 20)))" 107 "byte after MAP_SYNC PMD stores"
cp a a.ref

note "shared: one master entry per chunk, both files from the same"
cp --reflink=always a b || fail "reflink a -> b"
drop_inodes
assert_eq "$(ctr master_entries)" 0 "master entries before mapping"
map_run 4 16 read b >/dev/null
assert_eq "$(ctr master_entries)" 4 "master entries after mapping b"
assert_eq "$(ctr shadows)" 4 "shadows after mapping b"
map_run 4 16 read a >/dev/null
assert_eq "$(ctr master_entries)" 4 "master entries after mapping a too"
assert_eq "$(ctr shadows)" 8 "shadows after mapping a too"
# 64 bytes per master entry and 32 per shadow (the issue's memory budget)
assert_eq "$(ctr master_bytes)" $((4 * 64 + 8 * 32)) "master_bytes"

note "a store into a shared PMD copies 4 KiB for that file only"
c0=$(ctr cow_faults)
pa=$(phys a 3)
map_run 4 16 store b 12345 0x77 >/dev/null
assert_eq $(($(ctr cow_faults) - c0)) 1 "CoW faults of one store"
assert_eq "$(byte_at b 12345)" 119 "the writer's byte"
assert_file_eq a a.ref
assert_eq "$(cmp -l a b | wc -l)" 1 "bytes differing between a and b"
assert_eq "$(phys a 3)" "$pa" "a's block 3 after b's store"
[ "$(phys b 3)" != "$pa" ] || fail "b's block 3 did not move"
assert_eq "$(phys b 4)" "$(phys a 4)" "b's block 4 still shared"

note "a partly shared chunk maps with 4 KiB pages, the shared ones with PMDs"
out=$(map_run 3 600 read b)
assert_ge "$(faults "$out")" 512 "4 KiB faults of b's partly shared chunk"

note "truncate into a chunk: 4 KiB pages there, the PMD before it stays"
xfs_io -f -c "falloc 0 8m" e || fail "falloc e"
"$PAT" write e 0 $((8 << 20)) 7 || fail "write e"
truncate -s $((3 << 20)) e
out=$(map_run 1 300 read e)
assert_eq "$(awk '$1 == "faults" { print $4 }' <<<"$out")" 768 "pages of e"
assert_ge "$(faults "$out")" 256 "4 KiB faults past the last whole chunk"
"$PAT" check e 0 $((3 << 20)) 7 || fail "e's data after truncate"

note "4 KiB pages: one fault per first store, on every kernel"
xfs_io -f -c "falloc 0 8m" d || fail "falloc d"
"$PAT" write d 0 $((8 << 20)) 6 || fail "write d"
# (a few more for the program's own first touches of its heap and stack)
out=$(map_run 0 2064 write d 0x3c unaligned)
assert_ge "$(faults "$out")" 2048 "faults of 2048 first stores into 4 KiB pages"
assert_eq "$(byte_at d $((7 << 20)))" 60 "byte after 4 KiB stores"

note "a mapping holding no whole aligned chunk gets no PMD"
p0=$(ctr pmd_faults)
xfs_io -c "mmap -r 4096 2m" -c "mread 4096 2m" a >/dev/null ||
	fail "unaligned mmap read"
assert_eq "$(ctr pmd_faults)" "$p0" "PMD faults of a mapping of [4 KiB, 2 MiB + 4 KiB)"
