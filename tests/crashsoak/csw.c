// SPDX-License-Identifier: GPL-2.0
/*
 * csw: workload, oracle and checker of the whole-guest crash soak
 * (tests/crashsoak/, docs/crash-soak.md).
 *
 *   csw init  W                      make W/d0..d3 and make them durable
 *   csw run   W LOG SEED READY [MAXOPS]
 *                                    adopt the tree under W, then run random
 *                                    operations until killed (or MAXOPS),
 *                                    appending the oracle to LOG
 *   csw check W LOG [STATS]          after the crash and recovery: does W hold
 *                                    a state the logged run may legally leave?
 *   csw corrupt W LOG MODE           selftest: damage something the oracle
 *                                    says is durable (MODE byte|unlink)
 *
 * The namespace is bounded: four fixed directories d0..d3 (made durable by
 * "init"), each with NF file slots f0..f<NF-1> (regular files, hard links,
 * symlinks) and NE directory slots e0..e<NE-1> (always-empty directories).
 *
 * Oracle records (one line each; written and fsynced to LOG BEFORE the
 * operation they announce, so the log after a kill lists every operation
 * that may have touched the filesystem; the last one may be partial):
 *   I id ino type size hash target  inode adopted at start (durable)
 *   E dir slot id                   entry adopted at start (durable)
 *   X                               adoption done, sync() returned
 *   K id type target                a new inode id is about to be created
 *   C id ino                        ... it was created and has inode number ino
 *   N dir slot id|-1                entry may now name id (or be absent)
 *   U id                            inode id's content/size may change
 *   S id size hash                  fsync/fdatasync of id returned: this is
 *                                   its durable content
 *   D dir                           fsync of directory dir returned
 * Written AFTER the fact only: C, S, D (they record something that completed).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NDIR 4
#define NF 12
#define NE 3
#define NSLOT (NF + NE)
#define MAXSZ (192 * 1024)
#define BLK 4096
#define MAXHELD 2

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "csw: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(3);
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void slot_name(char *buf, size_t len, const char *w, int d, int s)
{
	if (s < NF)
		snprintf(buf, len, "%s/d%d/f%d", w, d, s);
	else
		snprintf(buf, len, "%s/d%d/e%d", w, d, s - NF);
}

/* -1 when NAME is not a slot name. */
static int parse_slot(const char *name)
{
	char *end;
	long v;

	if ((name[0] != 'f' && name[0] != 'e') || !name[1])
		return -1;
	v = strtol(name + 1, &end, 10);
	if (*end || v < 0 || (name[1] == '0' && name[2]))
		return -1;
	if (name[0] == 'f')
		return v < NF ? (int)v : -1;
	return v < NE ? NF + (int)v : -1;
}

/* ================= workload ================= */

struct winode {
	int id;
	char type;		/* 'f' file, 'l' symlink, 'd' directory */
	unsigned char *data;	/* model content, MAXSZ bytes, zero past size */
	size_t size;
	char target[64];
};

static struct winode **inodes;
static int ninodes, cap_inodes;
static int ent[NDIR][NSLOT];	/* index into inodes[], -1 = empty */
static int held_fd[MAXHELD] = { -1, -1 };
static int held_ino[MAXHELD] = { -1, -1 };
static int logfd = -1;
static const char *W;
static uint64_t rng;
static long nops;
static int mod_d = -1, mod_s;	/* file slot the current op changed, for a follow-up fsync */

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static uint64_t rn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void logrec(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	/*
	 * The log is on the 9p share, mounted without a cache: write() is a
	 * synchronous request that QEMU completes with a pwrite() on the host,
	 * so once it returns the record survives a SIGKILL of QEMU (the host
	 * does not crash).  That is what an announcement needs.
	 */
	if (write(logfd, buf, n) != n)
		die("log write: %s", strerror(errno));
	/* Durability points (S, D, X) are also fsynced, as the design asks. */
	if (strchr("SDX", buf[0]) && fsync(logfd))
		die("log fsync: %s", strerror(errno));
}

static int new_inode(char type)
{
	struct winode *in = calloc(1, sizeof(*in));

	if (!in)
		die("oom");
	in->id = ninodes;
	in->type = type;
	if (type == 'f') {
		in->data = calloc(1, MAXSZ);
		if (!in->data)
			die("oom");
	}
	if (ninodes == cap_inodes) {
		cap_inodes = cap_inodes ? 2 * cap_inodes : 256;
		inodes = realloc(inodes, cap_inodes * sizeof(*inodes));
		if (!inodes)
			die("oom");
	}
	inodes[ninodes] = in;
	return ninodes++;
}

static int nlinks(int ix)
{
	int d, s, n = 0;

	for (d = 0; d < NDIR; d++)
		for (s = 0; s < NSLOT; s++)
			n += ent[d][s] == ix;
	for (d = 0; d < MAXHELD; d++)
		n += held_ino[d] == ix;
	return n;
}

/* Release the model of an inode nothing refers to any more. */
static void maybe_free(int ix)
{
	if (ix >= 0 && !nlinks(ix) && inodes[ix]->data) {
		free(inodes[ix]->data);
		inodes[ix]->data = NULL;
	}
}

static void path_of(char *buf, size_t len, int d, int s)
{
	slot_name(buf, len, W, d, s);
}

static void fill(unsigned char *p, size_t n)
{
	size_t i;
	uint64_t r = 0;

	for (i = 0; i < n; i++) {
		if (!(i & 7))
			r = rnd();
		p[i] = (unsigned char)(r >> ((i & 7) * 8));
	}
}

