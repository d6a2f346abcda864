#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# One physical page behind N read-only mappings: 8 clones of a 64-page file
# are each mapped MAP_SHARED and read by their own process (tests/prog/
# maphold.c), which keeps the mapping.  fiemap must give every clone the
# base's physical range, flagged shared; the master table must hold one
# entry per page (not per page and file) and 8 shadows per page.  Then the
# holders store into page 10 one after another: each store moves that
# clone's page 10 (fiemap) and only that one, cow_faults +1, shadows -1,
# the others still read the original through their mappings; when all have
# stored, the master entry of the original page is gone.  Last, a clone
# whose partner was deleted keeps its page on a store (no copy).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
S=$(rdx_sysfs)
[ -d "$S" ] || fail "no $S"
extents() { xfs_io -r -c "fiemap -v" "$1" | tail -n +2; }


N=8
PAGES=64
cd "$MNT"
"$PAT" write base 0 $((PAGES * 4096)) 7 || fail "write base"
for i in $(seq 1 $N); do
	xfs_io -f -c "reflink $MNT/base" "c.$i" >/dev/null || fail "reflink base -> c.$i"
done
drop_inodes
assert_eq "$(ctr master_entries)" 0 "master entries before any mapping"
assert_eq "$(ctr shadows)" 0 "shadows before any mapping"
assert_eq "$(ctr shared_blocks)" $PAGES "shared_blocks after cloning"

for i in $(seq 1 $N); do
	holder "$i" "c.$i" ro
	assert_eq "$(send "$i" touch)" "touched $PAGES" "holder $i touch"
done
# All mappings open: one physical range, flagged shared, for every file.
want=$(extents base)
note "base: $(tail -n 1 <<<"$want")"
fl=$(tail -n 1 <<<"$want" | awk '{ print $NF }')
[ $((fl & 0x2000)) -ne 0 ] || fail "base extent not flagged shared: $want"
assert_eq "$(wc -l <<<"$want")" 2 "base is one extent"
for i in $(seq 1 $N); do
	assert_eq "$(extents "c.$i")" "$want" "fiemap of c.$i"
done
assert_eq "$(ctr master_entries)" $PAGES "master entries with $N readers of $PAGES pages"
assert_eq "$(ctr shadows)" $((N * PAGES)) "shadows with $N readers of $PAGES pages"
note "master_bytes $(ctr master_bytes)"

# Reopen holders read-write, still sharing (read faults only).
for i in $(seq 1 $N); do
	quit_holder "$i"
done
assert_eq "$(ctr shadows)" $((N * PAGES)) "shadows stay after munmap (until invalidation)"
for i in $(seq 1 $N); do
	holder "$i" "c.$i" rw
	assert_eq "$(send "$i" touch)" "touched $PAGES" "holder $i touch (rw)"
done
assert_eq "$(ctr master_entries)" $PAGES "master entries with $N rw readers"
assert_eq "$(ctr shadows)" $((N * PAGES)) "shadows with $N rw readers"

orig=$(phys base 10)
declare -A seen=([$orig]=base)
for i in $(seq 1 $N); do
	cf=$(ctr cow_faults) sh=$(ctr shadows)
	assert_eq "$(send "$i" store $((10 * 4096)) 4096 $((100 + i)))" stored "holder $i store"
	assert_eq "$(send "$i" msync)" synced "holder $i msync"
	assert_eq "$(ctr cow_faults)" $((cf + 1)) "cow_faults after store by $i"
	assert_eq "$(ctr shadows)" $((sh - 1)) "shadows after store by $i"
	p=$(phys "c.$i" 10)
	[ -z "${seen[$p]:-}" ] || fail "c.$i page 10 after its store is at $p, the address of ${seen[$p]}"
	seen[$p]=c.$i
	assert_eq "$(phys "c.$i" 9)" "$(phys base 9)" "c.$i page 9 address after its store to page 10"
	for j in $(seq 1 $N); do
		if [ "$j" -le "$i" ]; then
			assert_eq "$(send "$j" check $((10 * 4096)) 4096 $((100 + j)))" ok "mapping of c.$j after store by $i"
			"$PAT" check "c.$j" $((10 * 4096)) 4096 $((100 + j)) || fail "read of c.$j after store by $i"
		else
			assert_eq "$(phys "c.$j" 10)" "$orig" "c.$j page 10 address after store by $i"
			assert_eq "$(send "$j" check $((10 * 4096)) 4096 7)" ok "mapping of c.$j after store by $i"
			"$PAT" check "c.$j" $((10 * 4096)) 4096 7 || fail "read of c.$j after store by $i"
		fi
	done
	if [ "$i" -lt "$N" ]; then
		assert_eq "$(ctr master_entries)" $PAGES "master entries after store by $i"
	fi
done
# Nobody maps the original page 10 any more: its master entry is gone
# (master entries of blocks no longer shared retire in the background).
settle_masters() { # expected
	local _
	for _ in $(seq 50); do
		[ "$(ctr master_entries)" = "$1" ] && return 0
		sleep 0.1
	done
}
settle_masters $((PAGES - 1))
assert_eq "$(ctr master_entries)" $((PAGES - 1)) "master entries after all $N stored"
assert_eq "$(ctr shadows)" $((N * (PAGES - 1))) "shadows after all $N stored"
assert_eq "$(phys base 10)" "$orig" "base page 10 address"
"$PAT" check base 0 $((PAGES * 4096)) 7 || fail "base changed"
assert_eq "$(ctr shared_blocks)" $((PAGES - 1)) "shared_blocks after all $N stored"
for i in $(seq 1 $N); do
	"$PAT" check "c.$i" 0 $((10 * 4096)) 7 || fail "c.$i before page 10"
	"$PAT" check "c.$i" $((11 * 4096)) $(((PAGES - 11) * 4096)) 7 || fail "c.$i after page 10"
	quit_holder "$i"
done
drop_inodes
assert_eq "$(ctr master_entries)" 0 "master entries after dropping the inodes"
assert_eq "$(ctr shadows)" 0 "shadows after dropping the inodes"

# Last owner: z shares with y, z is mapped and read, y is deleted: the
# blocks are no longer shared, so their master entries and z's shadows go
# (z stays in the owner map) and the store into z needs no copy: same
# address, no cow fault.
"$PAT" write y 0 8192 9 || fail "write y"
sb=$(ctr shared_blocks)
xfs_io -f -c "reflink $MNT/y" z >/dev/null || fail "reflink y -> z"
assert_eq "$(ctr shared_blocks)" $((sb + 2)) "shared_blocks after cloning y"
holder 20 z rw
send 20 touch >/dev/null
assert_eq "$(ctr shadows)" 2 "shadows of z"
pz=$(phys z 1)
rm y
drop_inodes
assert_eq "$(ctr shared_blocks)" "$sb" "shared_blocks after deleting y"
settle_masters 0
assert_eq "$(ctr master_entries)" 0 "master entries once y is gone"
assert_eq "$(ctr shadows)" 0 "shadows of z once its blocks are private"
cf=$(ctr cow_faults)
send 20 store 4096 4096 44 >/dev/null
send 20 msync >/dev/null
assert_eq "$(ctr cow_faults)" "$cf" "cow_faults for a store by the last owner"
assert_eq "$(phys z 1)" "$pz" "z page 1 address after a store by the last owner"
assert_eq "$(ctr shadows)" 0 "shadows of z after its store"
quit_holder 20
"$PAT" check z 0 4096 9 || fail "z page 0"
"$PAT" check z 4096 4096 44 || fail "z page 1"
drop_inodes
assert_eq "$(ctr master_entries)" 0 "master entries at the end"
