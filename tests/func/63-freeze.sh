#!/usr/bin/env bash
# refdax-test: refdax-only
# fsfreeze -f/-u: while frozen, a write(2), a truncate, a create, a store
# through a shared mapping (first store to the page: a write fault) and
# the freeing of an unlinked file at its last close all wait; the frozen
# device is fsck-clean (clean state, empty journal); after the thaw every
# one of them completes and the data is there.  Blocked-vs-done, not speed:
# "still waiting after a few seconds", then "done after the thaw".
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need fsfreeze
frozen=0
pids=()
cleanup() {
	[ "$frozen" = 1 ] && fsfreeze -u "$MNT"
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
cd "$MNT"

PAT=$(prog pattern)
"$PAT" write base 0 65536 1 || fail "write base"
"$PAT" write mapped 0 8192 2 || fail "write mapped"
touch victim
sync

# the mapping is made before the freeze, its page not yet written
HD=$(mktemp -d)
mkfifo "$HD/in"
"$(prog maphold)" mapped rw <"$HD/in" >"$HD/out" 2>&1 &
hpid=$!
pids+=("$hpid")
exec {hfd}>"$HD/in"
lines() { wc -l <"$HD/out"; }
for _ in $(seq 1 600); do [ "$(lines)" -ge 1 ] && break; sleep 0.1; done
[ "$(lines)" -ge 1 ] || fail "maphold did not map: $(cat "$HD/out")"

# a process holds the unlinked victim open until told to close it; the
# close frees the inode (an internal write), which waits while frozen
mkfifo "$HD/close"
sh -c 'exec 3<victim; echo open >"$1/v0"; read -r _ <"$1/close"; exec 3<&-; echo done >"$1/v"' \
	sh "$HD" &
pids+=($!)
for _ in $(seq 1 600); do [ -e "$HD/v0" ] && break; sleep 0.1; done
rm victim
exec {cfd}>"$HD/close"

fsfreeze -f "$MNT" || fail "fsfreeze -f"
frozen=1

# the frozen device: clean, nothing in the journal
out=$("$TOOLS/fsck.refdax" -n "$DEV" 2>&1) || fail "fsck -n while frozen: $out"
grep -q "not cleanly unmounted" <<<"$out" && fail "frozen image not marked clean: $out"
grep -q "journal recovery" <<<"$out" && fail "frozen image has a journal to recover: $out"

# writers, started while frozen
(echo appended >>base; echo done >"$HD/w") &
pids+=($!)
(truncate -s 4096 mapped.t 2>/dev/null; echo done >"$HD/t") &
pids+=($!)
(touch newfile; echo done >"$HD/c") &
pids+=($!)
echo "store 0 4096 5" >&"$hfd"
echo close >&"$cfd"
exec {cfd}>&-

sleep 3
for w in w t c v; do
	[ -e "$HD/$w" ] && fail "writer $w completed on a frozen filesystem"
done
assert_eq "$(lines)" 1 "mmap store replies while frozen (a store went through)"
[ -e newfile ] && fail "create went through while frozen"
# reading is not blocked
cat base >/dev/null || fail "read while frozen"
out=$("$TOOLS/fsck.refdax" -n "$DEV" 2>&1) || fail "fsck -n while frozen, writers waiting: $out"
grep -q "not cleanly unmounted" <<<"$out" && fail "image dirty with writers waiting: $out"

fsfreeze -u "$MNT" || fail "fsfreeze -u"
frozen=0
for w in w t c v; do
	for _ in $(seq 1 600); do [ -e "$HD/$w" ] && break; sleep 0.1; done
	[ -e "$HD/$w" ] || fail "writer $w did not complete after the thaw"
done
for _ in $(seq 1 600); do [ "$(lines)" -ge 2 ] && break; sleep 0.1; done
assert_eq "$(tail -n 1 "$HD/out")" "stored" "mmap store after the thaw"
echo "check 0 4096 5" >&"$hfd"
for _ in $(seq 1 600); do [ "$(lines)" -ge 3 ] && break; sleep 0.1; done
assert_eq "$(tail -n 1 "$HD/out")" "ok" "stored bytes"
echo quit >&"$hfd"
exec {hfd}>&-
wait "$hpid" || fail "maphold exit"
[ -e newfile ] || fail "create lost"
assert_eq "$(tail -c 9 base)" "appended" "appended bytes"
assert_eq "$(fsize mapped.t)" 4096 "truncate after the thaw"

# a second cycle with nothing waiting, then the filesystem works as before
fsfreeze -f "$MNT"
frozen=1
fsfreeze -u "$MNT"
frozen=0
echo again >again || fail "write after the second thaw"
rm -rf "$HD"
