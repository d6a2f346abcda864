#!/usr/bin/env bash
# Package check: the Debian packages the way a user gets them.
#
#   scripts/pkg-check.sh [--out DIR] [--timeout SEC] [KVER...]
#
# A kernel is tested on the system a user of that kernel has: a host kernel
# (headers in /lib/modules/KVER/build) on this bookworm machine, the 7.x
# kernel (headers only in the trixie build root, scripts/buildroot.sh) in
# that build root, RDX_BUILDROOT (default /var/lib/refdax/trixie-root).
# Both get the same two .debs, built once here.  Result labels: [host] and
# [buildroot] for the install and purge, [KVER] for a kernel.
#
# 1. pkg-build: dpkg-buildpackage -us -uc -b in a copy of the tree (its
#    git-tracked and untracked, not ignored files) in DIR/build/, so nothing
#    is written among the tree's own files; the .debs land in DIR/build/.
#    Their contents and the dkms dependency are checked.  pkg-lintian:
#    lintian on the .changes; an error or warning fails.
# 2. pkg-install [host] (if a host kernel is tested): apt-get install
#    ./refdax-dkms_*.deb ./refdax-tools_*.deb.  pkg-install [buildroot] (if a
#    build-root kernel is tested): the same apt-get install of the same
#    .debs chrooted in the build root (rdx_in_root: private mount namespace,
#    /proc /sys /dev mounted), so dkms and what it needs come from trixie
#    through the root's own apt sources (after an apt-get update there if the
#    root's package lists are stale), and the bookworm-built refdax-tools'
#    dependencies must resolve on trixie.
#    The package's postinst (dkms's common.postinst) builds for the running
#    kernel and the newest one only, and for every kernel with headers when
#    the running kernel has no /lib/modules (a chroot's or a VM's host
#    kernel: this machine's, and in the build root, where the running kernel
#    is never the 7.x one); any other kernel is built the way Debian does
#    when that kernel's headers are installed (dkms install -k KVER, what
#    /etc/kernel/header_postinst.d/dkms runs).
#    pkg-dkms [kver], on the kernel's system: dkms status says installed,
#    refdax.ko is in /lib/modules/KVER/updates/dkms, is the module in dkms's
#    tree (/var/lib/dkms/refdax/VERSION/KVER/), modinfo -k KVER resolves
#    refdax to it and its vermagic is KVER.  Its build ID goes to the guest.
# 3. For each kernel one QEMU/TCG guest, one at a time
#    (scripts/guest/pkg-job.sh; for a build-root kernel the job chroots into
#    the build root for everything a user runs): pkg-modprobe [kver]
#    modprobe loads the DKMS module (the running module's build ID is the one
#    DKMS built); pkg-fs [kver] mkfs -t refdax and fsck -t refdax run the
#    packaged tools, mount /dev/pmem0, write, remount, read back, reflink,
#    fsck clean.
# 4. pkg-purge [host|buildroot]: apt-get purge -y refdax-dkms refdax-tools,
#    then no package, no dkms registration, no
#    /lib/modules/*/updates/dkms/refdax.ko*, no /usr/src/refdax-*, no
#    /usr/sbin/{mkfs,fsck}.refdax is left.  The build root must stay a clean
#    build root, as scripts/install-buildroot.sh made it: the packages that
#    came in with refdax-dkms there (dkms, kmod, dpkg-dev, xz-utils...; the
#    list is kept in RDX_BUILDROOT.pkg-check-added while they are installed)
#    are purged too, and the depmod index that dkms left in the root's
#    /lib/modules/KVER, which holds no module, is removed.  So each run
#    installs dkms from trixie as a trixie user's first install does.
#
# Kernels: the arguments, else RDX_KVERS, else every kernel with headers on
# the host or in the build root (rdx_kernels).
# The packages are state of the whole machine (and of the build root): one
# package check runs at a time (flock on /run/lock/refdax-pkg-check.lock),
# the packages are purged on exit whatever happened, and refdax packages or
# DKMS registrations left by an earlier run (or a manual dkms install) on
# the host or in the build root are removed first.
#
# RDX_PKG_BREAK=module|tools makes the guest check fail on purpose, to test it
# (on the host and in the build root alike):
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
# shellcheck source=scripts/buildroot.sh
. "$root/scripts/buildroot.sh"
br=$RDX_BUILDROOT
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
		mapfile -t kvers < <(rdx_kernels)
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

# Where each kernel's packages are installed: host or root (the build root).
declare -A sys_of=()
host_kvers=() root_kvers=()
for kv in "${kvers[@]}"; do
	if rdx_in_buildroot "$kv"; then
		sys_of[$kv]=root
		root_kvers+=("$kv")
	else
		sys_of[$kv]=host
		host_kvers+=("$kv")
	fi
