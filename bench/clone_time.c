// SPDX-License-Identifier: GPL-2.0
/*
 * clone_time: time ioctl(FICLONE) of one file into a new file.
 *
 *   clone_time [-n reps] [-e extents] SRC DIR
 *
 * Each repetition creates DIR/clone_time.tmp, times the FICLONE ioctl
 * (CLOCK_MONOTONIC), checks that the clone has the source's size, then
 * times the removal of the clone: unlink and syncfs, so that a filesystem
 * that defers the freeing to writeback pays for it too.  Every repetition
 * starts from the same state.
 *
 * With -e, the source has that many extents: after each clone (and a
 * syncfs) the space the filesystem took for it, which is all metadata as
 * the data is shared, is printed per extent as "meta_bytes_per_extent".
 *
 * Output: one "clone_ns <ns>" and one "unclone_ns <ns>" line per
 * repetition, then "median_ns <ns>" (of the clones).
 * Exit status 0 on success, 1 on any error (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: clone_time [-n reps] [-e extents] SRC DIR\n");
	exit(2);
}

/* Bytes in use on the filesystem of @fd, once everything is on media. */
static long long used_bytes(int fd)
{
	struct statvfs sv;

	if (syncfs(fd) || fstatvfs(fd, &sv)) {
		perror("syncfs/statvfs");
		exit(1);
	}
	return (long long)(sv.f_blocks - sv.f_bfree) * (long long)sv.f_frsize;
}

int main(int argc, char **argv)
{
	char dst[4096];
	struct stat st_src, st_dst;
	long long *ns, t0, t1, t2, used = 0;
	int reps = 5, opt, src, fd, i;
	long extents = 0;

	while ((opt = getopt(argc, argv, "n:e:")) != -1) {
		switch (opt) {
		case 'n':
			reps = atoi(optarg);
			break;
		case 'e':
			extents = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || reps < 1 || reps > 1000)
		usage();
	snprintf(dst, sizeof(dst), "%s/clone_time.tmp", argv[optind + 1]);

	src = open(argv[optind], O_RDONLY);
	if (src < 0 || fstat(src, &st_src)) {
		perror(argv[optind]);
		return 1;
	}
	ns = calloc(reps, sizeof(*ns));
	if (!ns)
		return 1;

	for (i = 0; i < reps; i++) {
		unlink(dst);
		fd = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			perror(dst);
			return 1;
		}
		if (extents > 0)
			used = used_bytes(fd);
		t0 = now_ns();
		if (ioctl(fd, FICLONE, src) < 0) {
			fprintf(stderr, "FICLONE %s -> %s: %s\n", argv[optind],
				dst, strerror(errno));
			return 1;
		}
		t1 = now_ns();
		ns[i] = t1 - t0;
		if (fstat(fd, &st_dst) || st_dst.st_size != st_src.st_size) {
			fprintf(stderr, "clone has size %lld, source %lld\n",
				(long long)st_dst.st_size,
				(long long)st_src.st_size);
			return 1;
		}
		if (extents > 0)
			printf("meta_bytes_per_extent %.1f\n",
			       (double)(used_bytes(fd) - used) / extents);
		close(fd);
		t1 = now_ns();
		if (unlink(dst)) {
			perror("unlink");
			return 1;
		}
		if (syncfs(src)) {
			perror("syncfs");
			return 1;
		}
		t2 = now_ns();
		printf("clone_ns %lld\n", ns[i]);
		printf("unclone_ns %lld\n", t2 - t1);
		fflush(stdout);
	}
	qsort(ns, reps, sizeof(*ns), cmp_ll);
	printf("median_ns %lld\n", ns[reps / 2]);
	free(ns);
	close(src);
	return 0;
}