/* A random occupied slot of the given kind (type 0 = any), or -1. */
static int pick_used(char type, int *dp, int *sp)
{
	int cand[NDIR * NSLOT], n = 0, d, s, c;

	for (d = 0; d < NDIR; d++)
		for (s = 0; s < NSLOT; s++)
			if (ent[d][s] >= 0 && (!type || inodes[ent[d][s]]->type == type))
				cand[n++] = d * NSLOT + s;
	if (!n)
		return -1;
	c = cand[rn(n)];
	*dp = c / NSLOT;
	*sp = c % NSLOT;
	return ent[*dp][*sp];
}

static int pick_free(int dirslot, int *dp, int *sp)
{
	int cand[NDIR * NSLOT], n = 0, d, s, c;

	for (d = 0; d < NDIR; d++)
		for (s = dirslot ? NF : 0; s < (dirslot ? NSLOT : NF); s++)
			if (ent[d][s] < 0)
				cand[n++] = d * NSLOT + s;
	if (!n)
		return -1;
	c = cand[rn(n)];
	*dp = c / NSLOT;
	*sp = c % NSLOT;
	return 0;
}

static int open_ix(int d, int s, int flags)
{
	char p[1024];
	int fd;

	path_of(p, sizeof(p), d, s);
	fd = open(p, flags);
	if (fd < 0)
		die("op %ld: open %s: %s", nops, p, strerror(errno));
	return fd;
}

/* Read the file back and compare with the model: catches live corruption
 * (and model bugs, which would otherwise look like crash failures). */
static void verify_live(int fd, struct winode *in)
{
	static unsigned char buf[MAXSZ + 1];
	ssize_t n, tot = 0;
	struct stat st;

	if (fstat(fd, &st))
		die("fstat: %s", strerror(errno));
	if ((size_t)st.st_size != in->size)
		die("op %ld: LIVE MISMATCH inode %d: size %lld, model %zu", nops, in->id,
		    (long long)st.st_size, in->size);
	while (tot < (ssize_t)in->size) {
		n = pread(fd, buf + tot, in->size - tot, tot);
		if (n <= 0)
			die("op %ld: read back inode %d: %s", nops, in->id, n ? strerror(errno) : "EOF");
		tot += n;
	}
	if (memcmp(buf, in->data, in->size)) {
		size_t i = 0;

		while (buf[i] == in->data[i])
			i++;
		die("op %ld: LIVE MISMATCH inode %d (size %zu) at byte %zu: %02x, model %02x",
		    nops, in->id, in->size, i, buf[i], in->data[i]);
	}
}

static void do_sync(int d, int s, int data_only)
{
	int ix = ent[d][s], fd = open_ix(d, s, O_RDONLY);
	struct winode *in = inodes[ix];

	if (data_only ? fdatasync(fd) : fsync(fd))
		die("op %ld: %s: %s", nops, data_only ? "fdatasync" : "fsync", strerror(errno));
	verify_live(fd, in);
	logrec("S %d %zu %016" PRIx64, in->id, in->size, fnv(in->data, in->size));
	close(fd);
}

static void do_dirsync(int d)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/d%d", W, d);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd))
		die("op %ld: dir fsync %s: %s", nops, p, strerror(errno));
	close(fd);
	logrec("D %d", d);
}

static void model_write(struct winode *in, size_t off, const unsigned char *p, size_t n)
{
	memcpy(in->data + off, p, n);
	if (off + n > in->size)
		in->size = off + n;
}

static void model_resize(struct winode *in, size_t sz)
{
	if (sz < in->size)
		memset(in->data + sz, 0, in->size - sz);
	in->size = sz;
}

static void xpwrite(int fd, const unsigned char *p, size_t n, size_t off)
{
	ssize_t w;

	while (n) {
		w = pwrite(fd, p, n, off);
		if (w <= 0)
			die("op %ld: pwrite: %s", nops, strerror(errno));
		p += w;
		n -= w;
		off += w;
	}
}

static void op_create(void)
{
	int d, s, ix, fd;
	char p[1024];
	struct stat st;

	if (pick_free(0, &d, &s))
		return;
	ix = new_inode('f');
	logrec("K %d f -", ix);
	logrec("N %d %d %d", d, s, ix);
	path_of(p, sizeof(p), d, s);
	fd = open(p, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd < 0 || fstat(fd, &st))
		die("op %ld: create %s: %s", nops, p, strerror(errno));
	ent[d][s] = ix;
	logrec("C %d %llu", ix, (unsigned long long)st.st_ino);
	if (rn(2)) {
		static unsigned char buf[32768];
		size_t n = rn(sizeof(buf)) + 1;

		fill(buf, n);
		xpwrite(fd, buf, n, 0);
		model_write(inodes[ix], 0, buf, n);
	}
	close(fd);
}

static void op_write(int append)
{
	static unsigned char buf[32768];
	int d, s, ix, fd;
	struct winode *in;
	size_t off, n;

	ix = pick_used('f', &d, &s);
	if (ix < 0)
		return;
	in = inodes[ix];
	n = rn(rn(4) ? 4096 : sizeof(buf)) + 1;
	if (append) {
		if (in->size + n > MAXSZ)
			return;
		off = in->size;
	} else {
		off = rn(MAXSZ - n);
		if (rn(2))	/* mostly inside or just past the file */
			off = rn(in->size + 1 < MAXSZ - n ? in->size + 1 : MAXSZ - n);
	}
	fill(buf, n);
	logrec("U %d", ix);
	mod_d = d;
	mod_s = s;
	fd = open_ix(d, s, O_WRONLY | (append ? O_APPEND : 0));
	if (append) {
		if (write(fd, buf, n) != (ssize_t)n)
			die("op %ld: append: %s", nops, strerror(errno));
	} else {
		xpwrite(fd, buf, n, off);
	}
	model_write(in, off, buf, n);
	close(fd);
}

