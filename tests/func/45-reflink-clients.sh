#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# Real reflink clients against refdax: cp --reflink=always/auto (also of a
# sparse file), xfs_io reflink/dedupe/fiemap, filefrag -v (shared flag,
# split after a copy-on-write), and duperemove -d -r over a directory of
# duplicate files when duperemove is installed.  Data must be unchanged and
# the blocks shared afterwards (fiemap addresses equal).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need filefrag
PAT=$(prog pattern)
S=$(rdx_sysfs)
[ -d "$S" ] || fail "no $S"
# Extent list of a file from xfs_io: "LOGICAL PHYSICAL LENGTH FLAGS" lines,
# 512-byte units, holes included.
extents() {
	xfs_io -r -c "fiemap -v" "$1" |
		awk '$1 ~ /^[0-9]+:$/ { gsub(/\[|\]|:/, "", $2); print $2, $3, $4, $5 }'
}
phys_list() { extents "$1" | awk '$2 != "hole" { print $1, $2 }'; }
# filefrag -v extent lines: "LOGICAL PHYSICAL LENGTH FLAGS" (4 KiB units).
ff() {
	filefrag -v "$1" | awk -F: '$1 ~ /^ *[0-9]+$/ {
		gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4)
		print $2, $3, $4, $NF }'
}
MiB=$((1 << 20))
cd "$MNT"

# ---- cp --reflink ------------------------------------------------------------------
"$PAT" write orig 0 $((4 * MiB)) 21 || fail "write orig"
sum=$(sha256sum <orig)
cp --reflink=always orig c.always || fail "cp --reflink=always"
cp --reflink=auto orig c.auto || fail "cp --reflink=auto"
for f in c.always c.auto; do
	assert_eq "$(sha256sum <"$f")" "$sum" "content of $f"
	assert_eq "$(phys_list "$f")" "$(phys_list orig)" "fiemap addresses of $f vs orig"
	while read -r _ p _ fl; do
		[ "$p" = hole ] || [ $((fl & 0x2000)) -ne 0 ] ||
			fail "$f: extent without the shared flag: $(extents "$f")"
	done < <(extents "$f")
done
assert_eq "$(ctr shared_blocks)" $((4 * MiB / 4096)) "shared_blocks after two cp --reflink"

# A sparse file keeps its holes.
xfs_io -f -c "pwrite -q -S 0x31 0 64k" -c "pwrite -q -S 0x32 1m 64k" -c "truncate 2m" sparse >/dev/null
cp --reflink=always sparse sparse.c || fail "cp --reflink=always of a sparse file"
cmp sparse sparse.c || fail "sparse copy content"
assert_eq "$(extents sparse.c)" "$(extents sparse)" "fiemap of a reflinked sparse file"
assert_eq "$(stat -c %b sparse.c)" "$(stat -c %b sparse)" "allocated blocks of the sparse copy"

# ---- filefrag -------------------------------------------------------------------------
lines=$(ff c.always)
note "filefrag c.always: $(tr '\n' ';' <<<"$lines")"
[ -n "$lines" ] || fail "filefrag -v printed no extent for c.always"
grep -vq shared <<<"$lines" && fail "filefrag: extent of c.always not shared: $lines"
# Same physical extents as the original, per filefrag as well.
assert_eq "$(ff c.always | awk '{ print $1, $2 }')" "$(ff orig | awk '{ print $1, $2 }')" "filefrag extents of c.always vs orig"
# A write in the middle splits the clone: that block private, the rest shared.
xfs_io -c "pwrite -q -S 0x77 $((100 * 4096)) 4096" c.always >/dev/null || fail "write into c.always"
lines=$(ff c.always)
note "after the write: $(tr '\n' ';' <<<"$lines")"
awk '$1 ~ /^100\.\.100$/ && $4 !~ /shared/ { ok = 1 } END { exit !ok }' <<<"$lines" ||
	fail "filefrag: block 100 of c.always not a private one-block extent: $lines"
awk '$1 ~ /^0\.\./ && $4 ~ /shared/ { ok = 1 } END { exit !ok }' <<<"$lines" ||
	fail "filefrag: block 0 of c.always no longer shared: $lines"
assert_eq "$(sha256sum <orig)" "$sum" "orig after writing into its clone"
assert_eq "$(sha256sum <c.auto)" "$sum" "c.auto after writing into c.always"

# ---- xfs_io reflink, dedupe, fiemap ------------------------------------------------
"$PAT" write x1 0 $MiB 22 || fail "write x1"
xfs_io -f -c "reflink $MNT/x1 0 $MiB $MiB" -c "reflink $MNT/x1 0 0 $MiB" x2 >/dev/null ||
	fail "xfs_io reflink twice"
