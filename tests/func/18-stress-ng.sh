#!/usr/bin/env bash
# refdax-test: timeout=600
# stress-ng filesystem stressors on the filesystem under test, two groups
# of 20 s each; exit status must be 0 (any stressor failure fails).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need stress-ng
cd "$MNT"
run_group() { # name stressor-args...
	local name=$1 rc=0
	shift
	stress-ng --temp-path "$MNT" --timeout 20s --verify --metrics-brief "$@" \
		>"$T_OUT/$name.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || grep -q "fail:\|FAILED" "$T_OUT/$name.out"; then
		tail -n 30 "$T_OUT/$name.out"
		fail "stress-ng $name exited $rc"
	fi
	note "stress-ng $name ok"
}
run_group data --hdd 1 --hdd-bytes 32M --seek 1 --seek-size 32M --fallocate 1 \
	--fallocate-bytes 32M --mmap 1 --mmap-file --mmap-bytes 16M --sync-file 1 \
	--sync-file-bytes 16M
run_group names --rename 1 --link 1 --symlink 1 --dir 1 --dentry 1 --chmod 1 \
	--utime 1 --dirdeep 1
assert_eq "$(find "$MNT" -mindepth 1 -maxdepth 1 ! -name lost+found | wc -l)" 0 "leftovers after stress-ng"