static void op_truncate(void)
{
	int d, s, ix, fd;
	size_t sz;

	ix = pick_used('f', &d, &s);
	if (ix < 0)
		return;
	sz = rn(3) ? rn(inodes[ix]->size + 1) : rn(MAXSZ);
	logrec("U %d", ix);
	mod_d = d;
	mod_s = s;
	fd = open_ix(d, s, O_WRONLY);
	if (ftruncate(fd, sz))
		die("op %ld: ftruncate: %s", nops, strerror(errno));
	model_resize(inodes[ix], sz);
	close(fd);
}

static void op_fallocate(void)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	int d, s, ix, fd, mode;
	struct winode *in;
	size_t off, len, end;

	ix = pick_used('f', &d, &s);
	if (ix < 0)
		return;
	in = inodes[ix];
	mode = modes[rn(5)];
	len = rn(rn(2) ? 3 * BLK : 40000) + 1;
	off = rn(MAXSZ - len);
	if (rn(3) && in->size)
		off = rn(in->size < MAXSZ - len ? in->size : MAXSZ - len);
	end = off + len;
	logrec("U %d", ix);
	mod_d = d;
	mod_s = s;
	fd = open_ix(d, s, O_RDWR);
	if (fallocate(fd, mode, off, len))
		die("op %ld: fallocate mode %#x %zu+%zu: %s", nops, mode, off, len, strerror(errno));
	close(fd);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (off < in->size)
			memset(in->data + off, 0, (end < in->size ? end : in->size) - off);
	} else if (mode & FALLOC_FL_ZERO_RANGE) {
		if (mode & FALLOC_FL_KEEP_SIZE) {
			if (off < in->size)
				memset(in->data + off, 0, (end < in->size ? end : in->size) - off);
		} else {
			memset(in->data + off, 0, len);
			if (end > in->size)
				in->size = end;
		}
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->size) {
		in->size = end;
	}
}

/* Drop one name of inode ix: its content may change (last link: freed). */
static void drop_name(int d, int s)
{
	int ix = ent[d][s];

	if (ix >= 0)
		logrec("U %d", ix);
	logrec("N %d %d -1", d, s);
}

static void op_unlink(void)
{
	int d, s, ix;
	char p[1024];

	ix = pick_used(0, &d, &s);
	if (ix < 0 || inodes[ix]->type == 'd')
		return;
	drop_name(d, s);
	path_of(p, sizeof(p), d, s);
	if (unlink(p))
		die("op %ld: unlink %s: %s", nops, p, strerror(errno));
	ent[d][s] = -1;
	maybe_free(ix);
}

static void op_rename(void)
{
	int d1, s1, d2, s2, ix, old;
	char p1[1024], p2[1024];

	ix = pick_used(0, &d1, &s1);
	if (ix < 0)
		return;
	if (inodes[ix]->type == 'd') {
		/* Directory slots only; over an (always empty) directory is fine. */
		d2 = rn(NDIR);
		s2 = NF + rn(NE);
	} else {
		d2 = rn(NDIR);
		s2 = rn(NF);
	}
	old = ent[d2][s2];
	if (old == ix)		/* same inode (or same name): rename is a no-op */
		return;
	if (old >= 0)
		logrec("U %d", old);
	logrec("N %d %d %d", d2, s2, ix);
	logrec("N %d %d -1", d1, s1);
	path_of(p1, sizeof(p1), d1, s1);
	path_of(p2, sizeof(p2), d2, s2);
	if (rename(p1, p2))
		die("op %ld: rename %s %s: %s", nops, p1, p2, strerror(errno));
	ent[d2][s2] = ix;
	ent[d1][s1] = -1;
	maybe_free(old);
}

static void op_mkdir(void)
{
	int d, s, ix;
	char p[1024];
	struct stat st;

	if (pick_free(1, &d, &s))
		return;
	ix = new_inode('d');
	logrec("K %d d -", ix);
	logrec("N %d %d %d", d, s, ix);
	path_of(p, sizeof(p), d, s);
	if (mkdir(p, 0755) || stat(p, &st))
		die("op %ld: mkdir %s: %s", nops, p, strerror(errno));
	ent[d][s] = ix;
	logrec("C %d %llu", ix, (unsigned long long)st.st_ino);
}

static void op_rmdir(void)
{
	int d, s, ix;
	char p[1024];

	ix = pick_used('d', &d, &s);
	if (ix < 0)
		return;
	logrec("N %d %d -1", d, s);
	path_of(p, sizeof(p), d, s);
	if (rmdir(p))
		die("op %ld: rmdir %s: %s", nops, p, strerror(errno));
	ent[d][s] = -1;
}

static void op_link(void)
{
	int d1, s1, d2, s2, ix;
	char p1[1024], p2[1024];

	ix = pick_used('f', &d1, &s1);
	if (ix < 0 || pick_free(0, &d2, &s2))
		return;
	logrec("N %d %d %d", d2, s2, ix);
	path_of(p1, sizeof(p1), d1, s1);
	path_of(p2, sizeof(p2), d2, s2);
	if (link(p1, p2))
		die("op %ld: link: %s", nops, strerror(errno));
	ent[d2][s2] = ix;
}

