// SPDX-License-Identifier: GPL-2.0
/*
 * Reference counts of data blocks: how many extent references (across all
 * files) each block has.  1 is a private block, N > 1 a block shared by
 * reflink; a block reaching 0 is free and goes back to the allocator when
 * the transaction commits, and a run falling from 2 to 1 is recorded
 * (RDX_DEFER_UNSHARED) so its master entries can retire after the commit.
 *
 * On media the counts are refcount records (common/refdax_refc.c): a
 * B+tree rooted in the superblock holding (start, length, count) for the
 * runs with two or more references.  A block in use that no record covers
 * has one reference, and the free-space bitmap (refdax_alloc.c) says which
 * blocks are in use at all.  A clone of a contiguous extent therefore adds
 * or bumps a record or two, whatever its length.
 *
 * Changes run inside the caller's transaction, which serialises them; the
 * tree's own rwsem keeps lookups (the fault path among them) from walking
 * nodes a change is rewriting, splitting or freeing.  It is taken innermost:
 * nothing that holds it waits for any other lock of refdax.
 */
#include "refdax.h"
#include "refdax_refc.h"

/*
 * Record changes one run may need at the fewest: the piece itself, plus a
 * split and a merge at either end (refdax_refc_span() counts the same).
 */
#define RDX_REFC_RUN_CHANGES	7U

struct rdx_refc_tree {
	struct refdax_btree t;
	struct refdax_sb_info *sbi;
	struct refdax_trans *tp;	/* NULL for lookups */
	struct refdax_refc_notify nf;
	bool root_changed;		/* the superblock needs a checksum */
};

static struct rdx_refc_tree *to_rt(struct refdax_btree *t)
{
	return container_of(t, struct rdx_refc_tree, t);
}

/*
 * The root lives in the superblock: the first change of it logs the whole
 * superblock, whose checksum is recomputed when the change is done.
 */
static int refc_log(struct refdax_btree *t, const void *p, u32 len)
{
	struct rdx_refc_tree *rt = to_rt(t);
	struct refdax_super *rsb = rt->sbi->rsb;
	const u8 *sb = (const u8 *)rsb;

	if ((const u8 *)p >= sb && (const u8 *)p < sb + sizeof(*rsb)) {
		if (rt->root_changed)
			return 0;
		rt->root_changed = true;
		return refdax_trans_log(rt->tp, rsb, sizeof(*rsb));
	}
	return refdax_trans_log(rt->tp, p, len);
}

/* Verified in full on the first visit since mount, as extent-tree nodes. */
static int refc_read_node(struct refdax_btree *t, u64 blk, unsigned int depth,
			  struct refdax_bt_node *n)
{
	struct refdax_sb_info *sbi = to_rt(t)->sbi;
	const char *why = "bad refcount tree node";

	if (!refdax_read_tree_node(sbi, blk, REFDAX_REFC_MAGIC, depth,
				   refdax_check_refc_node, n, &why))
		return 0;
	refdax_error(sbi->sb, "refcount tree node %llu: %s", blk, why);
	return -EUCLEAN;
}

/* Tree nodes are blocks in use with no record: one reference, no owner. */
static int refc_alloc_node(struct refdax_btree *t, u64 *blk, void **addr)
{
	struct rdx_refc_tree *rt = to_rt(t);
	u64 got;
	int ret;

	ret = refdax_alloc_blocks(rt->tp, 1, 1, blk, &got);
	if (ret)
		return ret;
	refdax_tree_node_written(rt->sbi, *blk);
	*addr = rdx_block(rt->sbi, *blk);
	return 0;
}

static int refc_free_node(struct refdax_btree *t, u64 blk)
{
	return refdax_free_blocks(to_rt(t)->tp, blk, 1);
}

static void refc_persist(struct refdax_btree *t, const void *p, u32 len)
{
	refdax_persist(to_rt(t)->sbi, p, len);
}

static int refc_freed(struct refdax_refc_notify *nf, u64 start, u64 len)
{
	struct rdx_refc_tree *rt = container_of(nf, struct rdx_refc_tree, nf);

	return refdax_free_blocks(rt->tp, start, len);
}

static int refc_unshared(struct refdax_refc_notify *nf, u64 start, u64 len)
{
	struct rdx_refc_tree *rt = container_of(nf, struct rdx_refc_tree, nf);

	return refdax_trans_defer(rt->tp, RDX_DEFER_UNSHARED, start, len);
}

/* The record tree's ops: keys from common/, node I/O from this file. */
void refdax_refcount_init(struct refdax_sb_info *sbi)
{
	struct refdax_btree_ops *ops = &sbi->refc_ops;

	refdax_refc_tree_ops(ops);
	ops->log = refc_log;
	ops->read_node = refc_read_node;
	ops->alloc_node = refc_alloc_node;
	ops->free_node = refc_free_node;
	ops->persist = refc_persist;
	init_rwsem(&sbi->refc_sem);
}

static void refc_tree(struct rdx_refc_tree *rt, struct refdax_sb_info *sbi,
		      struct refdax_trans *tp)
{
	refdax_refc_tree_init(&rt->t, &sbi->refc_ops, &sbi->rsb->s_refc_root);
	rt->sbi = sbi;
	rt->tp = tp;
	rt->nf.freed = refc_freed;
	rt->nf.unshared = refc_unshared;
	rt->root_changed = false;
}

/* Nothing is shared: the common case answers without the lock. */
static bool refc_empty(struct refdax_sb_info *sbi)
{
	return !READ_ONCE(sbi->rsb->s_refc_root.br_hdr.bh_nr);
}

/*
 * The count of @blk as a run: *@start, *@len of the record or gap holding
 * it.  A malformed tree is reported (errors= applies) and answers 1.
 */
