#!/usr/bin/env bash
# Benchmark job: runs INSIDE the guest that scripts/bench.sh boots (through
# bench/guest.sh).  Compares refdax, XFS (reflink=1, -o dax=always) and ext4
# (-o dax) on /dev/pmem0, reformatted between filesystems.  Filesystems are
# interleaved round by round (refdax, xfs, ext4, refdax, ...) so that a
# change in host load hits all of them alike; medians are taken on the host.
#
# Environment (written by scripts/bench.sh into the job file):
#   ROOT BIN KVER RDX_OUT  repository, bench programs, kernel, results dir
#   ROUNDS                 rounds over the filesystems
#   FSLIST                 filesystems ("refdax xfs ext4")
#   CLONE_MIB CLONE_REPS   FICLONE source size, clones per round
#   CLONE_BIG_MIB          a bigger source, cloned once per round (scaling)
#   FRAG_EXTENTS           extents of the fragmented source (one block each)
#   OVL_MIB                lower file written once through overlayfs (copy-up)
#   FIO_MIB FIO_IOS        mmap randwrite file size, 4 KiB writes per run
#   PSYNC_MIB PSYNC_SEC    psync file size, seconds per psync run
#   FC_KIB FC_REPS FC_NS   fault_cost file size, passes, sharing degrees
#   SF_FILES               small files per create/unlink run
#   FIOMAP_MIB FIOMAP_SEC  fio mmap file size, seconds per fio mmap job
#   PMD_MIB                pmd_share file size (a multiple of 2 MiB)
#   MSYNC_MIB MSYNC_REPS   msync_cost file size, timed msyncs
#   FSTORE_MIB FSTORE_N    first-store file size, stores
#   RAW_DAX                1: also the raw device (namespace as devdax), fio mmap rows
#   STEPS                  only these steps (empty: all), e.g. "fiomap msync"
#
# Output: $RDX_OUT/raw.txt, lines
#   R <round> <fs> <metric> <value>     one sample
#   E <round> <fs> <metric> <message>   a step that failed
#   W <round> <fs> kernel-log <message> a peer filesystem's kernel warning
#   I <key> <value...>                  information
# and "DONE" last when the job completed.  Per-step logs: $RDX_OUT/logs/.
set -euo pipefail

: "${ROOT:?}" "${BIN:?}" "${RDX_OUT:?}"
KVER=${KVER:-$(uname -r)}
DEV=/dev/pmem0
MNT=/mnt/bench
RAW=$RDX_OUT/raw.txt
LOGS=$RDX_OUT/logs
export PATH=$ROOT/build:$PATH LC_ALL=C
mkdir -p "$LOGS" "$MNT"
: >"$RAW"

rec() { echo "$*" >>"$RAW"; }
sample() { rec "R $round $fs $1 $2"; }
err() { # metric message...
	local m=$1
	shift
	rec "E $round $fs $m $*"
	echo "bench: ERROR $fs $m (round $round): $*"
}
say() { echo "bench: [$(cut -d' ' -f1 /proc/uptime)s] $*"; }

# The kernel log is scanned after each filesystem pass (tests/guest/kmsg.sh).
# shellcheck source=tests/guest/kmsg.sh
. "$ROOT/tests/guest/kmsg.sh"
dmesg_check() { # where
	local new hits
	new=$(dmesg | tail -n +"$((dmesg_lines + 1))")
	dmesg_lines=$(dmesg | wc -l)
	hits=$(kmsg_hits "" <<<"$new")
	if [ -n "$hits" ]; then
		echo "$new" >"$LOGS/dmesg-$1"
		local first
		first=$(grep -Fm1 "${hits%%;*}" <<<"$new" | sed 's/^\[ *[0-9.]*\] //')
		if [ "$fs" = refdax ]; then
			err kernel-log "kernel log: $first (logs/dmesg-$1)"
		else
			# A peer's own kernel warning: recorded, not a refdax failure.
			rec "W $round $fs kernel-log $first (logs/dmesg-$1)"
			echo "bench: peer $fs kernel warning: $first"
		fi
	fi
}