static void op_symlink(void)
{
	int d, s, ix;
	char p[1024];
	struct stat st;
	struct winode *in;

	if (pick_free(0, &d, &s))
		return;
	ix = new_inode('l');
	in = inodes[ix];
	snprintf(in->target, sizeof(in->target), "../d%d/f%d.%" PRIx64, (int)rn(NDIR),
		 (int)rn(NF), rnd() & 0xffffff);
	logrec("K %d l %s", ix, in->target);
	logrec("N %d %d %d", d, s, ix);
	path_of(p, sizeof(p), d, s);
	if (symlink(in->target, p) || lstat(p, &st))
		die("op %ld: symlink %s: %s", nops, p, strerror(errno));
	ent[d][s] = ix;
	logrec("C %d %llu", ix, (unsigned long long)st.st_ino);
}

/*
 * FICLONE: dst's [0, src size) becomes src's; dst is not truncated.  The VFS
 * refuses to share src's partial EOF block into the middle of a longer dst,
 * so then dst is emptied first (as cp --reflink does).
 */
static void clone_whole(int dfd, int sfd, struct winode *dst, struct winode *src)
{
	if (src->size % BLK && dst->size > src->size) {
		if (ftruncate(dfd, 0))
			die("op %ld: ftruncate before FICLONE: %s", nops, strerror(errno));
		model_resize(dst, 0);
	}
	if (ioctl(dfd, FICLONE, sfd))
		die("op %ld: FICLONE (src %zu, dst %zu bytes): %s", nops, src->size, dst->size,
		    strerror(errno));
	memcpy(dst->data, src->data, src->size);
	if (src->size > dst->size)
		dst->size = src->size;
}

/* Two distinct regular-file inodes: src and dst. */
static int pick_pair(int *sd, int *ss, int *dd, int *ds)
{
	int a, b, tries;

	for (tries = 0; tries < 8; tries++) {
		a = pick_used('f', sd, ss);
		b = pick_used('f', dd, ds);
		if (a >= 0 && b >= 0 && a != b)
			return 0;
	}
	return -1;
}

static void op_clone(int whole)
{
	int sd, ss, dd, ds, sfd, dfd;
	struct winode *src, *dst;

	if (pick_pair(&sd, &ss, &dd, &ds))
		return;
	src = inodes[ent[sd][ss]];
	dst = inodes[ent[dd][ds]];
	mod_d = dd;
	mod_s = ds;
	if (whole) {
		logrec("U %d", dst->id);
		sfd = open_ix(sd, ss, O_RDONLY);
		dfd = open_ix(dd, ds, O_RDWR);
		clone_whole(dfd, sfd, dst, src);
	} else {
		struct file_clone_range r;
		size_t sblocks = src->size / BLK, len, soff, doff;

		if (!sblocks)
			return;
		soff = rn(sblocks) * BLK;
		len = (rn(sblocks - soff / BLK) + 1) * BLK;
		doff = rn((dst->size < MAXSZ - len ? dst->size : MAXSZ - len) / BLK + 1) * BLK;
		logrec("U %d", dst->id);
		sfd = open_ix(sd, ss, O_RDONLY);
		dfd = open_ix(dd, ds, O_RDWR);
		r.src_fd = sfd;
		r.src_offset = soff;
		r.src_length = len;
		r.dest_offset = doff;
		if (ioctl(dfd, FICLONERANGE, &r))
			die("op %ld: FICLONERANGE %zu+%zu -> %zu: %s", nops, soff, len, doff,
			    strerror(errno));
		memmove(dst->data + doff, src->data + soff, len);
		if (doff + len > dst->size)
			dst->size = doff + len;
	}
	close(sfd);
	close(dfd);
}

static void op_copy_range(void)
{
	int sd, ss, dd, ds, sfd, dfd;
	struct winode *src, *dst;
	size_t soff, doff, len, left;
	loff_t so, dof;
	ssize_t n;

	if (pick_pair(&sd, &ss, &dd, &ds))
		return;
	src = inodes[ent[sd][ss]];
	dst = inodes[ent[dd][ds]];
	mod_d = dd;
	mod_s = ds;
	if (!src->size)
		return;
	soff = rn(src->size);
	if (rn(2))
		soff &= ~(size_t)(BLK - 1);
	len = rn(src->size - soff) + 1;
	doff = rn((dst->size < MAXSZ - len ? dst->size : MAXSZ - len) + 1);
	if (rn(2))
		doff &= ~(size_t)(BLK - 1);
	logrec("U %d", dst->id);
	sfd = open_ix(sd, ss, O_RDONLY);
	dfd = open_ix(dd, ds, O_WRONLY);
	so = soff;
	dof = doff;
	for (left = len; left; left -= n) {
		n = copy_file_range(sfd, &so, dfd, &dof, left, 0);
		if (n <= 0)
			die("op %ld: copy_file_range: %s", nops, n ? strerror(errno) : "short");
	}
	memmove(dst->data + doff, src->data + soff, len);
	if (doff + len > dst->size)
		dst->size = doff + len;
	close(sfd);
	close(dfd);
}

/* Make an aligned range of dst equal to one of src with plain writes, then
 * dedupe it: dedupe must never change what either file reads. */
