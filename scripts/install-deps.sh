#!/usr/bin/env bash
# Install everything refdax needs on a fresh Debian 12 machine: build tools,
# the 6.1 (bookworm) and 6.12 (bookworm-backports) kernels with headers,
# the 7.x kernel (trixie-backports) with a trixie build root for its headers
# (scripts/install-buildroot.sh), QEMU for the TCG test guest, the real
# clients the tests drive, and what building and checking the Debian
# packages needs (debian/, pkg-check.sh).  RDX_NO_7X=1 leaves 7.x out.
#
# Registry host names are never written here: the backports URI is derived
# from the machine's existing apt sources.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "install-deps: must run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

stamp=/var/lib/refdax-deps.stamp
want_rev=11
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_rev" ] && [ "${1:-}" != "--force" ]; then
	exit 0
fi

debian_uri() {
	local f uri=""
	for f in /etc/apt/sources.list.d/debian.sources; do
		[ -f "$f" ] && uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
	done
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { echo "install-deps: cannot find the Debian archive URI in apt sources" >&2; exit 1; }
	echo "$uri"
}

bpo=/etc/apt/sources.list.d/refdax-backports.list
if [ ! -f "$bpo" ]; then
	echo "deb $(debian_uri) bookworm-backports main" >"$bpo"
fi

apt-get update -qq

# Resolve the current kernel ABI names from each suite's meta packages instead
# of hard-coding a revision that the archive may have replaced.
abi_of() { # $1 = extra apt options
	# shellcheck disable=SC2086
	apt-cache $1 depends linux-headers-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-headers-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
k61=$(abi_of "")
k612=$(abi_of "-o APT::Default-Release=bookworm-backports")
[ -n "$k61" ] && [ -n "$k612" ] || { echo "install-deps: cannot resolve kernel versions ($k61/$k612)" >&2; exit 1; }
echo "install-deps: kernels $k61 and $k612"

apt-get install -y -qq --no-install-recommends \
	build-essential make gcc libc6-dev bc bison flex libelf-dev kmod cpio \
	busybox-static qemu-system-x86 sparse dkms perl python3 \
	fio xfsprogs e2fsprogs stress-ng ndctl coreutils util-linux duperemove gnuplot-nox \
	attr acl \
	linux-source-6.1 clang libclang-rt-14-dev \
	debhelper dh-dkms dpkg-dev fakeroot lintian \
	"linux-headers-$k61" "linux-image-$k61-unsigned" >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports \
	"linux-headers-$k612" "linux-image-$k612-unsigned" >/dev/null

if [ "${RDX_NO_7X:-0}" != 1 ]; then
	"$(dirname "$0")/install-buildroot.sh" "$(debian_uri)" trixie
	"$(dirname "$0")/install-buildroot.sh" "$(debian_uri)" sid
fi

echo "$want_rev" >"$stamp"
echo "install-deps: done"
