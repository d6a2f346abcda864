#!/usr/bin/env bash
# refdax-test: refdax-only timeout=900
# overlayfs on refdax, lower, upper and work all on it, mounted with
# redirect_dir=on,index=on,metacopy=on: the kernel log has no "overlayfs:"
# line (no fallback: file handles, UUID, xattrs, tmpfile and whiteouts all
# pass its probes) and /proc/mounts keeps the three options.  Through the
# overlay: the rename of a lower directory works (no EXDEV) and leaves a
# redirect; writing one byte into a 64 MiB lower file copies it up by
# clone (every other block of the upper copy has the lower file's physical
# address and the shared flag, shared_blocks counts them); chmod of a lower
# file copies metadata only (a metacopy upper with no blocks); delete leaves
# whiteouts; readdir merges the layers.  After umount, fsck and mount again
# the overlay remounts with its index and shows the same tree.  A second
# overlay takes two lower directories and an upper in another directory of
# the same refdax.  File handles directly: name_to_handle_at and
# open_by_handle_at of a file and of a directory whose dentries were
# dropped (reconnected through the parent), ESTALE after unlink.
set -euo pipefail
# shellcheck source=tests/guest/testlib.sh
. "$TESTLIB"
need xfs_io getfattr python3
PAT=$(prog pattern)
FH=$(prog fhandle)
modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "no overlayfs"
OVL=/mnt/ovl-68
mkdir -p "$OVL"
cleanup() { umount "$OVL" 2>/dev/null || true; }
trap cleanup EXIT

mark() { # -> a fresh kernel-log marker
	local m="refdax-68-$RANDOM$RANDOM"
	echo "$m" >/dev/kmsg
	echo "$m"
}
# no_ovl_msgs MARK WHAT: nothing from overlayfs in the log since MARK.
no_ovl_msgs() {
	local l
	l=$(dmesg | sed -n "/$1/,\$p" | grep "overlayfs:" || true)
	[ -z "$l" ] || fail "$2: overlayfs said: $l"
}
ovl_mount() { # LOWER UPPER WORK
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,redirect_dir=on,index=on,metacopy=on" "$OVL" ||
		fail "mount -t overlay ($1 / $2)"
	local o
	o=$(awk -v m="$OVL" '$2 == m { print $4 }' /proc/mounts)
	for f in redirect_dir=on index=on metacopy=on; do
		grep -qw "$f" <<<"${o//,/ }" || fail "overlay mount options lack $f: $o"
	done
}
# shared_kib FILE: KiB of FILE's extents flagged shared (fiemap).
shared_kib() {
	xfs_io -r -c "fiemap -v" "$1" |
		awk '$1 ~ /^[0-9]+:$/ && and(strtonum($5), 0x2000) { s += $4 } END { print s / 2 }'
}
names() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' '; }
# mapped_kib FILE: KiB of FILE's data extents (fiemap; holes excluded).
mapped_kib() {
	xfs_io -r -c "fiemap -v" "$1" | awk '$1 ~ /^[0-9]+:$/ && $3 != "hole" { s += $4 } END { print s / 2 }'
}
# trusted FILE NAME: the value of trusted.overlay.NAME in hex (empty if none).
trusted() {
	getfattr -e hex --absolute-names -n "trusted.overlay.$2" "$1" 2>/dev/null | sed -n 's/^[^=]*=//p'
}

# ---- file handles on refdax itself ------------------------------------------------
cd "$MNT"
mkdir -p h/a/b/c
echo handle >h/f
read -r t x < <("$FH" get h/f) || fail "name_to_handle_at h/f"
[ "$t" = 1 ] || fail "h/f handle type $t, want 1 (FILEID_INO32_GEN)"
assert_eq "$("$FH" open "$MNT" "$t" "$x")" "ino $(finode h/f)" "open_by_handle_at h/f"
read -r dt dx < <("$FH" get h/a/b/c) || fail "name_to_handle_at h/a/b/c"
drop_inodes
assert_eq "$("$FH" open "$MNT" "$dt" "$dx")" "ino $(finode h/a/b/c)" \
	"open_by_handle_at of a directory with its dentries dropped"
