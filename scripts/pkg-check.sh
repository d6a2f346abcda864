#!/usr/bin/env bash
# Package check: the Debian packages the way a user gets them.
#
#   scripts/pkg-check.sh [--out DIR] [--timeout SEC] [KVER...]
#
# 1. pkg-build: dpkg-buildpackage -us -uc -b in a copy of the tree (its
#    git-tracked and untracked, not ignored files) in DIR/build/, so nothing
#    is written among the tree's own files; the .debs land in DIR/build/.
#    Their contents and the dkms dependency are checked.  pkg-lintian:
#    lintian on the .changes; an error or warning fails.
# 2. pkg-install: apt-get install ./refdax-dkms_*.deb ./refdax-tools_*.deb.
#    The package's postinst (dkms's common.postinst) builds for the running
#    kernel and the newest one only, and for none when the running kernel has
#    no /lib/modules (a chroot's or a VM's host kernel); any other kernel is
#    built the way Debian does when that kernel's headers are installed
#    (dkms install -k KVER, what /etc/kernel/header_postinst.d/dkms runs).
#    pkg-dkms [kver]: dkms status says installed, refdax.ko is in
#    /lib/modules/KVER/updates/dkms, is the module in dkms's tree
#    (/var/lib/dkms/refdax/VERSION/KVER/), modinfo -k KVER resolves refdax to
#    it and its vermagic is KVER.  Its build ID goes to the guest.
# 3. For each kernel one QEMU/TCG guest, one at a time
#    (scripts/guest/pkg-job.sh): pkg-modprobe [kver] modprobe loads the DKMS
#    module (the running module's build ID is the one DKMS built); pkg-fs [kver] mkfs -t refdax and fsck -t refdax run the packaged
#    tools, mount /dev/pmem0, write, remount, read back, reflink, fsck clean.
# 4. pkg-purge: apt-get purge -y refdax-dkms refdax-tools, then no package,
#    no dkms registration, no /lib/modules/*/updates/dkms/refdax.ko*, no
#    /usr/src/refdax-*, no /usr/sbin/{mkfs,fsck}.refdax is left.
#
# Kernels: the arguments, else RDX_KVERS, else every /lib/modules/*/build.
# The packages are state of the whole machine: one package check runs at a
# time (flock on /run/lock/refdax-pkg-check.lock), the packages are purged on
# exit whatever happened, and refdax packages or DKMS registrations left by an
# earlier run (or a manual dkms install) are removed first.
#
# RDX_PKG_BREAK=module|tools makes the guest check fail on purpose, to test it:
#   module  after the pkg-dkms checks, move each DKMS refdax.ko from
#           updates/dkms to extra/ (modprobe still loads a refdax.ko, not the
#           DKMS one)
#   tools   after install, move mkfs.refdax and fsck.refdax from /usr/sbin to
#           /usr/local/sbin (outside the package and the system PATH)
#
# Output: "PASS|FAIL|SKIP name [kver]..." lines and one "packages:" summary
# line; exit status non-zero if anything failed.  Logs in DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/pkg
tmo=600
kvers=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	-*) echo "pkg-check: unknown option $1" >&2; exit 2 ;;
	*) kvers+=("$1"); shift ;;
	esac
