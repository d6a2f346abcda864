#!/usr/bin/env bash
# refdax-test: refdax-only timeout=900
# Bounded reflink stress: 4 processes (tests/prog/reflink_stress.c) mix
# clone, dedupe, copy_file_range, mmap stores and loads, write, read,
# truncate, punch and unlink on 8 common files for RDX_STRESS_SECS (60)
# seconds, each also checking a private file and its clone against a model.
# Only race-explained errors are allowed.  Then fio with the mmap engine
# and crc32c verification writes every block of a freshly cloned file (each
# store a copy-on-write fault); the clone's source must stay unchanged.  The
# runner's fsck and kernel-log check follow.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
ST=$(prog reflink_stress)
PAT=$(prog pattern)
S=$(rdx_sysfs)
[ -d "$S" ] || fail "no $S"
SECS=${RDX_STRESS_SECS:-60}
cd "$MNT"
mkdir s
seed=$(date +%s)
rc=0
"$ST" "$MNT/s" 4 "$SECS" "$seed" >"$T_OUT/stress.out" 2>&1 || rc=$?
cat "$T_OUT/stress.out"
[ "$rc" -eq 0 ] || fail "reflink_stress (seed $seed) exited $rc: $(grep -v '^reflink_stress\[' "$T_OUT/stress.out" | tail -n 1)"
assert_eq "$(grep -c ' unexpected, ' "$T_OUT/stress.out")" 4 "workers that reported"
note "after stress: cow_faults $(ctr cow_faults), cow_copies $(ctr cow_copies), master_entries $(ctr master_entries), shadows $(ctr shadows), shared_blocks $(ctr shared_blocks)"
# Every file still reads completely.
for f in s/*; do
	cat "$f" >/dev/null || fail "read back $f"
done
rm -rf s
sync
echo 2 >/proc/sys/vm/drop_caches
assert_eq "$(ctr master_entries)" 0 "master entries once all files are gone"
assert_eq "$(ctr shadows)" 0 "shadows once all files are gone"

# fio through MAP_SHARED on a fresh clone: every 4 KiB write is a CoW fault.
need fio
SZ=$((32 << 20))
"$PAT" write src 0 "$SZ" 31 || fail "write src"
xfs_io -f -c "reflink $MNT/src" fio.clone >/dev/null || fail "reflink src -> fio.clone"
cf0=$(ctr cow_faults)
rc=0
fio --name=cow --filename="$MNT/fio.clone" --size="$SZ" --bs=4k --ioengine=mmap \
	--rw=randwrite --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output-format=terse --terse-version=3 >"$T_OUT/fio.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || grep -qi "verify.*\(bad\|fail\)\|crc32c: verify" "$T_OUT/fio.out"; then
	tail -n 20 "$T_OUT/fio.out"
	fail "fio mmap verify on a cloned file exited $rc"
fi
cf=$(($(ctr cow_faults) - cf0))
note "fio: cow_faults +$cf"
assert_ge "$cf" $((SZ / 4096)) "cow_faults during fio on the clone"
"$PAT" check src 0 "$SZ" 31 || fail "clone source changed by fio on the clone"
assert_eq "$(ctr shared_blocks)" 0 "shared blocks after fio rewrote every block of the clone"
