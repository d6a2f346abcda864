#!/usr/bin/env bash
# refdax-test: refdax-only
# File flags (chattr/lsattr, FS_IOC_SETFLAGS, xfs_io chattr/stat through
# FS_IOC_FSSETXATTR): immutable, append-only, nodump and noatime are kept
# across remount and honoured by write, truncate, fallocate, clone and
# dedupe into the file, a store through a mapping made before the flag was
# set, unlink, rename, link and chmod/chown/utimes; new files inherit
# nodump and noatime.  The DAX flag always reads as set, and clearing it is
# accepted (as on XFS dax=always) and changes nothing.  Setting immutable
# or append-only needs CAP_LINUX_IMMUTABLE; chattr updates ctime.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need chattr lsattr xfs_io setpriv
RO=$(prog reflink_ops)
PAT=$(prog pattern)
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"; }
# denied ERRTEXT CMD...: CMD fails, and says ERRTEXT.
denied() { expect_err "$@"; }
# xio_denied ERRTEXT XFS_IO_ARGS...: xfs_io says ERRTEXT (its exit status
# does not tell a failed command on every version).
xio_denied() {
	local out
	out=$(xfs_io "${@:2}" 2>&1) || true
	grep -qi -- "$1" <<<"$out" || fail "xfs_io ${*:2}: '$out', expected '$1'"
}
# flags FILE: lsattr's flag letters.
flags() { lsattr -d "$1" | awk '{ print $1 }'; }
has() { [[ "$(flags "$2")" == *"$1"* ]] || fail "$2: no '$1' in lsattr '$(flags "$2")'"; }
hasnt() { [[ "$(flags "$2")" != *"$1"* ]] || fail "$2: '$1' still in lsattr '$(flags "$2")'"; }
# xflags FILE: FS_IOC_FSGETXATTR's xflags, from xfs_io stat.
xflags() { xfs_io -r -c stat "$1" | awk '$1 == "fsxattr.xflags" { print $3 }'; }
op() {
	local want=$1 got
	shift
	got=$("$RO" "$@" 2>&1) || true
	assert_eq "$got" "$want" "reflink_ops $*"
}
cleanup() {
	cd /
	chattr -R -ia "$MNT" 2>/dev/null || true
}
trap cleanup EXIT
cd "$MNT"
chmod 755 .

# ---- every file reads as DAX; clearing it changes nothing --------------------
echo data >plain
has x plain
assert_eq "$(( $(xflags plain) & 0x8000 ))" $((0x8000)) "FS_XFLAG_DAX of a new file"
chattr -x plain || fail "chattr -x refused"
has x plain
xfs_io -r -c "chattr -x" plain || fail "xfs_io chattr -x refused"
assert_eq "$(( $(xflags plain) & 0x8000 ))" $((0x8000)) "FS_XFLAG_DAX after clearing it"
# Flags refdax does not have are refused, not dropped silently.
denied "Operation not supported" chattr +c plain
denied "Operation not supported" chattr +S plain
xio_denied "Operation not supported" -r -c "chattr +s" plain

# ---- immutable ---------------------------------------------------------------
"$PAT" write imm 0 65536 1 || fail "write imm"
cp imm imm.ref
"$PAT" write src 0 65536 2 || fail "write src"
c0=$(stat -c %Z imm)
sleep 1.1
chattr +i imm || fail "chattr +i"
has i imm
[ "$(stat -c %Z imm)" -gt "$c0" ] || fail "chattr +i did not update ctime"
assert_eq "$(( $(xflags imm) & 0x8 ))" 8 "FS_XFLAG_IMMUTABLE"
denied "Operation not permitted" sh -c 'echo x >>imm'
denied "Operation not permitted" sh -c 'echo x >imm'
denied "Operation not permitted" truncate -s 0 imm
xio_denied "Operation not permitted" -c "falloc 0 1m" imm
denied "Operation not permitted" rm -f imm
denied "Operation not permitted" mv imm imm2
denied "Operation not permitted" ln imm imm.link
denied "Operation not permitted" chmod 600 imm
denied "Operation not permitted" chown 1000 imm
denied "Operation not permitted" touch -d 2001-01-01 imm
# clone needs a writable destination (refused at open); dedupe does not,
# and refdax's own dedupe checks must refuse it
op "open-DST: EPERM" range src r imm rw 0 0 4096
op "EPERM" dedupe imm.ref r imm r 0 0 4096
assert_file_eq imm imm.ref
chattr -i imm || fail "chattr -i"
hasnt i imm
echo x >>imm || fail "append after chattr -i"