# want_step step: is this step selected (STEPS empty = every step)?
want_step() { [ -z "${STEPS:-}" ] || [[ " $STEPS " == *" $1 "* ]]; }

# ---- setup --------------------------------------------------------------------
modprobe nd_e820
modprobe nd_pmem
for _ in $(seq 1 50); do [ -b "$DEV" ] && break; sleep 0.2; done
[ -b "$DEV" ] || { echo "bench: no $DEV"; exit 1; }
insmod "$ROOT/build/$KVER/refdax.ko"
modprobe xfs
modprobe ext4
rec "I kernel $KVER"
rec "I pmem_bytes $(blockdev --getsize64 "$DEV")"
rec "I cpus $(nproc)"
rec "I mem_kib $(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
rec "I fio $(fio --version)"
rec "I mmap_sizes fio ${FIOMAP_MIB:-?} MiB ${FIOMAP_SEC:-?} s/job, pmd_share ${PMD_MIB:-?} MiB," \
	"msync ${MSYNC_MIB:-?} MiB x ${MSYNC_REPS:-?} reps, first stores ${FSTORE_N:-?} in ${FSTORE_MIB:-?} MiB"
dmesg_lines=$(dmesg | wc -l)

SYS=""
mkfs_mount() { # fs
	umount "$MNT" 2>/dev/null || true
	case "$1" in
	refdax)
		mkfs.refdax -f -q "$DEV" >"$LOGS/mkfs-$1.log" 2>&1
		mount -t refdax "$DEV" "$MNT"
		SYS=/sys/fs/refdax/$(basename "$DEV")
		;;
	xfs)
		mkfs.xfs -f -m reflink=1 "$DEV" >"$LOGS/mkfs-$1.log" 2>&1
		mount -t xfs -o dax=always "$DEV" "$MNT"
		;;
	ext4)
		mkfs.ext4 -F -q "$DEV" >"$LOGS/mkfs-$1.log" 2>&1
		mount -t ext4 -o dax "$DEV" "$MNT"
		;;
	esac
	# Every filesystem must really be in DAX mode, or the comparison is moot.
	if [ "$1" != refdax ] && ! grep -q "^$DEV $MNT .*dax" /proc/mounts; then
		err mount "not mounted with dax: $(grep " $MNT " /proc/mounts)"
		return 1
	fi
}

# make_file path MiB: a file of real (written) data blocks, 0xcd bytes.
make_file() {
	if ! timeout -k 5 300 xfs_io -f -c "pwrite -q -b 1m 0 ${2}m" -c fsync "$1"; then
		err make_file "cannot write $1 (${2} MiB)"
		return 1
	fi
}

# Run a command under a time limit; log its output; non-zero on failure.
run() { # metric limit log cmd...
	local m=$1 lim=$2 log=$3 rc=0
	shift 3
	timeout -k 5 "$lim" "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		err "$m" "exit $rc: $(tail -n 3 "$log" | tr '\n' ' ')"
		return 1
	fi
}

sysval() { cat "$SYS/$1" 2>/dev/null || echo NA; }

# ---- 1. FICLONE of a CLONE_MIB file ------------------------------------------------
bench_clone() {
	local log=$LOGS/clone-$fs-$round.log
	[ "$fs" = ext4 ] && return 0
	make_file "$MNT/big" "$CLONE_MIB" || return 1
	sync
	if run clone_ns 300 "$log" "$BIN/clone_time" -n "$CLONE_REPS" "$MNT/big" "$MNT"; then
		awk '$1 == "clone_ns" { print $2 }' "$log" | while read -r v; do sample clone_ns "$v"; done
		awk '$1 == "unclone_ns" { print $2 }' "$log" | while read -r v; do sample unclone_ns "$v"; done
	fi
	rm -f "$MNT/big" "$MNT/clone_time.tmp"
	sync
}