static void op_dedupe(void)
{
	int sd, ss, dd, ds, sfd, dfd;
	struct winode *src, *dst;
	size_t sblocks, soff, doff, len;
	struct {
		struct file_dedupe_range r;
		struct file_dedupe_range_info i;
	} a;

	if (pick_pair(&sd, &ss, &dd, &ds))
		return;
	src = inodes[ent[sd][ss]];
	dst = inodes[ent[dd][ds]];
	mod_d = dd;
	mod_s = ds;
	sblocks = src->size / BLK;
	if (!sblocks)
		return;
	soff = rn(sblocks) * BLK;
	len = (rn(sblocks - soff / BLK < 8 ? sblocks - soff / BLK : 8) + 1) * BLK;
	doff = rn((dst->size < MAXSZ - len ? dst->size : MAXSZ - len) / BLK + 1) * BLK;
	sfd = open_ix(sd, ss, O_RDONLY);
	dfd = open_ix(dd, ds, O_RDWR);
	if (memcmp(dst->data + doff, src->data + soff, len) || doff + len > dst->size) {
		logrec("U %d", dst->id);
		xpwrite(dfd, src->data + soff, len, doff);
		model_write(dst, doff, src->data + soff, len);
	}
	memset(&a, 0, sizeof(a));
	a.r.src_offset = soff;
	a.r.src_length = len;
	a.r.dest_count = 1;
	a.i.dest_fd = dfd;
	a.i.dest_offset = doff;
	if (ioctl(sfd, FIDEDUPERANGE, &a))
		die("op %ld: FIDEDUPERANGE: %s", nops, strerror(errno));
	if (a.i.status != FILE_DEDUPE_RANGE_SAME)
		die("op %ld: FIDEDUPERANGE of equal ranges: status %d", nops, a.i.status);
	close(sfd);
	close(dfd);
}

/* Stores through MAP_SHARED into a file that (usually, after a clone) shares
 * its blocks: copy-on-write faults; then msync + fsync make it durable. */
