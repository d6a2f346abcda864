#!/usr/bin/env bash
# make demo: boot a QEMU/TCG guest with 1 GiB of emulated pmem, load refdax,
# mkfs, mount, write/read/map files and show df/stat.  With a terminal on
# stdin you are then left at a shell in the guest (exit it to power off);
# otherwise the guest powers off by itself.
#
#   scripts/demo.sh [KVER]        (default: the installed 6.1 kernel)
#   RDX_SKIP_DEPS=1               do not run scripts/install-deps.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "${RDX_SKIP_DEPS:-0}" != 1 ]; then
	./scripts/install-deps.sh
fi

kver=${1:-${DEMO_KVER:-}}
if [ -z "$kver" ]; then
	for d in /lib/modules/6.1.*/build; do
		[ -d "$d" ] && kver=$(basename "$(dirname "$d")")
	done
fi
[ -n "$kver" ] || { echo "demo: no 6.1 kernel headers found; pass a KVER" >&2; exit 1; }
echo "demo: kernel $kver"

make tools
if ! ./scripts/build-modules.sh "$kver"; then
	echo "demo: refdax.ko did not build for $kver (see build/$kver/build.log)" >&2
	exit 1
fi

out=$root/build/demo/$kver
mkdir -p "$out"
{
	printf 'export ROOT=%q KVER=%q\n' "$root" "$kver"
	printf 'bash %q/scripts/guest/demo-job.sh\n' "$root"
} >"$out/job.sh"

args=(--kver "$kver" --out "$out" --job "$out/job.sh")
if [ -t 0 ] && [ -t 1 ]; then
	echo "demo: booting (TCG, about 10-20 s); you get a shell in the guest at the end."
	echo "demo: 'exit' powers the guest off (Ctrl-A x kills QEMU)."
	exec ./scripts/guest/run-guest.sh "${args[@]}" --shell --timeout 14400
fi
rc=0
./scripts/guest/run-guest.sh "${args[@]}" --timeout 600 || rc=$?
# Show the demo part of the console (without kernel log lines).
grep -v '^\[ *[0-9]*\.[0-9]*\]' "$out/console.log" | sed -n '/rdx-init: kernel/,$p'
if ! grep -q 'demo: refdax is mounted' "$out/console.log"; then
	echo "demo: FAILED (console: ${out#"$root"/}/console.log)" >&2
	exit 1
fi
exit "$rc"
