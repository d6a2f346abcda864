# shellcheck shell=bash
# Kernels refdax builds for, and how to run their kbuild.  Sourced.
#
# A kernel's headers are either on this machine (/lib/modules/K/build, the
# bookworm kernels) or in a build root: a Debian root made by
# scripts/install-buildroot.sh with debootstrap, whose compiler and C library
# the kernel's kbuild needs (7.x is built with trixie's gcc-14).  Kbuild then
# runs chrooted there, in a private mount namespace in which the build
# directory is bind-mounted at its own path.
#
# RDX_BUILDROOT (trixie) holds the 7.x kernel that is also booted and tested;
# RDX_BUILDONLY_ROOT (sid) holds a newer 7.x whose headers refdax must build
# against (gcc-16), without a guest: its kernel is not unpacked here.

RDX_BUILDROOT=${RDX_BUILDROOT:-/var/lib/refdax/trixie-root}
RDX_BUILDONLY_ROOT=${RDX_BUILDONLY_ROOT:-/var/lib/refdax/sid-root}

# The root holding kernel $1's headers (none for a host kernel).
rdx_root_of() {
	local r
	[ -d "/lib/modules/$1/build" ] && return 0
	for r in "$RDX_BUILDROOT" "$RDX_BUILDONLY_ROOT"; do
		[ -d "$r/lib/modules/$1/build" ] && { echo "$r"; return 0; }
	done
	return 0
}

# Kernels refdax is built for but not booted: the build-only root's.
rdx_buildonly_kernels() {
	local d k
	for d in "$RDX_BUILDONLY_ROOT"/lib/modules/*/build; do
		k=$(basename "$(dirname "$d")")
		[ -d "$d" ] && [ ! -r "/boot/vmlinuz-$k" ] && echo "$k"
	done
	return 0
}

# Every kernel with headers, one per line, host kernels first.
rdx_kernels() {
	local d
	for d in /lib/modules/*/build; do
		[ -d "$d" ] && basename "$(dirname "$d")"
	done
	for d in "$RDX_BUILDROOT"/lib/modules/*/build; do
		[ -d "$d" ] && [ -r "/boot/vmlinuz-$(basename "$(dirname "$d")")" ] &&
			basename "$(dirname "$d")"
	done
	return 0
}

# Whether kernel $1 is built in a build root.
rdx_in_buildroot() {
	[ -n "$(rdx_root_of "$1")" ]
}

# The headers directory of kernel $1 as kbuild sees it.
rdx_kernel_headers() {
	echo "/lib/modules/$1/build"
}

# Run a command chrooted in the build root, the way a program runs on a
# trixie machine: in a private mount namespace (nothing is mounted on this
# machine's side) with /proc, /sys and /dev mounted in the root, a clean
# environment with the system PATH, DEBIAN_FRONTEND=noninteractive (apt,
# dpkg).  Its exit status is the command's.  RDX_ROOT_BIND=DIR also shows
# this machine's DIR at the same path inside the root (kbuild's M=).
rdx_in_root() {
	# shellcheck disable=SC2016  # expanded by the inner bash
	unshare -m bash -c '
		set -e
		br=$1 bind=$2
		shift 2
		if [ -n "$bind" ]; then
			mkdir -p "$br$bind"
			mount --bind "$bind" "$br$bind"
		fi
		mount -t proc proc "$br/proc"
		mount -t sysfs sysfs "$br/sys"
		mount --rbind /dev "$br/dev"
		exec chroot "$br" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
		rdx-root "$RDX_BUILDROOT" "${RDX_ROOT_BIND:-}" "$@"
}

# make for kernel $1 with the remaining arguments; M= must be an absolute
# directory on this machine outside the build root.
rdx_kbuild() {
	local kver=$1 arg m=""
	shift
	if ! rdx_in_buildroot "$kver"; then
		make "$@"
		return
	fi
	for arg in "$@"; do
		case "$arg" in M=*) m=${arg#M=} ;; esac
	done
	[ -n "$m" ] || { echo "rdx_kbuild: M= is required" >&2; return 2; }
	RDX_BUILDROOT=$(rdx_root_of "$kver") RDX_ROOT_BIND=$m rdx_in_root make "$@"
}