assert_eq "$(fsize x2)" $((2 * MiB)) "size of x2"
assert_eq "$(extents x2 | wc -l)" 2 "x2: two extents"
a=$(extents x2 | awk 'NR == 1 { print $2 }') b=$(extents x2 | awk 'NR == 2 { print $2 }')
assert_eq "$a" "$b" "both halves of x2 map x1's blocks"
"$PAT" write y1 0 $MiB 23 || fail "write y1"
"$PAT" write y2 0 $MiB 23 || fail "write y2"
[ "$(phys_list y1)" != "$(phys_list y2)" ] || fail "separately written files share blocks"
out=$(xfs_io -c "dedupe $MNT/y1 0 0 $MiB" y2) || fail "xfs_io dedupe: $out"
note "xfs_io dedupe: $out"
assert_eq "$(phys_list y2)" "$(phys_list y1)" "fiemap addresses after xfs_io dedupe"
"$PAT" check y1 0 $MiB 23 || fail "y1 after dedupe"
"$PAT" check y2 0 $MiB 23 || fail "y2 after dedupe"
free0=$(ctr free_blocks)
rm y1
assert_eq "$(ctr free_blocks)" "$free0" "free blocks after deleting one of a deduped pair"
"$PAT" check y2 0 $MiB 23 || fail "y2 after deleting y1"

# ---- fiemap of a whole file agrees with fiemap of each block -------------------
# c.always is now three extents (shared, private block 100, shared) and x2
# two.  Asking for the whole file must report the same physical address and
# flags for every block as asking for that block alone, and the last extent
# must carry FIEMAP_EXTENT_LAST.
one_block() { # FILE BLOCK -> "PHYS FLAGS" from a one-block fiemap
	xfs_io -r -c "fiemap -v $(($2 * 4096)) 4096" "$1" |
		awk '$1 ~ /^[0-9]+:$/ { split($3, a, /\.\./); print a[1], $5; exit }'
}
whole_file() { # FILE BLOCK -> "PHYS FLAGS" of BLOCK from a whole-file fiemap
	extents "$1" | awk -v b=$(($2 * 8)) '{
		split($1, l, /\.\./); split($2, p, /\.\./)
		if (b >= l[1] + 0 && b <= l[2] + 0) { printf "%.0f %s\n", p[1] + b - l[1], $4; exit }
	}'
}
for fb in "c.always 0" "c.always 99" "c.always 100" "c.always 101" "x2 0" "x2 255" "x2 256"; do
	read -r f b <<<"$fb"
	one=$(one_block "$f" "$b") whole=$(whole_file "$f" "$b")
	assert_eq "${whole%% *}" "${one%% *}" "$f block $b: physical address (512-byte units) in a whole-file fiemap vs a one-block fiemap"
	assert_eq "$((${whole##* } & 0x2000))" "$((${one##* } & 0x2000))" "$f block $b: shared flag in a whole-file fiemap vs a one-block fiemap"
done
for f in c.always x2 orig; do
	fl=$(extents "$f" | tail -n 1 | awk '{ print $4 }')
	[ $((fl & 0x1)) -ne 0 ] || fail "$f: last extent not flagged FIEMAP_EXTENT_LAST: $(extents "$f" | tr '\n' ';')"
done

# ---- duperemove -------------------------------------------------------------------------
if ! command -v duperemove >/dev/null 2>&1; then
	note "duperemove not installed: that part skipped (add it to scripts/install-deps.sh)"
	exit 0
fi
mkdir dups
for i in 1 2 3; do
	"$PAT" write "dups/same.$i" 0 $((2 * MiB)) 24 || fail "write dups/same.$i"
done
"$PAT" write dups/half 0 $MiB 24 || fail "write dups/half"
"$PAT" write dups/half $MiB $MiB 25 || fail "write dups/half"
"$PAT" write dups/unique 0 $((2 * MiB)) 26 || fail "write dups/unique"
before=$(cd dups && sha256sum ./*)
uphys=$(phys_list dups/unique)
rc=0
duperemove -d -r "$MNT/dups" >"$T_OUT/duperemove.out" 2>&1 || rc=$?
# duperemove 0.11 (Debian 12) refuses, by statfs type, every filesystem
# but btrfs and XFS before it issues a single FIDEDUPERANGE; refdax's
# dedupe itself is covered above (xfs_io dedupe) and by 42-reflink-semantics.
if grep -q "Can only dedupe files on btrfs or xfs" "$T_OUT/duperemove.out"; then
	note "duperemove $(duperemove --version 2>&1 | head -n 1): refuses non-btrfs/xfs filesystems"
	assert_eq "$(cd dups && sha256sum ./*)" "$before" "content after duperemove's refusal"
	exit 0
fi
[ "$rc" -eq 0 ] || { tail -n 20 "$T_OUT/duperemove.out"; fail "duperemove -d -r failed"; }
assert_eq "$(cd dups && sha256sum ./*)" "$before" "content after duperemove"
p1=$(phys_list dups/same.1)
assert_eq "$(phys_list dups/same.2)" "$p1" "same.2 addresses after duperemove"
assert_eq "$(phys_list dups/same.3)" "$p1" "same.3 addresses after duperemove"
assert_eq "$(xfs_io -r -c "fiemap -v 0 $MiB" dups/half | awk '$1 ~ /^[0-9]+:$/ { print $3 }' | head -n 1 | cut -d. -f1)" \
	"$(xfs_io -r -c "fiemap -v 0 $MiB" dups/same.1 | awk '$1 ~ /^[0-9]+:$/ { print $3 }' | head -n 1 | cut -d. -f1)" \
	"first half of dups/half shared with same.1"
assert_eq "$(phys_list dups/unique)" "$uphys" "unique file addresses after duperemove"
