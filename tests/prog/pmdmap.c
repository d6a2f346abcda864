// SPDX-License-Identifier: GPL-2.0
/*
 * pmdmap: map a file shared at a 2 MiB-aligned address, so the kernel may
 * use PMDs, and report how many page faults the accesses took.
 *
 *   pmdmap read FILE            read one byte of every page
 *   pmdmap write FILE BYTE [sync|unaligned]
 *                               store BYTE at the start of every page
 *                               (sync: MAP_SHARED_VALIDATE | MAP_SYNC;
 *                               unaligned: 4 KiB past a 2 MiB boundary,
 *                               so no PMD can map it)
 *   pmdmap store FILE OFF BYTE  read every page, then store BYTE at OFF
 *   pmdmap hold FILE OFF        read every page, print "ready", wait for a
 *                               line on stdin, read OFF again, print "ok"
 *
 * Prints "faults N pages P" (minor faults of the accesses, pages touched).
 * SIGBUS prints "sigbus code C" on stderr and exits 135.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

#define HUGE (2UL << 20)
#define PAGE 4096UL

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char msg[64];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg), "sigbus code %d\n", si->si_code);
	if (write(2, msg, n) < 0)
		_exit(3);
	_exit(135);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Map @len bytes of @fd at a 2 MiB-aligned address, plus @skew. */
static volatile uint8_t *map_aligned(int fd, size_t len, int flags,
				     size_t skew)
{
	uint8_t *r, *p;

	r = mmap(NULL, len + 2 * HUGE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		die("mmap reserve");
	p = (uint8_t *)(((uintptr_t)r + HUGE - 1) & ~(HUGE - 1)) + skew;
	p = mmap(p, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap file");
	return p;
}

static unsigned int read_all(volatile uint8_t *p, size_t len)
{
	unsigned int sum = 0;
	size_t off;

	for (off = 0; off < len; off += PAGE)
		sum += p[off];
	return sum;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO };
	int flags = MAP_SHARED, fd;
	size_t skew = 0;
	volatile uint8_t *p;
	struct stat st;
	size_t len, off;
	long f0;
	char line[16];

	if (argc < 3)
		goto usage;
	sigaction(SIGBUS, &sa, NULL);
	fd = open(argv[2], O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die(argv[2]);
	len = st.st_size;
	if (!strcmp(argv[1], "write") && argc > 4 && !strcmp(argv[4], "sync"))
		flags = MAP_SHARED_VALIDATE | MAP_SYNC;
	if (!strcmp(argv[1], "write") && argc > 4 &&
	    !strcmp(argv[4], "unaligned"))
		skew = PAGE;
	p = map_aligned(fd, len, flags, skew);
	f0 = minflt();
	if (!strcmp(argv[1], "read")) {
		printf("sum %u\n", read_all(p, len));
	} else if (!strcmp(argv[1], "write") && argc > 3) {
		for (off = 0; off < len; off += PAGE)
			p[off] = (uint8_t)strtoul(argv[3], NULL, 0);
	} else if (!strcmp(argv[1], "store") && argc > 4) {
		read_all(p, len);
		printf("faults-before-store %ld\n", minflt() - f0);
		p[strtoul(argv[3], NULL, 0)] = (uint8_t)strtoul(argv[4], NULL, 0);
	} else if (!strcmp(argv[1], "hold") && argc > 3) {
		read_all(p, len);
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 2;
		printf("byte %u\nok\n", p[strtoul(argv[3], NULL, 0)]);
	} else {
		goto usage;
	}
	printf("faults %ld pages %zu\n", minflt() - f0, len / PAGE);
	return 0;
usage:
	fprintf(stderr, "usage: pmdmap read|write|store|hold FILE [args]\n");
	return 2;
}
