# shellcheck shell=bash
# Helpers for tests/func/*.sh (sourced; the runner exports TESTLIB).
# Tests run with DEV, MNT, TOOLS, TBIN, KVER, FSTYPE and T_OUT set and with
# the filesystem under test freshly made and mounted at $MNT (unless their
# header says nomount).  Exit 0 = pass, 77 = skip, anything else = fail.
set -euo pipefail

: "${MNT:?}" "${DEV:?}" "${TBIN:?}"
export TMPDIR=${TMPDIR:-/tmp} TZ=UTC LC_ALL=C

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "# $*"; }

assert_eq() { # actual expected what
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}
assert_ge() { # actual min what
	[ "$1" -ge "$2" ] || fail "${3:-value}: expected >= $2, got $1"
}
assert_le() { # actual max what
	[ "$1" -le "$2" ] || fail "${3:-value}: expected <= $2, got $1"
}
assert_file_eq() { # a b
	cmp -s "$1" "$2" || fail "content of $1 differs from $2"
}

# expect_err ERRTEXT CMD...: CMD must fail and its stderr mention ERRTEXT.
expect_err() {
	local want=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "'$*' succeeded, expected failure ($want)"
	grep -qi -- "$want" <<<"$out" || fail "'$*' failed with '$out', expected '$want'"
}

fsize() { stat -c %s "$1"; }
fblocks() { stat -c %b "$1"; } # 512-byte units
finode() { stat -c %i "$1"; }
fnlink() { stat -c %h "$1"; }
# Free blocks of the filesystem at $MNT, in KiB.
free_kb() { df -Pk "$MNT" | awk 'NR == 2 { print $4 }'; }
used_kb() { df -Pk "$MNT" | awk 'NR == 2 { print $3 }'; }

# mkdata FILE SIZE_BYTES: deterministic pseudo-random content (seeded).
# openssl reads exactly SIZE bytes of zeroes, so no pipe is cut short (head
# closing it made openssl die of SIGPIPE, which pipefail turned into a failure).
mkdata() {
	local seed=${3:-$1}
	head -c "$2" /dev/zero |
		openssl enc -aes-128-ctr -nosalt -pass "pass:$seed" -pbkdf2 -out "$1" 2>/dev/null
}

# dev_wipe MIB: zero the first MIB MiB of $DEV.  A device-dax instance has
# no write(): it is mapped through device_dax (MIB a multiple of its
# alignment) and left bound as it was.
dev_wipe() {
	if [ -c "$DEV" ]; then
		local was
		was=$(readlink "/sys/bus/dax/devices/${DEV##*/}/driver") || true
		dax_bind device_dax || return 1
		python3 - "$DEV" "$1" <<'PY' || return 1
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
n = int(sys.argv[2]) << 20
m = mmap.mmap(fd, n, mmap.MAP_SHARED)
m[:] = bytes(n)
m.close()
PY
		[ -z "$was" ] || dax_bind "${was##*/}"
	else
		dd if=/dev/zero of="$DEV" bs=1M count="$1" conv=fsync status=none
	fi
}

# remount: unmount and mount the filesystem under test again.
remount() {
	cd /
	sync
	umount "$MNT" || fail "umount for remount failed"
	fs_mount || fail "mount for remount failed"
}

need() { # commands
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not available"
	done
}
prog() { # name -> path of a compiled test program
	[ -x "$TBIN/$1" ] || fail "test program $TBIN/$1 missing (build/tests not built?)"
	echo "$TBIN/$1"
}

# ---- refdax helpers shared by the reflink tests -----------------------------
# The filesystem's sysfs directory, and one counter from it.
rdx_sysfs() { echo "/sys/fs/refdax/$(basename "$DEV")"; }
ctr() { cat "$(rdx_sysfs)/$1"; }

# mount_refused SRC WHY [-F]: mounting SRC on $MNT must fail, and the kernel
# log written since must hold WHY (a basic regex; with -F fixed text).
mount_refused() {
	local src=$1 why=$2 opt=${3:--e} mark="refdax-test-mark-$RANDOM"
	echo "$mark" >/dev/kmsg
	if mount -t refdax "$src" "$MNT" 2>/dev/null; then
		umount "$MNT"
		fail "mount of $src succeeded, expected refusal: $why"
	fi
	dmesg | sed -n "/$mark/,\$p" | grep -q "$opt" "$why" ||
		fail "no '$why' in the kernel log: $(dmesg | sed -n "/$mark/,\$p" | tail -n 3)"
}
# Whether this kernel's refdax maps 2 MiB PMDs (not on 7.x: refdax_compat.h).
pmd_mappings() { [ "$(ctr pmd_mappings)" = 1 ]; }

