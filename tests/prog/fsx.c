// SPDX-License-Identifier: GPL-2.0
/*
 * fsx: random file operations checked against an in-memory model.
 *
 *   fsx [-n ops] [-s seed] [-l maxlen] [-m] [-r] file
 *
 * Operations: pwrite, pread, truncate (up and down), fallocate (plain,
 * KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, UNSHARE_RANGE, COLLAPSE_RANGE,
 * INSERT_RANGE), a clone of one block-aligned range of the file onto
 * another (FICLONERANGE, so that unshare, collapse and insert meet shared
 * blocks), mmap store and mmap load (-m), and close/reopen (-r).  Every read, by read() or through a mapping, must match
 * the model byte for byte; the first mismatch prints the op log and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

static unsigned char *model, *buf;
static off_t msize, maxlen = 4 << 20;
static int fd;
static const char *path;
static unsigned long seed = 1, nops = 10000;
static int use_mmap, use_reopen;

#define LOGN 32
static char oplog[LOGN][96];
static unsigned long opno;

static unsigned long rnd(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed >> 33;
}

static void logop(const char *fmt, long a, long b)
{
	snprintf(oplog[opno % LOGN], sizeof(oplog[0]), "%lu: ", opno);
	snprintf(oplog[opno % LOGN] + strlen(oplog[opno % LOGN]),
		 sizeof(oplog[0]) - strlen(oplog[opno % LOGN]), fmt, a, b);
}

static void fail(const char *what)
{
	unsigned long i = opno >= LOGN ? opno - LOGN + 1 : 0;

	fprintf(stderr, "fsx: FAIL at op %lu: %s (errno %d %s)\n", opno, what,
		errno, strerror(errno));
	for (; i <= opno; i++)
		fprintf(stderr, "  %s\n", oplog[i % LOGN]);
	exit(1);
}

static void check(off_t off, off_t len, const unsigned char *got)
{
	off_t i;

	for (i = 0; i < len; i++) {
		if (got[i] != model[off + i]) {
			fprintf(stderr, "fsx: byte %lld: got 0x%02x want 0x%02x\n",
				(long long)(off + i), got[i], model[off + i]);
			fail("data mismatch");
		}
	}
}

static void set_size(off_t n)
{
	if (n > msize)
		memset(model + msize, 0, n - msize);
	msize = n;
}

static void op_write(off_t off, off_t len)
{
	off_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)rnd();
	logop("write off=%ld len=%ld", off, len);
	if (pwrite(fd, buf, len, off) != len)
		fail("pwrite");
	if (off + len > msize)
		set_size(off + len);
	memcpy(model + off, buf, len);
}

static void op_read(off_t off, off_t len)
{
	ssize_t want = off >= msize ? 0 :
		       (off + len > msize ? msize - off : len);

	logop("read off=%ld len=%ld", off, len);
	if (pread(fd, buf, len, off) != want)
		fail("pread length");
	check(off, want, buf);
}

static void op_truncate(off_t n)
{
	logop("truncate %ld%s", n, (long)"");
	if (ftruncate(fd, n))
		fail("ftruncate");
	set_size(n);
}

static void op_falloc(int mode, off_t off, off_t len)
{
	logop("fallocate mode=%ld off=%ld", mode, off);
	if (fallocate(fd, mode, off, len)) {
		if (errno == EOPNOTSUPP)
			return;
		fail("fallocate");
	}
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		off_t end = off + len;

		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > msize)
			set_size(end);
		if (end > msize)
			end = msize;
		if (off < end)
			memset(model + off, 0, end - off);
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > msize) {
		set_size(off + len);
	}
}

#define BLK 4096L

/* Collapse or insert of whole blocks; the model moves its bytes alike. */
static void op_shift(int insert, off_t off, off_t len)
{
	off = off & ~(BLK - 1);
	len = (len + BLK - 1) & ~(BLK - 1);
	if (insert ? off >= msize || msize + len > maxlen :
		     off + len >= msize)
		return;		/* EINVAL by definition: not this op's test */
	logop(insert ? "finsert off=%ld len=%ld" : "fcollapse off=%ld len=%ld",
	      off, len);
	if (fallocate(fd, insert ? FALLOC_FL_INSERT_RANGE :
			  FALLOC_FL_COLLAPSE_RANGE, off, len)) {
		if (errno == EOPNOTSUPP)
			return;
		fail(insert ? "finsert" : "fcollapse");
	}
	if (insert) {
		memmove(model + off + len, model + off, msize - off);
		memset(model + off, 0, len);
		msize += len;
	} else {
		memmove(model + off, model + off + len, msize - off - len);
		msize -= len;
	}
}

