// SPDX-License-Identifier: GPL-2.0
/*
 * mwrite_copies: N reflinked copies of one file, each written concurrently
 * through its own MAP_SHARED mapping at the same shared blocks.
 *
 *   mwrite_copies write  DIR N   make DIR/base (1 MiB, pattern seed 1),
 *                                FICLONE it to DIR/copy.0 .. copy.N-1, fork
 *                                N children that each map their copy, wait
 *                                on a common barrier, then store their own
 *                                pattern (seed 100 + i) into the ranges
 *                                below, msync and exit
 *   mwrite_copies verify DIR N   check with read(2): copy i holds seed 100+i
 *                                in the ranges and seed 1 elsewhere; base
 *                                holds seed 1 everywhere
 *
 * Ranges: block 5 whole; 333 bytes at an odd offset inside block 9; 200
 * bytes across the boundary of blocks 19 and 20.  Even children read every
 * page first (shared read-only mappings, then copy-on-write from the write-
 * protect fault); odd children store straight away (CoW from the fault).
 * The pattern is that of tests/prog/pattern.c.  Exit 0 when all is well.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define FSIZE		(1L << 20)
#define BASE_SEED	1
#define NR_RANGES	3

static const struct {
	long off, len;
} ranges[NR_RANGES] = {
	{ 5 * 4096, 4096 },
	{ 9 * 4096 + 1001, 333 },
	{ 20 * 4096 - 100, 200 },
};

static uint64_t word(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL ^
		     seed * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 29;
	return x | 1;
}

static unsigned char pat(uint64_t seed, uint64_t o)
{
	return (unsigned char)(word(seed, o & ~7ULL) >> ((o & 7) * 8));
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "mwrite_copies: %s %s: %s\n", what, arg,
		strerror(errno));
	exit(1);
}

static void path(char *buf, size_t sz, const char *dir, int i)
{
	if (i < 0)
		snprintf(buf, sz, "%s/base", dir);
	else
		snprintf(buf, sz, "%s/copy.%d", dir, i);
}

/* Seed expected at offset @o of copy @i (i < 0: base). */
static uint64_t seed_at(int i, long o)
{
	int r;

	for (r = 0; i >= 0 && r < NR_RANGES; r++)
		if (o >= ranges[r].off && o < ranges[r].off + ranges[r].len)
			return 100 + i;
	return BASE_SEED;
}

static void child(const char *dir, int i, int ready_fd, int go_fd)
{
	volatile unsigned char *m;
	unsigned long sum = 0;
	char p[4096], c;
	long o;
	int fd, r;

	path(p, sizeof(p), dir, i);
	fd = open(p, O_RDWR);
	if (fd < 0)
		die("open", p);
	m = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap", p);
	if (!(i & 1))
		for (o = 0; o < FSIZE; o += 4096)
			sum += m[o];
	if (write(ready_fd, "r", 1) != 1)
		die("write", "ready pipe");
	/* Barrier: the parent closes the write end when all are ready. */
	if (read(go_fd, &c, 1) != 0)
		die("read", "barrier pipe");
	for (r = 0; r < NR_RANGES; r++)
		for (o = ranges[r].off; o < ranges[r].off + ranges[r].len; o++)
			m[o] = pat(100 + i, o);
	if (msync((void *)m, FSIZE, MS_SYNC))
		die("msync", p);
	munmap((void *)m, FSIZE);
	close(fd);
	exit(sum == 1 ? 3 : 0);	/* sum keeps the touch loop */
}

static int do_write(const char *dir, int n)
{
	int ready[2], go[2], fd, dfd, i, status, bad = 0;
	unsigned char *buf = malloc(FSIZE);
	char p[4096], c;
	pid_t *pids = calloc(n, sizeof(*pids));
	long o;

	if (!buf || !pids)
		die("malloc", "");
	path(p, sizeof(p), dir, -1);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create", p);
	for (o = 0; o < FSIZE; o++)
		buf[o] = pat(BASE_SEED, o);
	if (pwrite(fd, buf, FSIZE, 0) != FSIZE)
		die("pwrite", p);
	for (i = 0; i < n; i++) {
		path(p, sizeof(p), dir, i);
		dfd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (dfd < 0)
			die("create", p);
		if (ioctl(dfd, FICLONE, fd))
			die("FICLONE to", p);
		close(dfd);
	}
	close(fd);

	if (pipe(ready) || pipe(go))
		die("pipe", "");
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", "");
		if (!pids[i]) {
			close(ready[0]);
			close(go[1]);
			child(dir, i, ready[1], go[0]);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			break;
	if (i < n)
		fprintf(stderr, "mwrite_copies: only %d of %d children ready\n",
			i, n);
	close(go[1]);		/* go */
	for (i = 0; i < n; i++) {
		if (waitpid(pids[i], &status, 0) < 0)
			die("waitpid", "");
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "mwrite_copies: child %d: %s %d\n", i,
				WIFSIGNALED(status) ? "signal" : "exit",
				WIFSIGNALED(status) ? WTERMSIG(status) :
				WEXITSTATUS(status));
			bad = 1;
		}
	}
	free(buf);
	free(pids);
	return bad;
}

static int verify(const char *dir, int n)
{
	unsigned char *buf = malloc(FSIZE);
	char p[4096], extra;
	int i, fd, bad = 0;
	long o;

	if (!buf)
		die("malloc", "");
	for (i = -1; i < n; i++) {
		path(p, sizeof(p), dir, i);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			die("open", p);
		if (pread(fd, buf, FSIZE, 0) != FSIZE ||
		    pread(fd, &extra, 1, FSIZE) != 0)
			die("pread (size must be exactly 1 MiB)", p);
		close(fd);
		for (o = 0; o < FSIZE; o++)
			if (buf[o] != pat(seed_at(i, o), o))
				break;
		if (o < FSIZE) {
			fprintf(stderr,
				"mwrite_copies: %s: offset %ld (block %ld): got 0x%02x, want seed %llu byte 0x%02x%s\n",
				p, o, o / 4096, buf[o],
				(unsigned long long)seed_at(i, o),
				pat(seed_at(i, o), o),
				buf[o] == pat(BASE_SEED, o) ?
				" (has the original)" : "");
			bad = 1;
		}
	}
	free(buf);
	return bad;
}

int main(int argc, char **argv)
{
	int n;

	if (argc != 4 || (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: mwrite_copies write|verify DIR N\n");
		return 2;
	}
	if (!strcmp(argv[1], "write"))
		return do_write(argv[2], n) || verify(argv[2], n);
	if (!strcmp(argv[1], "verify"))
		return verify(argv[2], n);
	fprintf(stderr, "mwrite_copies: bad mode %s\n", argv[1]);
	return 2;
}
