// SPDX-License-Identifier: GPL-2.0
/*
 * agefs: age a filesystem, then measure how much of a big file can be
 * mapped with 2 MiB pages (tests/func/49-aged-alignment.sh, bench/job.sh).
 *
 *   agefs age DIR SEED PEAK_PCT FREE_PCT PASSES
 *	Seeded churn in DIR: files of 4 KiB to 64 MiB (log-uniform sizes),
 *	some written in one go (1 MiB writes), some grown by small appends
 *	interleaved across up to 8 files (as logs and downloads grow), small
 *	appends to older files, and random deletes whenever the filesystem
 *	reaches PEAK_PCT used (down to PEAK_PCT - 15).  It writes PASSES times
 *	the filesystem's size in all, then deletes random files until at
 *	least FREE_PCT of the filesystem is free.
 *   agefs write FILE MIB
 *	Append MIB MiB to FILE, 1 MiB per write(2), then fsync.
 *   agefs chunks DIR DEV
 *	How the free space lies: the share of it in whole free 2 MiB chunks,
 *	from the FIEMAP of every file under DIR (tree nodes count as free,
 *	the metadata area before the data is left out: an estimate).
 *   agefs aligned FILE [MIB]
 *	From FIEMAP: the share of FILE's bytes (of its first MIB MiB) that lie in 2 MiB pieces
 *	aligned both in the file and on the device and contiguous (what a
 *	PMD mapping needs), as "aligned_pct P", with the counts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <ftw.h>
#include <unistd.h>

#define MIB		(1ULL << 20)
#define HUGE		(2 * MIB)
#define MAXFILES	8192
#define GROWING		8

static uint64_t rng;

static uint64_t rnd(void)		/* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_range(uint64_t lo, uint64_t hi)	/* [lo, hi] */
{
	return lo + rnd() % (hi - lo + 1);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static char buf[4 * MIB];

struct afile {
	unsigned int id;
	uint64_t size, target;	/* target > size: still growing */
};

static struct afile files[MAXFILES];
static unsigned int nfiles, next_id;
static const char *dir;
static uint64_t written;

static double used_frac(void)
{
	struct statvfs s;

	if (statvfs(dir, &s))
		die("statvfs");
	return 1.0 - (double)s.f_bfree / (double)s.f_blocks;
}

static void fname(char *out, size_t n, unsigned int id)
{
	snprintf(out, n, "%s/f%06u", dir, id);
}

/* Append @len bytes to file @f in writes of @piece; ENOSPC ends it. */
static int append(struct afile *f, uint64_t len, uint64_t piece)
{
	char name[4096];
	int fd;

	fname(name, sizeof(name), f->id);
	fd = open(name, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		die(name);
	while (len) {
		size_t n = len < piece ? len : piece;
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == ENOSPC) {
				close(fd);
				return -1;
			}
			die("write");
		}
		f->size += w;
		written += w;
		len -= w;
	}
	close(fd);
	return 0;
}

static void delete(unsigned int i)
{
	char name[4096];

	fname(name, sizeof(name), files[i].id);
	if (unlink(name))
		die(name);
	files[i] = files[--nfiles];
}

/* 4 KiB to 64 MiB, the same number of files per power of two. */
static uint64_t pick_size(void)
{
	uint64_t s = 4096ULL << rnd_range(0, 13);

	return (s + rnd_range(0, s)) & ~4095ULL;
}