# ---- 1b. clone cost against size: a CLONE_BIG_MIB file, CLONE_REPS clones ----------
bench_clonebig() {
	local log=$LOGS/clonebig-$fs-$round.log
	[ "$fs" = ext4 ] && return 0
	[ "${CLONE_BIG_MIB:-0}" -gt 0 ] || return 0
	make_file "$MNT/big" "$CLONE_BIG_MIB" || return 1
	sync
	if run clonebig_ns 600 "$log" "$BIN/clone_time" -n "$CLONE_REPS" "$MNT/big" "$MNT"; then
		awk '$1 == "clone_ns" { print $2 }' "$log" | while read -r v; do sample clonebig_ns "$v"; done
	fi
	rm -f "$MNT/big" "$MNT/clone_time.tmp"
	sync
}

# ---- 1c. clone of a file of FRAG_EXTENTS one-block extents -------------------------
# Every other block of a 2 * FRAG_EXTENTS-block file is punched out, so each
# extent is its own physical run: the clone shares FRAG_EXTENTS extents, and
# the space it takes is metadata only (refcount records, extent maps).
bench_clonefrag() {
	local log=$LOGS/clonefrag-$fs-$round.log b cmds=()
	[ "$fs" = ext4 ] && return 0
	[ "${FRAG_EXTENTS:-0}" -gt 0 ] || return 0
	make_file "$MNT/frag" $((FRAG_EXTENTS * 2 * 4096 / 1048576 + 1)) || return 1
	for b in $(seq 1 2 $((FRAG_EXTENTS * 2 - 1))); do
		cmds+=(-c "fpunch $((b * 4096)) 4096")
	done
	xfs_io -c "truncate $((FRAG_EXTENTS * 2 * 4096))" "${cmds[@]}" -c fsync "$MNT/frag" ||
		{ err clonefrag_ns "cannot punch $MNT/frag"; return 1; }
	if run clonefrag_ns 600 "$log" "$BIN/clone_time" -n "$CLONE_REPS" -e "$FRAG_EXTENTS" \
		"$MNT/frag" "$MNT"; then
		awk '$1 == "clone_ns" { print $2 }' "$log" | while read -r v; do sample clonefrag_ns "$v"; done
		awk '$1 == "meta_bytes_per_extent" { print $2 }' "$log" |
			while read -r v; do sample meta_per_extent "$v"; done
	fi
	rm -f "$MNT/frag" "$MNT/clone_time.tmp"
	sync
}

# ---- 1d. overlayfs copy-up: one byte written into an OVL_MIB lower file -------------
# Lower, upper and work directories on the filesystem under test, mounted
# with redirect_dir=on,index=on,metacopy=on.  The first write copies the
# whole file up: refdax and XFS clone it, ext4 copies the data.  Each
# repetition starts from an empty upper directory; the lower file stays.
bench_overlay() {
	local log=$LOGS/overlay-$fs-$round.log o=/mnt/bench-ovl rep
	[ "${OVL_MIB:-0}" -gt 0 ] || return 0
	modprobe overlay 2>/dev/null || true
	mkdir -p "$MNT/lower" "$o"
	make_file "$MNT/lower/big" "$OVL_MIB" || return 1
	: >"$log"
	for rep in $(seq 1 "$CLONE_REPS"); do
		rm -rf "$MNT/upper" "$MNT/work"
		mkdir "$MNT/upper" "$MNT/work"
		sync
		if ! mount -t overlay overlay -o "lowerdir=$MNT/lower,upperdir=$MNT/upper,workdir=$MNT/work,redirect_dir=on,index=on,metacopy=on" "$o" >>"$log" 2>&1; then
			err overlay_copyup_ns "overlay mount failed: $(tail -n 2 "$log" | tr '\n' ' ')"
			return 1
		fi
		run overlay_copyup_ns 600 "$log.$rep" "$BIN/copyup_time" "$o/big" &&
			sample overlay_copyup_ns "$(awk '$1 == "copyup_ns" { print $2 }' "$log.$rep")"
		umount "$o"
	done
	rm -rf "$MNT/upper" "$MNT/work" "$MNT/lower"
	sync
}

