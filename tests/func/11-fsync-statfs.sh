#!/usr/bin/env bash
# fsync/fdatasync/syncfs succeed on files and directories; statfs (df)
# numbers are consistent and move with allocation.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"

echo data >f
xfs_io -c fsync -c fdatasync -c "pwrite -q 0 4096" -c fsync f || fail "fsync/fdatasync on a file"
xfs_io -r -c fsync . || fail "fsync on a directory"
sync -f . || fail "syncfs"
sync f || fail "coreutils sync FILE"
dd if=/dev/zero of=g bs=4k count=256 oflag=sync status=none || fail "O_SYNC writes"
dd if=/dev/zero of=h bs=4k count=256 oflag=dsync status=none || fail "O_DSYNC writes"
assert_eq "$(fsize g)" 1048576 "O_SYNC file size"

read -r bsize blocks bfree bavail files ffree < <(stat -f -c '%S %b %f %a %c %d' .)
note "statfs: bsize=$bsize blocks=$blocks free=$bfree avail=$bavail files=$files ffree=$ffree"
[ "$bsize" -ge 512 ] || fail "block size $bsize"
total_mb=$((blocks * bsize / 1024 / 1024))
# The device is 1 GiB; metadata overhead must be sane.
assert_le "$total_mb" 1024 "filesystem size MiB"
assert_ge "$total_mb" 800 "filesystem size MiB"
[ "$bfree" -le "$blocks" ] && [ "$bavail" -le "$bfree" ] || fail "free/avail/blocks inconsistent"
[ "$ffree" -le "$files" ] || fail "free inodes > inodes"

sync
f0=$(stat -f -c %f .)
i0=$(stat -f -c %d .)
head -c $((32 * 1024 * 1024)) /dev/zero >big
sync
f1=$(stat -f -c %f .)
i1=$(stat -f -c %d .)
used=$(( (f0 - f1) * bsize / 1024 ))
assert_ge "$used" $((32 * 1024)) "KiB consumed by a 32 MiB file"
assert_le "$used" $((33 * 1024 + 512)) "KiB consumed by a 32 MiB file"
[ "$i1" -lt "$i0" ] || [ "$files" -eq 0 ] || fail "free inodes did not drop ($i0 -> $i1)"
rm big
sync
f2=$(stat -f -c %f .)
assert_ge "$f2" $((f0 - 64)) "free blocks after removing the file"

# df agrees with statfs.
df -P "$MNT" | awk 'NR == 2 && $2 > 0 { ok = 1 } END { exit !ok }' || fail "df output"

# Fill the filesystem: ENOSPC, then everything works again after rm.
rc=0
dd if=/dev/zero of=fill bs=1M status=none 2>/tmp/dd.err || rc=$?
[ "$rc" -ne 0 ] && grep -qi "no space" /tmp/dd.err || fail "filling the device did not give ENOSPC"
assert_le "$(stat -f -c %a .)" $((4 * 1024 * 1024 / bsize)) "available blocks when full"
rm fill
sync
echo after >after
assert_eq "$(cat after)" after "write after ENOSPC and rm"
assert_ge "$(stat -f -c %f .)" $((f0 - 64)) "free blocks after filling and emptying"
rm -f /tmp/dd.err
