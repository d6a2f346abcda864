// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_share: how much of a file a MAP_SHARED read mapping gets through
 * huge (PMD, 2 MiB) page-table entries.
 *
 *   pmd_share [-x byte] FILE
 *
 * FILE (its size a multiple of 2 MiB) is mapped read-only, MAP_SHARED, at
 * a 2 MiB-aligned address (a PROT_NONE reservation 2 MiB larger than the
 * file is made, the file is mapped over its first aligned address with
 * MAP_FIXED) and MADV_HUGEPAGE is requested.  Then one byte of every 4 KiB
 * page is read, 2 MiB chunk by 2 MiB chunk, and the page faults of each
 * chunk are counted with getrusage (minor + major).  A chunk that took
 * exactly one fault for its 512 pages was served by one huge mapping.
 * With -x every byte read must equal that value (xfs_io pwrite's 0xcd).
 *
 * Output, key/value lines:
 *   chunks <n>  huge_chunks <h>  faults <f>  faults_per_chunk <f/n>
 *   pmd_share_pct <100*h/n>  ns_per_chunk <x>
 * Exit 0 on success, 1 on error or wrong data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	(2UL << 20)

static long long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (long long)ru.ru_minflt + ru.ru_majflt;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "pmd_share: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	int expect = -1, opt, fd;
	size_t size, nchunks, c, p, huge = 0;
	long long faults = 0, t0, t1;
	unsigned char bad = 0;
	uintptr_t base;
	struct stat st;
	void *res, *m;

	while ((opt = getopt(argc, argv, "x:")) != -1) {
		switch (opt) {
		case 'x':
			expect = (int)strtol(optarg, NULL, 0) & 0xff;
			break;
		default:
			fprintf(stderr, "usage: pmd_share [-x byte] FILE\n");
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "usage: pmd_share [-x byte] FILE\n");
		return 2;
	}
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0)
		die(argv[optind]);
	if (fstat(fd, &st))
		die("fstat");
	size = st.st_size - st.st_size % CHUNK;
	nchunks = size / CHUNK;
	if (!nchunks) {
		fprintf(stderr, "pmd_share: %s is smaller than 2 MiB\n", argv[optind]);
		return 1;
	}
	res = mmap(NULL, size + CHUNK, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		die("mmap reservation");
	base = ((uintptr_t)res + CHUNK - 1) & ~(CHUNK - 1);
	m = mmap((void *)base, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	/* Advisory only: DAX mappings take PMD faults whatever THP says. */
	madvise(m, size, MADV_HUGEPAGE);

	t0 = now_ns();
	for (c = 0; c < nchunks; c++) {
		volatile unsigned char *b = (unsigned char *)m + c * CHUNK;
		long long f0 = faults_now(), f;

		for (p = 0; p < CHUNK; p += page) {
			unsigned char v = b[p];

			if (expect >= 0)
				bad |= v ^ expect;
		}
		f = faults_now() - f0;
		faults += f;
		if (f == 1)
			huge++;
	}
	t1 = now_ns();
	if (bad) {
		fprintf(stderr, "pmd_share: read wrong data (xor %#x)\n", bad);
		return 1;
	}
	printf("chunks %zu\n", nchunks);
	printf("huge_chunks %zu\n", huge);
	printf("faults %lld\n", faults);
	printf("faults_per_chunk %.2f\n", (double)faults / nchunks);
	printf("pmd_share_pct %.1f\n", 100.0 * huge / nchunks);
	printf("ns_per_chunk %.0f\n", (double)(t1 - t0) / nchunks);
	munmap(res, size + CHUNK);
	close(fd);
	return 0;
}
