#!/usr/bin/env bash
# Corrupt-image walk: runs INSIDE a test guest (tests/corrupt/run.sh writes a
# job that sets the variables below and execs this script).
#
#   ROOT KVER       repository and kernel
#   C_OUT           writable output directory shared with the host
#   C_SEED          generator seed
#   C_FROM C_TO     image indexes [C_FROM, C_TO)
#   C_STEP_TMO      limit in seconds for one mount / walk / umount step
#   C_INJECT        self-test of the failure handling: crash:I (sysrq c
#                   instead of image I) or stall:I (stop writing progress)
#
# Builds $C_OUT/base.img first when it is missing (mkfs, populate through a
# real mount, clean umount, fsck -n).  For every image: "BEGIN i" goes to
# $C_OUT/progress before anything touches the device, one result line to
# $C_OUT/results afterwards:
#   RESULT i refused|clean|errors|FAIL <tab> mutation <tab> detail
# A step that outlives its limit (a process stuck in D state cannot be
# killed) is reported as "HANG i ..." in progress; the guest then dumps the
# blocked tasks and powers off, and the host continues in a fresh boot.
set -uo pipefail

DEV=/dev/pmem0
MNT=/mnt/corrupt
GEN=$ROOT/build/corrupt/corrupt_gen
WALK=$ROOT/build/corrupt/corrupt_walk
TOOLS=$ROOT/build
PROGRESS=$C_OUT/progress
RESULTS=$C_OUT/results
BASE=$C_OUT/base.img
mkdir -p "$MNT"

prog() { echo "$*" >>"$PROGRESS"; sync "$PROGRESS" 2>/dev/null || true; }
res() { printf '%s\n' "$*" >>"$RESULTS"; sync "$RESULTS" 2>/dev/null || true; }

fatal() {
	prog "SETUP-FAILED $*"
	echo "corrupt job: $*" >&2
	exit 1
}

# run_step TMO CMD...: run CMD with a deadline.  Returns CMD's status, or
# 124 after killing it on time-out.  If even SIGKILL cannot end it (a task
# stuck in the kernel), report a hang and power off: nothing more in this
# boot can be trusted.
STEP_OUT=/tmp/corrupt-step.out
run_step() {
	local tmo=$1 pid waited=0 rc
	shift
	"$@" >"$STEP_OUT" 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$waited" -ge $((tmo * 5)) ]; then
			kill -TERM "$pid" 2>/dev/null
			sleep 2
			kill -KILL "$pid" 2>/dev/null
			local k
			for k in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
			if kill -0 "$pid" 2>/dev/null; then
				prog "HANG $CUR step '$*' pid $pid state $(awk '{print $3}' /proc/$pid/stat 2>/dev/null) wchan $(cat /proc/$pid/wchan 2>/dev/null)"
				cat /proc/"$pid"/stack >>"$PROGRESS" 2>/dev/null
				echo w >/proc/sysrq-trigger
				sleep 1
				sync
				echo o >/proc/sysrq-trigger
				sleep 60
			fi
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.2
		waited=$((waited + 1))
	done
	wait "$pid"
	rc=$?
	return $rc
}

# ---- setup -------------------------------------------------------------
modprobe nd_e820 && modprobe nd_pmem || fatal "no pmem driver"
for _ in $(seq 1 50); do [ -b $DEV ] && break; sleep 0.2; done
[ -b $DEV ] || fatal "no $DEV"
grep -qw refdax /proc/filesystems || insmod "$ROOT/build/$KVER/refdax.ko" ||
	fatal "insmod refdax.ko failed"
# Report a task stuck in the kernel long before the 120 s default.
echo 20 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || true
echo 1 >/proc/sys/kernel/printk_ratelimit 2>/dev/null || true

