#!/usr/bin/env bash
# POSIX ACLs: setfacl/getfacl round trips, an
# ACL entry granting and one denying access to an unprivileged user, the
# mask limiting named entries, chmod rewriting the mask, default ACLs
# inherited by new files and directories (and the umask ignored under
# them), removal, and everything surviving umount/mount.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need setfacl getfacl setpriv
cd "$MNT"

as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
user_reads() { as_user cat "$1" >/dev/null 2>&1; }
acl_of() { getfacl -cpn "$1" 2>/dev/null | grep -v '^$' | tr '\t\n' '  '; }

chmod 755 .

# Without an ACL, mode 600 keeps nobody out; a user entry lets it in.
echo secret >f
chmod 600 f
user_reads f && fail "nobody read a mode 600 file"
setfacl -m u:65534:r f
assert_eq "$(acl_of f)" "user::rw- user:65534:r-- group::--- mask::r-- other::--- " \
	"ACL after setfacl -m"
user_reads f || fail "ACL entry u:65534:r did not grant read"
assert_eq "$(stat -c %a f)" 640 "mode shows the mask in the group bits"
# The mask limits the named entry.
setfacl -m m::- f
user_reads f && fail "mask --- did not limit u:65534:r"
# chmod rewrites the mask, not the group entry.
chmod 640 f
assert_eq "$(acl_of f)" "user::rw- user:65534:r-- group::--- mask::r-- other::--- " \
	"ACL after chmod 640"
user_reads f || fail "read not granted again after chmod g+r"
chmod 600 f
assert_eq "$(getfacl -cpn f | sed -n 's/^mask:://p')" "---" "mask after chmod 600"
user_reads f && fail "chmod 600 did not take the access back"

# A denying entry for the user beats a permissive other.
echo open >g
chmod 644 g
user_reads g || fail "mode 644 file unreadable"
setfacl -m u:65534:- g
user_reads g && fail "ACL entry u:65534:- did not deny read"
# Removing the ACL gives the mode back alone.
setfacl -b g
assert_eq "$(acl_of g)" "user::rw- group::r-- other::r-- " "ACL after setfacl -b"
user_reads g || fail "access not restored by setfacl -b"

# Write and execute through an ACL on a directory.
mkdir d
chmod 700 d
as_user touch d/x 2>/dev/null && fail "nobody created in a 700 directory"
setfacl -m u:65534:rwx d
as_user touch d/x || fail "ACL entry u:65534:rwx on a directory did not grant create"

# Default ACLs: inherited as the access ACL of new files and directories,
# and as the default ACL of new directories; the umask does not apply.
mkdir inh
setfacl -d -m u:65534:rwx,g::r-x,o::- inh
assert_eq "$(getfacl -cpn inh | grep -c '^default:')" 5 "default ACL entries"
(umask 077; touch inh/file; mkdir inh/sub)
assert_eq "$(acl_of inh/file)" \
	"user::rw- user:65534:rwx #effective:rw- group::r-x #effective:r-- mask::rw- other::--- " \
	"ACL inherited by a file"
assert_eq "$(getfacl -cpn inh/sub | grep -c '^default:')" 5 \
	"default ACL inherited by a directory"
assert_eq "$(stat -c %a inh/sub)" 770 "directory mode from the default ACL, umask ignored"
as_user sh -c "echo w >'$MNT/inh/file'" || fail "inherited ACL did not grant write"
# Without a default ACL the umask applies as usual.
(umask 027; touch plain)
assert_eq "$(stat -c %a plain)" 640 "umask without a default ACL"
assert_eq "$(acl_of plain)" "user::rw- group::r-- other::--- " "no ACL on a plain file"

# Access ACLs and default ACLs stay across umount/mount.
before=$(getfacl -Rp . | md5sum)
remount
cd "$MNT"
assert_eq "$(getfacl -Rp . | md5sum)" "$before" "ACLs after remount"
user_reads g || fail "access after remount"
setfacl -m u:65534:r f
user_reads f || fail "ACL change after remount"

# Only the owner may change an ACL.
as_user setfacl -m u:65534:rw "$MNT/g" 2>/dev/null && fail "nobody changed root's ACL"
true