done
# The systems to keep clean: the host, and the build root if there is one.
systems=(host)
[ -x "$br/usr/bin/apt-get" ] && systems+=(root)
# The systems the packages are installed on in this run.
targets=()
[ "${#host_kvers[@]}" -eq 0 ] || targets+=(host)
[ "${#root_kvers[@]}" -eq 0 ] || targets+=(root)

mkdir -p "$out"
exec 8>/run/lock/refdax-pkg-check.lock
if ! flock -w 1800 8; then
	fail pkg-check host "another package check held /run/lock/refdax-pkg-check.lock for 30 min"
	exit 1
fi

# ---- the systems: this machine and the build root -----------------------------
label() { if [ "$1" = root ]; then echo buildroot; else echo host; fi; }
# The path prefix of system $1's files as seen from here.
prefix() { if [ "$1" = root ]; then echo "$br"; fi; }
# Run a command on system $1.
at() {
	local s=$1
	shift
	if [ "$s" = root ]; then
		rdx_in_root "$@"
	else
		"$@"
	fi
}
# A state file beside the build root: the packages that were installed in it
# with the refdax packages (dkms and its dependencies), one a line.
added_file=$br.pkg-check-added
# (dpkg-query's ${...} are its own: SC2016)
pkg_present() { # system package: installed or configuration files left
	local st
	# shellcheck disable=SC2016
	st=$(at "$1" dpkg-query -W -f='${db:Status-Status}' "$2" 2>/dev/null || true)
	[ -n "$st" ] && [ "$st" != not-installed ]
}
installed_pkgs() { # system: the installed packages, sorted
	# shellcheck disable=SC2016
	at "$1" dpkg-query -W -f='${db:Status-Status} ${Package}\n' | awk '$1 == "installed" { print $2 }' | sort
}
dkms_installed() { # system kver
	at "$1" dkms status -m "$name" -v "$ver" -k "$2" 2>/dev/null | grep -q ': installed'
}
# depmod's output in the build root's kernel directories that hold no module
# (the root has the kernels' headers only): dkms ran depmod there.
depmod_index() {
	local d f
	for d in "$br"/usr/lib/modules/*/; do
		[ -d "$d" ] || continue
		[ -z "$(find "$d" -name '*.ko*' -print -quit)" ] || continue
		for f in dep dep.bin alias alias.bin softdep weakdep symbols symbols.bin \
			builtin.bin builtin.alias.bin devname; do
			[ -e "$d/modules.$f" ] && echo "${d%/}/modules.$f"
		done
	done
	true
}
# What the refdax packages or a refdax DKMS registration left on system $1.
leftovers() {
	local s=$1 p f kv P
	P=$(prefix "$s")
	for p in refdax-dkms refdax-tools; do
		pkg_present "$s" "$p" && echo "package $p"
	done
	at "$s" dkms status -m "$name" 2>/dev/null | sed 's/^/dkms: /'
	for f in "$P"/lib/modules/*/updates/dkms/refdax.ko* "$P"/usr/src/"$name"-* \
		"$P"/usr/sbin/mkfs.refdax "$P"/usr/sbin/fsck.refdax; do
		[ -e "$f" ] && echo "$f"
	done
	for kv in "${kvers[@]}"; do
		[ "$s" = host ] || [ "${sys_of[$kv]}" = root ] || continue
		f=$(at "$s" modinfo -k "$kv" -n refdax 2>/dev/null || true)
		[ -n "$f" ] && echo "modinfo -k $kv finds $f"
	done
	if [ "$s" = root ]; then
		if [ -s "$added_file" ]; then
			echo "installed with refdax-dkms: $(tr '\n' ' ' <"$added_file")"
		fi
		depmod_index
		if ! pkg_present root dkms && [ -e "$br/var/lib/dkms" ]; then
			echo "$br/var/lib/dkms without dkms"
		fi
	fi
	true
}
undo_break() { # system
	local s=$1 f kv P
	P=$(prefix "$s")
	for f in mkfs.refdax fsck.refdax; do
		if [ -e "$P/usr/local/sbin/$f.refdax-pkg-check" ]; then
			mv "$P/usr/local/sbin/$f" "$P/usr/sbin/" 2>/dev/null || rm -f "$P/usr/local/sbin/$f"
			rm -f "$P/usr/local/sbin/$f.refdax-pkg-check"
		fi
	done
	for kv in "${kvers[@]}"; do
		if [ -e "$P/lib/modules/$kv/extra/.refdax-pkg-check" ]; then
			# back where dkms put it, so that the purge removes it
			mv "$P/lib/modules/$kv/extra/refdax.ko"* "$P/lib/modules/$kv/updates/dkms/" 2>/dev/null ||
				rm -f "$P/lib/modules/$kv/extra/refdax.ko"*
			rm -f "$P/lib/modules/$kv/extra/.refdax-pkg-check"
			rmdir "$P/lib/modules/$kv/extra" 2>/dev/null || true
			at "$s" depmod "$kv" || true
		fi
	done
}
purge() { # system
	local s=$1 p v P pkgs=()
	P=$(prefix "$s")
	for p in refdax-dkms refdax-tools; do
		pkg_present "$s" "$p" && pkgs+=("$p")
	done
	if [ "${#pkgs[@]}" -gt 0 ]; then
		at "$s" apt-get purge "${apt_opts[@]}" "${pkgs[@]}" || return 1
	fi
	# DKMS registrations without a package (an earlier dkms-check, a manual
	# "dkms install"): the prerm of refdax-dkms removes its own.
	for v in $(at "$s" dkms status -m "$name" 2>/dev/null | sed -n "s|^$name/\([^,:]*\)[,:].*|\1|p" | sort -u); do
		at "$s" dkms remove -m "$name" -v "$v" --all || return 1
	done
	for p in "$P"/usr/src/"$name"-*; do
		[ -d "$p" ] && ! at "$s" dpkg -S "${p#"$P"}" >/dev/null 2>&1 && rm -rf "$p"
	done
	if [ "$s" = root ]; then
		if [ -f "$added_file" ]; then
			pkgs=()
			while read -r p; do
				pkg_present root "$p" && pkgs+=("$p")
			done <"$added_file"
			if [ "${#pkgs[@]}" -gt 0 ]; then
				echo "purging what came with refdax-dkms: ${pkgs[*]}"
				at root apt-get purge "${apt_opts[@]}" "${pkgs[@]}" || return 1
			fi
			rm -f "$added_file"
		fi
		# dkms is gone; the MOK signing key it made is all that is left of it
		if ! pkg_present root dkms && [ -d "$br/var/lib/dkms" ] && [ -z "$(find "$br/var/lib/dkms" \
			-mindepth 1 ! -name mok.key ! -name mok.pub -print -quit)" ]; then
			rm -rf "$br/var/lib/dkms"
		fi
		depmod_index | xargs -r rm -f
		for p in "$br"/usr/lib/modules/*/updates/dkms "$br"/usr/lib/modules/*/updates; do
			[ -d "$p" ] && rmdir "$p" 2>/dev/null
		done
	fi
	true
}
# shellcheck disable=SC2317  # run by the EXIT trap
on_exit() {
	local s
	for s in "${systems[@]}"; do
		undo_break "$s"
		[ -z "$(leftovers "$s")" ] || purge "$s" >>"$out/purge-on-exit.log" 2>&1 || true
	done
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

for s in "${systems[@]}"; do
	if [ -n "$(leftovers "$s")" ]; then
		echo "packages: removing what an earlier run left [$(label "$s")]: $(leftovers "$s" | tr '\n' ';')"
		purge "$s" >"$out/preclean-$(label "$s").log" 2>&1 || true
	fi
done

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
declare -A installed=() dkms_ok=() dkms_bid=()
by_postinst=()
t0=$(date +%s)
install_host() {
	(cd "$bdir" && apt-get install "${apt_opts[@]}" "./${debs[0]##*/}" "./${debs[1]##*/}") \
		>"$out/install.log" 2>&1 && pkg_present host refdax-dkms && pkg_present host refdax-tools
}
# The same .debs in the build root: apt-get there fetches dkms and its
# dependencies from trixie.  The packages that come with them are noted in
# $added_file (only those apt marked automatically installed: nothing that
# scripts/install-buildroot.sh asked for) so that the purge removes them.
install_root() {
	local log=$out/install-buildroot.log tmp before try
	local kv
	tmp=$(mktemp -d "$br/tmp/refdax-pkg.XXXXXX")
	chmod 755 "$tmp"
	cp "${debs[@]}" "$tmp/"
	before=$(installed_pkgs root)
	# A trixie user has the kernel's image installed, whose postinst ran
	# depmod; dkms 3.x runs depmod only for a kernel that has a modules.dep
	# (else it takes the kernel for removed).  The build root has the
	# headers only and the kernel's modules are on the host side: an empty
	# modules.dep stands for the image's, so that dkms indexes refdax there.
	# (dkms removes the index again when its last module goes.)
	for kv in "${root_kvers[@]}"; do
		[ -e "$br/lib/modules/$kv/modules.dep" ] || : >"$br/lib/modules/$kv/modules.dep"
	done
	: >"$log"
	for try in 1 2; do
		if at root apt-get install "${apt_opts[@]}" "${tmp#"$br"}/${debs[0]##*/}" \
			"${tmp#"$br"}/${debs[1]##*/}" >>"$log" 2>&1; then
			break
		fi
		# Package lists older than the archive: fetch failures.
		if [ "$try" != 1 ] || ! grep -qE '^(E: Failed to fetch|E: Unable to fetch|Err:)' "$log"; then
			break
		fi
		echo "packages: the build root's package lists are stale: apt-get update there" | tee -a "$log"
		at root apt-get update -q >>"$log" 2>&1 || break
	done
	rm -rf "$tmp"
	comm -13 <(echo "$before") <(installed_pkgs root) |
		grep -vxE 'refdax-dkms|refdax-tools' |
		grep -xFf <(at root apt-mark showauto) >"$added_file" || true
	[ -s "$added_file" ] || rm -f "$added_file"
	pkg_present root refdax-dkms && pkg_present root refdax-tools
}
if [ "$build_ok" = 1 ]; then
	for s in "${targets[@]}"; do
		if [ "$s" = host ]; then
			ok=0
			install_host && ok=1
			log=$out/install.log
			detail=""
		else
			ok=0
			install_root && ok=1
			log=$out/install-buildroot.log
			# shellcheck disable=SC2016
			detail="($(at root sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"'): dkms $(at root dpkg-query -W -f='${Version}' dkms 2>/dev/null || echo none);"
			detail+=" refdax-tools Depends: $(dpkg-deb -f "${debs[1]}" Depends);"
			detail+=" came with it: $(tr '\n' ' ' <"$added_file" 2>/dev/null | sed 's/ $//')"
			detail+=")"
		fi
		if [ "$ok" = 1 ]; then
			pass pkg-install "$(label "$s")" "$detail"
			installed[$s]=1
		else
			fail pkg-install "$(label "$s")" "apt-get install of the two .debs failed (log: $(rel "$log"))"
			tail -n 15 "$log" | sed 's/^/    /'
		fi
	done
fi
check_dkms() { # kver: on its system
	local kv=$1 s=${sys_of[$1]} P how ko mi built mklog
	P=$(prefix "$s")
	mklog=$P/var/lib/dkms/$name/$ver/build/make.log
	how="by the package's postinst"
	if dkms_installed "$s" "$kv"; then
		by_postinst+=("$kv")
	else
		how="by dkms install -k $kv"
		at "$s" dkms install -m "$name" -v "$ver" -k "$kv" >"$out/dkms-$kv.log" 2>&1 || true
	fi
	[ "$s" = host ] || how+=" in the build root"
	ko=$(compgen -G "$P/lib/modules/$kv/updates/dkms/refdax.ko*" | head -n 1 || true)
	mi=$(at "$s" modinfo -k "$kv" -n refdax 2>/dev/null || true)
	if ! dkms_installed "$s" "$kv"; then
		fail pkg-dkms "$kv" "dkms status: '$(at "$s" dkms status -m "$name" -v "$ver" -k "$kv" 2>&1 | tr '\n' ' ')' (log: $(rel "$out/dkms-$kv.log"), $mklog)"
		tail -n 10 "$mklog" 2>/dev/null | sed 's/^/    /' || true
	elif [ -z "$ko" ]; then
		fail pkg-dkms "$kv" "dkms says installed but $P/lib/modules/$kv/updates/dkms has no refdax.ko"
	elif [ -z "$mi" ] || [ "$(readlink -f "$P$mi")" != "$(readlink -f "$ko")" ]; then
		fail pkg-dkms "$kv" "modinfo -k $kv -n refdax gives '$(at "$s" modinfo -k "$kv" -n refdax 2>&1)', not ${ko#"$P"}"
	elif [ "$(modinfo -F vermagic "$ko" | awk '{ print $1 }')" != "$kv" ]; then
		fail pkg-dkms "$kv" "$ko has vermagic '$(modinfo -F vermagic "$ko")'"
	elif ! built=$(compgen -G "$P/var/lib/dkms/$name/$ver/$kv/*/module/refdax.ko*" | head -n 1) ||
		! cmp -s "$ko" "$built"; then
		fail pkg-dkms "$kv" "$ko is not the module in dkms's tree (${built:-none in $P/var/lib/dkms/$name/$ver/$kv})"
	elif ! dkms_bid[$kv]=$(build_id "$ko") || [ -z "${dkms_bid[$kv]}" ]; then
		fail pkg-dkms "$kv" "$ko has no build ID"
	else
		pass pkg-dkms "$kv" "($ko, built $how)"
		dkms_ok[$kv]=1
	fi
}
for kv in "${kvers[@]}"; do
	[ -z "${installed[${sys_of[$kv]}]:-}" ] || check_dkms "$kv"
done
t_install=$(($(date +%s) - t0))

case "$break_mode" in
"") ;;
module)
	echo "packages: RDX_PKG_BREAK=module: moving the DKMS refdax.ko to extra/ (the guest check must fail)"
	for kv in "${!dkms_ok[@]}"; do
		P=$(prefix "${sys_of[$kv]}")
		mkdir -p "$P/lib/modules/$kv/extra"
		touch "$P/lib/modules/$kv/extra/.refdax-pkg-check"
		mv "$P/lib/modules/$kv/updates/dkms/refdax.ko"* "$P/lib/modules/$kv/extra/"
		at "${sys_of[$kv]}" depmod "$kv"
	done
	;;
