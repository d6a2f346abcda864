// SPDX-License-Identifier: GPL-2.0
/*
 * reflink_stress: several processes mixing clone, dedupe, copy_file_range,
 * mmap stores and loads, write, read, truncate, punch and unlink on a small
 * common set of files, for a bounded time.
 *
 *   reflink_stress DIR NPROC SECONDS [SEED]
 *
 * Errors that the races make legitimate are counted, not fatal: ENOENT (a
 * file unlinked meanwhile), EINVAL from remaps (ranges past an EOF that
 * moved, same-file overlap), FILE_DEDUPE_RANGE_DIFFERS, SIGBUS on a mapped
 * page truncated meanwhile.  Any other error is printed and makes the run
 * fail.  Each process also keeps a private file and a clone of it as a
 * point-in-time copy: the private file is changed through write() and
 * through its mapping while the others race on the common files, and both
 * are checked byte for byte against an in-memory model every round.
 * Exit 0 if no unexpected error and no model mismatch.
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
#include <time.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NFILES		8
#define MAXSZ		(1L << 20)
#define PRIV_SZ		(256L << 10)
#define BS		4096L

static const char *dir;
static int me;
static unsigned long long rng;
static long unexpected, expected, ops;
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t in_map;

static unsigned long long rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long rnd_range(long n)
{
	return n > 0 ? (long)(rnd() % (unsigned long long)n) : 0;
}

static void on_bus(int sig)
{
	(void)sig;
	if (in_map)
		siglongjmp(bus_jmp, 1);
	_exit(99);
}

static void name(char *buf, size_t sz, int i)
{
	snprintf(buf, sz, "%s/f%d", dir, i);
}

/* Record the outcome of one call; @ok_mask lists errnos races explain. */
static void outcome(const char *what, long ret, const int *ok)
{
	int e = errno;

	ops++;
	if (ret >= 0)
		return;
	for (; ok && *ok; ok++) {
		if (*ok == e) {
			expected++;
			return;
		}
	}
	unexpected++;
	fprintf(stderr, "reflink_stress[%d]: %s: %s\n", me, what, strerror(e));
}

static const int ok_open[] = { ENOENT, 0 };
static const int ok_remap[] = { ENOENT, EINVAL, 0 };

static int open_file(int i, int flags)
{
	char p[4096];
	int fd;

	name(p, sizeof(p), i);
	fd = open(p, flags, 0644);
	outcome("open", fd, ok_open);
	return fd;
}

static long fsize(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_size;
}

static void fill(unsigned char *b, long n, unsigned char seed)
{
	for (long i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7 + (i >> 12));
}

/* Loads or stores through a fresh mapping; SIGBUS if truncated meanwhile. */
static __attribute__((noinline)) void map_access(int fd, int store)
{
	volatile unsigned char *m;
	volatile unsigned long sum = 0;
	long sz = fsize(fd), off, len, i;

	if (!sz)
		return;
	m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	outcome("mmap", m == MAP_FAILED ? -1 : 0, NULL);
	if (m == MAP_FAILED)
		return;
	off = rnd_range(sz);
	len = rnd_range(sz - off) + 1;
	if (sigsetjmp(bus_jmp, 1)) {
		in_map = 0;
		expected++;	/* truncated meanwhile */
	} else {
		in_map = 1;
		for (i = off; i < off + len; i++) {
			if (store)
				m[i] = (unsigned char)(i + me);
			else
				sum += m[i];
		}
		in_map = 0;
		if (store && (rnd() & 1))
			outcome("msync", msync((void *)m, sz, MS_SYNC), NULL);
	}
	munmap((void *)m, sz);
}

