#!/usr/bin/env bash
# refdax-test: timeout=600
# fio with verification: mmap and psync engines, random and sequential
# writes, crc32c verify, 2 MiB blocks on mmap (PMDs on refdax); any verify
# error or non-zero exit fails.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need fio
cd "$MNT"
run_fio() { # name args...
	local name=$1 rc=0
	shift
	fio --name="$name" --directory="$MNT" --size=64M --bs=4k --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --output-format=terse --terse-version=3 \
		"$@" >"$T_OUT/$name.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || grep -qi "verify.*\(bad\|fail\)\|crc32c: verify" "$T_OUT/$name.out"; then
		tail -n 20 "$T_OUT/$name.out"
		fail "fio $name exited $rc"
	fi
	note "fio $name ok"
}
run_fio mmap-randwrite --ioengine=mmap --rw=randwrite
run_fio mmap-write --ioengine=mmap --rw=write --bs=64k
# 2 MiB blocks through the mmap engine: on refdax these map with PMDs
# where it maps PMDs at all (not on 7.x).
pmd=0
[ "$FSTYPE" = refdax ] && pmd_mappings && pmd=1 && p0=$(ctr pmd_faults)
run_fio mmap-2m --ioengine=mmap --rw=randwrite --bs=2m --fallocate=native
[ "$pmd" = 1 ] && assert_ge $(($(ctr pmd_faults) - p0)) 1 "PMD faults of fio --bs=2m"
run_fio psync-randwrite --ioengine=psync --rw=randwrite
run_fio psync-rw --ioengine=psync --rw=randrw --numjobs=2 --size=32M
run_fio psync-direct --ioengine=psync --rw=randwrite --direct=1 --bs=8k
# A separate read-back pass of a file written earlier.
run_fio psync-write-later --ioengine=psync --rw=write --bs=128k --do_verify=0 --verify_state_save=0
rc=0
fio --name=psync-write-later --directory="$MNT" --size=64M --bs=128k --ioengine=psync \
	--rw=read --verify=crc32c --verify_only=1 --verify_fatal=1 >"$T_OUT/verify-only.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 "$T_OUT/verify-only.out"; fail "fio verify_only pass exited $rc"; }