rm h/f
drop_inodes
out=$("$FH" open "$MNT" "$t" "$x" || true)
assert_eq "$out" ESTALE "open_by_handle_at after unlink"
echo new >h/g
read -r gt gx < <("$FH" get h/g) || fail "name_to_handle_at h/g"
assert_eq "$("$FH" open "$MNT" "$gt" "$gx")" "ino $(finode h/g)" "open_by_handle_at h/g"
# the same inode number with another generation (last byte flipped)
last=$(printf '%02x' $((0x${gx: -2} ^ 1)))
out=$("$FH" open "$MNT" "$gt" "${gx:0:${#gx}-2}$last" || true)
assert_eq "$out" ESTALE "open_by_handle_at with another generation"

# ---- the lower tree -----------------------------------------------------------------
mkdir -p lower/ldir/sub lower/gone-dir upper work
"$PAT" write lower/big 0 $((64 << 20)) 68 || fail "write lower/big"
"$PAT" write lower/small 0 $((1 << 20)) 69 || fail "write lower/small"
"$PAT" write lower/ldir/sub/deep 0 8192 70 || fail "write lower/ldir/sub/deep"
echo one >lower/ldir/one
echo gone >lower/gone
echo x >lower/gone-dir/x
sync
sb0=$(ctr shared_blocks)

m=$(mark)
ovl_mount "$MNT/lower" "$MNT/upper" "$MNT/work"
no_ovl_msgs "$m" "mount with redirect_dir=on,index=on,metacopy=on"

# rename of a lower directory: redirect_dir, no EXDEV
mv "$OVL/ldir" "$OVL/ldir2" || fail "rename of a lower directory"
[ ! -e "$OVL/ldir" ] || fail "ldir still there after its rename"
assert_eq "$(cat "$OVL/ldir2/one")" one "ldir2/one after the rename"
"$PAT" check "$OVL/ldir2/sub/deep" 0 8192 70 || fail "ldir2/sub/deep after the rename"
[ -n "$(trusted "$MNT/upper/ldir2" redirect)" ] || fail "no redirect xattr on upper/ldir2"

# copy-up of a 64 MiB file by writing one byte: a clone
B=100
xfs_io -c "pwrite -S 0x5a $((B * 4096 + 7)) 1" "$OVL/big" >/dev/null || fail "one-byte write to big"
[ -f "$MNT/upper/big" ] || fail "big not copied up"
assert_eq "$(fsize "$MNT/upper/big")" $((64 << 20)) "upper big size"
assert_eq "$(shared_kib "$MNT/upper/big")" $((64 * 1024 - 4)) "KiB of upper/big shared with lower/big"
assert_eq "$(shared_kib "$MNT/lower/big")" $((64 * 1024 - 4)) "KiB of lower/big shared with upper/big"
for b in 0 1 $((B - 1)) $((B + 1)) 8191 16383; do
	assert_eq "$(blk "$MNT/upper/big" $b)" "$(blk "$MNT/lower/big" $b)" "block $b of upper/big (address, flags)"
done
[ "$(phys "$MNT/upper/big" $B)" != "$(phys "$MNT/lower/big" $B)" ] ||
	fail "block $B of upper/big still at the lower address after the write"
assert_eq "$(ctr shared_blocks)" $((sb0 + 16383)) "shared_blocks after the copy-up"
assert_eq "$(dd if="$OVL/big" bs=1 skip=$((B * 4096 + 7)) count=1 status=none)" Z "the byte written"
"$PAT" check "$MNT/lower/big" 0 $((64 << 20)) 68 || fail "lower/big changed"
"$PAT" check "$OVL/big" 0 $((B * 4096)) 68 || fail "overlay big before the byte"
"$PAT" check "$OVL/big" $(((B + 1) * 4096)) $(((16383 - B) * 4096)) 68 ||
	fail "overlay big after the written block"
[ -n "$(trusted "$MNT/upper/big" origin)" ] || fail "no origin xattr on upper/big"