static void op_common(void)
{
	static unsigned char buf[MAXSZ];
	int a = rnd_range(NFILES), b = rnd_range(NFILES);
	int fa, fb, kind = rnd_range(11);
	long sz, off, len, r;

	switch (kind) {
	case 0:		/* whole-file clone */
		fa = open_file(a, O_RDONLY);
		fb = open_file(b, O_RDWR | O_CREAT);
		if (fa >= 0 && fb >= 0)
			outcome("FICLONE", ioctl(fb, FICLONE, fa), ok_remap);
		break;
	case 1: {	/* range clone */
		struct file_clone_range cr;

		fa = open_file(a, O_RDONLY);
		fb = open_file(b, O_RDWR | O_CREAT);
		if (fa < 0 || fb < 0)
			break;
		sz = fsize(fa);
		cr.src_fd = fa;
		cr.src_offset = rnd_range(sz / BS + 1) * BS;
		cr.src_length = rnd_range(64) * BS;
		cr.dest_offset = rnd_range(MAXSZ / BS - 64) * BS;
		outcome("FICLONERANGE", ioctl(fb, FICLONERANGE, &cr), ok_remap);
		break;
	}
	case 2: {	/* dedupe */
		struct file_dedupe_range *d;

		fa = open_file(a, O_RDONLY);
		fb = open_file(b, O_RDWR | O_CREAT);
		if (fa < 0 || fb < 0)
			break;
		d = calloc(1, sizeof(*d) + sizeof(d->info[0]));
		if (!d)
			exit(2);
		off = rnd_range(32) * BS;
		d->src_offset = off;
		d->src_length = rnd_range(32) * BS + BS;
		d->dest_count = 1;
		d->info[0].dest_fd = fb;
		d->info[0].dest_offset = off;
		r = ioctl(fa, FIDEDUPERANGE, d);
		if (!r && d->info[0].status < 0) {
			errno = -d->info[0].status;
			r = -1;
		} else if (!r && d->info[0].status ==
			   FILE_DEDUPE_RANGE_DIFFERS) {
			expected++;
		}
		outcome("FIDEDUPERANGE", r, ok_remap);
		free(d);
		break;
	}
	case 3: {	/* copy_file_range */
		loff_t so, dof;

		fa = open_file(a, O_RDONLY);
		fb = open_file(b, O_RDWR | O_CREAT);
		if (fa < 0 || fb < 0)
			break;
		so = rnd_range(MAXSZ / 2);
		dof = rnd_range(MAXSZ / 2);
		if (rnd() & 1) {
			so &= ~(BS - 1);
			dof &= ~(BS - 1);
		}
		r = copy_file_range(fa, &so, fb, &dof, rnd_range(MAXSZ / 2), 0);
		outcome("copy_file_range", r, ok_remap);
		break;
	}
	case 4:		/* mmap store */
	case 5:		/* mmap load */
		fa = open_file(a, O_RDWR);
		fb = -1;
		if (fa >= 0)
			map_access(fa, kind == 4);
		break;
	case 6:		/* write */
		fa = open_file(a, O_RDWR | O_CREAT);
		fb = -1;
		if (fa < 0)
			break;
		off = rnd_range(MAXSZ);
		len = rnd_range(MAXSZ - off) / 4 + 1;
		fill(buf, len, (unsigned char)rnd());
		outcome("pwrite", pwrite(fa, buf, len, off), NULL);
		break;
	case 7:		/* read */
		fa = open_file(a, O_RDONLY);
		fb = -1;
		if (fa >= 0)
			outcome("pread", pread(fa, buf, MAXSZ, rnd_range(MAXSZ)),
				NULL);
		break;
	case 8:		/* truncate */
		fa = open_file(a, O_RDWR);
		fb = -1;
		if (fa >= 0)
			outcome("ftruncate", ftruncate(fa, rnd_range(MAXSZ)),
				NULL);
		break;
	case 9:		/* punch */
		fa = open_file(a, O_RDWR);
		fb = -1;
		if (fa >= 0)
			outcome("punch", fallocate(fa, FALLOC_FL_PUNCH_HOLE |
						   FALLOC_FL_KEEP_SIZE,
						   rnd_range(MAXSZ),
						   rnd_range(MAXSZ / 4) + 1),
				NULL);
		break;
	default: {	/* unlink */
		char p[4096];

		fa = fb = -1;
		name(p, sizeof(p), a);
		outcome("unlink", unlink(p), ok_open);
		break;
	}
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

/* Private point-in-time check; returns 0 or 1 on a mismatch. */
static int op_private(int round)
{
	static unsigned char model[PRIV_SZ], snap[PRIV_SZ], got[PRIV_SZ];
	char px[4096], py[4096];
	unsigned char *m;
	int fx, fy, i, bad = 0;
	long off, len;

	snprintf(px, sizeof(px), "%s/p%d.x", dir, me);
	snprintf(py, sizeof(py), "%s/p%d.y", dir, me);
	fx = open(px, O_RDWR | O_CREAT, 0644);
	fy = open(py, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fx < 0 || fy < 0) {
		fprintf(stderr, "reflink_stress[%d]: open private: %s\n", me,
			strerror(errno));
		return 1;
	}
	if (round == 0) {
		fill(model, PRIV_SZ, (unsigned char)me);
		if (pwrite(fx, model, PRIV_SZ, 0) != PRIV_SZ)
			goto io;
	}
	if (ioctl(fy, FICLONE, fx))
		goto io;
	memcpy(snap, model, PRIV_SZ);
	m = mmap(NULL, PRIV_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fx, 0);
	if (m == MAP_FAILED)
		goto io;
	for (i = 0; i < 8; i++) {
		off = rnd_range(PRIV_SZ);
		len = rnd_range(PRIV_SZ - off) / 8 + 1;
		fill(model + off, len, (unsigned char)rnd());
		if (i & 1) {
			memcpy(m + off, model + off, len);
		} else if (pwrite(fx, model + off, len, off) != len) {
			munmap(m, PRIV_SZ);
			goto io;
		}
	}
	if (msync(m, PRIV_SZ, MS_SYNC) || memcmp(m, model, PRIV_SZ)) {
		fprintf(stderr, "reflink_stress[%d]: private mapping differs from model (round %d)\n",
			me, round);
		bad = 1;
	}
	munmap(m, PRIV_SZ);
	if (pread(fx, got, PRIV_SZ, 0) != PRIV_SZ)
		goto io;
	if (memcmp(got, model, PRIV_SZ)) {
		fprintf(stderr, "reflink_stress[%d]: %s differs from model (round %d)\n",
			me, px, round);
		bad = 1;
	}
	if (pread(fy, got, PRIV_SZ, 0) != PRIV_SZ)
		goto io;
	if (memcmp(got, snap, PRIV_SZ)) {
		for (off = 0; got[off] == snap[off]; off++)
			;
		fprintf(stderr, "reflink_stress[%d]: clone %s changed at %ld (round %d)\n",
			me, py, off, round);
		bad = 1;
	}
	close(fx);
	close(fy);
	return bad;
io:
	fprintf(stderr, "reflink_stress[%d]: private file I/O: %s\n", me,
		strerror(errno));
	close(fx);
	close(fy);
	return 1;
}

static int worker(int secs)
{
	struct sigaction sa = { .sa_handler = on_bus };
	time_t end = time(NULL) + secs;
	int round = 0, bad = 0, i;

	sigaction(SIGBUS, &sa, NULL);
	while (time(NULL) < end && !bad) {
		for (i = 0; i < 20; i++)
			op_common();
		bad = op_private(round++);
	}
	printf("reflink_stress[%d]: %ld ops, %ld expected errors, %ld unexpected, %d private rounds%s\n",
	       me, ops, expected, unexpected, round,
	       bad ? ", PRIVATE CHECK FAILED" : "");
	return bad || unexpected ? 1 : 0;
}

int main(int argc, char **argv)
{
	int n, secs, i, status, bad = 0;
	unsigned long long seed;

	if (argc < 4) {
		fprintf(stderr, "usage: reflink_stress DIR NPROC SECONDS [SEED]\n");
		return 2;
	}
	dir = argv[1];
	n = atoi(argv[2]);
	secs = atoi(argv[3]);
	seed = argc > 4 ? strtoull(argv[4], NULL, 0) : (unsigned long long)time(NULL);
	printf("reflink_stress: %d processes, %d s, seed %llu\n", n, secs, seed);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (!pid) {
			me = i;
			rng = seed * 2654435761ULL + i * 0x9e3779b97f4a7c15ULL + 1;
			exit(worker(secs));
		}
	}
	for (i = 0; i < n; i++) {
		if (wait(&status) < 0)
			return 2;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "reflink_stress: a worker %s %d\n",
				WIFSIGNALED(status) ? "died of signal" : "exited",
				WIFSIGNALED(status) ? WTERMSIG(status) :
				WEXITSTATUS(status));
			bad = 1;
		}
	}
	return bad;
}
