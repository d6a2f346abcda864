#!/usr/bin/env bash
# refdax-test: refdax-only
# fsfreeze -f/-u: while frozen, a write(2), a truncate, a create, a store
# through a shared mapping (to a page not stored to yet, and to one whose
# pte was made writable before the freeze) and the freeing of an unlinked
# file at its last close all wait; the frozen device is fsck-clean (clean
# state, empty journal); after the thaw every one of them completes and the
# data is there.  Blocked-vs-done, not speed:
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
"$PAT" write mapped2 0 8192 3 || fail "write mapped2"
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
# a second mapping whose page is stored to before the freeze: its pte is
# writable then, and the store after the freeze must wait all the same
mkfifo "$HD/in2"
"$(prog maphold)" mapped2 rw <"$HD/in2" >"$HD/out2" 2>&1 &
h2pid=$!
pids+=("$h2pid")
exec {h2fd}>"$HD/in2"
lines2() { wc -l <"$HD/out2"; }
echo "store 0 4096 8" >&"$h2fd"
for _ in $(seq 1 600); do [ "$(lines2)" -ge 2 ] && break; sleep 0.1; done
assert_eq "$(tail -n 1 "$HD/out2")" stored "store before the freeze"

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
(echo appended >>base; echo ok >"$HD/w") &
pids+=($!)
(truncate -s 4096 mapped.t 2>/dev/null; echo ok >"$HD/t") &
pids+=($!)
(touch newfile; echo ok >"$HD/c") &
pids+=($!)
echo "store 0 4096 5" >&"$hfd"
echo "store 0 4096 9" >&"$h2fd"
echo close >&"$cfd"
exec {cfd}>&-

sleep 3
for w in w t c v; do
	[ -e "$HD/$w" ] && fail "writer $w completed on a frozen filesystem"
done
assert_eq "$(lines)" 1 "mmap store replies while frozen (a store went through)"
assert_eq "$(lines2)" 2 "replies of a store through a pte writable before the freeze"
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
for _ in $(seq 1 600); do [ "$(lines2)" -ge 3 ] && break; sleep 0.1; done
echo "check 0 4096 9" >&"$h2fd"
for _ in $(seq 1 600); do [ "$(lines2)" -ge 4 ] && break; sleep 0.1; done
assert_eq "$(tail -n 1 "$HD/out2")" "ok" "bytes stored through the old pte after the thaw"
echo quit >&"$h2fd"
exec {h2fd}>&-
wait "$h2pid" || fail "maphold 2 exit"
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
