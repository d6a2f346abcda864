// SPDX-License-Identifier: GPL-2.0
/*
 * mmaptest: mmap behaviour of a (DAX) filesystem.
 *
 *   mmaptest shared  FILE SIZE   MAP_SHARED store of a pattern, msync, then
 *                                read(2) must return the pattern
 *   mmaptest private FILE        MAP_PRIVATE stores are seen through the
 *                                mapping but never reach the file
 *   mmaptest hole    FILE        read fault on a hole reads zeros and does
 *                                not allocate; a later store allocates and
 *                                is seen by read(2); neighbours stay zero
 *   mmaptest sigbus  FILE        access to a mapped page wholly past EOF
 *                                raises SIGBUS; the EOF page tail reads 0
 *   mmaptest dio     DIR         O_DIRECT write from, and O_DIRECT read
 *                                into, buffers that are mmaps of other files
 *                                on the same filesystem
 *   mmaptest truncate FILE       truncate while mapped: the cut-off part
 *                                raises SIGBUS, the rest keeps its data
 *
 * Exit 0 on success, 1 with a message on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG 4096L

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "mmaptest: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (errno: %s)\n", strerror(errno));
	exit(1);
}

static unsigned char pat(long off, int seed)
{
	return (unsigned char)((off * 131 + (off >> 12) * 7 + seed) | 1);
}

static void fill(unsigned char *p, long len, long base, int seed)
{
	for (long i = 0; i < len; i++)
		p[i] = pat(base + i, seed);
}

static long first_bad(const unsigned char *p, long len, long base, int seed)
{
	for (long i = 0; i < len; i++)
		if (p[i] != pat(base + i, seed))
			return i;
	return -1;
}

static long first_nonzero(const unsigned char *p, long len)
{
	for (long i = 0; i < len; i++)
		if (p[i])
			return i;
	return -1;
}

static void read_all(int fd, unsigned char *buf, long len, long off)
{
	long done = 0;

	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, off + done);

		if (r <= 0)
			fail("pread %s", r < 0 ? "failed" : "short");
		done += r;
	}
}

static int do_shared(const char *file, long size)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	unsigned char *m, *buf;
	long bad;

	if (fd < 0)
		fail("open %s", file);
	if (ftruncate(fd, size))
		fail("ftruncate %s", file);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", file);
	fill(m, size, 0, 3);
	if (msync(m, size, MS_SYNC))
		fail("msync %s", file);
	buf = malloc(size);
	read_all(fd, buf, size, 0);
	bad = first_bad(buf, size, 0, 3);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: read() after msync differs at offset %ld\n", bad);
		return 1;
	}
	/* The other direction: pwrite is visible through the existing mapping. */
	fill(buf, PG, PG, 9);
	if (pwrite(fd, buf, PG, PG) != PG)
		fail("pwrite %s", file);
	bad = first_bad(m + PG, PG, PG, 9);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: pwrite not visible through mapping at %ld\n", PG + bad);
		return 1;
	}
	munmap(m, size);
	close(fd);
	return 0;
}

static int do_private(const char *file)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	unsigned char *m, buf[2 * PG];

	if (fd < 0)
		fail("open %s", file);
	fill(buf, sizeof(buf), 0, 5);
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		fail("pwrite %s", file);
	m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", file);
	if (first_bad(m, 2 * PG, 0, 5) >= 0) {
		fprintf(stderr, "mmaptest: private mapping does not show file data\n");
		return 1;
	}
	memset(m, 0xAA, PG + 100);
	if (m[0] != 0xAA || m[PG + 99] != 0xAA)
		return fail("private store not visible %s", "in mapping"), 1;
	if (msync(m, 2 * PG, MS_SYNC))
		fail("msync %s", file);
	munmap(m, 2 * PG);
	memset(buf, 0, sizeof(buf));
	read_all(fd, buf, sizeof(buf), 0);
	if (first_bad(buf, sizeof(buf), 0, 5) >= 0) {
		fprintf(stderr, "mmaptest: MAP_PRIVATE store reached the file\n");
		return 1;
	}
	/* A second private mapping must not see the first one's stores either. */
	m = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", file);
	if (first_bad(m, 2 * PG, 0, 5) >= 0) {
		fprintf(stderr, "mmaptest: new private mapping sees old private stores\n");
		return 1;
	}
	munmap(m, 2 * PG);
	close(fd);
	return 0;
}