done
if [ "${#kvers[@]}" -eq 0 ]; then
	if [ -n "${RDX_KVERS:-}" ]; then
		read -r -a kvers <<<"$RDX_KVERS"
	else
		for d in /lib/modules/*/build; do
			[ -d "$d" ] && kvers+=("$(basename "$(dirname "$d")")")
		done
	fi
fi
# The guests see the host's files at the same absolute paths only.
[[ $out == /* ]] || out=$PWD/$out
[ "$(id -u)" = 0 ] || { echo "FAIL pkg-check [host]: must run as root (apt-get, dkms)"; exit 1; }

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$root/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$root/dkms.conf")
arch=$(dpkg --print-architecture)
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
break_mode=${RDX_PKG_BREAK:-}
rc=0
t_start=$(date +%s)
elapsed() { echo "$(($(date +%s) - t_start))"; }
pass() { echo "PASS $1 [$2]${3:+ $3}"; }
fail() {
	echo "FAIL $1 [$2]: $3"
	rc=1
}
rel() { echo "${1#"$root"/}"; }
build_id() { # module file, maybe compressed
	local tmp
	tmp=$(mktemp)
	case "$1" in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac >"$tmp"
	readelf -n "$tmp" | awk '/Build ID:/ { print $3 }'
	rm -f "$tmp"
}

mkdir -p "$out"
exec 8>/run/lock/refdax-pkg-check.lock
if ! flock -w 1800 8; then
	fail pkg-check host "another package check held /run/lock/refdax-pkg-check.lock for 30 min"
	exit 1
fi

# ---- state of the machine -----------------------------------------------------
pkg_present() { # package: installed or configuration files left
	local st
	st=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)
	[ -n "$st" ] && [ "$st" != not-installed ]
}
dkms_installed() { # kver
	dkms status -m "$name" -v "$ver" -k "$1" 2>/dev/null | grep -q ': installed'
}
# What the refdax packages or a refdax DKMS registration left on the machine.
leftovers() {
	local p f kv
	for p in refdax-dkms refdax-tools; do
		pkg_present "$p" && echo "package $p"
	done
	dkms status -m "$name" 2>/dev/null | sed 's/^/dkms: /'
	for f in /lib/modules/*/updates/dkms/refdax.ko* /usr/src/"$name"-* \
		/usr/sbin/mkfs.refdax /usr/sbin/fsck.refdax; do
		[ -e "$f" ] && echo "$f"
	done
	for kv in "${kvers[@]}"; do
		f=$(modinfo -k "$kv" -n refdax 2>/dev/null || true)
		[ -n "$f" ] && echo "modinfo -k $kv finds $f"
	done
	true
}
undo_break() {
	local f kv
	for f in mkfs.refdax fsck.refdax; do
		if [ -e "/usr/local/sbin/$f.refdax-pkg-check" ]; then
			mv "/usr/local/sbin/$f" /usr/sbin/ 2>/dev/null || rm -f "/usr/local/sbin/$f"
			rm -f "/usr/local/sbin/$f.refdax-pkg-check"
		fi
	done
	for kv in "${kvers[@]}"; do
		if [ -e "/lib/modules/$kv/extra/.refdax-pkg-check" ]; then
			# back where dkms put it, so that the purge removes it
			mv "/lib/modules/$kv/extra/refdax.ko"* "/lib/modules/$kv/updates/dkms/" 2>/dev/null ||
				rm -f "/lib/modules/$kv/extra/refdax.ko"*
			rm -f "/lib/modules/$kv/extra/.refdax-pkg-check"
			rmdir "/lib/modules/$kv/extra" 2>/dev/null || true
			depmod "$kv" || true
		fi
	done
}
purge() {
	local p v pkgs=()
	for p in refdax-dkms refdax-tools; do
		pkg_present "$p" && pkgs+=("$p")
	done
	if [ "${#pkgs[@]}" -gt 0 ]; then
		apt-get purge "${apt_opts[@]}" "${pkgs[@]}" || return 1
	fi
	# DKMS registrations without a package (an earlier dkms-check, a manual
	# "dkms install"): the prerm of refdax-dkms removes its own.
	for v in $(dkms status -m "$name" 2>/dev/null | sed -n "s|^$name/\([^,:]*\)[,:].*|\1|p" | sort -u); do
		dkms remove -m "$name" -v "$v" --all || return 1
	done
	for p in /usr/src/"$name"-*; do
		[ -d "$p" ] && ! dpkg -S "$p" >/dev/null 2>&1 && rm -rf "$p"
	done
	true
}
# shellcheck disable=SC2317  # run by the EXIT trap
on_exit() {
	undo_break
	[ -z "$(leftovers)" ] || purge >>"$out/purge-on-exit.log" 2>&1 || true
}
trap on_exit EXIT

# Trees from before this script ran scripts/dkms-check.sh, which adds and
# removes the same refdax/VERSION in dkms and /usr/src/refdax-VERSION without
# this lock: wait until none runs.
for _ in $(seq 1 120); do
	pgrep -f 'scripts/dkms-check\.sh' >/dev/null || break
	[ "$_" -gt 1 ] || echo "packages: waiting for a scripts/dkms-check.sh of another tree to end"
	sleep 5
done

if [ -n "$(leftovers)" ]; then
	echo "packages: removing what an earlier run left: $(leftovers | tr '\n' ';')"
	purge >"$out/preclean.log" 2>&1 || true
fi

# ---- 1. build ------------------------------------------------------------------
bdir=$out/build
src=$bdir/$name-$ver
rm -rf "$bdir"
mkdir -p "$src"
t0=$(date +%s)
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio -0 -pdm --quiet "$src")
else
	tar -C "$root" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
debs=("$bdir/refdax-dkms_${ver}_all.deb" "$bdir/refdax-tools_${ver}_$arch.deb")
build_ok=0
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	fail pkg-build host "dpkg-buildpackage failed (log: $(rel "$out/build.log"))"
	tail -n 15 "$out/build.log" | sed 's/^/    /'
elif ! [ -f "${debs[0]}" ] || ! [ -f "${debs[1]}" ]; then
	fail pkg-build host "no ${debs[*]##*/} (the changelog's version must be dkms.conf's $ver)"
