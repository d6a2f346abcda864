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

/*
 * Zap the page of @ino at @pgoff if it still maps @pblk; the owner map
 * may be stale.  Returns whether it did.
 */
static bool kill_owner(struct refdax_sb_info *sbi, u64 pblk, u64 ino,
		       pgoff_t pgoff)
{
	struct inode *inode = ilookup(sbi->sb, ino);
	bool hit = false;
	u64 cur, len;

	if (!inode)
		return false;	/* not in memory: nothing maps it */
	if (refdax_get_block(inode, pgoff, 0, &cur, &len) == 0 &&
	    cur == pblk) {
		unmap_mapping_pages(inode->i_mapping, pgoff, 1, true);
		hit = true;
	}
	iput(inode);
	return hit;
}

/*
 * The private owner, if the owner map still describes the block.  A PMD
 * fault records the owner of its chunk's first block only, so a block
 * with no entry of its own is looked up through its chunk's.
 */
static void kill_private(struct refdax_sb_info *sbi, u64 pblk,
			 unsigned int *owners)
{
	u64 head = round_down(pblk, REFDAX_HUGE_BLOCKS), ino;
	pgoff_t pgoff;

	if (refdax_owner_get(sbi, pblk, &ino, &pgoff)) {
		if (kill_owner(sbi, pblk, ino, pgoff))
			(*owners)++;
		return;
	}
	if (head != pblk && refdax_owner_get(sbi, head, &ino, &pgoff) &&
	    kill_owner(sbi, pblk, ino, pgoff + (pblk - head)))
		(*owners)++;
}

static int fail_block(struct refdax_sb_info *sbi, u64 pblk)
{
	unsigned int owners = 0;

	if (pblk < sbi->geom.data_start) {
		refdax_error(sbi->sb, "media error in metadata block %llu",
			     pblk);
		return -EUCLEAN;
	}
	refdax_bad_block_add(sbi, pblk);
	atomic64_inc(&sbi->stat_mem_failures);
	owners = refdax_master_unmap_shadows(sbi, pblk);
	kill_private(sbi, pblk, &owners);
	pr_err_ratelimited("refdax (%s): memory failure in block %llu (%u refs, %u mapped owners)\n",
			   sbi->sb->s_id, pblk, refdax_refcount_get(sbi, pblk),
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
		pr_crit("refdax (%s): pmem device is going away, shutting down%s\n",
			sbi->sb->s_id,
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
