#!/usr/bin/env bash
# The 7.x kernel on a Debian 12 machine, called by scripts/install-deps.sh.
#
# Debian 13's backports ship Linux 7.3, whose headers come with trixie's
# gcc-14 and kbuild binaries, which need trixie's C library.  So refdax for
# 7.x is built in a trixie build root (debootstrap, minimal) holding those
# headers; scripts/buildroot.sh runs kbuild there.  The guest boots the 7.3
# vmlinuz and modules taken from the packages, unpacked (not installed:
# their maintainer scripts are trixie's) into /boot and /lib/modules here,
# where the guest finds them through the shared host root.
#
#   scripts/install-buildroot.sh URI     URI: the Debian archive of the
#                                        machine's apt sources
# Environment: RDX_BUILDROOT (default /var/lib/refdax/trixie-root).
set -euo pipefail

uri=${1:?usage: install-buildroot.sh DEBIAN-ARCHIVE-URI}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/buildroot.sh
. "$here/buildroot.sh"
br=$RDX_BUILDROOT
suite=trixie

if [ ! -x "$br/usr/bin/apt-get" ]; then
	apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	rm -rf "$br.partial"
	mkdir -p "$(dirname "$br")"
	debootstrap --variant=minbase "$suite" "$br.partial" "$uri" >"$br.debootstrap.log" 2>&1 || {
		echo "install-buildroot: debootstrap $suite failed (log: $br.debootstrap.log)" >&2
		exit 1
	}
	mv "$br.partial" "$br"
fi
echo "deb $uri $suite-backports main" >"$br/etc/apt/sources.list.d/backports.list"
rdx_in_root apt-get update -qq

# The current 7.x ABI, from the backports meta package (the archive moves it).
kver=$(rdx_in_root apt-cache -o APT::Default-Release="$suite-backports" depends linux-headers-amd64 |
	sed -n 's/.*Depends: linux-headers-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1)
case "$kver" in
7.*) ;;
*) echo "install-buildroot: no 7.x kernel in $suite-backports (found '$kver')" >&2; exit 1 ;;
esac
echo "install-buildroot: kernel $kver"
rdx_in_root apt-get install -y -qq --no-install-recommends -t "$suite-backports" \
	make binutils dwarves "linux-headers-$kver" >/dev/null

# The kernel and its modules, for the guest.
if [ ! -f "/boot/vmlinuz-$kver" ] || [ ! -f "/lib/modules/$kver/modules.dep" ]; then
	dl=$br/var/cache/refdax
	rm -rf "$dl" && mkdir -p "$dl"
	rdx_in_root sh -c "cd /var/cache/refdax && apt-get download -qq \
		linux-binary-unsigned-$kver linux-modules-$kver" >/dev/null
	x=$(mktemp -d)
	trap 'rm -rf "$x"' EXIT
	for deb in "$dl"/*.deb; do
		dpkg-deb -x "$deb" "$x"
	done
	rm -rf "/lib/modules/$kver"
	mkdir -p "/lib/modules/$kver"
	cp -a "$x/usr/lib/modules/$kver/kernel" "/lib/modules/$kver/"
	# modules.builtin* come with linux-base-$kver (installed with the
	# headers); depmod needs them to know what is built in.
	cp "$br/usr/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "/lib/modules/$kver/"
	cp "$x/usr/lib/modules/$kver/vmlinuz.unsigned" "/boot/vmlinuz-$kver.tmp"
	mv "/boot/vmlinuz-$kver.tmp" "/boot/vmlinuz-$kver"
	depmod "$kver"
	rm -rf "$dl"
fi
echo "install-buildroot: $kver ready (headers in $br, kernel in /boot)"