static u32 refc_lookup(struct refdax_sb_info *sbi, u64 blk, u64 *start,
		       u64 *len)
{
	struct rdx_refc_tree rt;
	u32 count;
	int ret;

	if (refc_empty(sbi)) {
		*start = blk;
		*len = U64_MAX - blk;
		return 1;
	}
	refc_tree(&rt, sbi, NULL);
	down_read(&sbi->refc_sem);
	ret = refdax_refc_lookup(&rt.t, blk, start, len, &count);
	up_read(&sbi->refc_sem);
	if (ret) {
		if (rt.t.why)
			refdax_error(sbi->sb, "refcount tree: %s", rt.t.why);
		*start = blk;
		*len = 1;
		return 1;
	}
	return count;
}

u32 refdax_refcount_get(struct refdax_sb_info *sbi, u64 blk)
{
	u64 start, len;

	if (!refdax_blocks_in_use(sbi, blk, 1))
		return 0;
	return refc_lookup(sbi, blk, &start, &len);
}

u64 refdax_refcount_run(struct refdax_sb_info *sbi, u64 pblk, u64 len,
			bool shared)
{
	u64 pos = pblk, end = pblk + len;

	while (pos < end) {
		u64 start, n;

		if ((refc_lookup(sbi, pos, &start, &n) > 1) != shared)
			break;
		pos = n > end - start ? end : start + n;
	}
	return pos - pblk;
}

bool refdax_refcount_any_shared(struct refdax_sb_info *sbi, u64 pblk,
				u64 len)
{
	return refdax_refcount_run(sbi, pblk, len, false) < len;
}

/*
 * Data blocks with more than one reference, and the records that say so
 * (sysfs): one walk per record.
 */
u64 refdax_refcount_shared(struct refdax_sb_info *sbi, u64 *records)
{
	u64 pos = sbi->geom.data_start, end = sbi->geom.nblocks, n = 0;

	*records = 0;
	while (pos < end) {
		u64 start, len;

		if (refc_lookup(sbi, pos, &start, &len) > 1) {
			n += min(len, end - start);
			(*records)++;
		}
		if (len > end - start)
			break;
		pos = start + len;
		cond_resched();
	}
	return n;
}

/* Journal bytes a run's count change logs at least (one piece, its edges). */
u64 refdax_refcount_reserve(struct refdax_sb_info *sbi)
{
	unsigned int depth = le16_to_cpu(sbi->rsb->s_refc_root.br_hdr.bh_depth);

	return RDX_REFC_RUN_CHANGES * refdax_resv_refc_change(depth + 1);
}

/*
 * Blocks from @first (at most @len) whose count change fits the room left
 * beside @reserve bytes, at least one: records, not blocks, cost journal.
 */
u64 refdax_refcount_fit(struct refdax_trans *tp, u64 first, u64 len,
			u64 reserve)
{
	struct refdax_sb_info *sbi = tp->sbi;
	unsigned int depth = le16_to_cpu(sbi->rsb->s_refc_root.br_hdr.bh_depth);
	u64 room = refdax_trans_room(tp), per = refdax_resv_refc_change(depth + 1);
	struct rdx_refc_tree rt;
	u64 changes, fit;

	if (room <= reserve)
		return 1;
	changes = min_t(u64, (room - reserve) / per, U32_MAX);
	refc_tree(&rt, sbi, NULL);
	down_read(&sbi->refc_sem);
	fit = refdax_refc_span(&rt.t, first, len, changes);
	up_read(&sbi->refc_sem);
	return fit;
}

static int adjust(struct refdax_trans *tp, u64 first, u64 len, int delta)
{
	struct refdax_sb_info *sbi = tp->sbi;
	struct rdx_refc_tree rt;
	int ret;

	refc_tree(&rt, sbi, tp);
	down_write(&sbi->refc_sem);
	ret = refdax_refc_adjust(&rt.t, first, len, delta, &rt.nf);
	if (rt.root_changed)
		refdax_super_set_csum(sbi->rsb);
	up_write(&sbi->refc_sem);
	if (ret == -EUCLEAN && rt.t.why)
		refdax_error(sbi->sb, "refcount tree: %s", rt.t.why);
	return ret;
}

int refdax_refcount_inc(struct refdax_trans *tp, u64 first, u64 len)
{
	struct refdax_sb_info *sbi = tp->sbi;

	if (!refdax_data_block_ok(&sbi->geom, first, len))
		return -EUCLEAN;
	/*
	 * A mapped block that is free on media is corrupt metadata: report
	 * it so errors= applies, rather than failing only this call.
	 */
	if (!refdax_blocks_in_use(sbi, first, len)) {
		refdax_error(sbi->sb, "blocks %llu+%llu mapped but free",
			     first, len);
		return -EUCLEAN;
	}
	return adjust(tp, first, len, 1);
}

/*
 * Drop one reference from each block of a run.  Blocks that reach 0 are
 * freed and those that reach 1 deferred as unshared, as runs, so unmapping
 * an extent costs per record, not per block.
 */
int refdax_refcount_dec(struct refdax_trans *tp, u64 first, u64 len)
{
	struct refdax_sb_info *sbi = tp->sbi;

	if (!refdax_data_block_ok(&sbi->geom, first, len)) {
		refdax_error(sbi->sb, "freeing blocks %llu+%llu outside data area",
			     first, len);
		return -EUCLEAN;
	}
	if (!refdax_blocks_in_use(sbi, first, len)) {
		refdax_error(sbi->sb, "blocks %llu+%llu freed twice", first,
			     len);
		return -EUCLEAN;
	}
	return adjust(tp, first, len, -1);
}
