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
	f->map_bytes = f->dev_bytes & ~(__u64)(REFDAX_BLOCK_SIZE - 1);
	f->map = mmap(NULL, f->map_bytes, prot, MAP_SHARED, f->fd, 0);
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

/* Pages [pg, pg + n) are not private yet: make them so and note them. */
static void priv_map(struct fsck *f, __u64 pg, __u64 n, size_t at)
{
	__u64 psz = (__u64)sysconf(_SC_PAGESIZE), k;
	void *addr = f->map + pg * psz;

	if (mmap(addr, n * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, f->fd, (off_t)(pg * psz)) != addr) {
		fprintf(stderr, PROG ": %s: cannot map a private copy of %llu pages: %s\n",
			f->path, (unsigned long long)n, strerror(errno));
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
	__u64 psz = (__u64)sysconf(_SC_PAGESIZE);
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

/* Entry-area bytes of an entry holding @len bytes: cache-line aligned. */
static __u64 entry_span(__u32 len)
{
	__u64 n = sizeof(struct refdax_journal_entry) + len;

	return (n + REFDAX_CACHELINE - 1) & ~(__u64)(REFDAX_CACHELINE - 1);
}

/*
 * The ranges refdax_jnl_recover() would write, without the entry
 * checksums (common/ keeps them to itself): the same walk over entries of
 * the live generation, so at most a few more ranges than recovery needs.
 */
static size_t journal_targets(const struct refdax_journal *j,
			      struct span **out)
{
	struct span *s = NULL;
	size_t n = 0, cap = 0;
	__u64 off = 0, size = j->pm->size;

	while (off + sizeof(struct refdax_journal_entry) <= j->area_bytes) {
		const struct refdax_journal_entry *je = (void *)(j->area + off);
		__u32 len = le32_to_cpu(je->je_len);
		__u64 addr = le64_to_cpu(je->je_addr);

		if (le64_to_cpu(je->je_gen) != j->gen ||
		    le32_to_cpu(je->je_seq) != n || !len ||
		    len > REFDAX_JENTRY_MAX_DATA ||
		    off + entry_span(len) > j->area_bytes ||
		    addr > size || len > size - addr ||
		    (addr < j->jend && addr + len > j->jstart))
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			s = xrealloc(s, cap, sizeof(*s));
		}
		s[n].off = addr;
		s[n].len = len;
		n++;
		off += entry_span(len);
	}
	*out = s;
	return n;
}

/* Check mode: private copies of what journal recovery of @j will write. */
void fsck_private_journal(struct fsck *f, const struct refdax_journal *j)
{
	struct span *s;
	size_t n = journal_targets(j, &s), i;

	if (n) {
		qsort(s, n, sizeof(*s), cmp_span);
		for (i = 0; i < n; i++)
			fsck_make_private(f, f->map + s[i].off, s[i].len);
		/* recovery ends by moving the generation on */
		fsck_make_private(f, &j->hdr->jh_gen, sizeof(j->hdr->jh_gen));
	}
	free(s);
}

/*
 * fsck has read [addr, addr + len) and will not need it again soon: drop
 * those pages from the process, so that a pass over a table of the size of
 * the device (the inode table, the refcount table) does not leave it all
 * resident.  The page cache keeps them (dirty ones too: the mapping is
 * shared), a later access maps them again.  Private copies hold what check
 * mode changed: they are kept.
 */
void fsck_release(struct fsck *f, const void *addr, __u64 len)
{
	__u64 psz = (__u64)sysconf(_SC_PAGESIZE);
	__u64 off = (__u64)((const __u8 *)addr - f->map);
	__u64 pg = (off + psz - 1) / psz, end = (off + len) / psz;

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
