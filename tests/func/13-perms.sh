#!/usr/bin/env bash
# Permission checks for an unprivileged user (uid/gid 1000 via setpriv):
# read/write/execute bits on files and directories, sticky directories,
# setuid cleared on write by a non-owner, owner-only chmod/utimes.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need setpriv
cd "$MNT"
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"; }
user_ok() { as_user "$@" >/dev/null 2>&1 || fail "as uid 1000 should succeed: $*"; }
user_denied() {
	local out rc=0
	out=$(as_user "$@" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "as uid 1000 should be refused: $*"
	grep -qi "permission denied\|operation not permitted" <<<"$out" ||
		fail "as uid 1000, '$*' failed with '$out', expected EACCES/EPERM"
}

chmod 755 .
echo secret >private
chmod 600 private
echo public >readable
chmod 644 readable
user_denied cat private
user_ok cat readable
user_denied sh -c "echo x >>'$MNT/readable'"
user_denied touch newfile          # root directory 755, owned by root
user_denied rm readable
user_denied chmod 777 readable
user_denied chown 1000 readable
user_denied touch -d 2001-01-01 readable

# A directory owned by the user.
mkdir home
chown 1000:1000 home
user_ok sh -c "echo mine >'$MNT/home/f'"
assert_eq "$(stat -c %u:%g home/f)" 1000:1000 "owner of a file created by uid 1000"
user_ok chmod 640 home/f
user_ok touch -d 2001-01-01 home/f
assert_eq "$(stat -c %a home/f)" 640 "mode set by owner"

# Directory without x: no lookup; without r: no listing; without w: no create.
mkdir -p locked/inner
echo in >locked/inner/f
chmod 711 locked
user_ok cat locked/inner/f
user_denied ls locked
chmod 700 locked
user_denied cat locked/inner/f
chmod 755 locked
user_denied touch locked/x

# Sticky directory: users cannot remove others' files.
mkdir tmpd
chmod 1777 tmpd
echo root >tmpd/rootfile
chmod 666 tmpd/rootfile
user_ok sh -c "echo u >'$MNT/tmpd/userfile'"
user_denied rm -f tmpd/rootfile
user_denied mv tmpd/rootfile tmpd/stolen
user_ok rm tmpd/userfile
user_ok sh -c "echo appended >>'$MNT/tmpd/rootfile'"

# Execute permission.
printf '#!/bin/sh\necho ran\n' >tmpd/script
chmod 644 tmpd/script
user_denied "$MNT/tmpd/script"
chmod 755 tmpd/script
assert_eq "$(as_user "$MNT/tmpd/script")" ran "execute a script from the filesystem"

# Write by a non-owner clears setuid/setgid.
cp /bin/true tmpd/suid
chmod 6777 tmpd/suid
user_ok sh -c "echo >>'$MNT/tmpd/suid'"
assert_eq "$(stat -c %a tmpd/suid)" 777 "mode after unprivileged write to a setuid file"

# Group permissions.
echo g >grp
chown 0:2000 grp
chmod 640 grp
user_denied cat grp
setpriv --reuid=1000 --regid=2000 --clear-groups cat grp >/dev/null ||
	fail "read permission through the primary group not granted"
setpriv --reuid=1000 --regid=1000 --groups=2000 cat grp >/dev/null ||
	fail "read permission through a supplementary group not granted"
chmod 604 grp
setpriv --reuid=1000 --regid=2000 --clear-groups cat grp >/dev/null 2>&1 &&
	fail "group member read a file whose group bits deny it"
true