static int do_hole(const char *file)
{
	const long size = 4L << 20;
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	unsigned char *m, *buf;
	struct stat st;
	long bad;

	if (fd < 0)
		fail("open %s", file);
	if (ftruncate(fd, size))
		fail("ftruncate %s", file);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", file);
	bad = first_nonzero(m, size);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: hole reads non-zero at %ld through mapping\n", bad);
		return 1;
	}
	if (fstat(fd, &st))
		fail("fstat %s", file);
	if (st.st_blocks != 0) {
		fprintf(stderr, "mmaptest: read faults on a hole allocated %lld blocks\n",
			(long long)st.st_blocks);
		return 1;
	}
	/* Store into the middle of a page the read fault mapped as a hole. */
	fill(m + 3 * PG + 100, 200, 3 * PG + 100, 7);
	if (msync(m, size, MS_SYNC))
		fail("msync %s", file);
	if (fstat(fd, &st))
		fail("fstat %s", file);
	if (st.st_blocks == 0) {
		fprintf(stderr, "mmaptest: store into a hole did not allocate\n");
		return 1;
	}
	if (st.st_size != size) {
		fprintf(stderr, "mmaptest: size changed to %lld\n", (long long)st.st_size);
		return 1;
	}
	buf = malloc(size);
	read_all(fd, buf, size, 0);
	if (first_bad(buf + 3 * PG + 100, 200, 3 * PG + 100, 7) >= 0) {
		fprintf(stderr, "mmaptest: read() does not see the store into the hole\n");
		return 1;
	}
	memset(buf + 3 * PG + 100, 0, 200);
	bad = first_nonzero(buf, size);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: non-zero byte at %ld outside the stored range\n", bad);
		return 1;
	}
	munmap(m, size);
	close(fd);
	return 0;
}

static sigjmp_buf jb;
static volatile sig_atomic_t got_bus;

static void on_bus(int sig)
{
	(void)sig;
	got_bus = 1;
	siglongjmp(jb, 1);
}

/* 1 if touching p raises SIGBUS, 0 if not. */
static int touches_bus(volatile unsigned char *p, int write)
{
	got_bus = 0;
	if (sigsetjmp(jb, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
	}
	return got_bus;
}

static int do_sigbus(const char *file)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct sigaction sa = { .sa_handler = on_bus };
	unsigned char *m;

	sigaction(SIGBUS, &sa, NULL);
	if (fd < 0)
		fail("open %s", file);
	if (pwrite(fd, "0123456789", 10, 0) != 10)
		fail("pwrite %s", file);
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", file);
	if (memcmp(m, "0123456789", 10)) {
		fprintf(stderr, "mmaptest: mapping does not show file data\n");
		return 1;
	}
	if (first_nonzero(m + 10, PG - 10) >= 0) {
		fprintf(stderr, "mmaptest: tail of the EOF page is not zero\n");
		return 1;
	}
	if (!touches_bus(m + PG, 0) || !touches_bus(m + 3 * PG + 5, 0) || !touches_bus(m + 2 * PG, 1)) {
		fprintf(stderr, "mmaptest: access past EOF did not raise SIGBUS\n");
		return 1;
	}
	/* Extending the file makes the same addresses valid. */
	if (ftruncate(fd, 2 * PG))
		fail("ftruncate %s", file);
	if (touches_bus(m + PG, 0) || m[PG] != 0 || touches_bus(m + PG + 5, 1)) {
		fprintf(stderr, "mmaptest: page inside the extended file faults\n");
		return 1;
	}
	if (!touches_bus(m + 2 * PG, 0)) {
		fprintf(stderr, "mmaptest: access past the new EOF did not raise SIGBUS\n");
		return 1;
	}
	munmap(m, 4 * PG);
	close(fd);
	return 0;
}

