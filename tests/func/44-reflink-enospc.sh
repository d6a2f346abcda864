#!/usr/bin/env bash
# refdax-test: refdax-only timeout=600
# Copy-on-write with no free block: a cloned pair shares its blocks and a
# filler takes every free block.  A store into a shared page of a mapped
# clone must raise SIGBUS (both from a read-only pte of a touched page and
# from a first fault), write(2), a tail-zeroing truncate and a partial punch
# of a shared block must fail with ENOSPC; nothing may change in either
# file.  Once some space is freed, the same stores work.  Last, with two
# free blocks, one write(2) over four shared blocks fails with ENOSPC and
# must change nothing.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MH=$(prog maphold)
PAT=$(prog pattern)
S=$(rdx_sysfs)
[ -d "$S" ] || fail "no $S"
sums() { sha256sum a b | awk '{ printf "%s ", $1 }'; stat -c '%s ' a b | tr -d '\n'; }

W=$(mktemp -d)	# FIFOs and holder output (not on the 9p share)
SZ=$((8 << 20))
cd "$MNT"
"$PAT" write a 0 "$SZ" 3 || fail "write a"
xfs_io -f -c "reflink $MNT/a" b >/dev/null || fail "reflink a -> b"
assert_eq "$(ctr shared_blocks)" $((SZ / 4096)) "shared_blocks of the pair"
# Take every free block: one big preallocation, then single blocks.
free=$(ctr free_blocks)
note "free blocks before filling: $free"
fallocate -l $(((free - 256) * 4096)) fill || fail "fallocate filler"
dd if=/dev/zero of=fill2 bs=4096 2>/dev/null && fail "filler never hit ENOSPC"
sync
assert_eq "$(ctr free_blocks)" 0 "free blocks after filling"
note "filled; df: $(df -Pk "$MNT" | tail -n 1)"
before=$(sums)
cc=$(ctr cow_copies)

# Mapped store into a shared page: SIGBUS, via the write-protect fault
# (page touched first) and via a first write fault.
for touch in yes no; do
	mkfifo "$W/in.$touch"
	"$MH" b rw <"$W/in.$touch" >"$W/out.$touch" 2>&1 &
	pid=$!
	cmds=(touch "store $((3 * 4096)) 4096 77" msync quit)
	[ "$touch" = yes ] || cmds=("${cmds[@]:1}")
	# One write; the reader may die before it reads all of it.
	(trap '' PIPE; printf '%s\n' "${cmds[@]}") >"$W/in.$touch" || true
	rc=0
	wait "$pid" || rc=$?
	note "store (touch first: $touch): exit $rc, output: $(tr '\n' ' ' <"$W/out.$touch")"
	assert_eq "$rc" $((128 + 7)) "wait status of a store into a shared page with no free block (touch: $touch; 135 = SIGBUS)"
	grep -q stored "$W/out.$touch" && fail "store completed without a free block"
	assert_eq "$(sums)" "$before" "files after the failed store (touch: $touch)"
done
# (cow_faults counts attempts, failed ones too; cow_copies only copies.)
assert_eq "$(ctr cow_copies)" "$cc" "cow_copies after failed copies"

# write(2) into a shared block, and one spanning two shared blocks.
expect_err "No space left" xfs_io -c "pwrite -S 0x55 4096 4096" b
expect_err "No space left" xfs_io -c "pwrite -b 8192 -S 0x55 100 8000" b
expect_err "No space left" xfs_io -c "pwrite -b 8192 -S 0x55 100 8000" a
assert_eq "$(sums)" "$before" "files after failed writes"
# Zeroing part of a shared block needs a copy too.
expect_err "No space left" truncate -s $((SZ - 100)) b
expect_err "No space left" xfs_io -c "fpunch 1000 2000" b
assert_eq "$(sums)" "$before" "files after failed truncate/punch"

# Space again (the single-block filler freed): the same store and write
# work and touch only b.
rm fill2
sync
mkfifo "$W/in.ok"
"$MH" b rw <"$W/in.ok" >"$W/out.ok" 2>&1 &
pid=$!
printf '%s\n' touch "store $((3 * 4096)) 4096 77" msync quit >"$W/in.ok"
wait "$pid" || fail "store with free space: exit $?, $(cat "$W/out.ok")"
xfs_io -c "pwrite -q -S 0x55 $((40 * 4096)) 4096" b >/dev/null || fail "write with free space"
"$PAT" check a 0 "$SZ" 3 || fail "a changed"
"$PAT" check b 0 $((3 * 4096)) 3 || fail "b before page 3"
"$PAT" check b $((3 * 4096)) 4096 77 || fail "b page 3"
"$PAT" check b $((4 * 4096)) $((36 * 4096)) 3 || fail "b pages 4-39"
cmp <(head -c 4096 /dev/zero | tr '\0' '\125') <(tail -c +$((40 * 4096 + 1)) b | head -c 4096) ||
	fail "b page 40"
"$PAT" check b $((41 * 4096)) $((SZ - 41 * 4096)) 3 || fail "b after page 40"

# Two free blocks: one write(2) over four shared blocks (pages 20-23) fails
# with ENOSPC as a whole and must leave them as they were.
n=$(($(ctr free_blocks) - 16))
xfs_io -f -c "pwrite -q -S 0xf2 0 $((n * 4096))" fill3 >/dev/null || fail "refill"
while [ "$(ctr free_blocks)" -gt 2 ]; do
	xfs_io -f -c "pwrite -q -S 0xf2 $((n * 4096)) 4096" fill3 >/dev/null ||
		fail "refill to two free blocks"
	n=$((n + 1))
done
assert_eq "$(ctr free_blocks)" 2 "free blocks before the 4-block write"
# (-b: one write(2) call for the whole range.)
expect_err "No space left" xfs_io -c "pwrite -b $((4 * 4096)) -S 0x66 $((20 * 4096)) $((4 * 4096))" b
"$PAT" check a 0 "$SZ" 3 || fail "a changed by a failed 4-block write"
"$PAT" check b $((20 * 4096)) $((4 * 4096)) 3 ||
	fail "b pages 20-23 changed by a write(2) that failed with ENOSPC"
