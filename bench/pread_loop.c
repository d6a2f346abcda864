// SPDX-License-Identifier: GPL-2.0
/*
 * pread_loop: 4 KiB pread()s at random block-aligned offsets of a file, for
 * a fixed time: the same system call fio's psync engine issues, without
 * fio's bookkeeping, as a cross-check of the fio psync randread row.
 *
 *   pread_loop [-b bytes] [-t seconds] [-s seed] FILE
 *
 * Offsets are uniform over the whole blocks of FILE (xorshift64, so runs
 * are repeatable).  Output: "reads <n>", "iops <rate>", "ns_per_read <ns>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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

int main(int argc, char **argv)
{
	long long t0, t1, limit, n = 0;
	uint64_t x = 88172645463325252ULL, blocks;
	int bs = 4096, secs = 5, opt, fd;
	struct stat st;
	char *buf;

	while ((opt = getopt(argc, argv, "b:t:s:")) != -1) {
		switch (opt) {
		case 'b':
			bs = atoi(optarg);
			break;
		case 't':
			secs = atoi(optarg);
			break;
		case 's':
			x = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			fprintf(stderr, "usage: pread_loop [-b bytes] [-t seconds] [-s seed] FILE\n");
			return 2;
		}
	}
	if (argc - optind != 1 || bs < 1 || secs < 1)
		return 2;
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "pread_loop: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	blocks = st.st_size / bs;
	buf = malloc(bs);
	if (!blocks || !buf)
		return 1;
	memset(buf, 0, bs);
	t0 = now_ns();
	limit = t0 + secs * 1000000000LL;
	do {
		int i;

		for (i = 0; i < 256; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (pread(fd, buf, bs, (off_t)(x % blocks) * bs) != bs) {
				fprintf(stderr, "pread_loop: short read: %s\n", strerror(errno));
				return 1;
			}
		}
		n += 256;
		t1 = now_ns();
	} while (t1 < limit);
	printf("reads %lld\n", n);
	printf("iops %.0f\n", n * 1e9 / (t1 - t0));
	printf("ns_per_read %.0f\n", (double)(t1 - t0) / n);
	return 0;
}