# ---- 2. mmap randwrite: copy-on-write faults on a fresh clone; unshared ---------
fio_mmap() { # metric file
	local m=$1 f=$2 log=$LOGS/$1-$fs-$round.json before after
	[ -n "$SYS" ] && before=$(sysval cow_faults)
	run "$m" 300 "$log" fio --name="$m" --filename="$f" --size="${FIO_MIB}M" \
		--ioengine=mmap --rw=randwrite --bs=4k --direct=0 --numjobs=1 \
		--number_ios="$FIO_IOS" --runtime=120 --invalidate=0 \
		--output-format=json || return 0
	sample "${m}_iops" "$(jq '.jobs[0].write.iops' "$log")"
	sample "${m}_ios" "$(jq '.jobs[0].write.total_ios' "$log")"
	sample "${m}_minflt" "$(jq '.jobs[0].minf' "$log")"
	sample "${m}_fltperio" "$(jq '.jobs[0].minf / ([.jobs[0].write.total_ios, 1] | max)' "$log")"
	if [ -n "$SYS" ]; then
		after=$(sysval cow_faults)
		sample "${m}_cowfaults" "$((after - before))"
	fi
}

bench_mmap() {
	make_file "$MNT/cowsrc" "$FIO_MIB" || return 1
	if [ "$fs" != ext4 ]; then
		if ! cp --reflink=always "$MNT/cowsrc" "$MNT/cow"; then
			err cow "cp --reflink=always failed"
			return 1
		fi
		sync
		fio_mmap cow "$MNT/cow"
		# Copy-on-write must not have changed the source (xfs_io pwrite
		# fills with 0xcd).  The first 16 MiB hold ~1/16 of the writes,
		# enough to catch a leak; all of it is too slow under TCG.
		if ! cmp -s -n "$((16 << 20))" <(head -c "$((16 << 20))" /dev/zero | tr '\0' '\315') \
			"$MNT/cowsrc"; then
			err cow_src "source of the clone changed after copy-on-write writes"
		fi
		rm -f "$MNT/cow"
	fi
	sync
	fio_mmap unshared "$MNT/cowsrc"
	rm -f "$MNT/cowsrc"
	sync
}

# ---- 3. read-fault cost on blocks shared by N files ------------------------------
bench_faults() {
	local n log slab0 slab1
	[ "$fs" = ext4 ] && return 0
	for n in $FC_NS; do
		log=$LOGS/faults-$n-$fs-$round.log
		slab0=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
		if run "fault_$n" 600 "$log" "$BIN/fault_cost" -k -n "$n" -s "$FC_KIB" \
			-r "$FC_REPS" "$MNT"; then
			sample "fault_cold_ns_$n" "$(awk '$1 == "cold_ns_per_fault" { print $2 }' "$log")"
			sample "fault_warm_ns_$n" "$(awk '$1 == "warm_ns_per_fault" { print $2 }' "$log")"
			sample "fault_warm_page_ns_$n" "$(awk '$1 == "warm_ns_per_page" { print $2 }' "$log")"
			sample "fault_faults_per_page_$n" "$(awk '$1 == "pass" && $2 == 2 { printf "%.3f", $8 / $6 }' "$log")"
		fi
		if [ -n "$SYS" ]; then
			slab1=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
			sample "mem_master_entries_$n" "$(sysval master_entries)"
			sample "mem_shadows_$n" "$(sysval shadows)"
			sample "mem_master_bytes_$n" "$(sysval master_bytes)"
			sample "mem_slab_delta_kib_$n" "$((slab1 - slab0))"
		fi
		rm -f "$MNT"/fc.*
		sync
		if [ -n "$SYS" ]; then
			# All sharing state must go with the files (unlinked inodes
			# are evicted at once; no drop_caches, which would also drop
			# the guest's cache of the 9p root and slow everything).
			sample "mem_master_entries_after_rm_$n" "$(sysval master_entries)"
			sample "mem_shadows_after_rm_$n" "$(sysval shadows)"
		fi
	done
}

