#!/usr/bin/env bash
# Persistence across umount + mount: a tree of files, directories, links and
# symlinks with known content; checksums and metadata compared after mount;
# then changes (rm, rename, overwrite) and another cycle.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
PAT=$(prog pattern)
cd "$MNT"

for d in $(seq 1 8); do
	mkdir -p "t/d$d/sub"
	for f in $(seq 1 25); do
		"$PAT" write "t/d$d/f$f" 0 $(( (d * 7919 + f * 104729) % 300000 + 1 )) $((d * 100 + f)) || fail write
	done
	ln -s "../d$d/f1" "t/d$d/sub/link"
	ln "t/d$d/f2" "t/d$d/sub/hard"
done
"$PAT" write t/large 0 $((50 * 1024 * 1024)) 999 || fail "write large"
manifest() {
	(cd "$MNT/t" && find . -printf '%p %y %s %m %n %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
m1=$(manifest)
for round in 1 2; do
	remount
	m2=$(manifest)
	[ "$m1" = "$m2" ] || { diff <(echo "$m1") <(echo "$m2") | head -n 20; fail "tree differs after remount $round"; }
done
cd "$MNT"
"$PAT" check t/large 0 $((50 * 1024 * 1024)) 999 || fail "large after remount"

# Changes, then another cycle.
rm -r t/d3
mv t/d4 t/d4moved
"$PAT" write t/d5/f5 1000 5000 777 || fail overwrite
truncate -s 100 t/d6/f6
m1=$(manifest)
remount
cd "$MNT"
m2=$(manifest)
[ "$m1" = "$m2" ] || { diff <(echo "$m1") <(echo "$m2") | head -n 20; fail "tree differs after changes + remount"; }
[ ! -e t/d3 ] || fail "removed directory came back"
"$PAT" check t/d5/f5 1000 5000 777 || fail "overwritten range after remount"
