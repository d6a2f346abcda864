#!/usr/bin/env bash
# Unlink of an open file: data stays readable (and writable) through the open
# descriptor; the space comes back only after the last close.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

sync
free0=$(free_kb)
"$PAT" write victim 0 $((64 * 1024 * 1024)) 31 || fail "write 64 MiB"
sync
free1=$(free_kb)
assert_ge $((free0 - free1)) $((60 * 1024)) "KiB used by a 64 MiB file"

exec 3<>victim
rm victim
[ ! -e victim ] || fail "name still exists after unlink"
# Still readable through the descriptor (cmp from /proc/self/fd of this shell).
"$PAT" check /proc/$$/fd/3 0 $((64 * 1024 * 1024)) 31 || fail "data through fd after unlink"
# Writable too.
printf 'XYZ' | dd of=/proc/$$/fd/3 bs=1 seek=100 conv=notrunc status=none
assert_eq "$(dd if=/proc/$$/fd/3 bs=1 skip=100 count=3 status=none)" XYZ "write after unlink"
sync
free2=$(free_kb)
assert_le $((free2 - free1)) 1024 "space freed while still open (KiB)"
assert_eq "$(find . -mindepth 1 -maxdepth 1 ! -name lost+found | wc -l)" 0 "entries after unlink"

exec 3>&-
# Final close releases the blocks (allow the filesystem a moment).
for _ in $(seq 1 20); do
	sync
	free3=$(free_kb)
	[ $((free3 - free1)) -ge $((60 * 1024)) ] && break
	sleep 0.5
done
assert_ge $((free3 - free1)) $((60 * 1024)) "KiB freed after the last close"

# An open directory that is removed: readdir gives nothing, creating fails.
mkdir gone
exec 4<gone
rmdir gone
expect_err "no such file" touch /proc/$$/fd/4/newfile
exec 4<&-

# Unlink while mmapped (a second process keeps the mapping).
"$PAT" write m 0 1048576 32 || fail "write m"
xfs_io -c "mmap -r 0 1m" -c "mread -v 0 16" m >/tmp/mread.out &
wait $!
rm m
grep -q '^00000000:' /tmp/mread.out || fail "mread output missing"
rm -f /tmp/mread.out