tools)
	echo "packages: RDX_PKG_BREAK=tools: moving mkfs.refdax and fsck.refdax to /usr/local/sbin (the guest check must fail)"
	for s in "${!installed[@]}"; do
		P=$(prefix "$s")
		for t in mkfs.refdax fsck.refdax; do
			if [ -e "$P/usr/sbin/$t" ]; then
				mkdir -p "$P/usr/local/sbin"
				touch "$P/usr/local/sbin/$t.refdax-pkg-check"
				mv "$P/usr/sbin/$t" "$P/usr/local/sbin/$t"
			fi
		done
	done
	;;
*) fail pkg-check host "unknown RDX_PKG_BREAK=$break_mode (module or tools)" ;;
esac

# ---- 3. one guest per kernel -------------------------------------------------------
t0=$(date +%s)
for kv in "${kvers[@]}"; do
	s=${sys_of[$kv]}
	reason=""
	[ -n "${installed[$s]:-}" ] || reason="the packages are not installed [$(label "$s")]"
	[ -n "$reason" ] || [ -n "${dkms_ok[$kv]:-}" ] || reason="DKMS did not install refdax for $kv"
	[ -n "$reason" ] || [ -r "/boot/vmlinuz-$kv" ] || reason="no /boot/vmlinuz-$kv"
	if [ -z "$reason" ] && [ -z "$break_mode" ] && ! dkms_installed "$s" "$kv"; then
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
		[ "$s" = host ] || printf 'export RDX_PKG_ROOT=%q\n' "$br"
		printf 'exec bash %q/scripts/guest/pkg-job.sh\n' "$root"
	} >"$gdir/job.sh"
	g0=$(date +%s)
	grc=0
	"$root/scripts/guest/run-guest.sh" --kver "$kv" --out "$gdir" --job "$gdir/job.sh" \
		--timeout "$tmo" >"$gdir/run-guest.log" 2>&1 || grc=$?
	echo "packages: guest on $kv ($(label "$s")): exit $grc after $(($(date +%s) - g0)) s (console: $(rel "$gdir/console.log"), log: $(rel "$gdir/pkg-job.log"))"
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
for s in "${systems[@]}"; do
	undo_break "$s"
	if [ -n "${installed[$s]:-}" ] || [ -n "$(leftovers "$s")" ]; then
		log=$out/purge-$(label "$s").log
		prc=0
		purge "$s" >"$log" 2>&1 || prc=$?
		left=$(leftovers "$s")
		if [ "$prc" -ne 0 ]; then
			fail pkg-purge "$(label "$s")" "apt-get purge failed (log: $(rel "$log"))"
		elif [ -n "$left" ]; then
			fail pkg-purge "$(label "$s")" "left behind: $(tr '\n' ';' <<<"$left")"
		else
			pass pkg-purge "$(label "$s")"
		fi
		others=$(find "$(prefix "$s")"/lib/modules/*/updates/dkms -type f 2>/dev/null | head -n 5 || true)
		[ -z "$others" ] || echo "packages: other DKMS modules [$(label "$s")] (not refdax, left alone): $(tr '\n' ' ' <<<"$others")"
	fi
done
t_purge=$(($(date +%s) - t0))

echo "packages: $name $ver for ${kvers[*]:-no kernel}: build+lintian ${t_build}s, install+dkms ${t_install}s" \
	"(postinst built: ${by_postinst[*]:-none}), guests ${t_guests}s, purge ${t_purge}s, total $(elapsed)s"
exit "$rc"
