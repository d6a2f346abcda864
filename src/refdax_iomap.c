// SPDX-License-Identifier: GPL-2.0
/*
 * Block mapping for the data paths: the transactional wrappers around the
 * extent tree (refdax_bmap.c), as xfs_iomap.c is to xfs_bmap.c.  Each takes
 * the file's bmap_sem, runs one or more bounded transactions, writes the
 * inode in each, and deals with what maps the file's pages: zero-page ptes
 * of holes it fills, shadows of blocks it unmaps.
 */
#include <linux/mm.h>
#include "refdax.h"

/* One transaction filling holes of [lblk, lblk+len); *@done: how far. */
static int alloc_txn(struct inode *inode, u64 lblk, u64 len, u64 *done)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_trans *tp;
	int ret;

	tp = refdax_trans_begin(sbi, refdax_resv_data());
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	refdax_trans_ijoin(tp, inode, NULL);
	ret = refdax_bmap_alloc_range(tp, inode, lblk, len, done);
	if (!ret)
		ret = refdax_write_inode_txn(tp, inode);
	if (ret) {
		refdax_trans_cancel(tp);
		return ret;
	}
	refdax_trans_commit(tp);
	/*
	 * Readers of the holes may have the zero page mapped.  Remove those
	 * ptes before anyone can see the blocks as mapped, so a write fault
	 * never upgrades a zero-page pte (bmap_sem is still held for write).
	 */
	unmap_mapping_pages(inode->i_mapping, lblk, *done, false);
	return 0;
}

int refdax_get_block(struct inode *inode, u64 lblk, u64 want, u64 *pblk,
		     u64 *len)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	int ret;

	down_read(&ri->bmap_sem);
	ret = refdax_bmap_lookup(inode, lblk, pblk, len);
	up_read(&ri->bmap_sem);
	if (ret <= 0 || !want)
		return ret;

	down_write(&ri->bmap_sem);
	ret = refdax_bmap_lookup(inode, lblk, pblk, len);
	if (ret != 1)
		goto out;
	ret = alloc_txn(inode, lblk, min(want, *len), &want);
	if (!ret)
		ret = refdax_bmap_lookup(inode, lblk, pblk, len);
out:
	up_write(&ri->bmap_sem);
	return ret;
}

/* Allocate zeroed blocks for [lblk, end) in bounded transactions. */
int refdax_alloc_file_range(struct inode *inode, u64 lblk, u64 end)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	int ret = 0;

	while (lblk < end) {
		u64 chunk = min_t(u64, end - lblk, RDX_STEP_FALLOC), done = 0;

		down_write(&ri->bmap_sem);
		ret = alloc_txn(inode, lblk, chunk, &done);
		up_write(&ri->bmap_sem);
		if (ret)
			break;
		lblk += done;
		cond_resched();
	}
	return ret;
}

/*
 * One step of a change to a file's map, inside a transaction: 1 when the
 * transaction ran out of room and another step must follow, 0 when done,
 * or a negative error.
 */
typedef int (*map_step_fn)(struct refdax_trans *tp, struct inode *inode,
			   void *arg);

/*
 * Run @step in transactions of its own, each under bmap_sem and with the
 * inode written in it, until it is done.  Each transaction leaves a valid
 * map, so the steps before a failure stay done.
 */
static int map_txns(struct inode *inode, map_step_fn step, void *arg)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_trans *tp;
	int ret;

	do {
		down_write(&ri->bmap_sem);
		tp = refdax_trans_begin(sbi, refdax_resv_data());
		if (IS_ERR(tp)) {
			up_write(&ri->bmap_sem);
			return PTR_ERR(tp);
		}
		refdax_trans_ijoin(tp, inode, NULL);
		ret = step(tp, inode, arg);
		if (ret >= 0) {
			int err = refdax_write_inode_txn(tp, inode);

			if (err)
				ret = err;
		}
		if (ret < 0)
			refdax_trans_cancel(tp);
		else
			refdax_trans_commit(tp);
		up_write(&ri->bmap_sem);
		cond_resched();
	} while (ret == 1);
	return ret;
}

struct remove_arg {
	u64 lblk, len;
};

static int remove_step(struct refdax_trans *tp, struct inode *inode,
		       void *arg)
{
	struct remove_arg *a = arg;

	return refdax_bmap_remove(tp, inode, a->lblk, a->len);
}

int refdax_remove_range(struct inode *inode, u64 lblk, u64 len)
{
	struct remove_arg arg = { .lblk = lblk, .len = len };
	int ret;

	if (RDX_I(inode)->flags & REFDAX_IFL_INLINE)
		return 0;
	ret = map_txns(inode, remove_step, &arg);
	/* Offsets whose blocks went away no longer shadow anything. */
	if (!ret && len)
		refdax_shadow_drop_range(inode, lblk,
					 min_t(u64, lblk + len - 1, ULONG_MAX));
	return ret;
}

/* refdax_bmap_shift()'s arguments; next moves on from step to step. */
struct shift_arg {
	u64 next, floor, ceil, by;
	bool left;
};

static int shift_step(struct refdax_trans *tp, struct inode *inode,
		      void *arg)
{
	struct shift_arg *a = arg;

	return refdax_bmap_shift(tp, inode, &a->next, a->floor, a->ceil,
				 a->by, a->left);
}

/*
 * Transactions of refdax_bmap_shift() until every extent of [floor, ceil)
 * has moved by @by blocks; @next as there.  Each transaction leaves a
 * valid map (docs/format.md, "Collapse and insert range").
 */
static int shift_txns(struct inode *inode, u64 next, u64 floor, u64 ceil,
		      u64 by, bool left)
{
	struct shift_arg arg = {
		.next = next, .floor = floor, .ceil = ceil, .by = by,
		.left = left,
	};

	return map_txns(inode, shift_step, &arg);
}

/*
 * Collapse: free the range (bounded steps, as a punch), then move what
 * follows it left, lowest extent first, each into the hole left before it.
 * Caller holds i_rwsem and invalidate_lock, has unmapped every page from
 * @lblk on and sets i_size after.
 */
int refdax_collapse_blocks(struct inode *inode, u64 lblk, u64 len)
{
	int ret = refdax_remove_range(inode, lblk, len);

	if (ret)
		return ret;
	return shift_txns(inode, lblk + len, lblk + len, REFDAX_MAX_LBLK + 1,
			  len, true);
}

/*
 * Insert, first step: split the extent that straddles @lblk, in a
 * transaction of its own that changes no content, so that a failure here
 * (ENOSPC for a node) leaves the file as it was.
 */
static int split_step(struct refdax_trans *tp, struct inode *inode,
		      void *arg)
{
	return refdax_bmap_split(tp, inode, *(u64 *)arg);
}

int refdax_split_blocks(struct inode *inode, u64 lblk)
{
	return map_txns(inode, split_step, &lblk);
}

/*
 * Insert, last step: move every extent from @lblk on right by @len,
 * highest first.  Caller holds the locks as for a collapse, split at
 * @lblk and grew i_size already, so no extent moves past EOF on the way.
 */
int refdax_insert_blocks(struct inode *inode, u64 lblk, u64 len)
{
	return shift_txns(inode, REFDAX_MAX_LBLK + 1, lblk, REFDAX_MAX_LBLK + 1,
			  len, false);
}
