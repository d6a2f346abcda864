#!/usr/bin/env bash
# Runs inside the demo guest (scripts/demo.sh): emulated pmem, refdax module,
# mkfs, mount, a few file and mmap operations with their output shown.
set -euo pipefail
ROOT=${ROOT:?}
KVER=${KVER:-$(uname -r)}
DEV=/dev/pmem0
MNT=/mnt/refdax
export PATH=$ROOT/build:$PATH

show() { echo; echo "demo\$ $*"; "$@"; }

modprobe nd_e820
modprobe nd_pmem
for _ in $(seq 1 50); do [ -b "$DEV" ] && break; sleep 0.2; done
show ls -l "$DEV"
show insmod "$ROOT/build/$KVER/refdax.ko"
show grep refdax /proc/filesystems
show mkfs.refdax -f "$DEV"
mkdir -p "$MNT"
show mount -t refdax "$DEV" "$MNT"
show findmnt "$MNT"
echo
echo "demo\$ echo 'hello from refdax' > $MNT/hello.txt"
echo 'hello from refdax' >"$MNT/hello.txt"
show cat "$MNT/hello.txt"
show dd if=/dev/urandom of="$MNT/random.bin" bs=1M count=16 status=none
show sha256sum "$MNT/random.bin"
show xfs_io -f -c "truncate 64k" -c "mmap -rw 0 64k" -c "mwrite -S 0x41 0 4096" \
	-c "msync -s 0 64k" -c "mread -v 0 32" "$MNT/mapped.bin"
show head -c 16 "$MNT/mapped.bin"
echo
show xfs_io -r -c "statx -r" "$MNT/hello.txt"
show df -h "$MNT"
show stat "$MNT/hello.txt" "$MNT/mapped.bin"
show ls -la "$MNT"
sync
echo
echo "demo: refdax is mounted at $MNT in this guest."
