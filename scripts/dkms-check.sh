#!/usr/bin/env bash
# Check that dkms accepts dkms.conf and builds refdax for every kernel with
# headers installed.  The module is built, not installed or loaded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$root/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$root/dkms.conf")
src=/usr/src/$name-$ver

cleanup() {
	dkms remove -m "$name" -v "$ver" --all >/dev/null 2>&1 || true
	rm -rf "$src"
}
trap cleanup EXIT
cleanup
mkdir -p "$src"
cp -a "$root/dkms.conf" "$root/Kbuild" "$root/src" "$root/include" \
	"$root/common" "$src/"
dkms add -m "$name" -v "$ver" >/dev/null
rc=0
for build in /lib/modules/*/build; do
	kver=$(basename "$(dirname "$build")")
	if dkms build -m "$name" -v "$ver" -k "$kver" >/tmp/dkms-$kver.log 2>&1; then
		echo "PASS dkms-build [$kver]"
	else
		echo "FAIL dkms-build [$kver]: see /tmp/dkms-$kver.log"
		tail -n 20 "/tmp/dkms-$kver.log" >&2
		rc=1
	fi
done
exit $rc
