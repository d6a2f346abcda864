# shellcheck shell=bash
# Kernel-log judging shared by every suite (sourced): the list of
# strings that fail a run (bad-patterns.txt) and a scan that reports which of
# them a log holds after a start marker, so that a suite judges its own work
# and not the boot before it (under TCG, boot-time initcalls on a loaded host
# can trip the soft-lockup watchdog before any refdax code runs).

mapfile -t BAD_PATTERNS < <(grep -v -e '^#' -e '^$' "$(dirname "${BASH_SOURCE[0]}")/bad-patterns.txt")

# kmsg_hits MARKER < log: prints "p1; p2" for the bad patterns found in the
# lines from the first one containing MARKER on (the whole log if MARKER is
# empty; nothing if no line holds it: a boot that never reached the work
# is judged by whoever expected the marker); prints nothing for a clean log
# and returns 0 either way.  One grep for all patterns: every process start
# is slow under TCG.
kmsg_hits() {
	local text p args=()
	text=$(cat)
	if [ -n "$1" ]; then
		text=$(awk -v m="$1" 'index($0, m) { on = 1 } on' <<<"$text")
	fi
	for p in "${BAD_PATTERNS[@]}"; do
		args+=(-e "$p")
	done
	{ grep -oF "${args[@]}" <<<"$text" || true; } | sort -u | paste -sd';' | sed 's/;/; /g'
}
