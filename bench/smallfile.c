// SPDX-License-Identifier: GPL-2.0
/*
 * smallfile: small-file create and unlink rate.
 *
 *   smallfile [-n files] [-b bytes] DIR
 *
 * Creates DIR/sf/ and in it "files" files (default 2000), each opened with
 * O_CREAT|O_EXCL, given "bytes" bytes (default 4096) with one write and
 * closed; then unlinks them all.  Each phase is timed with CLOCK_MONOTONIC
 * and ends with syncfs (included in the time).  The directory is removed.
 *
 * Output: "create_per_s <rate>" and "unlink_per_s <rate>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "smallfile: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	char dir[4096], path[4200], *buf;
	long long t0, t1, t2;
	int nfiles = 2000, bytes = 4096, opt, i, fd, dfd;

	while ((opt = getopt(argc, argv, "n:b:")) != -1) {
		switch (opt) {
		case 'n':
			nfiles = atoi(optarg);
			break;
		case 'b':
			bytes = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: smallfile [-n files] [-b bytes] DIR\n");
			return 2;
		}
	}
	if (argc - optind != 1 || nfiles < 1 || bytes < 0)
		return 2;
	snprintf(dir, sizeof(dir), "%s/sf", argv[optind]);
	if (mkdir(dir, 0755))
		die(dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die(dir);
	buf = malloc(bytes ? bytes : 1);
	if (!buf)
		die("malloc");
	memset(buf, 0xa5, bytes ? bytes : 1);

	t0 = now_ns();
	for (i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/f%07d", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			die(path);
		if (bytes && write(fd, buf, bytes) != bytes)
			die("write");
		if (close(fd))
			die("close");
	}
	if (syncfs(dfd))
		die("syncfs");
	t1 = now_ns();
	for (i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/f%07d", dir, i);
		if (unlink(path))
			die(path);
	}
	if (syncfs(dfd))
		die("syncfs");
	t2 = now_ns();
	close(dfd);
	if (rmdir(dir))
		die("rmdir");
	printf("create_per_s %.0f\n", nfiles * 1e9 / (t1 - t0));
	printf("unlink_per_s %.0f\n", nfiles * 1e9 / (t2 - t1));
	free(buf);
	return 0;
}
