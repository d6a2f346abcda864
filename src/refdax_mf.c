// SPDX-License-Identifier: GPL-2.0
/*
 * Memory failure.  The pmem driver reports a poisoned range to the holder
 * of the dax device, which is refdax (->notify_failure).  refdax finds every
 * user mapping of each bad block from its own reverse maps instead of
 * guessing: a shared block through its master entry's shadows, a private
 * block through the owner map filled at fault time.  Each owner's pte is
 * zapped; the block is remembered as bad, so the refault gets
 * VM_FAULT_HWPOISON (SIGBUS with BUS_MCEERR_AR) and read() gets -EIO.
 * Poison in metadata shuts the filesystem down.
 */
#include <linux/mm.h>
#include <linux/dax.h>
#include <linux/xarray.h>
#include "refdax.h"

/* Owner map values: inode number and page offset in one xarray value. */
#define OWNER_PGOFF_BITS	32

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

bool refdax_block_bad(struct refdax_sb_info *sbi, u64 pblk, u64 len)
{
	unsigned long idx = pblk;

	if (xa_empty(&sbi->bad_blocks))
		return false;
	return xa_find(&sbi->bad_blocks, &idx, pblk + len - 1, XA_PRESENT);
}

/* The private owner, if the owner map still describes the block. */
static void kill_private(struct refdax_sb_info *sbi, u64 pblk,
			 unsigned int *owners)
{
	unsigned long v = xa_to_value(xa_load(&sbi->owners, pblk));
	u64 ino = v >> OWNER_PGOFF_BITS, cur, len;
	pgoff_t pgoff = v & (BIT_ULL(OWNER_PGOFF_BITS) - 1);
	struct inode *inode;

	if (!ino)
		return;
	inode = ilookup(sbi->sb, ino);
	if (!inode)
		return;		/* not in memory: nothing maps it */
	/* An old entry may be stale: trust it only if it still holds. */
	if (refdax_get_block(inode, pgoff, 0, &cur, &len) == 0 &&
	    cur == pblk) {
		unmap_mapping_pages(inode->i_mapping, pgoff, 1, true);
		(*owners)++;
	}
	iput(inode);
}

static int fail_block(struct refdax_sb_info *sbi, u64 pblk)
{
	unsigned int owners = 0;

	if (pblk < sbi->geom.data_start) {
		refdax_error(sbi->sb, "media error in metadata block %llu",
			     pblk);
		return -EUCLEAN;
	}
	xa_store(&sbi->bad_blocks, pblk, xa_mk_value(1), GFP_NOFS);
	atomic64_inc(&sbi->stat_mem_failures);
	owners = refdax_master_unmap_shadows(sbi, pblk);
	kill_private(sbi, pblk, &owners);
	pr_err_ratelimited("refdax (%pg): memory failure in block %llu (%u refs, %u mapped owners)\n",
			   sbi->sb->s_bdev, pblk, refdax_block_refs(sbi, pblk),
			   owners);
	return 0;
}

static int refdax_notify_failure(struct dax_device *dax_dev, u64 offset,
				 u64 len, int mf_flags)
{
	struct refdax_sb_info *sbi = dax_holder(dax_dev);
	u64 first, last, blk, end;
	int ret = 0;

	if (!sbi)
		return -EOPNOTSUPP;
	if (offset == 0 && len == U64_MAX) {
		pr_crit("refdax (%pg): pmem device is going away, shutting down%s\n",
			sbi->sb->s_bdev,
			(mf_flags & RDX_MF_PRE_REMOVE) ? " (pre-remove)" : "");
		WRITE_ONCE(sbi->shutdown, true);
		return 0;
	}
	end = offset + len;
	if (end <= sbi->dax_part_off ||
	    offset >= sbi->dax_part_off + (sbi->geom.nblocks <<
					   REFDAX_BLOCK_SHIFT))
		return -EOPNOTSUPP;	/* not our part of the device */
	offset = max(offset, sbi->dax_part_off) - sbi->dax_part_off;
	end = min(end - sbi->dax_part_off,
		  sbi->geom.nblocks << REFDAX_BLOCK_SHIFT);
	first = offset >> REFDAX_BLOCK_SHIFT;
	last = (end - 1) >> REFDAX_BLOCK_SHIFT;
	for (blk = first; blk <= last; blk++) {
		int err = fail_block(sbi, blk);

		if (err)
			ret = err;
	}
	return ret;
}

const struct dax_holder_operations refdax_dax_holder_ops = {
	.notify_failure = refdax_notify_failure,
};

void refdax_mf_init(struct refdax_sb_info *sbi)
{
	xa_init(&sbi->owners);
	xa_init(&sbi->bad_blocks);
}

void refdax_mf_exit(struct refdax_sb_info *sbi)
{
	xa_destroy(&sbi->owners);
	xa_destroy(&sbi->bad_blocks);
}
