#!/usr/bin/env bash
# Directories: mkdir/rmdir, ENOTEMPTY/EEXIST/ENOTDIR/ENOENT, exact readdir
# listings, directory link counts, deep nesting.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"

mkdir d
assert_eq "$(fnlink d)" 2 "nlink of an empty directory"
touch d/f
expect_err "not empty" rmdir d
expect_err "exists" mkdir d
expect_err "not a directory" rmdir d/f
expect_err "not a directory" mkdir d/f/x
expect_err "no such file" rmdir nonexistent
expect_err "no such file" mkdir missing/child
rm d/f
rmdir d
[ ! -e d ] || fail "directory still exists after rmdir"

# Link counts follow subdirectories.
mkdir p
for i in 1 2 3 4 5; do mkdir "p/s$i"; done
assert_eq "$(fnlink p)" 7 "nlink of a directory with 5 subdirectories"
rmdir p/s3
assert_eq "$(fnlink p)" 6 "nlink after removing one subdirectory"
touch p/file
assert_eq "$(fnlink p)" 6 "a regular file does not add to nlink"

# Exact listing, names of many shapes.
mkdir l
names=(a b "with space" "-dash" ".hidden" "ünïcödé" "$(printf 'x%.0s' $(seq 1 255))" "tab	in" 'q"uote' "semi;colon")
for n in "${names[@]}"; do touch "l/$n"; done
mkdir l/sub
expect=$( (printf '%s\n' "${names[@]}"; echo sub) | LC_ALL=C sort)
got=$(cd l && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
assert_eq "$got" "$expect" "directory listing"
expect_err "too long" touch "l/$(printf 'y%.0s' $(seq 1 256))"
# readdir reports file types.
assert_eq "$(cd l && find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n')" sub "directories in listing"

# Lookups of names that differ by one character.
mkdir c
for i in $(seq 0 99); do echo "$i" >"c/name$i"; done
for i in 0 9 10 55 99; do assert_eq "$(cat "c/name$i")" "$i" "c/name$i"; done
[ ! -e c/name100 ] || fail "c/name100 exists"
rm c/name5*
assert_eq "$(find c -type f | wc -l)" 89 "entries after removing name5*"

# Deep nesting and `..`.
path=deep
for i in $(seq 1 40); do path=$path/$i; done
mkdir -p "$path"
echo bottom >"$path/f"
assert_eq "$(cat "$path/f")" bottom "file at the bottom of a deep tree"
assert_eq "$(stat -c %i "$path/..")" "$(stat -c %i "$(dirname "$path")")" "inode of .. in a deep tree"
assert_eq "$(stat -c %i d 2>/dev/null || echo none)" none "removed directory"
rm -r deep
[ ! -e deep ] || fail "rm -r deep"
