#!/usr/bin/env bash
# refdax-test: crash timeout=300
# Two-boot crash test (file-backed nvdimm).  PHASE=1: write files, fsync
# some of them (and their directory), write others without fsync; the runner
# then powers the guest off without unmounting.  PHASE=2 (next boot, fresh
# mount): the fsynced files are exact; the others, if present, are readable;
# the runner unmounts and fsck must be clean.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"
state=$T_OUT/crash-state

case "${PHASE:-}" in
1)
	mkdir -p synced unsynced
	for i in $(seq 1 20); do
		"$PAT" write "synced/f$i" 0 $((i * 37123)) "$i" || fail "write synced/f$i"
		sync "synced/f$i"
	done
	"$PAT" write synced/big 0 $((20 * 1024 * 1024)) 99 || fail "write big"
	sync synced/big
	# Overwrite + fsync: the new data must win.
	"$PAT" write synced/f1 0 1000 555 || fail "overwrite f1"
	sync synced/f1
	sync synced .
	for i in $(seq 1 20); do
		"$PAT" write "unsynced/u$i" 0 $((i * 5000)) $((i + 1000)) || fail "write unsynced/u$i"
	done
	mv unsynced/u1 unsynced/u1-renamed
	ls -l synced >"$state"
	note "phase 1 done"
	;;
2)
	[ -f "$state" ] || fail "no phase 1 state"
	for i in $(seq 2 20); do
		[ -f "synced/f$i" ] || fail "fsynced file synced/f$i lost"
		assert_eq "$(fsize "synced/f$i")" $((i * 37123)) "size of synced/f$i"
		"$PAT" check "synced/f$i" 0 $((i * 37123)) "$i" || fail "content of synced/f$i"
	done
	"$PAT" check synced/f1 0 1000 555 || fail "fsynced overwrite of f1"
	"$PAT" check synced/f1 1000 $((37123 - 1000)) 1 || fail "rest of f1"
	"$PAT" check synced/big 0 $((20 * 1024 * 1024)) 99 || fail "synced/big"
	# Unsynced files: anything may be lost, but what is there must be readable.
	if [ -d unsynced ]; then
		find unsynced -type f -exec cat {} + >/dev/null || fail "unsynced files unreadable"
		note "unsynced files present: $(find unsynced -type f | wc -l)"
	fi
	# The filesystem is usable after recovery.
	echo after >after-crash
	assert_eq "$(cat after-crash)" after "write after recovery"
	;;
*) fail "PHASE must be 1 or 2" ;;
esac
