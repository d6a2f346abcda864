#!/usr/bin/env bash
# Render the results table from a raw.txt written by bench/job.sh.
#
#   bench/report.sh RAW.txt
#
# Every number is the median of the samples of all rounds.  Ratios are
# refdax divided by the peer measured in the same guest; for times (ms, ns)
# lower is better, for rates (IOPS, files/s) higher is better.
set -euo pipefail
raw=${1:?usage: report.sh RAW.txt}
[ -f "$raw" ] || { echo "report: no $raw" >&2; exit 1; }

# "fs metric median count" for every (fs, metric) with numeric samples.
medians=$(awk '$1 == "R" && $5 ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/ { print $3, $4, $5 }' "$raw" |
	sort -k1,1 -k2,2 -k3,3g |
	awk '
	function flush() {
		if (n == 0) return
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print key, m, n
		n = 0
	}
	{ k = $1 " " $2; if (k != key) { flush(); key = k } v[++n] = $3 }
	END { flush() }')

# "fs metric@round median count": the same per round, for per-round ratios
# (each round measures all filesystems within minutes, so a per-round ratio
# cancels slow changes of the host load).
rmedians=$(awk '$1 == "R" && $5 ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/ { print $3, $4 "@" $2, $5 }' "$raw" |
	sort -k1,1 -k2,2 -k3,3g |
	awk '
	function flush() {
		if (n == 0) return
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print key, m, n
		n = 0
	}
	{ k = $1 " " $2; if (k != key) { flush(); key = k } v[++n] = $3 }
	END { flush() }')

awk -v kv="$(awk '$1 == "I" && $2 == "kernel" { print $3 }' "$raw")" \
	-v sizes="$(awk '$1 == "I" && $2 == "mmap_sizes" { $1 = $2 = ""; print substr($0, 3) }' "$raw")" \
	-v done="$(grep -cx DONE "$raw" || true)" '
FNR == NR { med[$1, $2] = $3; cnt[$1, $2] = $4; next }
function has(fs, m) { return ((fs, m) in med) }
function val(fs, m, scale, fmt) {
	if (!has(fs, m)) return "n/a"
	return sprintf(fmt, med[fs, m] * scale)
}
function ratio(a, b, m) {
	if (!has(a, m) || !has(b, m) || med[b, m] == 0) return "n/a"
	return sprintf("%.2f", med[a, m] / med[b, m])
}
function row(label, unit, m, scale, fmt) {
	printf "%-34s | %-7s | %10s | %10s | %10s | %10s | %11s\n", label, unit,
		val("refdax", m, scale, fmt), val("xfs", m, scale, fmt),
		val("ext4", m, scale, fmt), ratio("refdax", "xfs", m),
		ratio("refdax", "ext4", m)
}
# Section 5 (issue 8): the mmap rows.  Those measured on the raw device too
# (fio mmap) get a table of their own: refdax against the best peer and
# against the raw devdax namespace, the physical limit in the guest.
function best(m,   b) {
	b = ""
	if (has("xfs", m)) b = "xfs"
	if (has("ext4", m) && (b == "" || med["ext4", m] > med["xfs", m])) b = "ext4"
	return b
}
function row4(label, unit, m, scale, fmt,   b, rb) {
	b = best(m)
	rb = b == "" ? "n/a" : ratio("refdax", b, m) " " b
	printf "%-34s | %-7s | %10s | %10s | %10s | %10s | %14s | %10s\n", label, unit,
		val("refdax", m, scale, fmt), val("xfs", m, scale, fmt), val("ext4", m, scale, fmt),
		val("raw", m, scale, fmt), rb, ratio("refdax", "raw", m)
}
function mmap_rows() {
	row("PMD share, private file (higher=better)", "%", "pmd_private_pct", 1, "%.1f")
	row("  faults per 2 MiB chunk (private)", "ratio", "pmd_private_fpc", 1, "%.2f")
	row("PMD share, reflinked copy", "%", "pmd_clone_pct", 1, "%.1f")
	row("  faults per 2 MiB chunk (copy)", "ratio", "pmd_clone_fpc", 1, "%.2f")
	row("msync after 100 stores (lower=better)", "us", "msync_us", 1, "%.1f")
	row("first stores: faults per store", "ratio", "fstore_fps", 1, "%.3f")
	row("  time per first store", "ns", "fstore_ns", 1, "%.0f")
	if (!has("refdax", "fiomap_seqread_mibs") && !has("xfs", "fiomap_seqread_mibs") && !has("raw", "fiomap_seqread_mibs"))
		return
	printf "\nfio ioengine=mmap (raw = the same namespace as devdax, /dev/daxX.Y; higher=better)\n\n"
	printf "%-34s | %-7s | %10s | %10s | %10s | %10s | %14s | %10s\n", "metric", "unit",
		"refdax", "xfs", "ext4", "raw", "refdax/best", "refdax/raw"
	printf "%s\n", "-----------------------------------+---------+------------+------------+------------+------------+----------------+-----------"
	row4("mmap seq read 2M", "MiB/s", "fiomap_seqread_mibs", 1, "%.0f")
	row4("mmap seq write 2M", "MiB/s", "fiomap_seqwrite_mibs", 1, "%.0f")
	row4("mmap rand read 4k", "IOPS", "fiomap_randread_iops", 1, "%.0f")
	row4("mmap rand write 4k", "IOPS", "fiomap_randwrite_iops", 1, "%.0f")
}
function verdict(ok) { return ok ? "MET" : "NOT MET" }
function rounds(m,   r, out) {
	out = ""
	for (r = 1; r <= 99; r++) {
		if (!has("refdax", m "@" r) || !has("xfs", m "@" r) || med["xfs", m "@" r] == 0)
			continue
		out = out sprintf(" %.2f", med["refdax", m "@" r] / med["xfs", m "@" r])
	}
	return out == "" ? "" : "  (per round:" out ")"
}
END {
	printf "refdax benchmark, kernel %s (medians; ratios = refdax / peer)\n\n", kv
	printf "%-34s | %-7s | %10s | %10s | %10s | %10s | %11s\n", "metric", "unit",
		"refdax", "xfs", "ext4", "refdax/xfs", "refdax/ext4"
	printf "%s\n", "-----------------------------------+---------+------------+------------+------------+------------+------------"
	row("FICLONE 1 GiB file (lower=better)", "ms", "clone_ns", 1e-6, "%.3f")
	row("rm of that clone + syncfs (lower=better)", "ms", "unclone_ns", 1e-6, "%.3f")
	row("FICLONE 4 GiB file (lower=better)", "ms", "clonebig_ns", 1e-6, "%.3f")
	row("FICLONE 10k one-block extents", "ms", "clonefrag_ns", 1e-6, "%.3f")
	row("  metadata per shared extent", "bytes", "meta_per_extent", 1, "%.1f")
	row("overlay copy-up, 1 byte into 1 GiB (lower=better)", "ms", "overlay_copyup_ns", 1e-6, "%.3f")
	row("mmap randwrite 4k, fresh clone (CoW)", "IOPS", "cow_iops", 1, "%.0f")
	row("  page faults per write (CoW run)", "ratio", "cow_fltperio", 1, "%.3f")
	row("mmap randwrite 4k, unshared file", "IOPS", "unshared_iops", 1, "%.0f")
	row("  page faults per write (unshared)", "ratio", "unshared_fltperio", 1, "%.3f")
	split("1 4 16 64", ns, " ")
	for (i = 1; i <= 4; i++)
		row(sprintf("read fault, shared by %2d, cold", ns[i]), "ns", "fault_cold_ns_" ns[i], 1, "%.0f")
	for (i = 1; i <= 4; i++)
		row(sprintf("read fault, shared by %2d, warm", ns[i]), "ns", "fault_warm_ns_" ns[i], 1, "%.0f")
	row("  faults per page touched (N=64)", "ratio", "fault_faults_per_page_64", 1, "%.3f")
	row("psync randwrite 4k", "IOPS", "psync_randwrite_iops", 1, "%.0f")
	row("psync randread 4k", "IOPS", "psync_randread_iops", 1, "%.0f")
	row("  median read latency (lower=better)", "ns", "psync_randread_p50_ns", 1, "%.0f")
	row("pread loop 4k random (no fio)", "IOPS", "pread_loop_iops", 1, "%.0f")
	row("small files: create+4k write", "files/s", "create_per_s", 1, "%.0f")
	row("small files: unlink", "files/s", "unlink_per_s", 1, "%.0f")
	mmap_rows()
	row("aged fs: big file in aligned 2 MiB", "%", "aged_aligned_pct", 1, "%.1f")

	printf "\nGoals (issue):\n"
	if (has("refdax", "cow_iops") && has("xfs", "cow_iops")) {
		r = med["refdax", "cow_iops"] / med["xfs", "cow_iops"]
		printf "  CoW faults >= 1.5x XFS        : %.2fx  %s%s\n", r, verdict(r >= 1.5), rounds("cow_iops")
	} else
		printf "  CoW faults >= 1.5x XFS        : no data\n"
	if (has("refdax", "clone_ns") && has("xfs", "clone_ns")) {
		r = med["refdax", "clone_ns"] / med["xfs", "clone_ns"]
		printf "  clone <= 0.5x XFS time        : %.2fx  %s%s\n", r, verdict(r <= 0.5), rounds("clone_ns")
	} else
		printf "  clone <= 0.5x XFS time        : no data\n"
	if (has("refdax", "unclone_ns") && has("xfs", "unclone_ns")) {
		r = med["refdax", "unclone_ns"] / med["xfs", "unclone_ns"]
		printf "  clone removal <= 1x XFS time  : %.2fx  %s%s\n", r, verdict(r <= 1), rounds("unclone_ns")
	} else
		printf "  clone removal <= 1x XFS time  : no data\n"
	if (has("refdax", "clonebig_ns") && has("refdax", "clone_ns") && med["refdax", "clone_ns"] > 0) {
		r = med["refdax", "clonebig_ns"] / med["refdax", "clone_ns"]
		xr = "n/a"
		if (has("xfs", "clonebig_ns") && has("xfs", "clone_ns") && med["xfs", "clone_ns"] > 0)
			xr = sprintf("%.2f", med["xfs", "clonebig_ns"] / med["xfs", "clone_ns"])
		printf "  clone 4 GiB <= 2x clone 1 GiB : %.2fx (xfs %s)  %s\n", r, xr, verdict(r <= 2)
	} else
		printf "  clone 4 GiB <= 2x clone 1 GiB : no data\n"
	if (has("refdax", "clonefrag_ns") && has("xfs", "clonefrag_ns")) {
		r = med["refdax", "clonefrag_ns"] / med["xfs", "clonefrag_ns"]
		printf "  10k-extent clone <= 0.25x XFS : %.2fx  %s%s\n", r, verdict(r <= 0.25), rounds("clonefrag_ns")
	} else
		printf "  10k-extent clone <= 0.25x XFS : no data\n"
	if (has("refdax", "overlay_copyup_ns") && has("xfs", "overlay_copyup_ns")) {
		r = med["refdax", "overlay_copyup_ns"] / med["xfs", "overlay_copyup_ns"]
		printf "  overlay copy-up <= 1x XFS time: %.2fx  %s%s\n", r, verdict(r <= 1), rounds("overlay_copyup_ns")
	} else
		printf "  overlay copy-up <= 1x XFS time: no data\n"
	for (t = 1; t <= 2; t++) {
		kind = t == 1 ? "cold" : "warm"
		ok = 1; lo = -1; hi = -1
		for (i = 2; i <= 4; i++) {
			m = "fault_" kind "_ns_" ns[i]
			if (!has("refdax", m)) { ok = 0; break }
			x = med["refdax", m]
			if (lo < 0 || x < lo) lo = x
			if (x > hi) hi = x
		}
		if (!ok || lo <= 0) {
			printf "  read faults flat in N (%s)  : no data\n", kind
			continue
		}
		r64 = "n/a"
		if (has("refdax", "fault_" kind "_ns_1") && med["refdax", "fault_" kind "_ns_1"] > 0)
			r64 = sprintf("%.2f", med["refdax", "fault_" kind "_ns_64"] / med["refdax", "fault_" kind "_ns_1"])
		xr = "n/a"
		if (has("xfs", "fault_" kind "_ns_64") && has("xfs", "fault_" kind "_ns_4"))
			xr = sprintf("%.2f", med["xfs", "fault_" kind "_ns_64"] / med["xfs", "fault_" kind "_ns_4"])
		printf "  read faults flat in N (%s)  : max/min over N=4,16,64 = %.2f (<= 1.25 required), N=64/N=1 = %s; xfs N=64/N=4 = %s  %s\n",
			kind, hi / lo, r64, xr, verdict(hi / lo <= 1.25)
	}

	printf "\nrefdax master-page table after the read test (files still present):\n"
	if (has("refdax", "mem_master_entries_64")) {
		e64 = med["refdax", "mem_master_entries_64"]; s64 = med["refdax", "mem_shadows_64"]
		b64 = med["refdax", "mem_master_bytes_64"]
		printf "  N=64: master_entries %d, shadows %d, master_bytes %d (%.1f bytes per shared block)\n",
			e64, s64, b64, e64 ? b64 / e64 : 0
		if (has("refdax", "mem_master_bytes_16")) {
			e16 = med["refdax", "mem_master_entries_16"]; s16 = med["refdax", "mem_shadows_16"]
			b16 = med["refdax", "mem_master_bytes_16"]
			if (s64 != s16 && e64 == e16 && e64 > 0) {
				per_s = (b64 - b16) / (s64 - s16)
				per_m = (b64 - s64 * per_s) / e64
				printf "  => %.0f bytes per master entry, %.0f bytes per shadow (solved from N=16 and N=64)\n",
					per_m, per_s
			}
		}
		if (has("refdax", "mem_slab_delta_kib_64"))
			printf "  kernel Slab growth during the N=64 test (all of it, inodes included): %d KiB\n",
				med["refdax", "mem_slab_delta_kib_64"]
		printf "  after rm of all files: master_entries %s, shadows %s\n",
			val("refdax", "mem_master_entries_after_rm_64", 1, "%d"),
			val("refdax", "mem_shadows_after_rm_64", 1, "%d")
	} else
		printf "  no data\n"
	if (has("refdax", "cow_cowfaults"))
		printf "  refdax cow_faults counter per CoW fio run: %d (fio writes per run: %d)\n",
			med["refdax", "cow_cowfaults"], med["refdax", "cow_ios"]
	if (sizes != "")
		printf "\nmmap rows sizes: %s\n", sizes
	if (!done)
		printf "\nWARNING: the guest job did not complete (no DONE line)\n"
}' <(printf '%s\n%s\n' "$medians" "$rmedians") "$raw"

if grep -q '^W ' "$raw"; then
	echo
	echo "Kernel warnings from peer filesystems (not refdax):"
	grep '^W ' "$raw" | sed 's/^W /  round /'
fi
if grep -q '^E ' "$raw"; then
	echo
	echo "Errors recorded in the run:"
	grep '^E ' "$raw" | sed 's/^E /  round /'
fi