static int age(int argc, char **argv)
{
	uint64_t seed, peak, freepct, passes, total;
	struct statvfs s;
	unsigned int i;

	if (argc != 7)
		return 2;
	dir = argv[2];
	seed = strtoull(argv[3], NULL, 0);
	peak = strtoull(argv[4], NULL, 0);
	freepct = strtoull(argv[5], NULL, 0);
	passes = strtoull(argv[6], NULL, 0);
	rng = seed;
	memset(buf, 0x5a, sizeof(buf));
	if (statvfs(dir, &s))
		die("statvfs");
	total = passes * s.f_blocks * s.f_frsize;

	while (written < total) {
		unsigned int op = rnd() % 100, growing = 0;

		for (i = 0; i < nfiles; i++)
			growing += files[i].target > files[i].size;
		if (used_frac() * 100 >= peak) {
			/* delete random files down to 15 points below the peak */
			while (nfiles && used_frac() * 100 + 15 > peak)
				delete(rnd() % nfiles);
			continue;
		}
		if (nfiles >= MAXFILES - 1) {
			delete(rnd() % nfiles);
			continue;
		}
		if (op < 25) {
			/* a file written in one go, as cp would */
			struct afile *f = &files[nfiles++];

			f->id = next_id++;
			f->size = 0;
			f->target = 0;
			append(f, pick_size(), MIB);
		} else if (op < 35 && growing < GROWING) {
			/* a file that will grow by appends */
			struct afile *f = &files[nfiles++];

			f->id = next_id++;
			f->size = 0;
			f->target = pick_size();
			append(f, 0, MIB);	/* create it */
		} else if (op < 90 && growing) {
			/* an append step of one of the growing files */
			unsigned int k = rnd() % growing;

			for (i = 0; i < nfiles; i++)
				if (files[i].target > files[i].size && !k--)
					break;
			append(&files[i], rnd_range(1, 64) * 4096, 64 * 1024);
		} else if (nfiles) {
			/* a small append to any file */
			append(&files[rnd() % nfiles],
			       rnd_range(1, 4096 * 4), 16 * 1024);
		}
	}
	/* growing files stop where they are */
	while (nfiles && used_frac() * 100 + freepct > 100)
		delete(rnd() % nfiles);
	printf("files %u written_mib %llu used_pct %.1f\n", nfiles,
	       (unsigned long long)(written / MIB), used_frac() * 100);
	return 0;
}

static int write_big(int argc, char **argv)
{
	uint64_t mib, i;
	int fd;

	if (argc != 4)
		return 2;
	mib = strtoull(argv[3], NULL, 0);
	memset(buf, 0xa5, sizeof(buf));
	fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		die(argv[2]);
	for (i = 0; i < mib; i++)
		if (write(fd, buf, MIB) != (ssize_t)MIB)
			die("write");
	if (fsync(fd))
		die("fsync");
	close(fd);
	return 0;
}

static int aligned(int argc, char **argv)
{
	uint64_t pos = 0, bytes = 0, good = 0, next = 0, pl = 0, pp = 0, len = 0;
	uint64_t limit = ~0ULL;
	unsigned int nfrags = 0, nmerged = 0, i;
	struct fiemap *fm;
	bool last = false;
	int fd;

	if (argc != 3 && argc != 4)
		return 2;
	if (argc == 4)
		limit = strtoull(argv[3], NULL, 0) * MIB;
	fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		die(argv[2]);
	fm = calloc(1, sizeof(*fm) + 512 * sizeof(struct fiemap_extent));
	if (!fm)
		die("calloc");
	/* Walk the extents, merging runs contiguous in file and device. */
	while (!last) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = pos;
		fm->fm_length = ~0ULL - pos;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = 512;
		if (ioctl(fd, FS_IOC_FIEMAP, fm))
			die("FS_IOC_FIEMAP");
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; i < fm->fm_mapped_extents && !last; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];

			/* only the first @limit bytes of the file */
			if (e->fe_logical >= limit)
				break;
			if (e->fe_logical + e->fe_length >= limit) {
				e->fe_length = limit - e->fe_logical;
				e->fe_flags |= FIEMAP_EXTENT_LAST;
			}
			nfrags++;
			bytes += e->fe_length;
			if (len && pl + len == e->fe_logical &&
			    pp + len == e->fe_physical) {
				len += e->fe_length;
			} else {
				if (len) {
					uint64_t lo = (pl + HUGE - 1) / HUGE * HUGE;
					uint64_t hi = (pl + len) / HUGE * HUGE;

					if ((pp - pl) % HUGE == 0 && hi > lo)
						good += hi - lo;
					nmerged++;
				}
				pl = e->fe_logical;
				pp = e->fe_physical;
				len = e->fe_length;
			}
			next = e->fe_logical + e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
		if (i < fm->fm_mapped_extents && !last)
			break;		/* past the limit */
		pos = next;
	}
	if (len) {
		uint64_t lo = (pl + HUGE - 1) / HUGE * HUGE;
		uint64_t hi = (pl + len) / HUGE * HUGE;

		if ((pp - pl) % HUGE == 0 && hi > lo)
			good += hi - lo;
		nmerged++;
	}
	close(fd);
	printf("aligned_pct %.1f aligned_mib %llu mapped_mib %llu extents %u runs %u\n",
	       bytes ? 100.0 * good / bytes : 0.0,
	       (unsigned long long)(good / MIB),
	       (unsigned long long)(bytes / MIB), nfrags, nmerged);
	return 0;
}

