#!/usr/bin/env bash
# refdax-test: refdax-only
# A clone is a point-in-time copy even of a file being written through a
# live MAP_SHARED mapping: a process (tests/prog/maphold.c) stores pattern X
# into A and keeps its writable mapping; A is cloned to B (FICLONE,
# FICLONERANGE of a part, copy_file_range); the process then stores Y
# through the same mapping, without remapping.  B must hold X, A must hold
# Y, both through read(2), through the mapping, and after remount.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
RO=$(prog reflink_ops)

expect() { # I COMMAND... (reply must be "stored", "ok", "synced")
	local r
	r=$(send "$@")
	case "$r" in
	stored | ok | synced) ;;
	*) fail "holder $1: '${*:2}' replied '$r'" ;;
	esac
}

SZ=$((256 * 4096))	# 1 MiB
X=11
Y=22
cd "$MNT"

# 1. FICLONE of the whole file while the writer keeps its mapping; with and
#    without msync of X before the clone (the page is the same memory).
for sync_first in yes no; do
	a=a.$sync_first b=b.$sync_first
	xfs_io -f -c "truncate $SZ" "$a" >/dev/null
	holder 1 "$a" rw
	expect 1 store 0 "$SZ" "$X"
	[ "$sync_first" = no ] || expect 1 msync
	out=$("$RO" clone "$a" r "$b" rwc) || fail "FICLONE $a -> $b: $out"
	expect 1 store 0 "$SZ" "$Y"
	expect 1 msync
	"$PAT" check "$b" 0 "$SZ" "$X" || fail "clone $b does not hold X (msync before clone: $sync_first)"
	"$PAT" check "$a" 0 "$SZ" "$Y" || fail "$a does not hold Y"
	expect 1 check 0 "$SZ" "$Y"
	[ "$(phys "$a" 0)" != "$(phys "$b" 0)" ] || fail "$a block 0 still shared with $b after the store"
	quit_holder 1
done

# 2. A second process maps the clone while the writer goes on: it keeps
#    seeing X; its own store does not reach A.
xfs_io -f -c "truncate $SZ" a2 >/dev/null
holder 2 a2 rw
expect 2 store 0 "$SZ" "$X"
out=$("$RO" clone a2 r b2 rwc) || fail "FICLONE a2 -> b2: $out"
holder 3 b2 rw
send 3 touch >/dev/null
expect 2 store 4096 8192 "$Y"		# pages 1-2 of A only
expect 3 check 0 "$SZ" "$X"
expect 3 store $((100 * 4096)) 4096 33	# page 100 of B only
expect 2 check $((100 * 4096)) 4096 "$X"
expect 2 check 4096 8192 "$Y"
expect 2 msync
expect 3 msync
"$PAT" check b2 0 $((100 * 4096)) "$X" || fail "b2 before page 100"
"$PAT" check b2 $((100 * 4096)) 4096 33 || fail "b2 page 100"
"$PAT" check b2 $((101 * 4096)) $((SZ - 101 * 4096)) "$X" || fail "b2 after page 100"
"$PAT" check a2 0 4096 "$X" || fail "a2 page 0"
"$PAT" check a2 4096 8192 "$Y" || fail "a2 pages 1-2"
"$PAT" check a2 $((3 * 4096)) $((SZ - 3 * 4096)) "$X" || fail "a2 after page 2"
quit_holder 2
quit_holder 3

# 3. FICLONERANGE of part of a mapped file into the middle of another, and
#    copy_file_range (which may share blocks), each followed by a store.
"$PAT" write "$T_OUT/x" 0 "$SZ" "$X" || fail "write reference"
# range_eq F1 OFF1 F2 OFF2 LEN: byte ranges equal
range_eq() { cmp -s -n "$5" -i "$2:$4" "$1" "$3"; }
xfs_io -f -c "truncate $SZ" a3 >/dev/null
"$PAT" write b3 0 "$SZ" 5 || fail "write b3"
holder 4 a3 rw
expect 4 store 0 "$SZ" "$X"
out=$("$RO" range a3 r b3 rw $((16 * 4096)) $((32 * 4096)) $((8 * 4096))) ||
	fail "FICLONERANGE a3 -> b3: $out"
out=$("$RO" copy a3 r c3 rwc $((64 * 4096)) 0 $((8 * 4096))) || fail "copy_file_range a3 -> c3: $out"
assert_eq "$out" "OK $((8 * 4096))" "copy_file_range a3 -> c3"
expect 4 store 0 "$SZ" "$Y"
expect 4 msync
"$PAT" check a3 0 "$SZ" "$Y" || fail "a3 after the second store"
"$PAT" check b3 0 $((32 * 4096)) 5 || fail "b3 before the cloned range"
range_eq "$T_OUT/x" $((16 * 4096)) b3 $((32 * 4096)) $((8 * 4096)) || fail "b3 cloned range"
"$PAT" check b3 $((40 * 4096)) $((SZ - 40 * 4096)) 5 || fail "b3 after the cloned range"
# c3 holds what a3 held at 64 pages.
range_eq "$T_OUT/x" $((64 * 4096)) c3 0 $((8 * 4096)) ||
	fail "copy_file_range result c3 changed by the later store"
quit_holder 4

remount
cd "$MNT"
"$PAT" check b.yes 0 "$SZ" "$X" || fail "b.yes after remount"
"$PAT" check b.no 0 "$SZ" "$X" || fail "b.no after remount"
"$PAT" check a.no 0 "$SZ" "$Y" || fail "a.no after remount"
range_eq "$T_OUT/x" $((16 * 4096)) b3 $((32 * 4096)) $((8 * 4096)) || fail "b3 cloned range after remount"
"$PAT" check a3 0 "$SZ" "$Y" || fail "a3 after remount"
