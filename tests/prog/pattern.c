// SPDX-License-Identifier: GPL-2.0
/*
 * pattern: write or check a deterministic, position-dependent byte pattern.
 *
 *   pattern write FILE OFFSET LEN SEED [direct]
 *   pattern check FILE OFFSET LEN SEED [direct]
 *   pattern zero  FILE OFFSET LEN          (check that the range reads 0)
 *
 * Every 8-byte word at file offset o holds f(seed, o), so misplaced, stale or
 * torn data is detected without keeping a copy.  "direct" uses O_DIRECT with
 * aligned buffers.  Exit 0 on success; on a mismatch prints the first bad
 * offset and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static uint64_t word(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL ^ seed * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 29;
	return x | 1; /* never all-zero: a hole can not pass for data */
}

static void fill(unsigned char *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		uint64_t w = word(seed, o & ~7ULL);

		buf[i] = (unsigned char)(w >> ((o & 7) * 8));
	}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: pattern write|check FILE OFF LEN SEED [direct] | zero FILE OFF LEN\n");
		return 2;
	}
	const char *mode = argv[1];
	int is_zero = !strcmp(mode, "zero");
	int is_write = !strcmp(mode, "write");
	uint64_t off = strtoull(argv[3], NULL, 0);
	uint64_t len = strtoull(argv[4], NULL, 0);
	uint64_t seed = is_zero ? 0 : (argc > 5 ? strtoull(argv[5], NULL, 0) : 0);
	int direct = argc > 6 && !strcmp(argv[6], "direct");
	int flags = is_write ? O_RDWR | O_CREAT : O_RDONLY;
	unsigned char *buf, *want;

	if (!is_zero && !is_write && strcmp(mode, "check")) {
		fprintf(stderr, "pattern: bad mode %s\n", mode);
		return 2;
	}
	if (direct)
		flags |= O_DIRECT;
	int fd = open(argv[2], flags, 0644);

	if (fd < 0) {
		fprintf(stderr, "pattern: open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, CHUNK) || posix_memalign((void **)&want, 4096, CHUNK))
		return 1;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done > CHUNK ? CHUNK : (size_t)(len - done);
		ssize_t r;

		if (is_zero)
			memset(want, 0, n);
		else
			fill(want, off + done, n, seed);
		if (is_write) {
			r = pwrite(fd, want, n, (off_t)(off + done));
			if (r != (ssize_t)n) {
				fprintf(stderr, "pattern: pwrite at %llu: %s\n",
					(unsigned long long)(off + done), r < 0 ? strerror(errno) : "short write");
				return 1;
			}
		} else {
			r = pread(fd, buf, n, (off_t)(off + done));
			if (r != (ssize_t)n) {
				fprintf(stderr, "pattern: pread at %llu: %s (got %zd of %zu)\n",
					(unsigned long long)(off + done), r < 0 ? strerror(errno) : "short read", r, n);
				return 1;
			}
			if (memcmp(buf, want, n)) {
				size_t i = 0;

				while (buf[i] == want[i])
					i++;
				fprintf(stderr, "pattern: %s mismatch at offset %llu: got 0x%02x want 0x%02x\n",
					argv[2], (unsigned long long)(off + done + i), buf[i], want[i]);
				return 1;
			}
		}
		done += n;
	}
	if (close(fd)) {
		fprintf(stderr, "pattern: close: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
