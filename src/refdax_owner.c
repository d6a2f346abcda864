// SPDX-License-Identifier: GPL-2.0
/*
 * Owner map and bad blocks: which file and page offset last mapped each
 * private data block (filled at fault time), and which blocks the pmem
 * driver reported poisoned.  Memory-failure handling (refdax_mf.c) reads
 * both; shared blocks are found through the master table instead.  The
 * allocator forgets a block's owner when it frees it, so this sits below
 * the allocator and calls nothing of refdax's.
 */
#include <linux/xarray.h>
#include "refdax.h"

/* Owner map values: inode number and page offset in one xarray value. */
#define OWNER_PGOFF_BITS	32

void refdax_owner_init(struct refdax_sb_info *sbi)
{
	xa_init(&sbi->owners);
	xa_init(&sbi->bad_blocks);
}

void refdax_owner_exit(struct refdax_sb_info *sbi)
{
	xa_destroy(&sbi->owners);
	xa_destroy(&sbi->bad_blocks);
}

static void owner_store(struct refdax_sb_info *sbi, u64 pblk, u64 ino,
			pgoff_t pgoff, gfp_t gfp)
{
	unsigned long v;

	if (ino >= BIT_ULL(BITS_PER_LONG - 1 - OWNER_PGOFF_BITS) ||
	    pgoff >= BIT_ULL(OWNER_PGOFF_BITS))
		return;
	v = (ino << OWNER_PGOFF_BITS) | pgoff;
	if (xa_to_value(xa_load(&sbi->owners, pblk)) != v)
		xa_store(&sbi->owners, pblk, xa_mk_value(v), gfp);
}

void refdax_owner_set(struct refdax_sb_info *sbi, u64 pblk, u64 ino,
		      pgoff_t pgoff)
{
	owner_store(sbi, pblk, ino, pgoff, GFP_KERNEL);
}

/* Same, from atomic context (a spinlock held). */
void refdax_owner_set_atomic(struct refdax_sb_info *sbi, u64 pblk, u64 ino,
			     pgoff_t pgoff)
{
	owner_store(sbi, pblk, ino, pgoff, GFP_ATOMIC);
}

void refdax_owner_clear(struct refdax_sb_info *sbi, u64 pblk)
{
	xa_erase(&sbi->owners, pblk);
}

/* The last recorded owner of @pblk, if any (it may be stale). */
bool refdax_owner_get(struct refdax_sb_info *sbi, u64 pblk, u64 *ino,
		      pgoff_t *pgoff)
{
	unsigned long v = xa_to_value(xa_load(&sbi->owners, pblk));

	*ino = v >> OWNER_PGOFF_BITS;
	*pgoff = v & (BIT_ULL(OWNER_PGOFF_BITS) - 1);
	return *ino != 0;
}

void refdax_bad_block_add(struct refdax_sb_info *sbi, u64 pblk)
{
	xa_store(&sbi->bad_blocks, pblk, xa_mk_value(1), GFP_NOFS);
}

bool refdax_block_bad(struct refdax_sb_info *sbi, u64 pblk, u64 len)
{
	unsigned long idx = pblk;

	if (xa_empty(&sbi->bad_blocks))
		return false;
	return xa_find(&sbi->bad_blocks, &idx, pblk + len - 1, XA_PRESENT);
}
