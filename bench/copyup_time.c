// SPDX-License-Identifier: GPL-2.0
/*
 * copyup_time: time the first write through overlayfs to a lower file.
 *
 *   copyup_time FILE
 *
 * FILE is an overlay path whose file lives on the lower layer only.  The
 * open for writing copies it up (a clone where the upper filesystem can,
 * a data copy otherwise); one byte is then written at offset 4096.  Prints
 * "copyup_ns <ns>" for open + pwrite (CLOCK_MONOTONIC) and "size <bytes>".
 * Exit status 0 on success, 1 on any error (message on stderr).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
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

int main(int argc, char **argv)
{
	long long t0, t1;
	struct stat st;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: copyup_time FILE\n");
		return 2;
	}
	t0 = now_ns();
	fd = open(argv[1], O_WRONLY);
	if (fd < 0 || pwrite(fd, "Z", 1, 4096) != 1) {
		perror(argv[1]);
		return 1;
	}
	t1 = now_ns();
	if (fstat(fd, &st) || close(fd)) {
		perror("fstat/close");
		return 1;
	}
	printf("copyup_ns %lld\nsize %lld\n", t1 - t0, (long long)st.st_size);
	return 0;
}
