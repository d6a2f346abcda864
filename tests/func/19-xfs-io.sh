#!/usr/bin/env bash
# xfs_io command sequences (pwrite/pread/mmap/mwrite/msync/fsync/falloc/
# fpunch/truncate) with the resulting content verified byte for byte.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
cd "$MNT"
x() { xfs_io "$@" >/dev/null || fail "xfs_io $*"; }
# expect_bytes FILE WHAT "COUNTxHEX ...": FILE must be exactly these runs.
expect_bytes() {
	local f=$1 what=$2 run count hex oct
	: >/tmp/expect.bin
	for run in $3; do
		count=${run%x*}
		hex=${run#*x}
		oct=$(printf '\\%03o' "0x$hex")
		head -c "$count" /dev/zero | tr '\0' "$oct" >>/tmp/expect.bin
	done
	if ! cmp "$f" /tmp/expect.bin; then
		od -A d -t x1 "$f" | head -n 20
		fail "$what: content of $f differs from '$3'"
	fi
}

x -f -c "pwrite -S 0x11 0 64k" -c fsync -c "pwrite -S 0x22 16k 16k" -c fdatasync a
expect_bytes a "pwrite sequence" "16384x11 16384x22 32768x11"
x -c "pread -v 0 16" a

# mmap + mwrite + msync, then pread through the syscall path.
x -f -c "truncate 64k" -c "mmap -rw 0 64k" -c "mwrite -S 0x33 4096 8192" -c "msync -s 0 64k" -c "munmap" m
expect_bytes m "mwrite range" "4096x00 8192x33 53248x00"
# mwrite over data written by pwrite, then pwrite over mapped data.
x -c "pwrite -S 0x44 0 64k" -c "mmap -rw 0 64k" -c "mwrite -S 0x55 60000 5536" -c "msync 0 64k" \
	-c "pwrite -S 0x66 0 100" -c "mread -v 0 4" m
expect_bytes m "mixed mwrite/pwrite" "100x66 59900x44 5536x55"

# falloc / fpunch / truncate sequence.
x -f -c "pwrite -S 0x77 0 1m" -c "fpunch 4k 8k" -c "falloc -k 1m 1m" -c "truncate 1536k" \
	-c "pwrite -S 0x88 1m 4k" -c fsync f
assert_eq "$(stat -c %s f)" $((1536 * 1024)) "size after falloc/fpunch/truncate"
expect_bytes f "falloc/fpunch/truncate content" "4096x77 8192x00 1036288x77 4096x88 520192x00"

# mmap read of a punched range sees zeros.
x -c "mmap -r 0 64k" -c "mread -v 4096 8192" f
assert_eq "$(xfs_io -c 'mmap -r 0 64k' -c 'mread -v 4096 16' f | awk 'NR > 0 && $1 ~ /:$/ { for (i = 2; i <= 17; i++) s = s $i } END { print s }')" \
	"00000000000000000000000000000000" "mread of punched range"

remount
cd "$MNT"
expect_bytes f "content after remount" "4096x77 8192x00 1036288x77 4096x88 520192x00"
expect_bytes m "mapped-write file after remount" "100x66 59900x44 5536x55"