# blk FILE BLOCK -> "PHYS FLAGS" of 4 KiB block BLOCK from fiemap (PHYS in
# 512-byte units, FLAGS as xfs_io prints them); phys prints PHYS only.
blk() {
	xfs_io -r -c "fiemap -v $(($2 * 4096)) 4096" "$1" |
		awk '$1 ~ /^[0-9]+:$/ { split($3, a, /\.\./); print a[1], $5; exit }'
}
phys() { local b; b=$(blk "$1" "$2"); echo "${b%% *}"; }

# fragment FILE BYTES SEED: write BYTES of pattern SEED, then punch out every
# other 4 KiB block, leaving BYTES / 8192 one-block extents (an extent tree
# with nodes of its own once that passes the inode's root).
fragment() {
	local off punch=()
	"$(prog pattern)" write "$1" 0 "$2" "$3" || fail "write $1"
	for off in $(seq 0 8192 $(($2 - 1))); do
		punch+=(-c "fpunch $off 4096")
	done
	xfs_io "${punch[@]}" "$1" || fail "punch every other block of $1"
}

# Memory-failure tests: load the poison injector and find the pmem range,
# or skip.  Sets INJ (write a pfn to poison it) and PMEM_BASE (hex address).
hwpoison_setup() {
	modprobe hwpoison_inject 2>/dev/null || skip "no hwpoison_inject module"
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	INJ=/sys/kernel/debug/hwpoison/corrupt-pfn
	[ -w "$INJ" ] || skip "no $INJ"
	PMEM_BASE=$(grep -i "Persistent Memory" /proc/iomem | head -n 1 |
		sed 's/^ *\([0-9a-f]*\)-.*/\1/')
	[ -n "$PMEM_BASE" ] || skip "no Persistent Memory range in /proc/iomem"
}
# pfn_of FILE [BLOCK]: page frame of 4 KiB block BLOCK (default 0) of FILE
# (fiemap reports 512-byte units from the start of the device).
pfn_of() {
	local sect
	sect=$(phys "$1" "${2:-0}")
	[ -n "$sect" ] || fail "no extent for block ${2:-0} of $1"
	echo $((0x$PMEM_BASE / 4096 + sect / 8))
}

# Evict clean inodes, so the next access sets up mappings from scratch.
drop_inodes() { sync; echo 2 >/proc/sys/vm/drop_caches; }

# Mapping holders: tests/prog/maphold processes, numbered I, each fed
# commands through a FIFO (made in a local temporary directory: FIFOs do not
# work on the 9p share that holds T_OUT).
declare -a HOLDER_PID HOLDER_FD
HOLDER_DIR=""
holder() { # I FILE MODE
	local fd
	[ -n "$HOLDER_DIR" ] || HOLDER_DIR=$(mktemp -d)
	rm -f "$HOLDER_DIR/in.$1"
	mkfifo "$HOLDER_DIR/in.$1"
	: >"$HOLDER_DIR/out.$1"
	"$(prog maphold)" "$2" "$3" <"$HOLDER_DIR/in.$1" >"$HOLDER_DIR/out.$1" \
		2>"$HOLDER_DIR/err.$1" &
	HOLDER_PID[$1]=$!
	exec {fd}>"$HOLDER_DIR/in.$1"
	HOLDER_FD[$1]=$fd
	wait_reply "$1" 1 >/dev/null
}
wait_reply() { # I LINES -> prints the last line once holder I said LINES lines
	local t
	for t in $(seq 1 1200); do
		if [ "$(wc -l <"$HOLDER_DIR/out.$1")" -ge "$2" ]; then
			tail -n 1 "$HOLDER_DIR/out.$1"
			return 0
		fi
		kill -0 "${HOLDER_PID[$1]}" 2>/dev/null ||
			fail "holder $1 died: $(cat "$HOLDER_DIR/err.$1")"
		[ "$t" -lt 1200 ] && sleep 0.1
	done
	fail "holder $1: no reply"
}
send() { # I COMMAND... -> prints the holder's reply
	local n
	n=$(wc -l <"$HOLDER_DIR/out.$1")
	echo "${*:2}" >&"${HOLDER_FD[$1]}"
	wait_reply "$1" $((n + 1))
}
quit_holder() { # I
	local fd=${HOLDER_FD[$1]}
	echo quit >&"$fd"
	exec {fd}>&-
	wait "${HOLDER_PID[$1]}" || fail "holder $1 exited with $?"
	rm -f "$HOLDER_DIR/in.$1"
}
