#!/usr/bin/env bash
# refdax-test: refdax-only
# Memory failure reaches refdax, which finds every owner of the bad page
# from its own reverse maps: both files mapping a reflinked block (master
# entry shadows) and the one file mapping a private block (owner map).
# Every mapping process gets SIGBUS (BUS_MCEERR_AR), read() of the bad block
# fails with EIO while its neighbour still reads, and nothing else breaks.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
MT=$(prog mtouch)
SYS=/sys/fs/refdax/$(basename "$DEV")
hwpoison_setup

# Map each file in an mtouch process (it reports "ready"), inject poison at
# PFN, let every process touch its page again: each must die of SIGBUS with
# BUS_MCEERR_AR (si_code 4, exit 135).
WK=$(mktemp -d)
inject_and_check() { # pfn files...
	local pfn=$1 f i=0 rc _
	shift
	local -a pids=() ctl=()
	for f in "$@"; do
		mkfifo "$WK/ctl.$i"
		"$MT" "$f" <"$WK/ctl.$i" >"$WK/mt.$i" 2>&1 &
		pids[i]=$!
		exec {w}>"$WK/ctl.$i"
		ctl[i]=$w
		for _ in $(seq 100); do
			grep -q ready "$WK/mt.$i" && break
			sleep 0.1
		done
		grep -q ready "$WK/mt.$i" || fail "mtouch $f did not map: $(cat "$WK/mt.$i")"
		i=$((i + 1))
	done
	printf '%#x\n' "$pfn" >"$INJ" || fail "injecting poison at pfn $pfn"
	for i in "${!pids[@]}"; do
		echo go >&"${ctl[i]}"
		exec {ctl[i]}>&-
		rc=0
		wait "${pids[i]}" || rc=$?
		assert_eq "$rc" 135 "exit status of owner $i ($(cat "$WK/mt.$i"))"
		grep -q "sigbus code 4" "$WK/mt.$i" || fail "owner $i: no BUS_MCEERR_AR"
		rm -f "$WK/ctl.$i" "$WK/mt.$i"
	done
}

cd "$MNT"
xfs_io -f -c "pwrite -q -S 0x11 0 64k" a >/dev/null
cp --reflink=always a b
xfs_io -f -c "pwrite -q -S 0x22 0 64k" c >/dev/null
fails0=$(cat "$SYS/memory_failures")

inject_and_check "$(pfn_of a)" a b
assert_eq "$(cat "$SYS/memory_failures")" $((fails0 + 1)) "memory_failures after shared poison"
expect_err "Input/output error" dd if=a of=/dev/null bs=4k count=1
expect_err "Input/output error" dd if=b of=/dev/null bs=4k count=1
dd if=a of=/dev/null bs=4k count=1 skip=1 2>/dev/null || fail "neighbour block unreadable"

inject_and_check "$(pfn_of c)" c
assert_eq "$(cat "$SYS/memory_failures")" $((fails0 + 2)) "memory_failures after private poison"
expect_err "Input/output error" dd if=c of=/dev/null bs=4k count=1
dmesg | grep -q "refdax (.*): memory failure in block .* (2 refs, 2 mapped owners)" ||
	fail "no owner report for the shared block in dmesg"