static void op_mmap(void)
{
	int d, s, ix, fd, k, sd, ss;
	struct winode *in;
	size_t len, off, n;
	unsigned char *m;

	ix = pick_used('f', &d, &s);
	if (ix < 0)
		return;
	in = inodes[ix];
	if (rn(2) && pick_used('f', &sd, &ss) >= 0 && ent[sd][ss] != ix) {
		/* Share first: this file takes src's blocks. */
		int sfd = open_ix(sd, ss, O_RDONLY);

		logrec("U %d", ix);
		fd = open_ix(d, s, O_RDWR);
		clone_whole(fd, sfd, in, inodes[ent[sd][ss]]);
		close(sfd);
	} else {
		fd = open_ix(d, s, O_RDWR);
	}
	len = in->size & ~(size_t)(BLK - 1);
	if (!len) {
		close(fd);
		return;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("op %ld: mmap: %s", nops, strerror(errno));
	logrec("U %d", ix);
	for (k = rn(6) + 1; k; k--) {
		unsigned char buf[512];

		n = rn(sizeof(buf)) + 1;
		if (n > len)
			continue;
		off = rn(len - n + 1);
		fill(buf, n);
		memcpy(m + off, buf, n);
		memcpy(in->data + off, buf, n);
	}
	if (msync(m, len, MS_SYNC))
		die("op %ld: msync: %s", nops, strerror(errno));
	munmap(m, len);
	if (fsync(fd))
		die("op %ld: fsync after mmap: %s", nops, strerror(errno));
	verify_live(fd, in);
	logrec("S %d %zu %016" PRIx64, in->id, in->size, fnv(in->data, in->size));
	close(fd);
}

/* Unlink a file that stays open; write and fsync through the fd; close
 * later.  A crash leaves it on the orphan list: recovery must free it. */
static void op_orphan(void)
{
	static unsigned char buf[16384];
	int d, s, ix, h, fd;
	char p[1024];
	size_t n, off;

	for (h = 0; h < MAXHELD && held_fd[h] >= 0; h++)
		;
	if (h == MAXHELD) {
		h = rn(MAXHELD);
		ix = held_ino[h];
		close(held_fd[h]);
		held_fd[h] = -1;
		held_ino[h] = -1;
		maybe_free(ix);
		return;
	}
	ix = pick_used('f', &d, &s);
	if (ix < 0)
		return;
	fd = open_ix(d, s, O_RDWR);
	held_fd[h] = fd;
	held_ino[h] = ix;
	drop_name(d, s);
	path_of(p, sizeof(p), d, s);
	if (unlink(p))
		die("op %ld: unlink open %s: %s", nops, p, strerror(errno));
	ent[d][s] = -1;
	n = rn(sizeof(buf)) + 1;
	fill(buf, n);
	off = rn(MAXSZ - n);
	xpwrite(fd, buf, n, off);
	/* Other hard links may still name it: keep the model exact. */
	model_write(inodes[ix], off, buf, n);
	if (fsync(fd))
		die("op %ld: fsync open-unlinked: %s", nops, strerror(errno));
}

static int noreflink;	/* CSW_NOREFLINK=1: host self-check on a filesystem without reflink */

static void one_op(void)
{
	int r = rn(100), d, s;

	nops++;
	mod_d = -1;
	if (noreflink && r >= 75 && r < 97 && !(r >= 83 && r < 87))
		r = 20;
	if (r < 10) {
		op_create();
	} else if (r < 24) {
		op_write(0);
	} else if (r < 28) {
		op_write(1);
	} else if (r < 40) {
		if (pick_used('f', &d, &s) >= 0)
			do_sync(d, s, rn(3) == 0);
	} else if (r < 48) {
		do_dirsync(rn(NDIR));
	} else if (r < 54) {
		op_rename();
	} else if (r < 58) {
		op_unlink();
	} else if (r < 62) {
		op_truncate();
	} else if (r < 67) {
		op_fallocate();
	} else if (r < 69) {
		op_mkdir();
	} else if (r < 71) {
		op_rmdir();
	} else if (r < 73) {
		op_link();
	} else if (r < 75) {
		op_symlink();
	} else if (r < 79) {
		op_clone(1);
	} else if (r < 83) {
		op_clone(0);
	} else if (r < 87) {
		op_copy_range();
	} else if (r < 91) {
		op_dedupe();
	} else if (r < 97) {
		op_mmap();
	} else {
		op_orphan();
	}
	/* Like applications do: often make a change durable right away. */
	if (mod_d >= 0 && ent[mod_d][mod_s] >= 0 && rn(2))
		do_sync(mod_d, mod_s, rn(3) == 0);
}

/* Take over the tree a previous point left (it passed the check). */
static void adopt(void)
{
	struct { unsigned long long ino; int ix; } map[NDIR * NSLOT];
	int nmap = 0, d, s, i, ix, fd;
	char p[1024], dp[512];
	struct stat st;
	struct dirent *de;
	DIR *dir;

	for (d = 0; d < NDIR; d++) {
		snprintf(dp, sizeof(dp), "%s/d%d", W, d);
		dir = opendir(dp);
		if (!dir)
			die("adopt: opendir %s: %s", dp, strerror(errno));
		while ((de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			s = parse_slot(de->d_name);
			snprintf(p, sizeof(p), "%s/%s", dp, de->d_name);
			if (lstat(p, &st))
				die("adopt: lstat %s: %s", p, strerror(errno));
			if (s < 0 || (s >= NF) != !!S_ISDIR(st.st_mode) ||
			    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
				/* Not a slot of the right kind (the check would have failed). */
				if (S_ISDIR(st.st_mode) ? rmdir(p) : unlink(p))
					die("adopt: cannot remove stray %s: %s", p, strerror(errno));
				continue;
			}
			for (i = 0; i < nmap && map[i].ino != st.st_ino; i++)
				;
			if (i < nmap) {
				ent[d][s] = map[i].ix;
				continue;
			}
			ix = new_inode(S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 'l');
			map[nmap].ino = st.st_ino;
			map[nmap++].ix = ix;
			ent[d][s] = ix;
			if (S_ISLNK(st.st_mode)) {
				ssize_t n = readlink(p, inodes[ix]->target, sizeof(inodes[ix]->target) - 1);

				if (n < 0)
					die("adopt: readlink %s: %s", p, strerror(errno));
				inodes[ix]->target[n] = 0;
			} else if (S_ISREG(st.st_mode)) {
				if (st.st_size > MAXSZ)
					die("adopt: %s has %lld bytes", p, (long long)st.st_size);
				fd = open(p, O_RDONLY);
				if (fd < 0 || pread(fd, inodes[ix]->data, st.st_size, 0) != st.st_size)
					die("adopt: read %s: %s", p, strerror(errno));
				inodes[ix]->size = st.st_size;
				close(fd);
			}
		}
		closedir(dir);
	}
	sync();
	for (i = 0; i < nmap; i++) {
		struct winode *in = inodes[map[i].ix];

		logrec("I %d %llu %c %zu %016" PRIx64 " %s", in->id, map[i].ino, in->type,
		       in->size, in->data ? fnv(in->data, in->size) : 0, in->type == 'l' ? in->target : "-");
	}
	for (d = 0; d < NDIR; d++)
		for (s = 0; s < NSLOT; s++)
			if (ent[d][s] >= 0)
				logrec("E %d %d %d", d, s, ent[d][s]);
	logrec("X");
}

static int cmd_init(const char *w)
{
	char p[1024];
	int d, fd;

	if (mkdir(w, 0755) && errno != EEXIST)
		die("mkdir %s: %s", w, strerror(errno));
	for (d = 0; d < NDIR; d++) {
		snprintf(p, sizeof(p), "%s/d%d", w, d);
		if (mkdir(p, 0755) && errno != EEXIST)
			die("mkdir %s: %s", p, strerror(errno));
	}
	sync();
	fd = open(w, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd))
		die("fsync %s: %s", w, strerror(errno));
	close(fd);
	return 0;
}

static int cmd_run(const char *w, const char *logp, const char *seed, const char *ready,
		   const char *maxops)
{
	long max = maxops ? atol(maxops) : 0;
	int d, s, fd;

	W = w;
	noreflink = getenv("CSW_NOREFLINK") != NULL;
	rng = strtoull(seed, NULL, 0) * 0x9E3779B97F4A7C15ULL + 1;
	for (d = 0; d < NDIR; d++)
		for (s = 0; s < NSLOT; s++)
			ent[d][s] = -1;
	logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (logfd < 0)
		die("open %s: %s", logp, strerror(errno));
	adopt();
	fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open %s: %s", ready, strerror(errno));
	fsync(fd);
	close(fd);
	while (!max || nops < max)
		one_op();
	return 0;
}

/* ================= checker ================= */

struct cinode {
	unsigned long long ino;	/* 0 = not known (creation not logged) */
	char type;
	int stable;		/* content is what the last S (or I) said */
	unsigned long long size;
	uint64_t hash;
	char target[128];
};

static struct cinode *ci;
static int nci;
#define MAXCAND 64
struct cent {
	int n;			/* candidates (-1 = absent) */
	int c[MAXCAND];
	int overflow;		/* more values than MAXCAND: accept any known id */
	int cur;
	int touched;		/* any record at all */
};
static struct cent ce[NDIR][NSLOT];
static int failures;

static void cfail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("CHECK-FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static struct cinode *get_ci(int id)
{
	if (id < 0)
		die("log: bad id %d", id);
	if (id >= nci) {
		ci = realloc(ci, (id + 1) * sizeof(*ci));
		if (!ci)
			die("oom");
		memset(ci + nci, 0, (id + 1 - nci) * sizeof(*ci));
		nci = id + 1;
	}
	return &ci[id];
}

static void add_cand(struct cent *e, int v)
{
	int i;

	e->touched = 1;
	e->cur = v;
	for (i = 0; i < e->n; i++)
		if (e->c[i] == v)
			return;
	if (e->n == MAXCAND) {
		e->overflow = 1;
		return;
	}
	e->c[e->n++] = v;
}

static void read_log(const char *logp, long *nrec)
{
	FILE *f = fopen(logp, "r");
	char line[512], tgt[128], type;
	int id, d, s, v, seen_x = 0;
	unsigned long long ino, size;
	uint64_t h;

	if (!f)
		die("open %s: %s", logp, strerror(errno));
	for (d = 0; d < NDIR; d++)
		for (s = 0; s < NSLOT; s++) {
			ce[d][s].c[0] = -1;
			ce[d][s].n = 1;
			ce[d][s].cur = -1;
		}
	*nrec = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		/* A record cut by the kill: its operation had not begun. */
		if (!l || line[l - 1] != '\n')
			break;
		(*nrec)++;
		switch (line[0]) {
		case 'I':
			if (sscanf(line, "I %d %llu %c %llu %" SCNx64 " %127s", &id, &ino, &type,
				   &size, &h, tgt) != 6)
				die("log: bad line %s", line);
			get_ci(id)->ino = ino;
			ci[id].type = type;
			ci[id].stable = 1;
			ci[id].size = size;
			ci[id].hash = h;
			snprintf(ci[id].target, sizeof(ci[id].target), "%s", tgt);
			break;
		case 'E':
			if (sscanf(line, "E %d %d %d", &d, &s, &id) != 3 || d >= NDIR || s >= NSLOT)
				die("log: bad line %s", line);
			ce[d][s].c[0] = id;
			ce[d][s].n = 1;
			ce[d][s].cur = id;
			ce[d][s].touched = 1;
			break;
		case 'X':
			seen_x = 1;
			break;
		case 'K':
			if (sscanf(line, "K %d %c %127s", &id, &type, tgt) != 3)
				die("log: bad line %s", line);
			get_ci(id)->type = type;
			ci[id].stable = 0;
			snprintf(ci[id].target, sizeof(ci[id].target), "%s", tgt);
			break;
		case 'C':
			if (sscanf(line, "C %d %llu", &id, &ino) != 2)
				die("log: bad line %s", line);
			get_ci(id)->ino = ino;
			break;
		case 'N':
			if (sscanf(line, "N %d %d %d", &d, &s, &v) != 3 || d >= NDIR || s >= NSLOT)
				die("log: bad line %s", line);
			add_cand(&ce[d][s], v);
			break;
		case 'U':
			if (sscanf(line, "U %d", &id) != 1)
				die("log: bad line %s", line);
			get_ci(id)->stable = 0;
			break;
		case 'S':
			if (sscanf(line, "S %d %llu %" SCNx64, &id, &size, &h) != 3)
				die("log: bad line %s", line);
			get_ci(id)->stable = 1;
			ci[id].size = size;
			ci[id].hash = h;
			break;
		case 'D':
			if (sscanf(line, "D %d", &d) != 1 || d >= NDIR)
				die("log: bad line %s", line);
			/* Every entry of the directory is now what the run last made it. */
			for (s = 0; s < NSLOT; s++) {
				ce[d][s].c[0] = ce[d][s].cur;
				ce[d][s].n = 1;
				ce[d][s].overflow = 0;
			}
			break;
		default:
			die("log: bad line %s", line);
		}
	}
	fclose(f);
	if (!seen_x)
		die("log %s: adoption never finished (no X record)", logp);
}

static int file_hash(const char *p, unsigned long long *size, uint64_t *h)
{
	static unsigned char buf[MAXSZ + 1];
	ssize_t n, tot = 0;
	int fd = open(p, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = pread(fd, buf + tot, sizeof(buf) - tot, tot)) > 0)
		tot += n;
	close(fd);
	if (n < 0)
		return -1;
	*size = tot;
	*h = fnv(buf, tot);
	return 0;
}

