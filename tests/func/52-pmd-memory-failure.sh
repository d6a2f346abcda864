#!/usr/bin/env bash
# refdax-test: refdax-only
# Memory failure in a block inside PMD-mapped extents.  Two files share an
# 8 MiB extent and a third has one of its own, each mapped with PMDs by a
# process that holds its mapping (tests/prog/pmdmap hold).  Poison in one
# block inside the shared extent must signal exactly the two processes
# mapping it (SIGBUS, BUS_MCEERR_AR) and not the third; poison in the
# private extent, found through its chunk's owner entry, signals its one
# owner.  Afterwards the bad block reads EIO, its neighbours still read,
# and a new mapping of the shared file maps the chunks without poison with
# PMDs again while the poisoned chunk falls back to 4 KiB pages.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
PM=$(prog pmdmap)
pmd_mappings || skip "refdax maps no PMDs on $(uname -r) (50-memory-failure covers 4 KiB pages)"
hwpoison_setup

WK=$(mktemp -d)
declare -a PIDS=() CTL=()
# hold I FILE OFF: a pmdmap process mapping FILE with PMDs, waiting.
hold() {
	local i=$1 w _
	mkfifo "$WK/ctl.$i"
	"$PM" hold "$2" "$3" <"$WK/ctl.$i" >"$WK/out.$i" 2>&1 &
	PIDS[i]=$!
	exec {w}>"$WK/ctl.$i"
	CTL[i]=$w
	for _ in $(seq 300); do
		grep -q ready "$WK/out.$i" && return 0
		sleep 0.1
	done
	fail "holder $i did not map $2: $(cat "$WK/out.$i")"
}
# release I WANT_RC: let holder I read its page again; check how it ended.
release() {
	local i=$1 rc=0 fd=${CTL[$1]}
	echo go >&"$fd"
	exec {fd}>&-
	wait "${PIDS[i]}" || rc=$?
	assert_eq "$rc" "$2" "exit status of holder $i ($(cat "$WK/out.$i"))"
	if [ "$2" = 135 ]; then
		grep -q "sigbus code 4" "$WK/out.$i" || fail "holder $i: no BUS_MCEERR_AR"
	fi
}

cd "$MNT"
for f in a c; do
	xfs_io -f -c "falloc 0 8m" $f || fail "falloc $f"
	"$PAT" write $f 0 $((8 << 20)) 9 || fail "write $f"
done
cp --reflink=always a b || fail "reflink a -> b"
drop_inodes
# Block 700 (in the second chunk) of the shared extent, block 1300 (third
# chunk) of the private one.
off=$((700 * 4096 + 100))
p0=$(ctr pmd_faults)
hold 0 a $off
hold 1 b $off
hold 2 c $off
assert_eq $(($(ctr pmd_faults) - p0)) 12 "PMD faults of three 8 MiB mappings"
fails0=$(ctr memory_failures)
printf '%#x\n' "$(pfn_of a 700)" >"$INJ" || fail "injecting poison in a shared block"
assert_eq "$(ctr memory_failures)" $((fails0 + 1)) "memory_failures after shared poison"
release 0 135
release 1 135
release 2 0
dmesg | grep -q "refdax (.*): memory failure in block .* (2 refs, 2 mapped owners)" ||
	fail "no report of both PMD owners of the shared block in dmesg"
grep -q "^ok" "$WK/out.2" || fail "the private file's holder did not read on"

hold 3 c $((1300 * 4096))
printf '%#x\n' "$(pfn_of c 1300)" >"$INJ" || fail "injecting poison in a private block"
release 3 135
dmesg | grep -q "refdax (.*): memory failure in block .* (1 refs, 1 mapped owners)" ||
	fail "no owner report for the private PMD-mapped block in dmesg"

expect_err "Input/output error" dd if=b of=/dev/null bs=4k count=1 skip=700
expect_err "Input/output error" dd if=c of=/dev/null bs=4k count=1 skip=1300
dd if=b of=/dev/null bs=4k count=1 skip=701 2>/dev/null || fail "neighbour block unreadable"
"$PAT" check b $((1024 * 4096)) $((1024 * 4096)) 9 || fail "b's chunks after the bad one"

# A new mapping: chunks 0, 2, 3 of b map as PMDs, chunk 1 (bad) does not.
p0=$(ctr pmd_faults)
out=$("$PM" read b 2>&1) && fail "reading all of b through a mapping passed the bad page: $out"
grep -q "sigbus code 4" <<<"$out" || fail "mapping b: no BUS_MCEERR_AR at the bad page ($out)"
assert_eq $(($(ctr pmd_faults) - p0)) 1 "PMD faults before the bad chunk"
