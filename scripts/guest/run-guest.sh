#!/usr/bin/env bash
# Boot one refdax test guest under QEMU/TCG, always bounded by timeout.
#
#   scripts/guest/run-guest.sh --kver KVER --out DIR [--job FILE] [options]
#
#   --kver KVER       kernel to boot (/boot/vmlinuz-KVER, modules of KVER)
#   --out DIR         host directory shared writable into the guest at the
#                     same path (results, logs); created if missing
#   --job FILE        bash script run as root inside the guest, chrooted into
#                     the read-only host root (path as seen on the host)
#   --pmem memmap     (default) 1 GiB of guest RAM as /dev/pmem0 (-m 4G, memmap=1G!4G,
#                     needs modprobe nd_e820 in the guest); lost at power-off
#   --pmem memmap2:N  two N GiB memmap regions, /dev/pmem0 and /dev/pmem1
#                     (fstests' TEST and SCRATCH devices), with 3 GiB of
#                     RAM besides; N from 1 to 8
#   --pmem nvdimm:FILE  file-backed QEMU nvdimm (1026 MiB file, so the label-less
#                     namespace is 2 MiB-aligned); contents survive
#                     power-off; the guest needs modprobe nfit nd_pmem and, on
#                     a fresh file, ndctl create-namespace -m fsdax
#   --keep PATH       also show the host directory PATH in the guest (read-
#                     only, like the rest of the host root) if the guest's
#                     tmpfs mounts would hide it (an fstests build in
#                     /var/tmp); may be repeated
#   --timeout SEC     hard limit for the whole guest run (default 900)
#   --smp N           guest CPUs (default 2)
#   --console FILE    serial console log (default DIR/console.log)
#   --shell           after the job, give an interactive shell on the
#                     console (only when stdin is a terminal)
#   --boot-tries N    boot again, up to N tries in all (default 3), when the
#                     guest kernel panics before /init reports it is up.  No
#                     refdax code has run by then (the initramfs holds only the
#                     9p/virtio modules); the known cause is QEMU's
#                     multi-threaded TCG racing the kernel's boot-time text
#                     patching ("Oops: int3" in a static-key site).  Each
#                     failed boot's console is kept as console.bootfail-K.log.
#
# The checkout and the job file are visible in the guest wherever they are,
# also under /tmp or /root, which the guest covers with tmpfs (paths.sh).
#
# Exit status: QEMU's (0 when the guest powered off), 124 on timeout.
set -euo pipefail

kver="" out="" job="" keeps=() pmem=memmap tmo=900 smp=2 console="" shell=0 tries=3
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--job) job=$2; shift 2 ;;
	--pmem) pmem=$2; shift 2 ;;
	--keep) keeps+=("$2"); shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--console) console=$2; shift 2 ;;
	--shell) shell=1; shift ;;
	--boot-tries) tries=$2; shift 2 ;;
	*) echo "run-guest: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$kver" ] || [ -z "$out" ]; then
	echo "run-guest: --kver and --out are required" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/guest/paths.sh
. "$here/paths.sh"
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || { echo "run-guest: no readable $kernel" >&2; exit 2; }
initrd=$root/build/guest/$kver/initramfs.cpio.gz
"$here/mkinitramfs.sh" "$kver" "$initrd"

mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -n "$console" ] || console=$out/console.log

params=$(rdx_path_params "$root" "$out" "$job") || exit 2
for k in "${keeps[@]}"; do
	k=$(realpath -e -- "$k") || exit 2
	params+=" rdxkeep=$(rdx_enc "$k")"
done
append="console=ttyS0 loglevel=5 panic=-1 oops=panic $params"
[ "$shell" = 1 ] && append+=" rdxshell=1"

qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp "$smp" -nographic -no-reboot -nic none
	-kernel "$kernel" -initrd "$initrd"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$out,mount_tag=rdxout,security_model=none,multidevs=remap")
case "$pmem" in
memmap)
	qemu+=(-machine pc -m 4G)
	append+=" memmap=1G!4G"
	;;
memmap2:[1-8])
	# A gap of 256 MiB of RAM between the two regions: adjacent memmap=
	# ranges would be merged into one e820 entry, one pmem device.
	n=${pmem#memmap2:}
	qemu+=(-machine pc -m "$((3 * 1024 + 2 * n * 1024 + 256))M")
	append+=" memmap=${n}G!4G memmap=${n}G!$((4 * 1024 + n * 1024 + 256))M"
	;;
nvdimm:*)
	file=${pmem#nvdimm:}
	if [ ! -f "$file" ]; then
		mkdir -p "$(dirname "$file")"
		truncate -s 1026M "$file"
	fi
	qemu+=(-machine "pc,nvdimm=on" -m "2G,slots=2,maxmem=8G"
		-object "memory-backend-file,id=mem1,share=on,mem-path=$file,size=1026M,align=2M"
		-device "nvdimm,id=nv1,memdev=mem1,label-size=128K")
	;;
*) echo "run-guest: bad --pmem $pmem" >&2; exit 2 ;;
esac
rdx_check_cmdline run-guest "$append" || exit 2
qemu+=(-append "$append")

# Did this boot die before /init said the kernel is up?  (Only then is a
# retry safe: nothing of ours ran.)
boot_died_early() {
	! grep -aq '^rdx-init: kernel .* up after' "$console" &&
		grep -aq 'Kernel panic' "$console"
}

try=1
while :; do
	rc=0
	if [ "$shell" = 1 ] && [ -t 0 ]; then
		# Interactive: QEMU owns the terminal; the console is also logged.
		timeout -k 10 --foreground "$tmo" "${qemu[@]}" | tee "$console" || rc=$?
		stty sane 2>/dev/null || true
	else
		timeout -k 10 "$tmo" "${qemu[@]}" </dev/null >"$console" 2>&1 || rc=$?
	fi
	if [ "$try" -ge "$tries" ] || ! boot_died_early; then
		break
	fi
	mv "$console" "${console%.log}.bootfail-$try.log"
	echo "run-guest: guest ($kver) kernel panicked while booting, before /init" \
		"(${console%.log}.bootfail-$try.log); booting again" >&2
	try=$((try + 1))
done
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "run-guest: guest ($kver) killed after ${tmo}s timeout" >&2
	rc=124
fi
exit "$rc"
