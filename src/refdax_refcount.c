// SPDX-License-Identifier: GPL-2.0
/*
 * Reference counts of data blocks: how many extent references (across all
 * files) each block has.  1 is a private block, N > 1 a block shared by
 * reflink; a block reaching 0 is free and goes back to the allocator when
 * the transaction commits, and a block falling from 2 to 1 is recorded
 * (RDX_DEFER_UNSHARED) so its master entry can retire after the commit.
 *
 * In this format the counts are one __le32 per data block; callers work in
 * runs of blocks, so only this file knows how counts are stored.
 */
#include "refdax.h"

u32 refdax_refcount_get(struct refdax_sb_info *sbi, u64 blk)
{
	return le32_to_cpu(*rdx_refcount(sbi, blk));
}

u64 refdax_refcount_run(struct refdax_sb_info *sbi, u64 pblk, u64 len,
			bool shared)
{
	u64 i;

	for (i = 0; i < len; i++)
		if ((refdax_refcount_get(sbi, pblk + i) > 1) != shared)
			break;
	return i;
}

bool refdax_refcount_any_shared(struct refdax_sb_info *sbi, u64 pblk,
				u64 len)
{
	return refdax_refcount_run(sbi, pblk, len, false) < len;
}

/* Data blocks with more than one reference (sysfs). */
u64 refdax_refcount_shared_blocks(struct refdax_sb_info *sbi)
{
	u64 i, n = 0;

	for (i = 0; i < sbi->data_blocks; i++) {
		if (refdax_refcount_get(sbi, sbi->geom.data_start + i) > 1)
			n++;
		if (!(i & 0xffff))
			cond_resched();
	}
	return n;
}

int refdax_refcount_inc(struct refdax_trans *tp, u64 first, u64 len)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u64 i;
	int ret;

	if (!refdax_data_block_ok(&sbi->geom, first, len))
		return -EUCLEAN;
	for (i = 0; i < len; i++) {
		u32 c = refdax_refcount_get(sbi, first + i);

		/*
		 * A mapped block with no reference, or more than any clone can
		 * make, is corrupt media: report it so errors= applies, rather
		 * than failing only this call (or with a plausible EMLINK).
		 */
		if (!c || c > REFDAX_REFCOUNT_MAX) {
			refdax_error(sbi->sb, "block %llu has refcount %u while mapped",
				     first + i, c);
			return -EUCLEAN;
		}
		if (c == REFDAX_REFCOUNT_MAX)
			return -EMLINK;
	}
	ret = rdx_log_refcounts(tp, first, len);
	if (ret)
		return ret;
	for (i = 0; i < len; i++)
		le32_add_cpu(rdx_refcount(sbi, first + i), 1);
	return 0;
}

/* Defer [start, start+len) as freed (@c was 1) or unshared (@c was 2). */
static int defer_dropped(struct refdax_trans *tp, u32 c, u64 start, u64 len)
{
	if (!len || c > 2)
		return 0;
	if (c == 1)
		return refdax_free_blocks(tp, start, len);
	return refdax_trans_defer(tp, RDX_DEFER_UNSHARED, start, len);
}

/*
 * Drop one reference from each block of a run.  The blocks that reach 0
 * and those that reach 1 are deferred as runs, so the deferred work of
 * unmapping an extent costs per extent, not per block.
 */
int refdax_refcount_dec(struct refdax_trans *tp, u64 first, u64 len)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u64 i, run = first;
	u32 run_c = 0;
	int ret;

	if (!refdax_data_block_ok(&sbi->geom, first, len)) {
		refdax_error(sbi->sb, "freeing blocks %llu+%llu outside data area",
			     first, len);
		return -EUCLEAN;
	}
	for (i = 0; i < len; i++) {
		if (!refdax_refcount_get(sbi, first + i)) {
			refdax_error(sbi->sb, "block %llu freed twice",
				     first + i);
			return -EUCLEAN;
		}
	}
	ret = rdx_log_refcounts(tp, first, len);
	if (ret)
		return ret;
	for (i = 0; i < len; i++) {
		__le32 *rc = rdx_refcount(sbi, first + i);
		u32 c = le32_to_cpu(*rc);

		*rc = cpu_to_le32(c - 1);
		/* runs of blocks that all reach 0, or all reach 1 */
		if (min(c, 3U) != min(run_c, 3U)) {
			ret = defer_dropped(tp, run_c, run, first + i - run);
			if (ret)
				return ret;
			run = first + i;
			run_c = c;
		}
	}
	return defer_dropped(tp, run_c, run, first + len - run);
}
