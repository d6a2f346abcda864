// SPDX-License-Identifier: GPL-2.0
/*
 * Journal reservations: how many bytes of the undo journal each kind of
 * metadata update logs, in one place, as XFS's xfs_trans_resv.c.
 *
 * A transaction is begun with the reservation of its smallest useful step
 * (on a shallow tree), which must fit an empty journal.  Operations that
 * can take more in one transaction (a remap, a CoW, an allocation or
 * removal of a long range) cut each run to the room still left beside the
 * reservation of the tree update that goes with it, and take another run
 * only while a run of at least one block still fits.  The first run of a
 * transaction always goes, so every loop makes progress on any journal
 * mkfs makes.  The per-update figures are worst-case bounds, far above
 * what a step usually logs; a step that does overflow fails its log call
 * and the transaction is cancelled.
 */
#include "refdax.h"

/*
 * Deferred items one run may add: a free and an unshare per block at the
 * worst, merged into runs, plus a node freed or allocated per tree level.
 */
#define RDX_DEFER_RUN_ITEMS	(2 * (REFDAX_BMAP_MAX_DEPTH + 2))

/* Bytes of the entry area that logging @len bytes takes. */
static u64 log_bytes(u32 len)
{
	return refdax_jnl_entry_bytes(len);
}

/* One media inode. */
u64 refdax_resv_inode(void)
{
	return log_bytes(REFDAX_INODE_SIZE);
}

/*
 * One tree node changed by an insert or removal: its header logged before
 * and after a split, its entries in two halves, a key fixed in the parent,
 * and the free-space bitmap byte of a node allocated or freed.
 */
static u64 resv_node(void)
{
	return 4 * log_bytes(sizeof(struct refdax_bmap_node)) +
	       2 * log_bytes(REFDAX_BLOCK_SIZE / 2) + log_bytes(1);
}

/*
 * One extent inserted into or removed from a tree of depth @depth: every
 * level may split, a new root level may appear, and the inode is written.
 */
u64 refdax_resv_tree_update(unsigned int depth)
{
	depth = min_t(unsigned int, depth, REFDAX_BMAP_MAX_DEPTH);
	return (depth + 2) * resv_node() + refdax_resv_inode();
}

/*
 * One refcount record changed (rewritten, inserted, split or removed) in
 * a record tree of depth @depth: as an extent change, with the superblock,
 * which holds the root, in place of the inode.
 */
u64 refdax_resv_refc_change(unsigned int depth)
{
	depth = min_t(unsigned int, depth, REFDAX_BMAP_MAX_DEPTH);
	return (depth + 2) * resv_node() +
	       log_bytes(sizeof(struct refdax_super));
}

/*
 * The free-space bitmap bytes of a run of @blocks, logged a bitmap block
 * at a time; two bytes more for a run that starts and ends mid-byte.
 */
static u64 resv_fsmap(u64 blocks)
{
	u64 full = blocks / REFDAX_FSMAP_BITS_PER_BLOCK;
	u64 part = blocks % REFDAX_FSMAP_BITS_PER_BLOCK;

	return full * log_bytes(REFDAX_BLOCK_SIZE) +
	       log_bytes(part / 8 + 2);
}

/*
 * Blocks of one run whose free-space bits, logged @times each (allocation,
 * freeing), still fit beside @reserve bytes for the rest of the run, and
 * whose deferred items still fit the transaction.  At least one, so the
 * first run of a transaction always goes and the caller makes progress (or
 * gets ENOSPC if even that does not fit).  Reference counts cost per
 * record, not per block: refdax_refcount_fit() bounds a run by them.
 */
u64 refdax_resv_fit_blocks(struct refdax_trans *tp, u64 reserve,
			   unsigned int times)
{
	u64 room = refdax_trans_room(tp);
	u64 per_block_page = times * log_bytes(REFDAX_BLOCK_SIZE);
	u64 need = reserve + times * log_bytes(2);
	u64 items = refdax_trans_defer_room(tp), fit;

	if (room <= need)
		return 1;
	fit = (room - need) * REFDAX_FSMAP_BITS_PER_BLOCK / per_block_page;
	/* each block may defer an item of its own (a free, an unshare) */
	if (items > RDX_DEFER_RUN_ITEMS)
		fit = min(fit, items - RDX_DEFER_RUN_ITEMS);
	else
		fit = 1;
	return max_t(u64, 1, fit);
}

/*
 * Whether a transaction that already did some runs should take another:
 * only while a bitmap block's worth of bits fits beside @reserve (which
 * includes what the run's count change needs), and the run's deferred
 * items (a free, an unshare, a node) can be recorded.
 */
bool refdax_resv_room_for_run(struct refdax_trans *tp, u64 reserve)
{
	u64 run = resv_fsmap(REFDAX_FSMAP_BITS_PER_BLOCK);

	return refdax_trans_room(tp) > reserve + run &&
	       refdax_trans_defer_room(tp) >= RDX_DEFER_RUN_ITEMS;
}

/*
 * A namespace operation or inode update: the superblock (orphan list),
 * four inodes, a few directory records, and one directory block added to
 * a shallow tree.  Far below the smallest journal mkfs makes.
 */
u64 refdax_resv_small(void)
{
	return log_bytes(sizeof(struct refdax_super)) +
	       4 * refdax_resv_inode() + 8 * log_bytes(REFDAX_DIRENT_HDR +
						       REFDAX_NAME_LEN) +
	       refdax_resv_tree_update(0);
}

/*
 * A data operation (fill holes, remove a range, copy on write, remap): its
 * first step, one extent changed in a shallow tree, one record changed in
 * a shallow record tree, and one block's bit.  Deeper trees are met by the
 * run sizing above, not by the reservation.
 */
u64 refdax_resv_data(void)
{
	return refdax_resv_tree_update(0) + refdax_resv_refc_change(0) +
	       resv_fsmap(1);
}

/*
 * One attribute set or removal (refdax_xattr.c): the attribute block, the
 * inode (twice: its fields, then i_xattr), the superblock (the XATTR
 * feature bit), and the free-space bits of a block and two remote runs of
 * at most 16 blocks, each allocated or freed.
 */
u64 refdax_resv_xattr(void)
{
	return log_bytes(REFDAX_BLOCK_SIZE) + 2 * refdax_resv_inode() +
	       log_bytes(sizeof(struct refdax_super)) + 6 * log_bytes(4);
}

/*
 * A new inode's attributes: a default and an access ACL, and the labels
 * security modules hand out (up to two, e.g. an LSM's and EVM's).  They
 * all go to one attribute block the create's transaction allocates, which
 * is never logged (refdax_trans_allocated()), so each costs its inode
 * writes and bitmap bits; the superblock is logged once.  Small enough to
 * fit beside a create in the smallest journal mkfs makes.
 */
u64 refdax_resv_new_attrs(void)
{
	return 4 * (2 * refdax_resv_inode() + 6 * log_bytes(4)) +
	       log_bytes(sizeof(struct refdax_super));
}
