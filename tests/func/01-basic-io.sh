#!/usr/bin/env bash
# Plain file I/O: patterns of many sizes written with dd and xfs_io, read
# back and compared; overwrite in the middle; append; many small files.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

# Sizes around page and block boundaries, and a multi-MiB file.
for size in 0 1 511 4095 4096 4097 8191 65536 65537 1048579 $((33 * 1024 * 1024 + 5)); do
	f=f.$size
	head -c "$size" /dev/urandom >"/tmp/$f"
	dd if="/tmp/$f" of="$f" bs=64k status=none
	assert_eq "$(fsize "$f")" "$size" "size of $f"
	cmp "/tmp/$f" "$f" || fail "content of $f"
	rm "/tmp/$f"
done

# Deterministic pattern at an unaligned offset, checked by position.
"$PAT" write p 12345 3000000 7 || fail "pattern write"
assert_eq "$(fsize p)" $((12345 + 3000000)) "size after pattern write"
"$PAT" zero p 0 12345 || fail "bytes before the first write are not zero"
"$PAT" check p 12345 3000000 7 || fail "pattern check"

# Overwrite in the middle without truncating: only that range changes.
"$PAT" write p 500000 70000 8 || fail "overwrite"
"$PAT" check p 12345 $((500000 - 12345)) 7 || fail "data before overwrite"
"$PAT" check p 500000 70000 8 || fail "overwritten range"
"$PAT" check p 570000 $((12345 + 3000000 - 570000)) 7 || fail "data after overwrite"
assert_eq "$(fsize p)" $((12345 + 3000000)) "size after overwrite"

# xfs_io pwrite/pread with a fill byte, verified by sha256 of a reference.
xfs_io -f -c "pwrite -q -S 0x5a -b 8192 0 1000000" -c "pwrite -q -S 0xa5 4096 4096" x >/dev/null
{ head -c 4096 /dev/zero | tr '\0' '\132'; head -c 4096 /dev/zero | tr '\0' '\245'
  head -c $((1000000 - 8192)) /dev/zero | tr '\0' '\132'; } >/tmp/x.ref
assert_eq "$(sha256sum <x | cut -d' ' -f1)" "$(sha256sum </tmp/x.ref | cut -d' ' -f1)" "xfs_io file hash"
rm /tmp/x.ref

# Append: O_APPEND always writes at EOF, even after a seek.
: >log
for i in $(seq 1 200); do echo "line $i" >>log; done
assert_eq "$(wc -l <log)" 200 "appended lines"
assert_eq "$(sed -n 137p log)" "line 137" "line 137"
xfs_io -a -c "pwrite -q 0 5" log >/dev/null  # O_APPEND: offset 0 is ignored
assert_eq "$(sed -n 1p log)" "line 1" "O_APPEND write did not go to offset 0"
assert_eq "$(fsize log)" $(( $(seq 1 200 | sed 's/^/line /' | wc -c) + 5 )) "size after O_APPEND pwrite"

# Many small files, each with its own content.
mkdir many
for i in $(seq 1 1500); do echo "file $i $((i * i))" >"many/$i"; done
assert_eq "$(find many -type f | wc -l)" 1500 "number of files"
for i in 1 2 750 1499 1500; do
	assert_eq "$(cat "many/$i")" "file $i $((i * i))" "content of many/$i"
done
assert_eq "$(cat many/* | wc -l)" 1500 "lines in all files"

# Reading past EOF returns nothing; a read that spans EOF is short.
assert_eq "$(dd if=f.4097 bs=1 skip=5000 count=10 status=none | wc -c)" 0 "read past EOF"
assert_eq "$(dd if=f.4097 bs=100 skip=40 count=10 status=none | wc -c)" 97 "read spanning EOF"
