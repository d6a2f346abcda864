# shellcheck shell=bash
# Helpers for tests/func/*.sh (sourced; the runner exports TESTLIB).
# Tests run with DEV, MNT, TOOLS, TBIN, KVER, FSTYPE and T_OUT set and with
# the filesystem under test freshly made and mounted at $MNT (unless their
# header says nomount).  Exit 0 = pass, 77 = skip, anything else = fail.
set -euo pipefail

: "${MNT:?}" "${DEV:?}" "${TBIN:?}"
export TMPDIR=${TMPDIR:-/tmp} TZ=UTC LC_ALL=C

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "# $*"; }

assert_eq() { # actual expected what
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}
assert_ge() { # actual min what
	[ "$1" -ge "$2" ] || fail "${3:-value}: expected >= $2, got $1"
}
assert_le() { # actual max what
	[ "$1" -le "$2" ] || fail "${3:-value}: expected <= $2, got $1"
}
assert_file_eq() { # a b
	cmp -s "$1" "$2" || fail "content of $1 differs from $2"
}

# expect_err ERRTEXT CMD...: CMD must fail and its stderr mention ERRTEXT.
expect_err() {
	local want=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "'$*' succeeded, expected failure ($want)"
	grep -qi -- "$want" <<<"$out" || fail "'$*' failed with '$out', expected '$want'"
}

fsize() { stat -c %s "$1"; }
fblocks() { stat -c %b "$1"; } # 512-byte units
finode() { stat -c %i "$1"; }
fnlink() { stat -c %h "$1"; }
# Free blocks of the filesystem at $MNT, in KiB.
free_kb() { df -Pk "$MNT" | awk 'NR == 2 { print $4 }'; }
used_kb() { df -Pk "$MNT" | awk 'NR == 2 { print $3 }'; }

# mkdata FILE SIZE_BYTES: deterministic pseudo-random content (seeded).
mkdata() {
	local seed=${3:-$1}
	openssl enc -aes-128-ctr -nosalt -pass "pass:$seed" -pbkdf2 </dev/zero 2>/dev/null |
		head -c "$2" >"$1"
}

# remount: unmount and mount the filesystem under test again.
remount() {
	cd /
	sync
	umount "$MNT" || fail "umount for remount failed"
	fs_mount || fail "mount for remount failed"
}

need() { # commands
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not available"
	done
}
prog() { # name -> path of a compiled test program
	[ -x "$TBIN/$1" ] || fail "test program $TBIN/$1 missing (build/tests not built?)"
	echo "$TBIN/$1"
}
