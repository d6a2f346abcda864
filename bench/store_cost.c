// SPDX-License-Identifier: GPL-2.0
/*
 * store_cost: the cost of stores through a MAP_SHARED mapping of a file
 * whose blocks are all written already.
 *
 *   store_cost -m msync [-s stores] [-r reps] FILE
 *   store_cost -m first [-s stores] FILE
 *
 * msync: FILE is mapped read-write MAP_SHARED; then, reps times (default
 *   9): "stores" (default 100) 8-byte stores at random 8-byte-aligned
 *   offsets of the whole file, then msync(MS_SYNC) of the whole mapping,
 *   timed with CLOCK_MONOTONIC.  Output: "rep <i> msync_us <x>" per rep,
 *   "msync_us_median <x>", "msync_us_min <x>".
 * first: a fresh mapping of FILE; "stores" (default 4096) 8-byte stores,
 *   each into a different page picked at random (a shuffle of all pages),
 *   i.e. every store is the first store to its page.  Page faults are
 *   counted with getrusage (minor + major).  Output: "stores <n>",
 *   "faults <f>", "faults_per_store <f/n>", "ns_per_store <x>".
 *
 * The random sequence is fixed (xorshift64, constant seed), so every file
 * system gets the same offsets.  Exit 0 on success, 1 on error.
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

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (long long)ru.ru_minflt + ru.ru_majflt;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void die(const char *what)
{
	fprintf(stderr, "store_cost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: store_cost -m msync|first [-s stores] [-r reps] FILE\n");
	exit(2);
}

static void do_msync(uint64_t *m, size_t size, int stores, int reps)
{
	size_t words = size / sizeof(*m);
	double *us = calloc(reps, sizeof(*us));
	int r, i;

	if (!us)
		die("calloc");
	for (r = 0; r < reps; r++) {
		long long t0, t1;

		for (i = 0; i < stores; i++)
			m[rnd() % words] = rnd();
		t0 = now_ns();
		if (msync(m, size, MS_SYNC))
			die("msync");
		t1 = now_ns();
		us[r] = (t1 - t0) / 1000.0;
		printf("rep %d msync_us %.1f\n", r + 1, us[r]);
	}
	qsort(us, reps, sizeof(*us), cmp_dbl);
	printf("msync_us_median %.1f\n",
	       reps % 2 ? us[reps / 2] : (us[reps / 2 - 1] + us[reps / 2]) / 2);
	printf("msync_us_min %.1f\n", us[0]);
	free(us);
}

static void do_first(char *m, size_t size, int stores, long page)
{
	size_t npages = size / page, i, j;
	uint32_t *perm;
	long long t0, t1, f0, f1;

	if ((size_t)stores > npages) {
		fprintf(stderr, "store_cost: %d stores but only %zu pages\n",
			stores, npages);
		exit(1);
	}
	perm = malloc(npages * sizeof(*perm));
	if (!perm)
		die("malloc");
	for (i = 0; i < npages; i++)
		perm[i] = i;
	for (i = 0; i < (size_t)stores; i++) {	/* partial Fisher-Yates */
		uint32_t t;

		j = i + rnd() % (npages - i);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	f0 = faults_now();
	t0 = now_ns();
	for (i = 0; i < (size_t)stores; i++)
		*(volatile uint64_t *)(m + (size_t)perm[i] * page) = i;
	t1 = now_ns();
	f1 = faults_now();
	printf("stores %d\n", stores);
	printf("faults %lld\n", f1 - f0);
	printf("faults_per_store %.3f\n", (double)(f1 - f0) / stores);
	printf("ns_per_store %.0f\n", (double)(t1 - t0) / stores);
	free(perm);
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	const char *mode = NULL;
	int stores = -1, reps = 9, opt, fd;
	struct stat st;
	size_t size;
	void *m;

	while ((opt = getopt(argc, argv, "m:s:r:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 's':
			stores = atoi(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || !mode || reps < 1 || reps > 10000 ||
	    (strcmp(mode, "msync") && strcmp(mode, "first")))
		usage();
	if (stores < 0)
		stores = strcmp(mode, "msync") ? 4096 : 100;
	if (stores < 1)
		usage();
	fd = open(argv[optind], O_RDWR);
	if (fd < 0)
		die(argv[optind]);
	if (fstat(fd, &st))
		die("fstat");
	size = st.st_size - st.st_size % page;
	if (!size) {
		fprintf(stderr, "store_cost: %s is empty\n", argv[optind]);
		return 1;
	}
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	if (!strcmp(mode, "msync"))
		do_msync(m, size, stores, reps);
	else
		do_first(m, size, stores, page);
	if (munmap(m, size))
		die("munmap");
	close(fd);
	return 0;
}