# ---- 4. psync 4 KiB random write/read, small-file create/unlink -------------------
bench_psync() {
	local rw log
	make_file "$MNT/ps" "$PSYNC_MIB" || return 1
	for rw in randwrite randread; do
		log=$LOGS/psync-$rw-$fs-$round.json
		run "psync_$rw" 120 "$log" fio --name="psync_$rw" --filename="$MNT/ps" \
			--size="${PSYNC_MIB}M" --ioengine=psync --rw="$rw" --bs=4k --direct=0 \
			--numjobs=1 --time_based --runtime="$PSYNC_SEC" --invalidate=0 \
			--output-format=json || continue
		case "$rw" in
		randwrite) sample psync_randwrite_iops "$(jq '.jobs[0].write.iops' "$log")" ;;
		randread)
			sample psync_randread_iops "$(jq '.jobs[0].read.iops' "$log")"
			# IOPS is 1 / mean latency, and under TCG on a shared
			# host the mean is set by the ~0.3% of reads that stall
			# for milliseconds (most likely the host): the median
			# is the filesystem's own cost per read.
			sample psync_randread_p50_ns \
				"$(jq '.jobs[0].read.clat_ns.percentile["50.000000"]' "$log")"
			;;
		esac
	done
	# The same reads without fio's per-I/O bookkeeping.
	log=$LOGS/pread-loop-$fs-$round.log
	if run pread_loop 120 "$log" "$BIN/pread_loop" -t "$PSYNC_SEC" "$MNT/ps"; then
		sample pread_loop_iops "$(awk '$1 == "iops" { print $2 }' "$log")"
	fi
	rm -f "$MNT/ps"
	log=$LOGS/smallfile-$fs-$round.log
	if run smallfile 300 "$log" "$BIN/smallfile" -n "$SF_FILES" "$MNT"; then
		sample create_per_s "$(awk '$1 == "create_per_s" { print $2 }' "$log")"
		sample unlink_per_s "$(awk '$1 == "unlink_per_s" { print $2 }' "$log")"
	fi
	sync
}

# ---- 5. mmap rows (issue 8): fio mmap throughput, PMD share, msync, first stores ----
# Run in a pass of their own per filesystem and round (mmap_round, after the
# passes above), on a fresh filesystem made for 2 MiB alignment, plus the raw
# device: the same pmem namespace switched to devdax (fio mmap rows only).

# mkfs_mount_aligned fs: the peers made for 2 MiB (PMD) alignment.
mkfs_mount_aligned() {
	umount "$MNT" 2>/dev/null || true
	case "$1" in
	refdax)
		mkfs_mount refdax || return 1
		;;
	xfs)
		mkfs.xfs -f -m reflink=1 -d su=2m,sw=1 "$DEV" >"$LOGS/mkfs-$1-aligned.log" 2>&1 || return 1
		mount -t xfs -o dax=always "$DEV" "$MNT" || return 1
		# A 2 MiB extent size hint on the root, inherited by every new
		# file: allocations start on 2 MiB boundaries (su= alone does not
		# align xfs_io's 1 MiB writes).
		xfs_io -c "extsize 2m" "$MNT" || return 1
		;;
	ext4)
		mkfs.ext4 -F -q -E stride=512,stripe_width=512 "$DEV" >"$LOGS/mkfs-$1-aligned.log" 2>&1 ||
			return 1
		mount -t ext4 -o dax "$DEV" "$MNT" || return 1
		;;
	esac
	if [ "$1" != refdax ] && ! grep -q "^$DEV $MNT .*dax" /proc/mounts; then
		err mount "not mounted with dax: $(grep " $MNT " /proc/mounts)"
		return 1
	fi
}