else
	why=""
	dkms_list=$(dpkg-deb -c "${debs[0]}" | awk '{ print $6 }')
	tools_list=$(dpkg-deb -c "${debs[1]}" | awk '{ print $6 }')
	for f in dkms.conf Kbuild src/refdax_super.c common/refdax_crc.c include/refdax_format.h; do
		grep -qx "./usr/src/$name-$ver/$f" <<<"$dkms_list" || why+=" refdax-dkms lacks /usr/src/$name-$ver/$f;"
	done
	dpkg-deb -f "${debs[0]}" Depends | grep -qw dkms || why+=" refdax-dkms does not depend on dkms;"
	for f in usr/sbin/mkfs.refdax usr/sbin/fsck.refdax \
		usr/share/man/man8/mkfs.refdax.8.gz usr/share/man/man8/fsck.refdax.8.gz; do
		grep -qx "./$f" <<<"$tools_list" || why+=" refdax-tools lacks /$f;"
	done
	if [ -n "$why" ]; then
		fail pkg-build host "${why% ;}"
	else
		pass pkg-build host "(${debs[0]##*/}, ${debs[1]##*/}: $(($(date +%s) - t0)) s)"
		build_ok=1
	fi
fi
if [ "$build_ok" = 1 ]; then
	if command -v lintian >/dev/null; then
		if lintian --fail-on error,warning "$bdir"/*.changes >"$out/lintian.log" 2>&1; then
			pass pkg-lintian host
		else
			fail pkg-lintian host "$(grep -cE '^[EW]: ' "$out/lintian.log") errors/warnings (log: $(rel "$out/lintian.log"))"
			grep -E '^[EW]: ' "$out/lintian.log" | head -n 10 | sed 's/^/    /'
		fi
	else
		echo "SKIP pkg-lintian [host]: lintian is not installed"
	fi
fi
t_build=$(($(date +%s) - t0))

# ---- 2. install; DKMS for each kernel ------------------------------------------
install_ok=0
declare -A dkms_ok=() dkms_bid=()
t0=$(date +%s)
if [ "$build_ok" = 1 ]; then
	if (cd "$bdir" && apt-get install "${apt_opts[@]}" "./${debs[0]##*/}" "./${debs[1]##*/}") \
		>"$out/install.log" 2>&1 && pkg_present refdax-dkms && pkg_present refdax-tools; then
		pass pkg-install host
		install_ok=1
	else
		fail pkg-install host "apt-get install of the two .debs failed (log: $(rel "$out/install.log"))"
		tail -n 15 "$out/install.log" | sed 's/^/    /'
	fi
fi
by_postinst=()
if [ "$install_ok" = 1 ]; then
	for kv in "${kvers[@]}"; do
		how="by the package's postinst"
		if dkms_installed "$kv"; then
			by_postinst+=("$kv")
		else
			how="by dkms install -k $kv"
			dkms install -m "$name" -v "$ver" -k "$kv" >"$out/dkms-$kv.log" 2>&1 || true
		fi
		ko=$(compgen -G "/lib/modules/$kv/updates/dkms/refdax.ko*" | head -n 1 || true)
		if ! dkms_installed "$kv"; then
			fail pkg-dkms "$kv" "dkms status: '$(dkms status -m "$name" -v "$ver" -k "$kv" 2>&1 | tr '\n' ' ')' (log: $(rel "$out/dkms-$kv.log"), /var/lib/dkms/$name/$ver/build/make.log)"
			tail -n 10 "/var/lib/dkms/$name/$ver/build/make.log" 2>/dev/null | sed 's/^/    /' || true
		elif [ -z "$ko" ]; then
			fail pkg-dkms "$kv" "dkms says installed but /lib/modules/$kv/updates/dkms has no refdax.ko"
		elif [ "$(modinfo -k "$kv" -n refdax 2>/dev/null)" != "$ko" ]; then
			fail pkg-dkms "$kv" "modinfo -k $kv -n refdax gives '$(modinfo -k "$kv" -n refdax 2>&1)', not $ko"
		elif [ "$(modinfo -F vermagic "$ko" | awk '{ print $1 }')" != "$kv" ]; then
			fail pkg-dkms "$kv" "$ko has vermagic '$(modinfo -F vermagic "$ko")'"
		elif ! built=$(compgen -G "/var/lib/dkms/$name/$ver/$kv/*/module/refdax.ko*" | head -n 1) ||
			! cmp -s "$ko" "$built"; then
			fail pkg-dkms "$kv" "$ko is not the module in dkms's tree (${built:-none in /var/lib/dkms/$name/$ver/$kv})"
		elif ! dkms_bid[$kv]=$(build_id "$ko") || [ -z "${dkms_bid[$kv]}" ]; then
			fail pkg-dkms "$kv" "$ko has no build ID"
		else
			pass pkg-dkms "$kv" "($ko, built $how)"
			dkms_ok[$kv]=1
		fi
	done
fi
t_install=$(($(date +%s) - t0))

case "$break_mode" in
"") ;;
module)
	echo "packages: RDX_PKG_BREAK=module: moving the DKMS refdax.ko to extra/ (the guest check must fail)"
	for kv in "${!dkms_ok[@]}"; do
		mkdir -p "/lib/modules/$kv/extra"
		touch "/lib/modules/$kv/extra/.refdax-pkg-check"
		mv "/lib/modules/$kv/updates/dkms/refdax.ko"* "/lib/modules/$kv/extra/"
		depmod "$kv"
	done
	;;