/* Clone [src, src+len) onto [dst, dst+len), both aligned, disjoint. */
static void op_clone(off_t src, off_t dst, off_t len)
{
	struct file_clone_range fcr;

	src &= ~(BLK - 1);
	dst &= ~(BLK - 1);
	len &= ~(BLK - 1);
	if (src + len > (msize & ~(BLK - 1)))
		len = (msize & ~(BLK - 1)) - src;
	if (dst + len > maxlen)
		len = (maxlen - dst) & ~(BLK - 1);
	if (len <= 0 || (src < dst + len && dst < src + len))
		return;
	logop("clone src=%ld len=%ld", src, len);
	fcr = (struct file_clone_range){ .src_fd = fd, .src_offset = src,
					 .src_length = len, .dest_offset = dst };
	if (ioctl(fd, FICLONERANGE, &fcr)) {
		if (errno == EOPNOTSUPP || errno == EXDEV)
			return;
		fail("clone");
	}
	if (dst + len > msize)
		set_size(dst + len);
	memcpy(model + dst, model + src, len);
}

static void op_mmap(off_t off, off_t len, int store)
{
	off_t pg = off & ~4095L, i;
	size_t mlen;
	unsigned char *p;

	if (off >= msize)
		return;
	if (off + len > msize)
		len = msize - off;
	mlen = off + len - pg;
	logop(store ? "mstore off=%ld len=%ld" : "mload off=%ld len=%ld", off,
	      len);
	p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, pg);
	if (p == MAP_FAILED)
		fail("mmap");
	if (store) {
		for (i = 0; i < len; i++) {
			unsigned char v = (unsigned char)rnd();

			p[off - pg + i] = v;
			model[off + i] = v;
		}
		if (msync(p, mlen, MS_SYNC))
			fail("msync");
	} else {
		check(off, len, p + (off - pg));
	}
	munmap(p, mlen);
}

static void reopen(void)
{
	logop("reopen%s%s", (long)"", (long)"");
	close(fd);
	fd = open(path, O_RDWR);
	if (fd < 0)
		fail("reopen");
}

static void one_op(void)
{
	off_t off = rnd() % maxlen, len = 1 + rnd() % (maxlen / 8);
	unsigned int k = rnd() % 110;

	if (off + len > maxlen)
		len = maxlen - off;
	if (k < 30)
		op_write(off, len);
	else if (k < 50)
		op_read(off, len);
	else if (k < 56)
		op_truncate(rnd() % maxlen);
	else if (k < 60)
		op_falloc(0, off, len);
	else if (k < 64)
		op_falloc(FALLOC_FL_KEEP_SIZE, off, len);
	else if (k < 72)
		op_falloc(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	else if (k < 76)
		op_falloc(FALLOC_FL_ZERO_RANGE, off, len);
	else if (k < 88 && use_mmap)
		op_mmap(off, len, 1);
	else if (k < 98 && use_mmap)
		op_mmap(off, len, 0);
	else if (k >= 100 && k < 103)
		op_shift(0, off, len);
	else if (k >= 103 && k < 106)
		op_shift(1, off, len);
	else if (k >= 106 && k < 108)
		op_falloc(FALLOC_FL_UNSHARE_RANGE | (k & 1 ? FALLOC_FL_KEEP_SIZE : 0),
			  off, len);
	else if (k >= 108)
		op_clone(rnd() % maxlen, off, len);
	else if (use_reopen)
		reopen();
	else
		op_read(off, len);
}

static void final_check(void)
{
	struct stat st;

	if (fstat(fd, &st))
		fail("fstat");
	if (st.st_size != msize)
		fail("final size");
	op_read(0, maxlen);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "n:s:l:mr")) != -1) {
		switch (c) {
		case 'n':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			maxlen = strtol(optarg, NULL, 0);
			break;
		case 'm':
			use_mmap = 1;
			break;
		case 'r':
			use_reopen = 1;
			break;
		default:
			fprintf(stderr, "usage: fsx [-n ops] [-s seed] [-l maxlen] [-m] [-r] file\n");
			return 2;
		}
	}
	if (optind != argc - 1 || maxlen < 4096) {
		fprintf(stderr, "usage: fsx [-n ops] [-s seed] [-l maxlen] [-m] [-r] file\n");
		return 2;
	}
	printf("fsx: seed %lu\n", seed);
	path = argv[optind];
	model = calloc(1, maxlen);
	buf = malloc(maxlen);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!model || !buf || fd < 0)
		fail("setup");
	for (opno = 0; opno < nops; opno++)
		one_op();
	final_check();
	printf("fsx: %lu ops ok (maxlen %lld)\n", nops,
	       (long long)maxlen);
	return 0;
}
