#!/usr/bin/env bash
# Build refdax.ko for every kernel that has headers in /lib/modules/*/build,
# and for every kernel whose headers live in a build root made by
# scripts/install-deps.sh (7.x: trixie's compiler and C library, see
# scripts/buildroot.sh), built there with the tree bind-mounted.
#
# Out-of-tree kbuild writes objects next to the sources, so each kernel gets
# its own copy of Kbuild, src/, include/ and common/ under build/<kver>/
# (copied only when changed, so rebuilds are incremental).  A build whose log
# contains "warning:" counts as failed.
#
#   scripts/build-modules.sh [KVER...]     (default: every kernel with headers)
#
# Per kernel the log is build/<kver>/build.log and the result
# build/<kver>/refdax.ko.  One line per kernel is printed:
#   PASS build-module [kver]   or   FAIL build-module [kver]: reason
# Exit status is non-zero if any kernel failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# One build at a time per tree: concurrent runs would rewrite each other's
# copies under build/<kver>/.
mkdir -p build
exec 8>build/.build-modules.lock
flock 8

# shellcheck source=scripts/buildroot.sh
. "$root/scripts/buildroot.sh"
kvers=("$@")
if [ ${#kvers[@]} -eq 0 ]; then
	mapfile -t kvers < <(rdx_kernels)
fi
if [ ${#kvers[@]} -eq 0 ]; then
	echo "FAIL build-module [none]: no kernel headers in /lib/modules/*/build"
	exit 1
fi

sync_tree() { # $1 = destination; copy changed files only, drop removed ones
	local dst=$1 f
	mkdir -p "$dst"
	while IFS= read -r -d '' f; do
		if ! cmp -s "$f" "$dst/$f"; then
			mkdir -p "$dst/$(dirname "$f")"
			cp -p "$f" "$dst/$f"
		fi
	done < <(find Kbuild src include common -type f \( -name Kbuild -o -name '*.[ch]' -o -name Makefile \) -print0)
	# Sources deleted from the tree (and their stale objects) go too.
	while IFS= read -r -d '' f; do
		f=${f#"$dst"/}
		if [ ! -e "$f" ]; then
			rm -f "$dst/$f" "$dst/${f%.c}.o"
		fi
	done < <(find "$dst/src" "$dst/include" "$dst/common" -type f -name '*.[ch]' -print0 2>/dev/null)
}

failed=0
for kver in "${kvers[@]}"; do
	kdir=$(rdx_kernel_headers "$kver")
	dst=$root/build/$kver
	log=$dst/build.log
	mkdir -p "$dst"
	if ! rdx_in_buildroot "$kver" && [ ! -d "$kdir" ]; then
		echo "FAIL build-module [$kver]: no headers at $kdir"
		failed=1
		continue
	fi
	missing=""
	for item in Kbuild src include common; do
		[ -e "$item" ] || missing+=" $item"
	done
	if [ -n "$missing" ]; then
		echo "FAIL build-module [$kver]: missing sources:$missing"
		failed=1
		continue
	fi
	sync_tree "$dst"
	rc=0
	rdx_kbuild "$kver" -C "$kdir" M="$dst" modules >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL build-module [$kver]: make exited $rc (log: ${log#"$root"/})"
		grep -E 'error:|\*\*\*' "$log" | head -n 10 | sed 's/^/    /'
		failed=1
	elif grep -q 'warning:' "$log"; then
		echo "FAIL build-module [$kver]: compiler warnings (log: ${log#"$root"/})"
		grep 'warning:' "$log" | head -n 10 | sed 's/^/    /'
		failed=1
	elif [ ! -f "$dst/refdax.ko" ]; then
		echo "FAIL build-module [$kver]: no refdax.ko produced"
		failed=1
	else
		echo "PASS build-module [$kver]"
	fi
done
exit "$failed"
