#!/usr/bin/env bash
# make demo works from a checkout under /tmp, which the guest covers with a
# tmpfs (scripts/guest/init keeps the checkout visible).
#
#   tests/anypath/run.sh --kver KVER [--out DIR]
#
# Copies the files of this checkout as they are in the working tree (tracked
# and untracked-but-not-ignored; uncommitted edits included, build/ not) into
# a new /tmp/refdax-anypath.XXXXXX/refdax, runs "RDX_SKIP_DEPS=1 make demo"
# there with stdin not a terminal, and requires exit 0 and "demo: refdax is
# mounted" in its output.  The copy is removed afterwards; its demo output
# and console are kept in DIR (default build/anypath).
#
# Output: "PASS anypath-demo [KVER]: ..." or "FAIL anypath-demo [KVER]: ...",
# then "anypath: ..." with the time taken.  Exit 1 on failure, 2 on usage.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kver="" out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "anypath: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$kver" ] || { echo "usage: $0 --kver KVER [--out DIR]" >&2; exit 2; }
out=${out:-$root/build/anypath}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/demo.log" "$out/console.log"

t0=$(date +%s)
fail() {
	echo "FAIL anypath-demo [$kver]: $*"
	echo "anypath: failed after $(($(date +%s) - t0))s (logs in $out)"
	exit 1
}

tmp=$(mktemp -d /tmp/refdax-anypath.XXXXXX) || fail "mktemp in /tmp failed"
trap 'rm -rf "$tmp"' EXIT
co=$tmp/refdax

# The working tree's files, not a commit: what is being tested may be
# uncommitted.
mkdir -p "$co"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$root" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			# deleted but not yet committed; build/ is not tracked
			if [ -e "$root/$f" ] && [[ $f != build/* ]]; then
				printf '%s\0' "$f"
			fi
		done |
		tar -C "$root" --null -T - -cf - | tar -C "$co" -xf - ||
		fail "copying the checkout to $co failed"
else
	tar -C "$root" --exclude=./build -cf - . | tar -C "$co" -xf - ||
		fail "copying the tree to $co failed"
fi
{ [ -f "$co/Makefile" ] && [ -x "$co/scripts/demo.sh" ]; } || fail "the copy in $co has no Makefile or scripts/demo.sh"

# As a user would type it; not inside this make's jobserver.
rc=0
(cd "$co" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL RDX_SKIP_DEPS=1 DEMO_KVER="$kver" \
	timeout -k 10 1500 make demo) </dev/null >"$out/demo.log" 2>&1 || rc=$?
cp "$co/build/demo/$kver/console.log" "$out/console.log" 2>/dev/null || true
secs=$(($(date +%s) - t0))

if [ "$rc" -ne 0 ]; then
	why=$(grep -a -m 1 -E 'No such file or directory|^FAIL |demo: FAILED|Error [0-9]' "$out/demo.log" || true)
	fail "make demo in $co exited $rc${why:+: $why}"
fi
grep -aq 'demo: refdax is mounted' "$out/demo.log" ||
	fail "make demo in $co exited 0 without 'demo: refdax is mounted'"
echo "PASS anypath-demo [$kver]: make demo from $co"
echo "anypath: make demo from a copy under /tmp took ${secs}s (build and boot)"