# fiomap_run metric file MiB rw bs: one time-based fio mmap job; MiB/s and IOPS.
fiomap_run() {
	local m=$1 f=$2 mib=$3 rw=$4 bs=$5 log dir=read
	log=$LOGS/$m-$fs-$round.json
	case "$rw" in *write) dir="write" ;; esac
	run "$m" $((FIOMAP_SEC + 300)) "$log" fio --name="$m" --filename="$f" --size="${mib}M" \
		--ioengine=mmap --rw="$rw" --bs="$bs" --numjobs=1 --time_based \
		--runtime="$FIOMAP_SEC" --invalidate=0 --fadvise_hint=0 --norandommap \
		--randrepeat=1 --output-format=json || return 0
	sample "${m}_mibs" "$(jq ".jobs[0].$dir.bw / 1024" "$log")"
	sample "${m}_iops" "$(jq ".jobs[0].$dir.iops" "$log")"
}

# fiomap_all file MiB: the four fio mmap rows on one file or device.
fiomap_all() {
	fiomap_run fiomap_seqread "$1" "$2" read 2m
	fiomap_run fiomap_seqwrite "$1" "$2" write 2m
	fiomap_run fiomap_randread "$1" "$2" randread 4k
	fiomap_run fiomap_randwrite "$1" "$2" randwrite 4k
}

bench_fiomap() {
	make_file "$MNT/fm" "$FIOMAP_MIB" || return 1
	sync
	fiomap_all "$MNT/fm" "$FIOMAP_MIB"
	rm -f "$MNT/fm"
	sync
}

# PMD share: chunks of a PMD_MIB file served by one huge mapping, private
# file and (refdax, xfs) a reflinked copy of it (bench/pmd_share.c).
pmd_run() { # metric file
	local log=$LOGS/$1-$fs-$round.log
	run "$1" 600 "$log" "$BIN/pmd_share" -x 0xcd "$2" || return 0
	sample "$1_pct" "$(awk '$1 == "pmd_share_pct" { print $2 }' "$log")"
	sample "$1_fpc" "$(awk '$1 == "faults_per_chunk" { print $2 }' "$log")"
}

bench_pmdshare() {
	make_file "$MNT/pmd" "$PMD_MIB" || return 1
	sync
	pmd_run pmd_private "$MNT/pmd"
	if [ "$fs" != ext4 ]; then
		if cp --reflink=always "$MNT/pmd" "$MNT/pmd.clone"; then
			sync
			pmd_run pmd_clone "$MNT/pmd.clone"
		else
			err pmd_clone "cp --reflink=always failed"
		fi
	fi
	rm -f "$MNT/pmd" "$MNT/pmd.clone"
	sync
}

# msync(MS_SYNC) after 100 random 8-byte stores into a written MSYNC_MIB file.
bench_msync() {
	local log=$LOGS/msync-$fs-$round.log
	make_file "$MNT/ms" "$MSYNC_MIB" || return 1
	sync
	if run msync 600 "$log" "$BIN/store_cost" -m msync -s 100 -r "$MSYNC_REPS" "$MNT/ms"; then
		sample msync_us "$(awk '$1 == "msync_us_median" { print $2 }' "$log")"
	fi
	rm -f "$MNT/ms"
	sync
}

# FSTORE_N first stores into distinct random pages of a written FSTORE_MIB file.
bench_firststore() {
	local log=$LOGS/firststore-$fs-$round.log
	make_file "$MNT/fst" "$FSTORE_MIB" || return 1
	sync
	if run firststore 600 "$log" "$BIN/store_cost" -m first -s "$FSTORE_N" "$MNT/fst"; then
		sample fstore_fps "$(awk '$1 == "faults_per_store" { print $2 }' "$log")"
		sample fstore_ns "$(awk '$1 == "ns_per_store" { print $2 }' "$log")"
	fi
	rm -f "$MNT/fst"
	sync
}

