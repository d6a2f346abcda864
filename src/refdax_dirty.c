// SPDX-License-Identifier: GPL-2.0
/*
 * Pages stored to through shared mappings, and writing them back.
 *
 * Stores through a shared mapping stay in CPU caches until fsync/msync
 * writes their lines back.  Each file remembers which pages it handed out
 * writable since the last writeback, the way fs/dax.c tags its mapping
 * entries dirty, so msync after a few scattered stores into a large file
 * flushes those pages and not the span between them.
 *
 * The set is an xarray of bitmaps: entry i holds, as an xarray value, the
 * dirty bits of pages [i * 32, i * 32 + 32).  A PMD write marks its 512
 * pages.  If the set cannot grow (no memory), the file falls back to
 * "everything may be dirty" and the next writeback flushes all it maps.
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/xarray.h>
#include "refdax.h"

#define DIRTY_BITS	32U

static bool mark_bits(struct xarray *xa, pgoff_t idx, unsigned long bits)
{
	XA_STATE(xas, xa, idx);
	unsigned long old;
	void *entry;

	do {
		xas_lock(&xas);
		entry = xas_load(&xas);
		old = entry ? xa_to_value(entry) : 0;
		if ((old | bits) != old)
			xas_store(&xas, xa_mk_value(old | bits));
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL));
	return !xas_error(&xas);
}

/* Pages [pgoff, pgoff + nr) were mapped writable. */
void refdax_mark_mmap_dirty(struct inode *inode, pgoff_t pgoff,
			    unsigned long nr)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	pgoff_t end = pgoff + nr;

	while (pgoff < end) {
		unsigned int bit = pgoff % DIRTY_BITS;
		unsigned int n = min_t(unsigned long, DIRTY_BITS - bit,
				       end - pgoff);
		unsigned long bits = GENMASK(bit + n - 1, bit);

		if (!mark_bits(&ri->dirty, pgoff / DIRTY_BITS, bits)) {
			/* Cannot remember which: flush the whole file. */
			set_bit(REFDAX_DIRTY_ALL, &ri->dirty_flags);
			return;
		}
		pgoff += n;
	}
}

/* Write back the cache lines of the blocks mapped at [pgoff, pgoff + nr). */
static int flush_pages(struct inode *inode, pgoff_t pgoff, pgoff_t nr)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	pgoff_t end = pgoff + nr;

	while (pgoff < end) {
		u64 pblk, len;
		int ret;

		ret = refdax_get_block(inode, pgoff, 0, &pblk, &len);
		if (ret < 0)
			return ret;
		len = min_t(u64, len, end - pgoff);
		if (ret == 0)
			refdax_persist(sbi, rdx_block(sbi, pblk),
				       len << REFDAX_BLOCK_SHIFT);
		pgoff += len;
		cond_resched();
	}
	return 0;
}

/*
 * Dirty pages are written back in maximal runs: a run may span bitmap
 * entries, so a PMD's 512 pages are zapped with one call, which clears the
 * PMD instead of splitting it, and flushed after one extent lookup.
 */
struct dirty_run {
	pgoff_t start, end;	/* pages [start, end) */
	int err;		/* first error of the writeback */
};

/* Zap the run's ptes, then flush the blocks under them. */
static void run_write_back(struct inode *inode, struct dirty_run *run)
{
	int err;

	if (run->start == run->end)
		return;
	unmap_mapping_pages(inode->i_mapping, run->start,
			    run->end - run->start, false);
	err = flush_pages(inode, run->start, run->end - run->start);
	if (err && !run->err)
		run->err = err;
	run->start = run->end;
}

/* Pages [start, end) are dirty: extend the run or write it back first. */
static void run_add(struct inode *inode, struct dirty_run *run,
		    pgoff_t start, pgoff_t end)
{
	if (run->end != start) {
		run_write_back(inode, run);
		run->start = start;
	}
	run->end = end;
}

/* The dirty runs of one bitmap entry, in page order. */
static void add_entry(struct inode *inode, struct dirty_run *run,
		      pgoff_t base, unsigned long bits)
{
	unsigned int bit = 0;

	while (bit < DIRTY_BITS) {
		unsigned int first = find_next_bit(&bits, DIRTY_BITS, bit);
		unsigned int stop;

		if (first >= DIRTY_BITS)
			break;
		stop = find_next_zero_bit(&bits, DIRTY_BITS, first);
		run_add(inode, run, base + first, base + stop);
		bit = stop;
	}
}

/*
 * Write back every page stored to through a shared mapping.  Each dirty
 * page's ptes are zapped first, under invalidate_lock, so a later store
 * faults again and is marked again; stores made before the zap are in the
 * caches flushed right after it.  A failed flush puts nothing back: the
 * error is returned to this fsync, as for a failed page writeback.
 */
int refdax_flush_mmap_dirty(struct inode *inode)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	struct dirty_run run = { 0, 0, 0 };
	unsigned long idx;
	void *entry;

	if (xa_empty(&ri->dirty) &&
	    !test_bit(REFDAX_DIRTY_ALL, &ri->dirty_flags))
		return 0;
	filemap_invalidate_lock(inode->i_mapping);
	if (test_and_clear_bit(REFDAX_DIRTY_ALL, &ri->dirty_flags)) {
		xa_destroy(&ri->dirty);
		run_add(inode, &run, 0,
			DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE));
	} else {
		xa_for_each(&ri->dirty, idx, entry) {
			entry = xa_erase(&ri->dirty, idx);
			if (entry)
				add_entry(inode, &run, idx * DIRTY_BITS,
					  xa_to_value(entry));
		}
	}
	run_write_back(inode, &run);
	filemap_invalidate_unlock(inode->i_mapping);
	return run.err;
}

/*
 * Every file's, for a freeze: a pte made writable before it does not fault,
 * so a store through it would not wait for the thaw.  Zapping them (as
 * DAX writeback's mkclean write-protects them on XFS and ext4) makes the
 * next store fault and wait in sb_start_pagefault().  The inode list walk
 * is the usual one: hold the next inode before dropping the list lock.
 */
int refdax_flush_mmap_dirty_sb(struct super_block *sb)
{
	struct inode *inode, *prev = NULL;
	int ret = 0;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		int err;

		if (!S_ISREG(inode->i_mode) || !igrab(inode))
			continue;
		spin_unlock(&sb->s_inode_list_lock);
		iput(prev);
		err = refdax_flush_mmap_dirty(inode);
		if (err && !ret)
			ret = err;
		prev = inode;
		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(prev);
	return ret;
}

/* Eviction: the pages are gone, so is the memory of their stores. */
void refdax_dirty_forget(struct inode *inode)
{
	xa_destroy(&RDX_I(inode)->dirty);
	clear_bit(REFDAX_DIRTY_ALL, &RDX_I(inode)->dirty_flags);
}

/*
 * The pages from @pgoff on moved to other offsets (collapse or insert
 * range) with their blocks: the set no longer says where their pending
 * stores are, so if it holds any of them the next writeback flushes every
 * page of the file instead.
 */
void refdax_dirty_moved(struct inode *inode, pgoff_t pgoff)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	unsigned long idx = pgoff / DIRTY_BITS;

	if (xa_find(&ri->dirty, &idx, ULONG_MAX, XA_PRESENT))
		set_bit(REFDAX_DIRTY_ALL, &ri->dirty_flags);
}
