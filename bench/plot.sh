#!/usr/bin/env bash
# Draw the results of one kernel with gnuplot, next to its table.txt.
#
#   bench/plot.sh RAW.txt OUT.png
#
# Three panels, all medians over the rounds like report.sh:
#   1. read-fault cost (ns per fault) against the sharing degree N, cold
#      and warm, refdax and XFS (the fault_cost rows);
#   2. fio mmap sequential 2 MiB read/write throughput (MiB/s) and
#   3. fio mmap random 4 KiB read/write (kIOPS), one bar per filesystem
#      and the raw devdax device.
# A missing value is left out of the plot.  Exit 0 when OUT.png was written;
# 1 when gnuplot is missing or failed (the caller only warns).
set -euo pipefail
raw=${1:?usage: plot.sh RAW.txt OUT.png}
out=${2:?usage: plot.sh RAW.txt OUT.png}
command -v gnuplot >/dev/null || { echo "plot: gnuplot is not installed (scripts/install-deps.sh)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "fs metric median" for every (fs, metric) with numeric samples.
awk '$1 == "R" && $5 ~ /^-?[0-9.]+(e[+-]?[0-9]+)?$/ { print $3, $4, $5 }' "$raw" |
	sort -k1,1 -k2,2 -k3,3g |
	awk '
	function flush() {
		if (n == 0) return
		print key, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
		n = 0
	}
	{ k = $1 " " $2; if (k != key) { flush(); key = k } v[++n] = $3 }
	END { flush() }' >"$tmp/med"

get() { # fs metric scale: the median (times scale) or NaN
	awk -v f="$1" -v m="$2" -v s="${3:-1}" '$1 == f && $2 == m { printf "%.6g", $3 * s; x = 1 }
		END { if (!x) printf "NaN" }' "$tmp/med"
}

for n in 1 4 16 64; do
	echo "$n $(get refdax "fault_cold_ns_$n") $(get refdax "fault_warm_ns_$n")" \
		"$(get xfs "fault_cold_ns_$n") $(get xfs "fault_warm_ns_$n")"
done >"$tmp/faults"
{
	echo "fs seqread seqwrite randread randwrite"
	for fs in refdax xfs ext4 raw; do
		echo "$fs $(get "$fs" fiomap_seqread_mibs) $(get "$fs" fiomap_seqwrite_mibs)" \
			"$(get "$fs" fiomap_randread_iops 0.001) $(get "$fs" fiomap_randwrite_iops 0.001)"
	done
} >"$tmp/fio"

# gnuplot refuses a histogram without a single point: draw "no data" then.
fioplot() { # column column
	if awk 'NR > 1 && ($'"$1"' != "NaN" || $'"$2"' != "NaN") { x = 1 } END { exit !x }' "$tmp/fio"; then
		echo "plot \"$tmp/fio\" using $1:xtic(1), \"\" using $2"
	else
		echo 'set label 1 "no data" at graph 0.5, 0.5 center; plot [0:1] [0:1] NaN notitle; unset label 1'
	fi
}

faultplot() {
	if awk '{ for (i = 2; i <= 5; i++) if ($i != "NaN") x = 1 } END { exit !x }' "$tmp/faults"; then
		echo "plot \"$tmp/faults\" using 1:2 with linespoints lw 2 title \"refdax cold\"," \
			"\"\" using 1:3 with linespoints lw 2 title \"refdax warm\"," \
			"\"\" using 1:4 with linespoints dt 2 title \"xfs cold\"," \
			"\"\" using 1:5 with linespoints dt 2 title \"xfs warm\""
	else
		echo 'set label 1 "no data" at graph 0.5, 0.5 center; plot [1:64] [0:1] NaN notitle; unset label 1'
	fi
}

kv=$(awk '$1 == "I" && $2 == "kernel" { print $3 }' "$raw")
gnuplot >"$tmp/gnuplot.log" 2>&1 <<EOF || { cat "$tmp/gnuplot.log" >&2; rm -f "$out"; exit 1; }
set terminal pngcairo size 1500,500 font ",10"
set output "$out"
set multiplot layout 1,3 title "refdax benchmark, kernel $kv (medians)"
set key top left
set grid ytics
set title "read fault on blocks shared by N files"
set xlabel "N (files sharing each block)"
set ylabel "ns per fault"
set logscale x 2
set xrange [0.7:90]
set yrange [0:*]
$(faultplot)
unset logscale x
unset xrange
unset xlabel
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top right autotitle columnheader
set title "fio mmap, sequential 2 MiB"
set ylabel "MiB/s"
$(fioplot 2 3)
set title "fio mmap, random 4 KiB"
set ylabel "kIOPS"
$(fioplot 4 5)
unset multiplot
EOF
[ -s "$out" ] || { echo "plot: gnuplot wrote nothing" >&2; exit 1; }
echo "plot: $out"