static uint8_t *chunk_used;	/* blocks with file data, per chunk */
static uint16_t *chunk_nused;
static uint64_t dev_blocks;

static int mark(const char *path, const struct stat *st, int type,
		struct FTW *ftw)
{
	struct fiemap *fm;
	uint64_t pos = 0, b;
	unsigned int i;
	bool last = false;
	int fd;

	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	fm = calloc(1, sizeof(*fm) + 512 * sizeof(struct fiemap_extent));
	if (!fm)
		die("calloc");
	while (!last) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = pos;
		fm->fm_length = ~0ULL - pos;
		fm->fm_extent_count = 512;
		if (ioctl(fd, FS_IOC_FIEMAP, fm))
			die("FS_IOC_FIEMAP");
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];

			for (b = e->fe_physical / 4096;
			     b < (e->fe_physical + e->fe_length) / 4096 &&
			     b < dev_blocks; b++)
				if (!(chunk_used[b / 8] & (1 << (b % 8)))) {
					chunk_used[b / 8] |= 1 << (b % 8);
					chunk_nused[b / 512]++;
				}
			pos = e->fe_logical + e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
	}
	free(fm);
	close(fd);
	return 0;
}

static int chunks(int argc, char **argv)
{
	uint64_t bytes, first, c, whole = 0, partial = 0, pfree = 0, full = 0;
	struct statvfs s;
	int fd;

	if (argc != 4)
		return 2;
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes))
		die(argv[3]);
	close(fd);
	if (statvfs(argv[2], &s))
		die("statvfs");
	dev_blocks = bytes / 4096;
	chunk_used = calloc(dev_blocks / 8 + 1, 1);
	chunk_nused = calloc(dev_blocks / 512 + 1, sizeof(*chunk_nused));
	if (!chunk_used || !chunk_nused)
		die("calloc");
	if (nftw(argv[2], mark, 64, FTW_PHYS))
		die("nftw");
	/* the metadata area: what the filesystem does not count as blocks */
	first = (dev_blocks - s.f_blocks * s.f_frsize / 4096 + 511) / 512;
	for (c = first; c < dev_blocks / 512; c++) {
		if (!chunk_nused[c])
			whole++;
		else if (chunk_nused[c] == 512)
			full++;
		else {
			partial++;
			pfree += 512 - chunk_nused[c];
		}
	}
	printf("free_whole_chunks %llu partial_chunks %llu full_chunks %llu free_in_partial_mib %llu free_mib %llu\n",
	       (unsigned long long)whole, (unsigned long long)partial,
	       (unsigned long long)full, (unsigned long long)(pfree / 256),
	       (unsigned long long)(s.f_bfree * s.f_frsize / MIB));
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	if (argc >= 2 && !strcmp(argv[1], "age"))
		ret = age(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "write"))
		ret = write_big(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "chunks"))
		ret = chunks(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "aligned"))
		ret = aligned(argc, argv);
	if (ret == 2)
		fprintf(stderr,
			"usage: agefs age DIR SEED PEAK_PCT FREE_PCT PASSES\n"
			"       agefs write FILE MIB\n"
			"       agefs chunks DIR DEV\n"
			"       agefs aligned FILE [MIB]\n");
	return ret;
}