# The namespace of $DEV, as ndctl names it (namespace0.0).
pmem_namespace() {
	ndctl list -N 2>/dev/null |
		jq -r --arg b "$(basename "$DEV")" '[.] | flatten | map(select(.blockdev == $b)) | .[0].dev // empty'
}

# raw_restore ns: the namespace back to raw mode (/dev/pmem0) for the next round.
raw_restore() {
	timeout 300 ndctl create-namespace -f -e "$1" -m raw >>"$LOGS/devdax-$round.log" 2>&1 || true
	for _ in $(seq 1 50); do [ -b "$DEV" ] && return 0; sleep 0.2; done
	err devdax "cannot give $DEV back (ndctl -m raw failed; logs/devdax-$round.log)"
	return 1
}

# The raw device: fio mmap rows on /dev/daxX.Y, the physical limit in the guest.
raw_pass() {
	local fs=raw ns dax mib
	say "round $round/$ROUNDS: raw (devdax)"
	umount "$MNT" 2>/dev/null || true
	modprobe dax_pmem 2>/dev/null || true
	modprobe device_dax 2>/dev/null || true
	ns=$(pmem_namespace)
	if [ -z "$ns" ]; then
		err devdax "ndctl finds no namespace for $DEV: $(ndctl list -N 2>&1 | tr -d '\n\t ')"
		return 0
	fi
	[ "$round" = 1 ] && rec "I pmem_namespace $(ndctl list -N -n "$ns" | jq -c .)"
	if ! timeout 300 ndctl create-namespace -f -e "$ns" -m devdax >"$LOGS/devdax-$round.log" 2>&1; then
		err devdax "ndctl create-namespace -m devdax failed: $(tail -n 2 "$LOGS/devdax-$round.log" | tr '\n' ' ')"
		raw_restore "$ns"
		return
	fi
	dax=""
	for _ in $(seq 1 50); do
		dax=$(find /dev -maxdepth 1 -name 'dax*' -type c | sort | head -n 1)
		[ -n "$dax" ] && break
		sleep 0.2
	done
	if [ -z "$dax" ]; then
		err devdax "no /dev/dax* after ndctl -m devdax (logs/devdax-$round.log)"
	else
		# Device-dax maps whole 2 MiB units: keep the size a multiple.
		mib=$(($(cat "/sys/bus/dax/devices/$(basename "$dax")/size") >> 20))
		[ "$mib" -gt "$FIOMAP_MIB" ] && mib=$FIOMAP_MIB
		mib=$((mib / 2 * 2))
		[ "$round" = 1 ] && rec "I raw_device $dax $mib MiB"
		fiomap_all "$dax" "$mib"
	fi
	raw_restore "$ns"
	dmesg_check "raw-$round"
}

# mmap_round: the pass of section 5 for every filesystem, then the raw device.
mmap_round() {
	local step any=0
	for step in fiomap pmdshare msync firststore; do want_step "$step" && any=1; done
	[ "$any" = 1 ] || return 0
	for fs in $FSLIST; do
		say "round $round/$ROUNDS: $fs (mmap rows, aligned mkfs)"
		SYS=""
		if ! mkfs_mount_aligned "$fs" >"$LOGS/mount-aligned-$fs-$round.log" 2>&1; then
			err mount "aligned mkfs/mount failed: $(tail -n 3 "$LOGS/mount-aligned-$fs-$round.log" | tr '\n' ' ')"
			continue
		fi
		for step in fiomap pmdshare msync firststore; do
			want_step "$step" || continue
			say "  $fs $step"
			"bench_$step" || err "$step" "step failed (exit $?)"
		done
		dmesg_check "$fs-aligned-$round"
		if ! timeout 120 umount "$MNT"; then
			err umount "umount failed"
			return 1
		fi
		if [ "$fs" = refdax ] && ! timeout 300 fsck.refdax -n "$DEV" >"$LOGS/fsck-aligned-$round.log" 2>&1; then
			err fsck "fsck.refdax -n found problems (logs/fsck-aligned-$round.log)"
		fi
	done
	if [ "${RAW_DAX:-0}" = 1 ] && want_step fiomap; then
		raw_pass
	fi
}

