#!/usr/bin/env bash
# chown, chmod (incl. setuid/sticky), utimes (ns precision), timestamps
# updated by writes, all persisting across umount + mount.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"

echo x >f
mkdir d
mkfifo fifo
mknod cdev c 1 3
chown 1234:5678 f
chmod 4751 f
chown 42:43 d
chmod 1777 d
touch -h -d '2001-02-03 04:05:06.123456789' f
touch -d '1999-12-31 23:59:59.5' d
assert_eq "$(stat -c %y f)" "2001-02-03 04:05:06.123456789 +0000" "mtime with ns"
assert_eq "$(stat -c %y d)" "1999-12-31 23:59:59.500000000 +0000" "directory mtime"
ctime0=$(stat -c %Z f)
[ "$ctime0" -ge "$(( $(date +%s) - 5 ))" ] || fail "ctime not updated by chmod/chown"

# Write updates mtime and ctime; read does not touch mtime.
echo y >g
m0=$(stat -c %Y g)
sleep 1.1
cat g >/dev/null
assert_eq "$(stat -c %Y g)" "$m0" "mtime after read"
echo more >>g
[ "$(stat -c %Y g)" -gt "$m0" ] || fail "mtime not updated by write"
[ "$(stat -c %Z g)" -gt "$m0" ] || fail "ctime not updated by write"
# Creating a file updates the parent's mtime.
dm0=$(stat -c %Y d)
touch d/new
[ "$(stat -c %Y d)" -gt "$dm0" ] || fail "directory mtime not updated by create"

save() { stat -c '%n %a %u %g %s %Y %X %F' f d fifo cdev g; stat -c '%y' f d; }
before=$(save)
remount
cd "$MNT"
after=$(save)
if [ "$before" != "$after" ]; then
	diff <(echo "$before") <(echo "$after") || true
	fail "attributes changed across remount"
fi
assert_eq "$(stat -c '%u:%g %a' f)" "1234:5678 4751" "f owner/mode after remount"
assert_eq "$(stat -c '%u:%g %a' d)" "42:43 1777" "d owner/mode after remount"
assert_eq "$(stat -c '%F %t:%T' cdev)" "character special file 1:3" "device node after remount"
assert_eq "$(stat -c %F fifo)" "fifo" "fifo after remount"
assert_eq "$(stat -c %y f)" "2001-02-03 04:05:06.123456789 +0000" "f mtime (ns) after remount"
assert_eq "$(head -c 0 cdev; echo ok)" ok "device node usable"
