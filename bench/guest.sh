#!/usr/bin/env bash
# Boot one benchmark guest: like scripts/guest/run-guest.sh (same initramfs,
# same /init, host root shared read-only over 9p, the checkout kept visible
# wherever it is, output directory shared writable at the same path), but
# with a configurable amount of emulated pmem.  run-guest.sh has a fixed
# 1 GiB memmap region, too small for the 1 GiB clone benchmark plus
# filesystem metadata.
#
#   bench/guest.sh --kver KVER --out DIR --job FILE [--pmem-gib N]
#                  [--timeout SEC] [--smp N] [--accel tcg|kvm]
#
#   --pmem-gib N   size of /dev/pmem0 (memmap=NG!4G, default 2); the guest
#                  gets -m (3+N)G, i.e. 3 GiB of RAM below 4 GiB plus the
#                  N GiB above 4 GiB that memmap= turns into pmem
#   --accel        QEMU accelerator (default tcg, as every refdax guest)
#
# Exit status: QEMU's (0 when the guest powered off), 124 on timeout.
set -euo pipefail

kver="" out="" job="" pmem_gib=2 tmo=900 smp=2 accel=tcg
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--job) job=$2; shift 2 ;;
	--pmem-gib) pmem_gib=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	*) echo "bench/guest.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$kver" ] || [ -z "$out" ] || [ -z "$job" ]; then
	echo "bench/guest.sh: --kver, --out and --job are required" >&2
	exit 2
fi
case "$pmem_gib" in
[1-9] | [1-9][0-9]) ;;
*) echo "bench/guest.sh: bad --pmem-gib $pmem_gib" >&2; exit 2 ;;
esac
case "$accel" in
tcg) cpu=max ;;
kvm) cpu=host ;;
*) echo "bench/guest.sh: bad --accel $accel" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/guest/paths.sh
. "$root/scripts/guest/paths.sh"
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || { echo "bench/guest.sh: no readable $kernel" >&2; exit 2; }
initrd=$root/build/guest/$kver/initramfs.cpio.gz
"$root/scripts/guest/mkinitramfs.sh" "$kver" "$initrd"

mkdir -p "$out"
out=$(cd "$out" && pwd)
console=$out/console.log

# The pc machine puts 3 GiB of a >= 3.5 GiB guest below 4 GiB and the rest
# at 4 GiB, exactly where memmap= carves the pmem region from.
params=$(rdx_path_params "$root" "$out" "$job") || exit 2
append="console=ttyS0 loglevel=5 panic=-1 oops=panic $params"
append+=" memmap=${pmem_gib}G!4G"
rdx_check_cmdline bench/guest.sh "$append" || exit 2
qemu=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "$smp" -nographic -no-reboot
	-nic none -machine pc -m "$((3 + pmem_gib))G"
	-kernel "$kernel" -initrd "$initrd"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$out,mount_tag=rdxout,security_model=none,multidevs=remap"
	-append "$append")

rc=0
timeout -k 10 "$tmo" "${qemu[@]}" </dev/null >"$console" 2>&1 || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "bench/guest.sh: guest ($kver) killed after ${tmo}s timeout" >&2
	rc=124
fi
exit "$rc"