# metacopy: chmod copies metadata only
chmod 600 "$OVL/small"
[ -f "$MNT/upper/small" ] || fail "small not copied up by chmod"
getfattr --absolute-names -d -m trusted.overlay.metacopy "$MNT/upper/small" 2>/dev/null |
	grep -q metacopy || fail "upper/small has no metacopy xattr"
assert_eq "$(mapped_kib "$MNT/upper/small")" 0 "KiB of data mapped by the metacopy upper/small"
assert_eq "$(fsize "$MNT/upper/small")" $((1 << 20)) "size of the metacopy upper/small"
assert_eq "$(stat -c %a "$OVL/small")" 600 "mode of small through the overlay"
"$PAT" check "$OVL/small" 0 $((1 << 20)) 69 || fail "small content through the overlay"

# whiteouts
rm "$OVL/gone"
rm -r "$OVL/gone-dir"
for w in gone gone-dir; do
	[ ! -e "$OVL/$w" ] || fail "$w still visible after delete"
	assert_eq "$(stat -c '%F %t:%T' "$MNT/upper/$w")" "character special file 0:0" "whiteout of $w"
done
[ -e "$MNT/lower/gone" ] || fail "lower/gone was removed"

# readdir merges lower and upper
echo fresh >"$OVL/fresh"
assert_eq "$(names "$OVL")" "big fresh ldir2 small " "merged readdir"
assert_eq "$(names "$OVL/ldir2")" "one sub " "readdir of the renamed lower directory"
no_ovl_msgs "$m" "overlay operations"

# umount, fsck, mount again: the same tree, index verified, no message
umount "$OVL"
cd /
umount "$MNT" || fail "umount $MNT"
fs_fsck >"$T_OUT/fsck-68.log" 2>&1 || fail "fsck after the overlay: $(tail -n 3 "$T_OUT/fsck-68.log")"
fs_mount || fail "mount $MNT again"
m=$(mark)
ovl_mount "$MNT/lower" "$MNT/upper" "$MNT/work"
assert_eq "$(names "$OVL")" "big fresh ldir2 small " "merged readdir after remount"
assert_eq "$(cat "$OVL/ldir2/one")" one "ldir2/one after remount"
assert_eq "$(dd if="$OVL/big" bs=1 skip=$((B * 4096 + 7)) count=1 status=none)" Z "the byte after remount"
"$PAT" check "$OVL/small" 0 $((1 << 20)) 69 || fail "metacopy small after remount"
# data copy-up of the metacopy file: a clone too
xfs_io -c "pwrite -S 0x41 0 1" "$OVL/small" >/dev/null || fail "write to small"
assert_eq "$(shared_kib "$MNT/upper/small")" $((1024 - 4)) "KiB of upper/small shared after its data copy-up"
umount "$OVL"
no_ovl_msgs "$m" "remount of the overlay"

# ---- two lower directories and an upper elsewhere on the same refdax ---------------
cd "$MNT"
mkdir -p l1/d l2/d other/up other/wk
echo l1 >l1/d/a
echo l2 >l2/d/b
echo top >l1/d/same
echo bottom >l2/d/same
"$PAT" write l2/d/data 0 $((4 << 20)) 71 || fail "write l2/d/data"
m=$(mark)
ovl_mount "$MNT/l1:$MNT/l2" "$MNT/other/up" "$MNT/other/wk"
no_ovl_msgs "$m" "mount with two lower layers"
assert_eq "$(names "$OVL/d")" "a b data same " "merged readdir of two lower layers"
assert_eq "$(cat "$OVL/d/same")" top "upper lower layer wins"
mv "$OVL/d" "$OVL/e" || fail "rename of a directory merged from two lower layers"
xfs_io -c "pwrite -S 0x5a 4096 1" "$OVL/e/data" >/dev/null || fail "write to e/data"
assert_eq "$(shared_kib "$MNT/other/up/e/data")" $((4 * 1024 - 4)) "KiB of other/up/e/data shared"
"$PAT" check "$OVL/e/data" 8192 $(((4 << 20) - 8192)) 71 || fail "e/data after its copy-up"
umount "$OVL"
no_ovl_msgs "$m" "two-lower overlay"