# ---- a mapping made before the file became immutable cannot store ----------------
"$PAT" write mapped 0 8192 3 || fail "write mapped"
HOLDER_DIR=$(mktemp -d)
mkfifo "$HOLDER_DIR/in"
"$(prog maphold)" mapped rw <"$HOLDER_DIR/in" >"$HOLDER_DIR/out" 2>&1 &
hpid=$!
exec {hfd}>"$HOLDER_DIR/in"
reply() { # N: wait for the N-th reply line
	local t
	for t in $(seq 1 600); do
		[ "$(wc -l <"$HOLDER_DIR/out")" -ge "$1" ] && return 0
		kill -0 "$hpid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
reply 1 || fail "maphold did not map: $(cat "$HOLDER_DIR/out")"
echo "store 0 4096 7" >&"$hfd"
reply 2 || fail "store before chattr +i: $(cat "$HOLDER_DIR/out")"
cp mapped mapped.ref
chattr +i mapped || fail "chattr +i mapped"
# (no more commands after this one: the holder is expected to die)
echo "store 0 4096 8" >&"$hfd"
st=0
wait "$hpid" || st=$?
exec {hfd}>&-
assert_eq "$st" 135 "exit status of a store to an immutable file's old mapping (SIGBUS)"
assert_file_eq mapped mapped.ref
drop_inodes
assert_file_eq mapped mapped.ref
chattr -i mapped
rm -rf "$HOLDER_DIR"

# ---- append-only -------------------------------------------------------------
printf 'head\n' >app
chattr +a app || fail "chattr +a"
has a app
assert_eq "$(( $(xflags app) & 0x10 ))" 16 "FS_XFLAG_APPEND"
printf 'tail\n' >>app || fail "append to an append-only file"
assert_eq "$(cat app)" "head
tail" "append-only content"
denied "Operation not permitted" sh -c 'echo x >app'
denied "Operation not permitted" truncate -s 0 app
xio_denied "Operation not permitted" -a -c "truncate 0" app
xio_denied "Operation not permitted" -a -c "fpunch 0 4096" app
denied "Operation not permitted" rm -f app
denied "Operation not permitted" mv app app2
denied "Operation not permitted" ln app app.link
denied "Operation not permitted" chmod 600 app
# a writable shared mapping of an append-only file is refused
xio_denied "Permission denied" -a -c "mmap -w 0 4096" app
# clone into it: the only write open is O_APPEND, which remap refuses
op "EBADF" range src r app rwa 0 0 4096
assert_eq "$(cat app)" "head
tail" "append-only content after the refusals"
# an append-only directory keeps its names
mkdir adir
touch adir/old
chattr +a adir
touch adir/new || fail "create in an append-only directory"
denied "Operation not permitted" rm adir/old
denied "Operation not permitted" mv adir/old adir/old2
chattr -a adir app

# ---- nodump, noatime, inheritance -------------------------------------------------
mkdir inh
chattr +dA inh
touch inh/f
mkdir inh/d
has d inh/f
has A inh/f
has d inh/d
has A inh/d
assert_eq "$(( $(xflags inh/f) & 0xc0 ))" $((0xc0)) "FS_XFLAG_NODUMP|NOATIME inherited"
echo data >inh/f
touch -a -d "2000-01-01" inh/f
cat inh/f >/dev/null
assert_eq "$(stat -c %X inh/f)" "$(date -d 2000-01-01 +%s)" "atime of a noatime file after a read"
chattr -A inh/f
cat inh/f >/dev/null
[ "$(stat -c %X inh/f)" -gt "$(date -d 2000-01-01 +%s)" ] ||
	fail "atime not updated once noatime is cleared (the check above proves nothing)"

# ---- privileges ------------------------------------------------------------------
touch ufile
chown 1000:1000 ufile
as_user chattr +d ufile || fail "owner cannot set nodump"
has d ufile
denied "Operation not permitted" as_user chattr +i ufile
denied "Operation not permitted" as_user chattr +a ufile
denied "Operation not permitted" as_user chattr +d plain
hasnt i ufile

# ---- flags survive a remount --------------------------------------------------
chattr +i imm
chattr +a app
before=$(lsattr imm app ufile inh/f inh/d)
remount
cd "$MNT"
assert_eq "$(lsattr imm app ufile inh/f inh/d)" "$before" "flags after remount"
denied "Operation not permitted" sh -c 'echo x >>imm'
printf 'more\n' >>app || fail "append after remount"
chattr -i imm
chattr -a app
rm imm app
