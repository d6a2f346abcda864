#!/usr/bin/env bash
# refdax-test: nomount refdax-only timeout=600
# fsck.refdax checks and repairs a filesystem far larger than the guest's
# memory.  pmem devices are often larger than the DRAM of their machine, and
# fsck maps the whole device: it must not need memory in proportion to it.
#
# The filesystem is an image file of 8 times the guest's RAM, sparse on the
# guest's tmpfs: the suite guest has one 1 GiB pmem device, and the tools
# take a regular file the same way as a device (only the metadata mkfs
# writes takes memory).  Two limits make "larger than memory" real:
# - the kernel's overcommit heuristic refuses a private writable mapping
#   larger than RAM, which is what checking used to map ("cannot map ...:
#   Cannot allocate memory");
# - ulimit -d caps fsck's private memory (heap and private writable
#   mappings; a read-only shared mapping is not counted) at 16 MiB, below
#   the 5 bytes per block older versions allocated, so any memory that grows
#   with the device fails here whatever vm.overcommit_memory says.
# The image carries an interrupted transaction, so checking also applies
# journal recovery in its private copy: the check must see the recovered,
# clean state and change nothing; fsck -y must recover on the image itself.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need python3

img=$TMPDIR/fsck-large.img
meta=$TMPDIR/fsck-large.meta
cleanup() { rm -f "$img" "$meta"; }
trap cleanup EXIT

mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
gib=$(((mem_kb * 8 + (1 << 20) - 1) >> 20))
[ "$gib" -ge 8 ] || gib=8
note "guest RAM $((mem_kb >> 10)) MiB, image ${gib} GiB"
"$TOOLS/mkfs.refdax" -q -N 65536 -s "${gib}G" "$img" || fail "mkfs of the image"

# fsck with private memory capped; prints its output, keeps its exit code.
fsck_capped() {
	(ulimit -d $((16 * 1024)) && exec "$TOOLS/fsck.refdax" "$@" "$img") 2>&1
}

rc=0
out=$(fsck_capped -n -v) || rc=$?
[ "$rc" = 0 ] || fail "fsck -n of a fresh ${gib} GiB filesystem: exit $rc: $out"
# "N blocks, ...", "inode table A+B, free-space bitmap C+D, data from E"
nblocks=$(sed -n 's/.*: \([0-9]*\) blocks, .* inodes, journal.*/\1/p' <<<"$out")
fmstart=$(sed -n 's/.*free-space bitmap \([0-9]*\)+.*/\1/p' <<<"$out")
dstart=$(sed -n 's/.*data from \([0-9]*\)$/\1/p' <<<"$out")
[ -n "$nblocks" ] && [ -n "$fmstart" ] && [ -n "$dstart" ] ||
	fail "no geometry in fsck -v output: $out"

# The last data block is marked in use in the free-space bitmap, inside a
# transaction that did not commit: its undo entry in the journal holds the
# bitmap byte as it was (free).
last=$((nblocks - 1 - dstart))
python3 - "$img" "$((fmstart * 4096 + last / 8))" "$((last % 8))" <<'PY' ||
import os, struct, sys

sys.path.insert(0, os.environ["ROOT"] + "/tests/guest")
from rdxfmt import crc32c

path, addr, bit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(addr)
    old = f.read(1)
    f.seek(4096)                        # journal header, block 1
    magic, gen, estart, ebytes, seed = struct.unpack("<QQQQI", f.read(36))
    assert magic == 0x4c4e524a58445252, "journal magic"
    hdr = struct.pack("<QQIIII", gen, addr, len(old), 0, 0, 0)
    csum = crc32c(hdr + old, seed)
    hdr = struct.pack("<QQIIII", gen, addr, len(old), 0, 0, csum)
    f.seek(4096 + estart)
    f.write((hdr + old).ljust(64, b"\0"))
    f.seek(addr)
    f.write(bytes([old[0] | 1 << bit]))
PY
	fail "writing the interrupted transaction"

dd if="$img" of="$meta" bs=4096 count="$dstart" status=none
rc=0
out=$(fsck_capped -n) || rc=$?
[ "$rc" = 0 ] ||
	fail "fsck -n of a ${gib} GiB filesystem with $((mem_kb >> 10)) MiB of RAM: exit $rc: $out"
grep -q "journal recovery needed (1 entries)" <<<"$out" ||
	fail "fsck -n did not recover the journal: $out"
grep -q ": clean, " <<<"$out" || fail "fsck -n: not clean after recovery: $out"
cmp -s "$meta" <(dd if="$img" bs=4096 count="$dstart" status=none) ||
	fail "fsck -n changed the image"
if [ -x /usr/bin/time ]; then
	rss=$( { /usr/bin/time -f "%M" "$TOOLS/fsck.refdax" -n "$img" >/dev/null; } 2>&1)
	note "peak RSS of fsck -n: ${rss} KiB"
fi

rc=0
out=$(fsck_capped -y) || rc=$?
[ "$rc" = 1 ] || fail "fsck -y: exit $rc, expected 1: $out"
grep -q "journal recovery: undid an interrupted transaction (1 entries)" <<<"$out" ||
	fail "fsck -y did not recover the journal: $out"
rc=0
out=$(fsck_capped -n) || rc=$?
[ "$rc" = 0 ] || fail "fsck -n after fsck -y: exit $rc: $out"
if grep -q "journal recovery" <<<"$out"; then
	fail "the journal is still live after fsck -y: $out"
fi
