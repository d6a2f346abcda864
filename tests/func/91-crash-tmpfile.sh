#!/usr/bin/env bash
# refdax-test: crash refdax-only timeout=300
# Two-boot crash test of O_TMPFILE.  PHASE=1: a tmpfile is given a name
# with linkat and synced; another, with 4 MiB written, is held open by a
# process when the guest is powered off.  PHASE=2: the mount frees the
# nameless one from the orphan list (free inode and block counts as before
# it, the kernel log says so), the named one is intact; the runner then
# unmounts and fsck must be clean.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"
state=$T_OUT/crash-tmpfile-state

case "${PHASE:-}" in
1)
	python3 - "$MNT" <<'PY' || fail "named tmpfile"
import os, sys
d = sys.argv[1]
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"N" * 65536)
# a dir fd makes os.link use linkat(AT_SYMLINK_FOLLOW), not link(2)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
os.link("/proc/self/fd/%d" % fd, "named", dst_dir_fd=dfd, follow_symlinks=True)
os.fsync(fd)
os.close(fd)
dfd = os.open(d, os.O_RDONLY)
os.fsync(dfd)
PY
	sync
	echo "$(stat -f -c '%d %f' "$MNT")" >"$state"
	ready=$(mktemp -u)
	# the holder outlives this script: the runner powers off under it
	setsid python3 - "$MNT" "$ready" </dev/null >/dev/null 2>&1 <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, os.urandom(4 << 20))
os.fsync(fd)
open(sys.argv[2], "w").close()
time.sleep(3600)
PY
	for _ in $(seq 1 600); do [ -e "$ready" ] && break; sleep 0.1; done
	[ -e "$ready" ] || fail "tmpfile holder did not start"
	echo "$(stat -f -c '%d %f' "$MNT")" >>"$state"
	note "free inodes/blocks before, with the tmpfile open: $(tr '\n' ' ' <"$state")"
	;;
2)
	[ -f "$state" ] || fail "no phase 1 state"
	read -r i0 b0 < <(sed -n 1p "$state")
	read -r i1 b1 < <(sed -n 2p "$state")
	[ "$i1" -lt "$i0" ] && [ "$b1" -lt "$b0" ] ||
		fail "phase 1 saw no inode or blocks taken by the open tmpfile ($i0 $b0 / $i1 $b1)"
	dmesg | grep -q "refdax: .*freed [0-9]* orphan inodes" ||
		fail "the mount freed no orphan inode"
	assert_eq "$(stat -f -c %d "$MNT")" "$i0" "free inodes after recovery"
	assert_eq "$(stat -f -c %f "$MNT")" "$b0" "free blocks after recovery"
	assert_eq "$(fsize named)" 65536 "named tmpfile size"
	cmp -s named <(head -c 65536 /dev/zero | tr '\0' N) || fail "named tmpfile content"
	;;
*) fail "PHASE must be 1 or 2" ;;
esac
