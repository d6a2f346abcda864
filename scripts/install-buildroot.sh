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
# With "sid", a second root holds unstable's 7.x headers (gcc-16), for a
# build check only: no kernel is unpacked and no guest boots it.
#
#   scripts/install-buildroot.sh URI [trixie|sid]
#       URI: the Debian archive of the machine's apt sources
# Environment: RDX_BUILDROOT (default /var/lib/refdax/trixie-root),
# RDX_BUILDONLY_ROOT (default /var/lib/refdax/sid-root).
set -euo pipefail

uri=${1:?usage: install-buildroot.sh DEBIAN-ARCHIVE-URI}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/buildroot.sh
. "$here/buildroot.sh"
suite=${2:-trixie}
case "$suite" in
trixie) br=$RDX_BUILDROOT kernel_suite=$suite-backports ;;
sid) br=$RDX_BUILDONLY_ROOT kernel_suite=sid ;;
*) echo "install-buildroot: suite trixie or sid, not '$suite'" >&2; exit 2 ;;
esac
# rdx_in_root runs in RDX_BUILDROOT.
RDX_BUILDROOT=$br
# An archive that is a dated snapshot (as this machine's may be) serves an
# unstable whose Release file has expired; its headers are still what sid
# builds with, so sid's validity date is not enforced (trixie's is).
apt_opts=()
[ "$suite" = sid ] && apt_opts=(-o Acquire::Check-Valid-Until=false)

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
[ "$suite" = trixie ] &&
	echo "deb $uri $kernel_suite main" >"$br/etc/apt/sources.list.d/backports.list"
rdx_in_root apt-get "${apt_opts[@]}" update -qq

# The current 7.x ABI, from the meta package (the archive moves it).
kver=$(rdx_in_root apt-cache -o APT::Default-Release="$kernel_suite" depends linux-headers-amd64 |
	sed -n 's/.*Depends: linux-headers-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1)
case "$kver" in
7.*) ;;
*) echo "install-buildroot: no 7.x kernel in $kernel_suite (found '$kver')" >&2; exit 1 ;;
esac
echo "install-buildroot: kernel $kver ($suite)"
rdx_in_root apt-get install -y -qq --no-install-recommends -t "$kernel_suite" \
	make binutils dwarves "linux-headers-$kver" >/dev/null
if [ "$suite" = sid ]; then
	echo "install-buildroot: $kver ready for building (headers in $br)"
	exit 0
fi

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