static int do_truncate(const char *file)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct sigaction sa = { .sa_handler = on_bus };
	unsigned char *m;

	sigaction(SIGBUS, &sa, NULL);
	if (fd < 0)
		fail("open %s", file);
	if (ftruncate(fd, 8 * PG))
		fail("ftruncate %s", file);
	m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", file);
	fill(m, 8 * PG, 0, 11);
	if (ftruncate(fd, 2 * PG + 10))
		fail("ftruncate down %s", file);
	if (first_bad(m, 2 * PG + 10, 0, 11) >= 0) {
		fprintf(stderr, "mmaptest: data below the new EOF changed\n");
		return 1;
	}
	if (first_nonzero(m + 2 * PG + 10, PG - 10) >= 0) {
		fprintf(stderr, "mmaptest: EOF page tail not zeroed by truncate\n");
		return 1;
	}
	if (!touches_bus(m + 3 * PG, 0) || !touches_bus(m + 7 * PG, 1)) {
		fprintf(stderr, "mmaptest: truncated pages still mapped\n");
		return 1;
	}
	/* Extend again: the old data must not come back. */
	if (ftruncate(fd, 8 * PG))
		fail("ftruncate up %s", file);
	if (touches_bus(m + 5 * PG, 0) || first_nonzero(m + 2 * PG + 10, 6 * PG - 10) >= 0) {
		fprintf(stderr, "mmaptest: stale data visible after truncate down + up\n");
		return 1;
	}
	munmap(m, 8 * PG);
	close(fd);
	return 0;
}

static unsigned char *map_file(const char *path, long size, int create)
{
	int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	unsigned char *m;

	if (fd < 0)
		fail("open %s", path);
	if (create && ftruncate(fd, size))
		fail("ftruncate %s", path);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap %s", path);
	close(fd);
	return m;
}

static int do_dio(const char *dir)
{
	const long size = 1L << 20;
	char a[4096], b[4096], c[4096];
	unsigned char *ma, *mc, *buf;
	int fd;
	long bad;

	snprintf(a, sizeof(a), "%s/dio-src", dir);
	snprintf(b, sizeof(b), "%s/dio-dst", dir);
	snprintf(c, sizeof(c), "%s/dio-back", dir);
	ma = map_file(a, size, 1);
	fill(ma, size, 0, 13);
	if (msync(ma, size, MS_SYNC))
		fail("msync %s", a);

	fd = open(b, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0)
		fail("open O_DIRECT %s", b);
	/* Source buffer of the write is a DAX mapping of another file. */
	if (pwrite(fd, ma, size, 0) != size)
		fail("O_DIRECT pwrite from mmap buffer into %s", b);
	/* Destination buffer of the read is a DAX mapping too (of a hole-y file). */
	mc = map_file(c, size, 1);
	if (pread(fd, mc, size, 0) != size)
		fail("O_DIRECT pread into mmap buffer from %s", b);
	close(fd);
	bad = first_bad(mc, size, 0, 13);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: data read into mmap buffer differs at %ld\n", bad);
		return 1;
	}
	if (msync(mc, size, MS_SYNC))
		fail("msync %s", c);
	/* And what went through the mapping landed in the file. */
	buf = malloc(size);
	fd = open(c, O_RDONLY);
	if (fd < 0)
		fail("open %s", c);
	read_all(fd, buf, size, 0);
	close(fd);
	bad = first_bad(buf, size, 0, 13);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: file behind the mmap buffer differs at %ld\n", bad);
		return 1;
	}
	/* Same-file case: O_DIRECT write from a mapping of the file itself. */
	fd = open(a, O_RDWR | O_DIRECT);
	if (fd < 0)
		fail("open O_DIRECT %s", a);
	if (pwrite(fd, ma, size / 2, size / 2) != size / 2)
		fail("O_DIRECT pwrite from own mapping %s", a);
	close(fd);
	bad = first_bad(ma + size / 2, size / 2, 0, 13);
	if (bad >= 0) {
		fprintf(stderr, "mmaptest: self-copy through own mapping wrong at %ld\n", size / 2 + bad);
		return 1;
	}
	munmap(ma, size);
	munmap(mc, size);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mmaptest shared FILE SIZE|private FILE|hole FILE|sigbus FILE|truncate FILE|dio DIR\n");
		return 2;
	}
	if (!strcmp(argv[1], "shared"))
		return do_shared(argv[2], argc > 3 ? atol(argv[3]) : 1L << 20);
	if (!strcmp(argv[1], "private"))
		return do_private(argv[2]);
	if (!strcmp(argv[1], "hole"))
		return do_hole(argv[2]);
	if (!strcmp(argv[1], "sigbus"))
		return do_sigbus(argv[2]);
	if (!strcmp(argv[1], "truncate"))
		return do_truncate(argv[2]);
	if (!strcmp(argv[1], "dio"))
		return do_dio(argv[2]);
	fprintf(stderr, "mmaptest: unknown mode %s\n", argv[1]);
	return 2;
}