static int cmd_check(const char *w, const char *logp, const char *statp)
{
	long nrec, n_found = 0, n_required = 0, n_content = 0, n_removed = 0, n_stable = 0;
	char dp[512], p[600], name[32];
	struct dirent *de;
	struct stat st;
	int d, s, i;
	DIR *dir;

	read_log(logp, &nrec);
	for (i = 0; i < nci; i++)
		n_stable += ci[i].stable && ci[i].type == 'f';
	dir = opendir(w);
	if (!dir)
		die("opendir %s: %s", w, strerror(errno));
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !(de->d_name[0] == 'd' && de->d_name[1] >= '0' &&
		      de->d_name[1] < '0' + NDIR && !de->d_name[2]))
			cfail("%s/%s: a name the workload never created", w, de->d_name);
	closedir(dir);
	for (d = 0; d < NDIR; d++) {
		int seen[NSLOT] = { 0 };

		snprintf(dp, sizeof(dp), "%s/d%d", w, d);
		dir = opendir(dp);
		if (!dir) {
			cfail("%s: directory made durable at init is gone (%s)", dp, strerror(errno));
			continue;
		}
		while ((de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			s = parse_slot(de->d_name);
			if (s < 0 || !ce[d][s].touched) {
				cfail("d%d/%s: a name the workload never created", d, de->d_name);
				continue;
			}
			seen[s] = 1;
		}
		closedir(dir);
		for (s = 0; s < NSLOT; s++) {
			struct cent *e = &ce[d][s];
			int absent_ok = 0, match = 0, ok = 0;
			unsigned long long size = 0;
			uint64_t h = 0;
			int have_hash = 0;
			char why[300] = "";
			char type;

			snprintf(name, sizeof(name), "d%d/%c%d", d, s < NF ? 'f' : 'e',
				 s < NF ? s : s - NF);
			for (i = 0; i < e->n; i++)
				absent_ok |= e->c[i] == -1;
			if (!seen[s]) {
				if (!absent_ok)
					cfail("%s: missing, but its name was durable (a fsync of d%d followed "
					      "the last change, expected inode id %d)", name, d, e->c[0]);
				else if (e->touched && e->n == 1)
					n_removed++;
				continue;
			}
			n_found++;
			if (!absent_ok)
				n_required++;
			slot_name(p, sizeof(p), w, d, s);
			if (lstat(p, &st)) {
				cfail("%s: lstat: %s", name, strerror(errno));
				continue;
			}
			type = S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' :
			       S_ISDIR(st.st_mode) ? 'd' : '?';
			for (i = 0; i < e->n && !ok; i++) {
				struct cinode *c;

				if (e->c[i] < 0 || e->c[i] >= nci)
					continue;
				c = &ci[e->c[i]];
				if (c->type != type || (c->ino && c->ino != st.st_ino))
					continue;
				match = 1;
				if (type == 'l') {
					char t[128];
					ssize_t n = readlink(p, t, sizeof(t) - 1);

					t[n < 0 ? 0 : n] = 0;
					if (!strcmp(t, c->target))
						ok = 1;
					else
						snprintf(why, sizeof(why), "symlink target '%s', created as '%s'",
							 t, c->target);
				} else if (type == 'd') {
					DIR *sub = opendir(p);
					int empty = 1;

					while (sub && (de = readdir(sub)))
						if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
							empty = 0;
					if (sub)
						closedir(sub);
					if (sub && empty)
						ok = 1;
					else
						snprintf(why, sizeof(why), "directory not empty or unreadable");
				} else if (!c->stable) {
					ok = 1;	/* changed since its last fsync: any content is legal */
				} else {
					if (!have_hash && file_hash(p, &size, &h) == 0)
						have_hash = 1;
					if (have_hash && size == c->size && h == c->hash) {
						ok = 1;
						n_content++;
					} else {
						snprintf(why, sizeof(why),
							 "size %llu hash %016" PRIx64 ", but inode id %d was fsynced "
							 "with size %llu hash %016" PRIx64 " and not changed since",
							 size, h, e->c[i], c->size, c->hash);
					}
				}
			}
			if (!ok && e->overflow && type != '?')
				ok = 1;
			if (!match && !ok)
				cfail("%s: holds a %c inode %llu that the workload never put under this name",
				      name, type, (unsigned long long)st.st_ino);
			else if (!ok)
				cfail("%s: %s", name, why);
		}
	}
	printf("check: %ld log records, %ld names present, %ld of them required (durable), "
	       "%ld contents matched their fsync, %ld durable removals held, %ld fsynced files in the "
	       "oracle, %d failures\n", nrec, n_found, n_required, n_content, n_removed, n_stable, failures);
	if (statp) {
		FILE *f = fopen(statp, "a");

		if (f) {
			fprintf(f, "%ld %ld %ld %ld %ld %d\n", nrec, n_found, n_required, n_content,
				n_removed, failures);
			fclose(f);
		}
	}
	return failures ? 1 : 0;
}

