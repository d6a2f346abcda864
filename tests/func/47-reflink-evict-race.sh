#!/usr/bin/env bash
# Many clones of one file, every page read through a mapping (one master
# entry per block, one shadow per file and page), then all removed: the
# evictions race the worker that retires master entries once a block is no
# longer shared.  Repeated; counters must return to zero and nothing may
# oops (a use-after-free here once freed a shadow twice).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
SYS=/sys/fs/refdax/$(basename "$DEV")
cd "$MNT"
xfs_io -f -c "pwrite -q -S 0x5a 0 2M" base >/dev/null
for round in 1 2 3; do
	n=$((round % 2 ? 32 : 8))
	for i in $(seq "$n"); do
		cp --reflink=always base "c$i"
	done
	for i in $(seq "$n"); do
		xfs_io -r -c "mmap -r 0 2M" -c "mread 0 2M" "c$i" >/dev/null &
	done
	wait
	assert_ge "$(cat "$SYS/master_entries")" 1 "master entries after mapping $n clones"
	rm -f c*
	for _ in $(seq 50); do
		[ "$(cat "$SYS/master_entries")" = 0 ] && break
		sleep 0.1
	done
	assert_eq "$(cat "$SYS/master_entries")" 0 "master entries after rm (round $round)"
	assert_eq "$(cat "$SYS/shadows")" 0 "shadows after rm (round $round)"
done
[ "$(od -An -tx1 -v base | tr -s " \n" "\n" | sort -u | grep -c .)" = 1 ] || fail "base no longer holds only its pattern"