# ---- 6. aged filesystem: a big file's share in aligned 2 MiB pieces ----------------
# Round 1 only (it is slow and deterministic): reformat with 2 MiB stripe hints
# for the peers, age with tests/prog/agefs (seeded churn up to 80% used, the
# device written AGE_PASSES times, then 40% freed), append a file of up to
# 1 GiB 1 MiB per write, and record the share of it in 2 MiB pieces aligned
# in file and device and contiguous (huge-page mappable).  Leaves the aged
# filesystem mounted for the checks that follow.
bench_aged() {
	local log=$LOGS/aged-$fs.log mib
	[ "$round" = 1 ] || return 0
	umount "$MNT"
	case "$fs" in
	refdax) mkfs.refdax -f -q "$DEV" && mount -t refdax "$DEV" "$MNT" ;;
	xfs) mkfs.xfs -f -m reflink=1 -d su=2m,sw=1 "$DEV" >/dev/null &&
		mount -t xfs -o dax=always "$DEV" "$MNT" ;;
	ext4) mkfs.ext4 -F -q -E stride=512,stripe_width=512 "$DEV" &&
		mount -t ext4 -o dax "$DEV" "$MNT" ;;
	esac >"$log" 2>&1 || { err aged_aligned_pct "mkfs/mount: $(tail -n 2 "$log" | tr '\n' ' ')"; return 1; }
	mkdir "$MNT/age"
	run aged_aligned_pct 1800 "$log" "$BIN/agefs" age "$MNT/age" 1 80 40 "${AGE_PASSES:-2}" || return 1
	mib=$(($(df -Pk "$MNT" | awk 'NR == 2 { print $4 }') / 1024 - 16))
	[ "$mib" -gt 1024 ] && mib=1024
	run aged_aligned_pct 600 "$log.write" "$BIN/agefs" write "$MNT/big" "$((mib / 2 * 2))" || return 1
	run aged_aligned_pct 120 "$log.fiemap" "$BIN/agefs" aligned "$MNT/big" || return 1
	sample aged_aligned_pct "$(awk '{ print $2 }' "$log.fiemap")"
	sample aged_big_mib "$((mib / 2 * 2))"
}

for round in $(seq 1 "$ROUNDS"); do
	for fs in $FSLIST; do
		say "round $round/$ROUNDS: $fs"
		SYS=""
		if ! mkfs_mount "$fs" >"$LOGS/mount-$fs-$round.log" 2>&1; then
			err mount "mkfs/mount failed: $(tail -n 3 "$LOGS/mount-$fs-$round.log" | tr '\n' ' ')"
			continue
		fi
		for step in clone clonebig clonefrag overlay mmap faults psync; do
			want_step "$step" || continue
			say "  $fs $step"
			"bench_$step" || err "$step" "step failed (exit $?)"
		done
		if want_step aged; then
			bench_aged || err aged "step failed (exit $?)"
		fi
		dmesg_check "$fs-$round"
		if ! timeout 120 umount "$MNT"; then
			err umount "umount failed"
			break 2
		fi
		if [ "$fs" = refdax ]; then
			if ! timeout 300 fsck.refdax -n "$DEV" >"$LOGS/fsck-$round.log" 2>&1; then
				err fsck "fsck.refdax -n found problems (logs/fsck-$round.log)"
			fi
		fi
	done
	mmap_round || break
done
say "done"
echo DONE >>"$RAW"