build_base() {
	local img=/tmp/base-build.img
	set -e
	"$TOOLS/mkfs.refdax" -q -f -L corrupt-base -s 32M "$img"
	dd if="$img" of=$DEV bs=1M conv=fsync status=none
	mount -t refdax $DEV $MNT
	cd $MNT
	printf 'hello, small file\n' >small
	: >empty
	head -c 512K /dev/urandom >large
	# sparse: three blocks far apart
	for b in 0 100 400; do
		dd if=/dev/urandom of=sparse bs=4k count=1 seek=$b conv=notrunc status=none
	done
	# fragmented: 1600 one-block extents (a filler file takes every other
	# physical block, then goes away), enough for a tree of height 3:
	# root index -> index nodes -> leaves
	python3 -c '
import os
fd = os.open("frag", os.O_WRONLY | os.O_CREAT, 0o644)
fl = os.open("filler", os.O_WRONLY | os.O_CREAT, 0o644)
blk = bytes(range(256)) * 16
for i in range(1600):
    os.pwrite(fd, blk, i * 4096)
    os.pwrite(fl, blk, i * 4096)
os.close(fd)
os.close(fl)'
	rm filler
	mkdir -p a/b/c/d a/emptydir many
	echo deep >a/b/c/d/deep
	local i
	for i in $(seq 1 300); do
		echo "$i" >"many/entry_with_a_rather_long_name_number_$i"
	done
	ln -s small shortlink
	ln -s "$(printf 'long/%.0s' $(seq 1 60))target" longlink
	ln -s ../../../../large a/b/c/d/uplink
	ln small hardlink
	ln large a/hardlink2
	cp --reflink=always large clone
	cp large dup
	xfs_io -c "dedupe large 0 0 524288" dup >/dev/null
	xfs_io -c "reflink large 0 4096 65536" small2 >/dev/null 2>&1 || true
	# 40 one-block clones with gaps between them: more refcount records
	# than the superblock's root holds, so the record tree has a leaf
	# node for the generator to hit
	head -c 320K /dev/urandom >scatter-src
	: >scatter
	local args=() k
	for k in $(seq 0 2 78); do
		args+=(-c "reflink scatter-src $((k * 4096)) $((k * 4096)) 4096")
	done
	xfs_io "${args[@]}" scatter >/dev/null
	mkfifo fifo
	mknod chardev c 1 3
	# attribute blocks: inline values, remote runs, ACLs, a symlink's
	setfattr -n user.small -v hello small
	python3 -c "import os; os.setxattr('large', 'user.remote', b'r' * 9000)"
	python3 -c "import os; os.setxattr('a/b/c/d/deep', 'trusted.big', b'b' * 65536)"
	setfattr -n security.label -v lbl a
	setfacl -m u:12:r,g:34:rw small
	setfacl -d -m u:12:rwx a/b
	setfattr -h -n trusted.onlink -v L shortlink
	cd /
	umount $MNT
	"$TOOLS/fsck.refdax" -n $DEV
	dd if=$DEV of="$BASE.tmp" bs=1M count=32 status=none
	mv "$BASE.tmp" "$BASE"
	set +e
}

if [ ! -s "$BASE" ]; then
	prog "BASE building"
	CUR=base
	if ! run_step 600 build_base; then
		prog "BASE-FAILED $(tail -n 5 $STEP_OUT | tr '\n' ' ')"
		fatal "base image build failed: $(tail -n 5 $STEP_OUT | tr '\n' ' ')"
	fi
	prog "BASE ok $("$GEN" --info "$BASE" | head -n 1)"
fi
cp "$BASE" /tmp/base.img || fatal "cannot copy the base image"
dmesg -C
mountpoint -q $MNT && umount $MNT

# ---- images ------------------------------------------------------------
# Per image only two programs run: the generator and corrupt_walk, which
# mounts, walks, unmounts and judges the kernel log itself (see its header);
# in a TCG guest on a 9p root each exec costs about a second under load.
for ((i = C_FROM; i < C_TO; i++)); do
	echo "BEGIN $i" >>"$PROGRESS"
	case "${C_INJECT:-}" in
	"crash:$i") echo c >/proc/sysrq-trigger ;;
	"stall:$i") while :; do read -rt 3600 <> <(:) || :; done ;;
	esac
	tg=$EPOCHREALTIME
	desc=$("$GEN" /tmp/base.img $DEV "$C_SEED" "$i" 2>&1) || {
		res "RESULT $i FAIL	generator failed	$desc"
		continue
	}
	case $((i % 4)) in
	1) opt=errors=remount-ro ;;
	3) opt=errors=continue ;;
	*) opt=defaults ;;
	esac
	tg=$(( (${EPOCHREALTIME/./} - ${tg/./}) / 1000 ))
	echo "IMAGE $i $desc (generated in $tg ms)" >>"$PROGRESS"
	"$WALK" -I "$i" -d $DEV -m $MNT -o "$opt" -t "$C_STEP_TMO" -D "$desc" -R "$RESULTS"
	rc=$?
	if [ $rc = 3 ]; then
		# A task the kernel will not let go: power off, the host goes on
		# with the next image in a fresh boot.
		echo "HANG $i (see results)" >>"$PROGRESS"
		echo o >/proc/sysrq-trigger
		sleep 60
	elif [ $rc != 0 ]; then
		res "RESULT $i FAIL	$desc	corrupt_walk exit $rc"
	fi
done
prog "DONE $C_FROM $C_TO"
