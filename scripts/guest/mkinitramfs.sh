#!/usr/bin/env bash
# Build the refdax test-guest initramfs for one kernel.
#
#   scripts/guest/mkinitramfs.sh KVER OUTPUT.cpio.gz
#
# Contents: busybox-static, the modules needed to mount the host root over
# virtio-9p (dependencies resolved on the host with modprobe --show-depends,
# .ko.xz decompressed here), and scripts/guest/init.  Everything else (pmem
# drivers, ext4, host tools) is used from the host root inside the guest.
# Rebuilt only when an input is newer than the output.
set -euo pipefail

kver=${1:?usage: mkinitramfs.sh KVER OUTPUT}
out=${2:?usage: mkinitramfs.sh KVER OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkinitramfs: busybox-static not installed" >&2; exit 1; }
[ -d "/lib/modules/$kver" ] || { echo "mkinitramfs: no /lib/modules/$kver" >&2; exit 1; }

if [ -f "$out" ] && [ "$out" -nt "$here/init" ] && [ "$out" -nt "$0" ] &&
	[ "$out" -nt "/lib/modules/$kver/modules.dep" ]; then
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,sbin,dev,proc,sys,newroot,modules,tmp,usr/bin,usr/sbin}
cp "$busybox" "$work/bin/busybox"
for app in $("$busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$work/bin/$app"
done
cp "$here/init" "$work/init"
chmod 0755 "$work/init"

# Modules in load order, each once.  virtio_pci is a module on 6.1 and
# built in on 6.12; "builtin" lines are skipped.
declare -A seen=()
: >"$work/modules/order"
for m in virtio_pci 9pnet_virtio 9p; do
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		base=$(basename "$path")
		base=${base%.xz}
		base=${base%.zst}
		[ -n "${seen[$base]:-}" ] && continue
		seen[$base]=1
		case "$path" in
		*.ko.xz) xz -dc "$path" >"$work/modules/$base" ;;
		*.ko.zst) zstd -qdc "$path" >"$work/modules/$base" ;;
		*) cp "$path" "$work/modules/$base" ;;
		esac
		echo "$base" >>"$work/modules/order"
	done < <(modprobe --show-depends -S "$kver" "$m")
done

mkdir -p "$(dirname "$out")"
(cd "$work" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
echo "mkinitramfs: $out ($(tr '\n' ' ' <"$work/modules/order"))"