/* Selftest: damage something the oracle says is durable. */
static int cmd_corrupt(const char *w, const char *logp, const char *mode)
{
	long nrec;
	int d, s;
	char p[1024];

	read_log(logp, &nrec);
	for (d = 0; d < NDIR; d++)
		for (s = 0; s < NF; s++) {
			struct cent *e = &ce[d][s];
			struct cinode *c;

			if (e->n != 1 || e->c[0] < 0 || e->overflow)
				continue;
			c = &ci[e->c[0]];
			/* unlink: any durable name; byte: a durable name of an fsynced file. */
			if (!strcmp(mode, "byte") && (c->type != 'f' || !c->stable || !c->size))
				continue;
			slot_name(p, sizeof(p), w, d, s);
			if (!strcmp(mode, "unlink")) {
				if (unlink(p))
					die("unlink %s: %s", p, strerror(errno));
				printf("corrupt: removed durable name %s\n", p);
			} else {
				unsigned char b;
				int fd = open(p, O_RDWR);

				if (fd < 0 || pread(fd, &b, 1, c->size / 2) != 1)
					die("open %s: %s", p, strerror(errno));
				b ^= 0x5a;
				if (pwrite(fd, &b, 1, c->size / 2) != 1)
					die("pwrite %s: %s", p, strerror(errno));
				close(fd);
				printf("corrupt: flipped byte %llu of fsynced %s\n", c->size / 2, p);
			}
			return 0;
		}
	printf("corrupt: nothing durable to damage (%s)\n", mode);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "init"))
		return cmd_init(argv[2]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "run"))
		return cmd_run(argv[2], argv[3], argv[4], argv[5], argc == 7 ? argv[6] : NULL);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc == 5 && !strcmp(argv[1], "corrupt"))
		return cmd_corrupt(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: csw init W | run W LOG SEED READY [MAXOPS] | check W LOG [STATS] | "
		"corrupt W LOG byte|unlink\n");
	return 2;
}
