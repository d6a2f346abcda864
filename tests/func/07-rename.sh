#!/usr/bin/env bash
# rename(2) and renameat2(2): plain, over an existing file, RENAME_NOREPLACE,
# RENAME_EXCHANGE, directories across parents (.. and link counts), refused
# cases (dir over non-empty dir, dir into its own subtree, file over dir).
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
R2=$(prog renameat2)
cd "$MNT"

echo one >a
ino=$(finode a)
mv a b
[ ! -e a ] || fail "old name still exists"
assert_eq "$(finode b)" "$ino" "inode kept by rename"
assert_eq "$(cat b)" one "content after rename"

# Over an existing file: the target is replaced and its inode freed.
echo two >c
before=$(free_kb)
head -c 8M /dev/urandom >big
mv b big
assert_eq "$(cat big)" one "content of replaced target"
assert_eq "$(finode big)" "$ino" "inode of replaced target"
sync
after=$(free_kb)
assert_ge "$after" $((before - 1024)) "free space after replacing an 8 MiB file"

# RENAME_NOREPLACE.
out=$("$R2" noreplace c big) && fail "RENAME_NOREPLACE over existing succeeded"
assert_eq "$out" EEXIST "RENAME_NOREPLACE error"
assert_eq "$(cat c)" two "source unchanged after failed NOREPLACE"
assert_eq "$(cat big)" one "target unchanged after failed NOREPLACE"
"$R2" noreplace c fresh || fail "RENAME_NOREPLACE to a new name"
assert_eq "$(cat fresh)" two "content after NOREPLACE rename"
[ ! -e c ] || fail "source remains after NOREPLACE rename"

# RENAME_EXCHANGE: files, and a file with a directory in another parent.
i1=$(finode fresh) i2=$(finode big)
"$R2" exchange fresh big || fail "RENAME_EXCHANGE"
assert_eq "$(cat fresh)" one "fresh after exchange"
assert_eq "$(cat big)" two "big after exchange"
assert_eq "$(finode fresh)" "$i2" "inode of fresh after exchange"
assert_eq "$(finode big)" "$i1" "inode of big after exchange"
out=$("$R2" exchange fresh missing) && fail "RENAME_EXCHANGE with a missing target succeeded"
assert_eq "$out" ENOENT "RENAME_EXCHANGE with missing target"
mkdir -p p1/dd p2
touch p1/dd/inside
"$R2" exchange p1/dd big || fail "exchange dir and file"
[ -d big ] && [ -f big/inside ] || fail "directory not at the new place after exchange"
[ -f p1/dd ] || fail "file not at the new place after exchange"
assert_eq "$(cat p1/dd)" two "file after exchange with dir"
assert_eq "$(stat -c %i big/..)" "$(stat -c %i .)" ".. of exchanged directory"
assert_eq "$(fnlink p1)" 2 "nlink of p1 after its subdir was exchanged away"

# Directory move across parents: .. and parents' link counts.
mkdir -p A/sub/deeper B
echo x >A/sub/file
nA=$(fnlink A) nB=$(fnlink B)
mv A/sub B/
assert_eq "$(stat -c %i B/sub/..)" "$(finode B)" ".. of moved directory"
assert_eq "$(stat -c %i B/sub/deeper/..)" "$(finode B/sub)" ".. inside moved directory"
assert_eq "$(fnlink A)" $((nA - 1)) "nlink of old parent"
assert_eq "$(fnlink B)" $((nB + 1)) "nlink of new parent"
assert_eq "$(cat B/sub/file)" x "file inside moved directory"
[ ! -e A/sub ] || fail "old directory name remains"

# Directory over an empty directory is fine; over a non-empty one ENOTEMPTY.
mkdir E N
touch N/f
mv -T B/sub E || fail "rename dir over empty dir"
assert_eq "$(cat E/file)" x "content after replacing empty dir"
rn_err() { # expected-errno(s) old new
	local out
	out=$("$R2" none "$2" "$3") && fail "rename $2 -> $3 succeeded"
	grep -qxE "$1" <<<"$out" || fail "rename $2 -> $3 gave $out, expected $1"
}
rn_err 'ENOTEMPTY|EEXIST' E N
rn_err EINVAL E E/deeper/x
rn_err ENOTDIR E big/inside
rn_err EISDIR fresh N
[ -f N/f ] && [ -f E/file ] && [ -f fresh ] || fail "failed renames changed something"
# Rename within the same directory to the same name is a no-op.
mv -T fresh fresh 2>/dev/null || true
assert_eq "$(cat fresh)" one "content after self rename"

# Many renames in a loop (names reuse directory slots).
mkdir r
touch r/f0
for i in $(seq 1 100); do mv "r/f$((i - 1))" "r/f$i"; done
assert_eq "$(ls r)" f100 "after 100 renames"

remount
cd "$MNT"
assert_eq "$(stat -c %i E/..)" "$(finode .)" ".. after remount"
assert_eq "$(cat E/file)" x "moved file after remount"
assert_eq "$(ls r)" f100 "renamed file after remount"