tools)
	echo "packages: RDX_PKG_BREAK=tools: moving mkfs.refdax and fsck.refdax to /usr/local/sbin (the guest check must fail)"
	for t in mkfs.refdax fsck.refdax; do
		if [ -e "/usr/sbin/$t" ]; then
			mkdir -p /usr/local/sbin
			touch "/usr/local/sbin/$t.refdax-pkg-check"
			mv "/usr/sbin/$t" "/usr/local/sbin/$t"
		fi
	done
	;;
*) fail pkg-check host "unknown RDX_PKG_BREAK=$break_mode (module or tools)" ;;
esac

# ---- 3. one guest per kernel -------------------------------------------------------
t0=$(date +%s)
for kv in "${kvers[@]}"; do
	reason=""
	[ "$install_ok" = 1 ] || reason="the packages are not installed"
	[ -n "$reason" ] || [ -n "${dkms_ok[$kv]:-}" ] || reason="DKMS did not install refdax for $kv"
	[ -n "$reason" ] || [ -r "/boot/vmlinuz-$kv" ] || reason="no /boot/vmlinuz-$kv"
	if [ -z "$reason" ] && [ -z "$break_mode" ] && ! dkms_installed "$kv"; then
		reason="refdax for $kv left dkms status after pkg-dkms (removed by another dkms user on this machine?)"
	fi
	if [ -n "$reason" ]; then
		fail pkg-modprobe "$kv" "not run: $reason"
		fail pkg-fs "$kv" "not run: $reason"
		continue
	fi
	gdir=$out/$kv
	rm -rf "$gdir"
	mkdir -p "$gdir"
	{
		echo "# generated by scripts/pkg-check.sh"
		printf 'export ROOT=%q RDX_DKMS_BUILD_ID=%q\n' "$root" "${dkms_bid[$kv]}"
		printf 'exec bash %q/scripts/guest/pkg-job.sh\n' "$root"
	} >"$gdir/job.sh"
	g0=$(date +%s)
	grc=0
	"$root/scripts/guest/run-guest.sh" --kver "$kv" --out "$gdir" --job "$gdir/job.sh" \
		--timeout "$tmo" >"$gdir/run-guest.log" 2>&1 || grc=$?
	echo "packages: guest on $kv: exit $grc after $(($(date +%s) - g0)) s (console: $(rel "$gdir/console.log"), log: $(rel "$gdir/pkg-job.log"))"
	for n in pkg-modprobe pkg-fs; do
		line=$(grep -E "^(PASS|FAIL) $n(:|\$)" "$gdir/results" 2>/dev/null | tail -n 1 || true)
		case "$line" in
		"PASS $n") pass "$n" "$kv" ;;
		"FAIL $n: "*) fail "$n" "$kv" "${line#"FAIL $n: "}" ;;
		*) fail "$n" "$kv" "no result: the guest ended (exit $grc) before it (console: $(rel "$gdir/console.log"))" ;;
		esac
	done
done
t_guests=$(($(date +%s) - t0))

# ---- 4. purge --------------------------------------------------------------------------
t0=$(date +%s)
undo_break
if [ "$install_ok" = 1 ] || [ -n "$(leftovers)" ]; then
	prc=0
	purge >"$out/purge.log" 2>&1 || prc=$?
	left=$(leftovers)
	if [ "$prc" -ne 0 ]; then
		fail pkg-purge host "apt-get purge failed (log: $(rel "$out/purge.log"))"
	elif [ -n "$left" ]; then
		fail pkg-purge host "left behind: $(tr '\n' ';' <<<"$left")"
	else
		pass pkg-purge host
	fi
	others=$(find /lib/modules/*/updates/dkms -type f 2>/dev/null | head -n 5 || true)
	[ -z "$others" ] || echo "packages: other DKMS modules (not refdax, left alone): $(tr '\n' ' ' <<<"$others")"
fi
t_purge=$(($(date +%s) - t0))

echo "packages: $name $ver for ${kvers[*]:-no kernel}: build+lintian ${t_build}s, install+dkms ${t_install}s" \
	"(postinst built: ${by_postinst[*]:-none}), guests ${t_guests}s, purge ${t_purge}s, total $(elapsed)s"
exit "$rc"
