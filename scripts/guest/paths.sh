# shellcheck shell=bash
# Sourced by scripts/guest/run-guest.sh and bench/guest.sh: the host paths the
# guest's /init needs, as kernel command line parameters.
#
# The guest sees the host root read-only over 9p, but /init mounts tmpfs over
# /tmp /run /mnt /var/tmp /root /media (see scripts/guest/init).  A checkout
# or job file below one of them would be hidden, so they are named with
# rdxkeep= and /init puts them back (read-only) on top of the tmpfs.
#
# Every path is percent-encoded (bytes outside [A-Za-z0-9/._+-] become %XX):
# the kernel splits its command line at blanks and /init at any whitespace.

# Percent-encode $1 (bytewise).
rdx_enc() {
	local LC_ALL=C s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		[A-Za-z0-9/._+-]) out+=$c ;;
		*)
			printf -v c '%%%02X' "'$c"
			out+=$c
			;;
		esac
	done
	printf '%s' "$out"
}

# Is path $1 the same as, or below, directory $2?
rdx_under() {
	[ "$1" = "$2" ] || [[ $1 == "${2%/}"/* ]]
}

# Print the command line parameters for the checkout ROOT, the output
# directory OUT (absolute) and the job FILE (may be empty):
#   rdxout=OUT rdxjob=JOB rdxkeep=SRC[,DST]...
# rdxkeep= names a host path (SRC, without symlinks) to show at DST in the
# guest (default SRC): the checkout as the scripts spell it (their
# $(cd ... && pwd), which may go through a symlink) and as it really is, and
# the job file unless it is inside the checkout.  /init acts only on those
# below one of its tmpfs mounts.
rdx_path_params() { # root out job
	local root=$1 out=$2 job=$3 proot p
	proot=$(cd "$root" && pwd -P)
	p="rdxout=$(rdx_enc "$out")"
	p+=" rdxkeep=$(rdx_enc "$proot")"
	[ "$root" = "$proot" ] || p+=" rdxkeep=$(rdx_enc "$proot"),$(rdx_enc "$root")"
	if [ -n "$job" ]; then
		job=$(realpath -e -- "$job") || return 1
		p+=" rdxjob=$(rdx_enc "$job")"
		rdx_under "$job" "$proot" || rdx_under "$job" "$root" ||
			p+=" rdxkeep=$(rdx_enc "$job")"
	fi
	printf '%s' "$p"
}

# Fail if the kernel command line is too long (x86 COMMAND_LINE_SIZE is
# 2048 bytes, and the kernel silently cuts it there).
rdx_check_cmdline() { # who cmdline
	if [ "${#2}" -gt 2000 ]; then
		echo "$1: the kernel command line would be ${#2} bytes (limit 2048):" \
			"use shorter paths for the checkout, --out and --job" >&2
		return 1
	fi
}
