// SPDX-License-Identifier: GPL-2.0
/*
 * fault_cost: read-fault cost on blocks shared by N files.
 *
 *   fault_cost [-n files] [-s size_kib] [-r reps] [-H] [-k] DIR
 *
 * Writes DIR/fc.0 (size_kib KiB, default 4096; every 8-byte word holds its
 * own file offset), fsyncs it and clones it with FICLONE into DIR/fc.1 ..
 * DIR/fc.<files-1>, so every block is shared by "files" files (files=1: no
 * clone, the blocks are not shared).  Then, reps times (default 5): for
 * every file, mmap it read-only MAP_SHARED, read the first word of every
 * page and munmap it.  A pass is timed with CLOCK_MONOTONIC around
 * mmap + touch + munmap of all files; page faults are counted with
 * getrusage (minor + major).  Every word read is checked against its
 * offset, so wrong data fails the run.
 *
 * By default madvise(MADV_NOHUGEPAGE) keeps faults at 4 KiB (one fault per
 * page, on every filesystem); -H lets the kernel use huge (PMD) mappings.
 *
 * Pass 1 is "cold" (the first fault of each file at each page; a file
 * system may set up per-file sharing state here), passes 2.. are "warm".
 * Output, key/value lines:
 *   pass <i> ns <ns> pages <p> faults <f>
 *   cold_ns_per_fault <x>   warm_ns_per_fault <median of passes 2..>
 *   cold_ns_per_page <x>    warm_ns_per_page <median>
 * With -k the files are kept (to read filesystem counters); otherwise
 * they are unlinked at the end.  Exit 0 on success, 1 on error or bad data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES	1024

static long page_size;

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

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "fault_cost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fault_cost [-n files] [-s size_kib] [-r reps] [-H] [-k] DIR\n");
	exit(2);
}

static void make_source(const char *path, size_t size)
{
	uint64_t *buf;
	size_t chunk = 1 << 20, off, i;
	int fd;

	buf = malloc(chunk);
	if (!buf)
		die("malloc");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	for (off = 0; off < size; off += chunk) {
		size_t len = size - off < chunk ? size - off : chunk;

		for (i = 0; i < len / sizeof(*buf); i++)
			buf[i] = off + i * sizeof(*buf);
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			die("pwrite");
	}
	if (fsync(fd))
		die("fsync");
	close(fd);
	free(buf);
}

int main(int argc, char **argv)
{
	char path[MAX_FILES][512];
	int fds[MAX_FILES];
	double *per_fault, *per_page;
	size_t size_kib = 4096, size, npages, p;
	int nfiles = 1, reps = 5, huge = 0, keep = 0, opt, i, r;
	const char *dir;
	int src;

	while ((opt = getopt(argc, argv, "n:s:r:Hk")) != -1) {
		switch (opt) {
		case 'n':
			nfiles = atoi(optarg);
			break;
		case 's':
			size_kib = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'H':
			huge = 1;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || nfiles < 1 || nfiles > MAX_FILES ||
	    reps < 2 || reps > 1000 || size_kib < 4)
		usage();
	dir = argv[optind];
	page_size = sysconf(_SC_PAGESIZE);
	size = size_kib * 1024;
	size -= size % page_size;
	npages = size / page_size;

	for (i = 0; i < nfiles; i++)
		snprintf(path[i], sizeof(path[i]), "%s/fc.%d", dir, i);
	make_source(path[0], size);
	src = open(path[0], O_RDONLY);
	if (src < 0)
		die(path[0]);
	fds[0] = src;
	for (i = 1; i < nfiles; i++) {
		fds[i] = open(path[i], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fds[i] < 0)
			die(path[i]);
		if (ioctl(fds[i], FICLONE, src) < 0)
			die("FICLONE");
	}
	if (syncfs(src))
		die("syncfs");

	per_fault = calloc(reps, sizeof(*per_fault));
	per_page = calloc(reps, sizeof(*per_page));
	if (!per_fault || !per_page)
		die("calloc");

	for (r = 0; r < reps; r++) {
		long long t0, t1, f0, f1;
		uint64_t bad = 0;

		f0 = faults_now();
		t0 = now_ns();
		for (i = 0; i < nfiles; i++) {
			volatile uint64_t *m;

			m = mmap(NULL, size, PROT_READ, MAP_SHARED, fds[i], 0);
			if (m == MAP_FAILED)
				die("mmap");
			if (!huge && madvise((void *)m, size, MADV_NOHUGEPAGE))
				die("madvise");
			for (p = 0; p < npages; p++) {
				size_t w = p * (page_size / sizeof(*m));

				bad |= m[w] ^ (w * sizeof(*m));
			}
			if (munmap((void *)m, size))
				die("munmap");
		}
		t1 = now_ns();
		f1 = faults_now();
		if (bad) {
			fprintf(stderr,
				"fault_cost: pass %d read wrong data (xor %#llx)\n",
				r + 1, (unsigned long long)bad);
			return 1;
		}
		printf("pass %d ns %lld pages %zu faults %lld\n", r + 1,
		       t1 - t0, npages * nfiles, f1 - f0);
		per_page[r] = (double)(t1 - t0) / (npages * nfiles);
		per_fault[r] = f1 > f0 ? (double)(t1 - t0) / (f1 - f0) : 0;
	}
	printf("cold_ns_per_fault %.0f\n", per_fault[0]);
	printf("cold_ns_per_page %.0f\n", per_page[0]);
	printf("warm_ns_per_fault %.0f\n", median(per_fault + 1, reps - 1));
	printf("warm_ns_per_page %.0f\n", median(per_page + 1, reps - 1));

	for (i = 0; i < nfiles; i++) {
		close(fds[i]);
		if (!keep && unlink(path[i]))
			die("unlink");
	}
	free(per_fault);
	free(per_page);
	return 0;
}
