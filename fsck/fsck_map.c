// SPDX-License-Identifier: GPL-2.0
/*
 * How fsck.refdax maps the device.
 *
 * Repairing maps it shared and writable: repairs go to the media.
 * Checking maps it shared and read-only, so memory does not grow with the
 * device: a private writable mapping of all of it would be charged in full
 * against memory, and a pmem device is often larger than the machine's
 * DRAM.  Checking still needs to change a few bytes, in a copy only the
 * check sees: the journal recovery it checks the result of, and a
 * superblock checksum it recomputes to go on.  Exactly those pages are
 * mapped again, privately and writable, at the same address
 * (MAP_FIXED | MAP_PRIVATE of the same file offset), so memory grows with
 * the journal, not the device.  Any other write in check mode faults: the
 * MMU enforces that -n changes nothing.
 *
 * A device-dax instance takes neither private mappings nor mappings that
 * split its own at less than its alignment (refdax_dev.c): there the unit
 * of the private copies is that alignment, and a copy is anonymous memory
 * filled from the device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "fsck.h"

int fsck_map_device(struct fsck *f)
{
	int prot = PROT_READ;

	if (f->mode != MODE_CHECK)
		prot |= PROT_WRITE;
	f->map = refdax_dev_map(&f->dev,
				f->dev_bytes & ~(__u64)(REFDAX_BLOCK_SIZE - 1),
				prot, &f->map_bytes);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		return -errno;
	}
	f->sb = (struct refdax_super *)f->map;
	return 0;
}

void fsck_unmap_device(struct fsck *f)
{
	if (f->map)
		munmap(f->map, f->map_bytes);
	f->map = NULL;
	free(f->priv_pages);
	f->priv_pages = NULL;
	f->npriv = 0;
}

/* Index of the first private page >= @pg. */
static size_t priv_find(const struct fsck *f, __u64 pg)
{
	size_t lo = 0, hi = f->npriv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->priv_pages[mid] < pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A private copy of @len bytes at @addr, from anonymous memory. */
static void *priv_copy(void *addr, size_t len)
{
	void *tmp = malloc(len), *p;

	if (!tmp)
		return MAP_FAILED;
	memcpy(tmp, addr, len);
	p = mmap(addr, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == addr)
		memcpy(addr, tmp, len);
	free(tmp);
	return p;
}

/* Units [pg, pg + n) are not private yet: make them so and note them. */
static void priv_map(struct fsck *f, __u64 pg, __u64 n, size_t at)
{
	__u64 psz = f->dev.unit, k;
	void *addr = f->map + pg * psz, *p;

	if (f->dev.dax)
		p = priv_copy(addr, n * psz);
	else
		p = mmap(addr, n * psz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, f->fd, (off_t)(pg * psz));
	if (p != addr) {
		fprintf(stderr, PROG ": %s: cannot map a private copy of %llu pages: %s\n",
			f->path, (unsigned long long)(n * psz / 4096),
			strerror(errno));
		exit(EXIT_OPERROR);
	}
	f->priv_pages = xrealloc(f->priv_pages, f->npriv + n,
				 sizeof(*f->priv_pages));
	memmove(f->priv_pages + at + n, f->priv_pages + at,
		(f->npriv - at) * sizeof(*f->priv_pages));
	for (k = 0; k < n; k++)
		f->priv_pages[at + k] = pg + k;
	f->npriv += n;
}

/*
 * Check mode is about to change [addr, addr + len) of the mapping: give the
 * pages holding it a private copy first.  A page that already has one keeps
 * it, with whatever was changed in it before.  Callers with many ranges
 * pass them in address order, which keeps this linear.
 */
void fsck_make_private(struct fsck *f, const void *addr, __u64 len)
{
	__u64 psz = f->dev.unit;
	__u64 off = (__u64)((const __u8 *)addr - f->map);
	__u64 pg, end;

	if (f->mode != MODE_CHECK || !len || off >= f->map_bytes)
		return;
	if (len > f->map_bytes - off)
		len = f->map_bytes - off;
	pg = off / psz;
	end = (off + len + psz - 1) / psz;
	while (pg < end) {
		size_t at = priv_find(f, pg);
		__u64 stop = end;

		if (at < f->npriv && f->priv_pages[at] == pg) {
			pg++;
			continue;
		}
		if (at < f->npriv && f->priv_pages[at] < stop)
			stop = f->priv_pages[at];
		priv_map(f, pg, stop - pg, at);
		pg = stop;
	}
}

struct span {
	__u64 off, len;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

struct spans {
	struct span *s;
	size_t n, cap;
};

static void add_span(void *arg, __u64 addr, __u32 len)
{
	struct spans *sp = arg;

	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 64;
		sp->s = xrealloc(sp->s, sp->cap, sizeof(*sp->s));
	}
	sp->s[sp->n].off = addr;
	sp->s[sp->n].len = len;
	sp->n++;
}

/* Check mode: private copies of what journal recovery of @j will write. */
void fsck_private_journal(struct fsck *f, struct refdax_journal *j)
{
	struct spans sp = { NULL, 0, 0 };
	size_t i;

	/* exactly the ranges recovery restores, found as recovery finds them */
	if (refdax_jnl_live_ranges(j, add_span, &sp) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(EXIT_OPERROR);
	}
	if (sp.n) {
		qsort(sp.s, sp.n, sizeof(*sp.s), cmp_span);
		for (i = 0; i < sp.n; i++)
			fsck_make_private(f, f->map + sp.s[i].off,
					  sp.s[i].len);
		/* recovery ends by moving the generation on */
		fsck_make_private(f, &j->hdr->jh_gen, sizeof(j->hdr->jh_gen));
	}
	free(sp.s);
}

/*
 * fsck has read [addr, addr + len) and will not need it again soon: drop
 * those pages from the process, so that a pass over a table of the size of
 * the device (the inode table, the free-space bitmap) does not leave it all
 * resident.  The page cache keeps them (dirty ones too: the mapping is
 * shared), a later access maps them again.  Private copies hold what check
 * mode changed: they are kept.  Device-dax memory is no page cache: there
 * is nothing to drop.
 */
void fsck_release(struct fsck *f, const void *addr, __u64 len)
{
	__u64 psz = f->dev.unit;
	__u64 off = (__u64)((const __u8 *)addr - f->map);
	__u64 pg = (off + psz - 1) / psz, end = (off + len) / psz;

	if (f->dev.dax)
		return;

	while (pg < end) {
		size_t at = priv_find(f, pg);
		__u64 stop = end;

		if (at < f->npriv && f->priv_pages[at] < stop)
			stop = f->priv_pages[at];
		if (stop > pg)
			madvise(f->map + pg * psz, (stop - pg) * psz,
				MADV_DONTNEED);
		pg = stop + 1;
	}
}

/* Streaming through a table: release what lies behind @pos now and then. */
void fsck_stream(struct fsck *f, const void **done, const void *pos)
{
	const __u64 window = 1 << 20;

	if ((const __u8 *)pos - (const __u8 *)*done < (long)window)
		return;
	fsck_release(f, *done, (__u64)((const __u8 *)pos -
				       (const __u8 *)*done));
	*done = pos;
}
