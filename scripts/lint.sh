#!/usr/bin/env bash
# Kernel-style checks: checkpatch --strict (from Debian's linux-source-6.1)
# over every C file, and sparse (make C=1) of the module for each kernel.
# Prints PASS/FAIL lines; exits non-zero on any finding.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/lint
mkdir -p "$work"

checkpatch=$work/linux-source-6.1/scripts/checkpatch.pl
if [ ! -x "$checkpatch" ]; then
	if [ ! -f /usr/src/linux-source-6.1.tar.xz ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends linux-source-6.1 >/dev/null
	fi
	tar -C "$work" -xJf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi

rc=0
cd "$root"
# The compatibility header exists to test kernel versions.
cp_out=$(for f in src/*.[ch] common/*.c include/*.h mkfs/*.[ch] fsck/*.[ch] tools/*.[ch]; do
	[ -e "$f" ] || continue
	extra=()
	[ "$f" = src/refdax_compat.h ] &&
		extra=(--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON)
	# Userspace has no __printf(): this header is where it is defined.
	[ "$f" = fsck/fsck_compiler.h ] &&
		extra=(--ignore PREFER_DEFINED_ATTRIBUTE_MACRO)
	"$checkpatch" --no-tree --strict -q --show-types "${extra[@]}" -f "$f" |
		sed "s|^|$f: |"
done 2>&1 | grep -E ': (ERROR|WARNING|CHECK):' || true)
if [ -n "$cp_out" ]; then
	echo "$cp_out"
	echo "FAIL checkpatch [host]: $(wc -l <<<"$cp_out") findings"
	rc=1
else
	echo "PASS checkpatch [host]"
fi

# Lower layers never call upward: no call loop between the module's files.
if layering_out=$(python3 scripts/layering.py src common 2>&1); then
	echo "PASS layering [host]"
else
	echo "$layering_out"
	echo "FAIL layering [host]: call loop between files"
	rc=1
fi

# shellcheck source=scripts/buildroot.sh
. scripts/buildroot.sh
for kver in $(rdx_kernels); do
	build=$(rdx_kernel_headers "$kver")
	dir=$work/sparse-$kver
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a Kbuild src include common "$dir/"
	log=$dir/sparse.log
	rdx_kbuild "$kver" -C "$build" M="$dir" C=1 W=1 modules >"$log" 2>&1 || true
	findings=$(grep -E '(warning|error):' "$log" | grep -v 'Skipping BTF' || true)
	if grep -q 'sparse is not available or not up to date' "$log" && [ -z "$findings" ]; then
		# 7.x headers use __typeof_unqual__, which Debian's sparse 0.6.4
		# does not parse, and Debian's 7.x headers package lacks the
		# scripts/checker-valid.sh that kbuild asks: kbuild skips sparse.
		echo "SKIP sparse [$kver]: kbuild finds no usable sparse for these headers"
	elif [ -n "$findings" ] || ! [ -f "$dir/refdax.ko" ]; then
		echo "$findings"
		echo "FAIL sparse [$kver]: see $log"
		rc=1
	else
		echo "PASS sparse [$kver]"
	fi
done
exit $rc
