// SPDX-License-Identifier: GPL-2.0
/*
 * Extent maps: a B+tree per file (common/refdax_btree.c), root in the media
 * inode, one block per interior or leaf node.  Leaf entries are extents
 * keyed by first logical block; extents never overlap, and adjacent
 * contiguous ones are merged when inserted.  This file gives the tree its
 * node I/O (verification on first visit, allocation, freeing, logging
 * through the caller's transaction) and the extent semantics on top:
 * lookup, insert, and cutting ranges out of extents.
 */
#include "refdax.h"
#include "refdax_btree.h"

struct rdx_bmap_tree {
	struct refdax_btree t;
	struct inode *inode;
	struct refdax_trans *tp;	/* NULL for lookups */
};

static struct rdx_bmap_tree *to_bt(struct refdax_btree *t)
{
	return container_of(t, struct rdx_bmap_tree, t);
}

static inline struct refdax_extent *n_ext(const struct refdax_bt_node *n,
					  int i)
{
	return refdax_bt_ent(n, i);
}

static struct refdax_bmap_root *inode_root(struct inode *inode)
{
	return &rdx_pinode(RDX_SB(inode->i_sb), inode->i_ino)->i_root;
}

void refdax_bmap_init_root(struct refdax_bmap_root *root)
{
	memset(root, 0, sizeof(*root));
	root->br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	root->br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
}

static void add_blocks(struct inode *inode, s64 blocks)
{
	inode->i_blocks += blocks << (REFDAX_BLOCK_SHIFT - 9);
}

static u64 ext_key(const void *ent)
{
	return le32_to_cpu(((const struct refdax_extent *)ent)->e_lblk);
}

static void idx_make(void *ent, u64 key, u64 child)
{
	struct refdax_bmap_index *ei = ent;

	ei->ei_lblk = cpu_to_le32(key);
	ei->ei_pad = 0;
	ei->ei_child = cpu_to_le64(child);
}

static void idx_set_key(void *ent, u64 key)
{
	((struct refdax_bmap_index *)ent)->ei_lblk = cpu_to_le32(key);
}

static int bmap_log(struct refdax_btree *t, const void *p, u32 len)
{
	return refdax_trans_log(to_bt(t)->tp, p, len);
}

/*
 * The first visit to a node since mount checks it in full (checksum, order
 * and bounds of its entries) with the verifier fsck uses; later visits
 * repeat only the cheap structural checks, as the node is then either
 * verified or written by this mount under the tree's lock.
 */
static int bmap_read_node(struct refdax_btree *t, u64 blk, unsigned int depth,
			  struct refdax_bt_node *n)
{
	struct inode *inode = to_bt(t)->inode;
	const char *why = "bad extent tree node";

	if (!refdax_read_tree_node(RDX_SB(inode->i_sb), blk, REFDAX_BMAP_MAGIC,
				   depth, refdax_check_bmap_node, n, &why))
		return 0;
	refdax_error(inode->i_sb, "inode %llu: extent tree node %llu: %s",
		     (u64)inode->i_ino, blk, why);
	return -EUCLEAN;
}

static int bmap_alloc_node(struct refdax_btree *t, u64 *blk, void **addr)
{
	struct rdx_bmap_tree *bt = to_bt(t);
	struct refdax_sb_info *sbi = bt->tp->sbi;
	u64 got;
	int ret;

	ret = refdax_alloc_blocks(bt->tp, 1, 1, blk, &got);
	if (ret)
		return ret;
	/* this mount writes it: no need to verify it on a later visit */
	refdax_tree_node_written(sbi, *blk);
	add_blocks(bt->inode, 1);
	*addr = rdx_block(sbi, *blk);
	return 0;
}

static int bmap_free_node(struct refdax_btree *t, u64 blk)
{
	struct rdx_bmap_tree *bt = to_bt(t);
	int ret;

	/* a node block has one reference and no record: just free it */
	ret = refdax_free_blocks(bt->tp, blk, 1);
	if (!ret)
		add_blocks(bt->inode, -1);
	return ret;
}

static void bmap_persist(struct refdax_btree *t, const void *p, u32 len)
{
	refdax_persist(to_bt(t)->tp->sbi, p, len);
}

static const struct refdax_btree_ops bmap_btree_ops = {
	.key		= ext_key,
	.make_index	= idx_make,
	.set_index_key	= idx_set_key,
	.log		= bmap_log,
	.read_node	= bmap_read_node,
	.alloc_node	= bmap_alloc_node,
	.free_node	= bmap_free_node,
	.persist	= bmap_persist,
};

static void bmap_tree(struct rdx_bmap_tree *bt, struct inode *inode,
		      struct refdax_trans *tp)
{
	struct refdax_bmap_root *root = inode_root(inode);

	bt->t.ops = &bmap_btree_ops;
	bt->t.root = &root->br_hdr;
	bt->t.root_ents = (u8 *)root->br_ext;
	bt->t.magic = REFDAX_BMAP_MAGIC;
	bt->t.root_max = REFDAX_BMAP_ROOT_MAX;
	bt->t.why = NULL;
	bt->inode = inode;
	bt->tp = tp;
}

/* Walk @inode's tree to @lblk; a malformed root or index is reported. */
static int walk(struct rdx_bmap_tree *bt, u64 lblk, struct refdax_bt_path *p)
{
	int ret = refdax_bt_walk(&bt->t, lblk, p);

	if (ret && bt->t.why)
		refdax_error(bt->inode->i_sb, "inode %llu: %s",
			     (u64)bt->inode->i_ino, bt->t.why);
	return ret;
}

static int ext_check(struct inode *inode, const struct refdax_extent *e)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u32 len = le32_to_cpu(e->e_len);

	if (!len || len > REFDAX_EXT_MAX_LEN ||
	    !refdax_data_block_ok(&sbi->geom, le64_to_cpu(e->e_pblk), len)) {
		refdax_error(inode->i_sb, "inode %llu: bad extent at %u",
			     (u64)inode->i_ino, le32_to_cpu(e->e_lblk));
		return -EUCLEAN;
	}
	return 0;
}

/*
 * Lookup; for a hole, *@goal (if asked) is where the extent before it would
 * continue in place: its last block's successor, offset by the gap as ext4's
 * goal is, or 0 if that extent is a chunk or more away or not in this leaf.
 */
static int bmap_lookup(struct inode *inode, u64 lblk, u64 *pblk, u64 *len,
		       u64 *goal)
{
	struct rdx_bmap_tree bt;
	struct refdax_bt_path p;
	struct refdax_bt_node *leaf;
	u64 next;
	int i, ret;

	bmap_tree(&bt, inode, NULL);
	ret = walk(&bt, lblk, &p);
	if (ret)
		return ret;
	leaf = &p.n[p.depth];
	i = p.pos[p.depth];
	if (goal)
		*goal = 0;
	if (i >= 0) {
		struct refdax_extent *e = n_ext(leaf, i);
		u64 start = le32_to_cpu(e->e_lblk);
		u64 elen = le32_to_cpu(e->e_len);

		ret = ext_check(inode, e);
		if (ret)
			return ret;
		if (lblk < start + elen) {
			*pblk = le64_to_cpu(e->e_pblk) + (lblk - start);
			*len = start + elen - lblk;
			return 0;
		}
		if (goal && lblk - (start + elen) < REFDAX_HUGE_BLOCKS)
			*goal = le64_to_cpu(e->e_pblk) + (lblk - start);
	}
	next = p.bound;
	if (i + 1 < (int)refdax_bt_nr(leaf))
		next = min_t(u64, next, ext_key(n_ext(leaf, i + 1)));
	if (next == U64_MAX)
		next = REFDAX_MAX_LBLK + 1;
	*len = next > lblk ? next - lblk : 1;
	return 1;
}

int refdax_bmap_lookup(struct inode *inode, u64 lblk, u64 *pblk, u64 *len)
{
	return bmap_lookup(inode, lblk, pblk, len, NULL);
}

/*
 * Journal bytes one extent insert or removal in @inode's tree may log
 * (refdax_resv.c).  Callers size their runs by it so a transaction fits
 * any journal mkfs makes.  bmap_sem held.
 */
u64 refdax_bmap_txn_reserve(struct inode *inode)
{
	return refdax_resv_tree_update(le16_to_cpu(inode_root(inode)->br_hdr.bh_depth));
}

int refdax_bmap_insert(struct refdax_trans *tp, struct inode *inode,
		       u64 lblk, u64 pblk, u64 len)
{
	struct rdx_bmap_tree bt;
	struct refdax_extent ext;
	struct refdax_bt_path p;
	struct refdax_bt_node *leaf;
	int i, ret;

	if (!len || len > REFDAX_EXT_MAX_LEN ||
	    lblk + len - 1 > REFDAX_MAX_LBLK)
		return -EFBIG;
	/* i_blocks changes below: an abort puts it back */
	refdax_trans_ijoin(tp, inode, NULL);
	bmap_tree(&bt, inode, tp);
	ret = walk(&bt, lblk, &p);
	if (ret)
		return ret;
	leaf = &p.n[p.depth];
	i = p.pos[p.depth];
	if (i >= 0) {
		struct refdax_extent *e = n_ext(leaf, i);
		u64 el = le32_to_cpu(e->e_len);

		/* Extend the previous extent when both runs are contiguous. */
		if (le32_to_cpu(e->e_lblk) + el == lblk &&
		    le64_to_cpu(e->e_pblk) + el == pblk &&
		    el + len <= REFDAX_EXT_MAX_LEN &&
		    (i + 1 >= (int)refdax_bt_nr(leaf) ||
		     ext_key(n_ext(leaf, i + 1)) >= lblk + len)) {
			ret = refdax_bt_log(&bt.t, leaf, i, i + 1);
			if (ret)
				return ret;
			e->e_len = cpu_to_le32(el + len);
			refdax_bt_done(&bt.t, leaf);
			add_blocks(inode, len);
			return 0;
		}
	}
	ext.e_lblk = cpu_to_le32(lblk);
	ext.e_len = cpu_to_le32(len);
	ext.e_pblk = cpu_to_le64(pblk);
	ret = refdax_bt_insert(&bt.t, &p, p.depth, i + 1, &ext);
	if (!ret)
		add_blocks(inode, len);
	return ret;
}

/* Cut [s, t) out of extent @i of the leaf; both ends inside the extent. */
static int cut_extent(struct rdx_bmap_tree *bt, struct refdax_bt_path *p,
		      int i, u64 s, u64 t)
{
	struct refdax_bt_node *leaf = &p->n[p->depth];
	struct refdax_extent *e = n_ext(leaf, i), tail;
	u64 el = le32_to_cpu(e->e_lblk), ee = el + le32_to_cpu(e->e_len);
	u64 pb = le64_to_cpu(e->e_pblk);
	int ret;

	ret = refdax_refcount_dec(bt->tp, pb + (s - el), t - s);
	if (ret)
		return ret;
	add_blocks(bt->inode, -(s64)(t - s));
	if (s == el && t == ee)
		return refdax_bt_delete(&bt->t, p, p->depth, i);
	ret = refdax_bt_log(&bt->t, leaf, i, i + 1);
	if (ret)
		return ret;
	if (s == el) {			/* head */
		e->e_lblk = cpu_to_le32(t);
		e->e_pblk = cpu_to_le64(pb + (t - el));
		e->e_len = cpu_to_le32(ee - t);
		refdax_bt_done(&bt->t, leaf);
		return i ? 0 : refdax_bt_fix_keys(&bt->t, p, p->depth);
	}
	e->e_len = cpu_to_le32(s - el);
	refdax_bt_done(&bt->t, leaf);
	if (t == ee)			/* tail */
		return 0;
	/* Middle: the right part becomes a new extent after this one. */
	tail.e_lblk = cpu_to_le32(t);
	tail.e_len = cpu_to_le32(ee - t);
	tail.e_pblk = cpu_to_le64(pb + (t - el));
	return refdax_bt_insert(&bt->t, p, p->depth, i + 1, &tail);
}

/*
 * Blocks of the run at @pblk (at most @len) the next removal step may cut:
 * as many as the room left allows beside a tree update, for their refcount
 * records and free-space bits, bounded for latency and by the deferred
 * items one block may add, at least one.
 */
static u64 remove_step(struct refdax_trans *tp, struct inode *inode,
		       u64 pblk, u64 len)
{
	u64 reserve = refdax_bmap_txn_reserve(inode);
	u64 fit = refdax_resv_fit_blocks(tp, reserve +
					 refdax_refcount_reserve(tp->sbi), 1);

	fit = min3(fit, len, (u64)RDX_STEP_REMOVE);
	return refdax_refcount_fit(tp, pblk, fit, reserve);
}

int refdax_bmap_remove(struct refdax_trans *tp, struct inode *inode,
		       u64 lblk, u64 len)
{
	u64 end = lblk + len;
	bool stepped = false;
	int ret;

	if (end > REFDAX_MAX_LBLK + 1)
		end = REFDAX_MAX_LBLK + 1;
	refdax_trans_ijoin(tp, inode, NULL);
	while (lblk < end) {
		struct rdx_bmap_tree bt;
		struct refdax_bt_path p;
		struct refdax_bt_node *leaf;
		struct refdax_extent *e;
		u64 el, ee, from, to;
		int i;

		/*
		 * Ask for a new transaction only after a step: the first step
		 * of one always runs (and fails with ENOSPC if even an empty
		 * journal is too small), so the caller's loop makes progress.
		 */
		if (stepped &&
		    !refdax_resv_room_for_run(tp, refdax_bmap_txn_reserve(inode) +
					      refdax_refcount_reserve(tp->sbi)))
			return 1;
		bmap_tree(&bt, inode, tp);
		ret = walk(&bt, lblk, &p);
		if (ret)
			return ret;
		leaf = &p.n[p.depth];
		i = p.pos[p.depth];
		if (i >= 0 && le32_to_cpu(n_ext(leaf, i)->e_lblk) +
		    (u64)le32_to_cpu(n_ext(leaf, i)->e_len) <= lblk)
			i++;
		if (i < 0)
			i = 0;
		if (i >= (int)refdax_bt_nr(leaf)) {
			if (p.bound == U64_MAX || p.bound >= end)
				return 0;
			lblk = p.bound;
			continue;
		}
		e = n_ext(leaf, i);
		ret = ext_check(inode, e);
		if (ret)
			return ret;
		el = le32_to_cpu(e->e_lblk);
		ee = el + le32_to_cpu(e->e_len);
		if (el >= end)
			return 0;
		from = max(lblk, el);
		to = from + remove_step(tp, inode,
					le64_to_cpu(e->e_pblk) + (from - el),
					min(end, ee) - from);
		ret = cut_extent(&bt, &p, i, from, to);
		if (ret)
			return ret;
		stepped = true;
		lblk = to;
	}
	return 0;
}

/*
 * Allocate zeroed blocks for the holes in [lblk, lblk + len), or for a
 * prefix of it when the running transaction has no room for more: *done
 * says how far it got (at least one block unless an error is returned, as
 * the first allocation of a call is never held back).
 */
int refdax_bmap_alloc_range(struct refdax_trans *tp, struct inode *inode,
			    u64 lblk, u64 len, u64 *done)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u64 start = lblk, end = lblk + len;
	bool allocated = false;
	int ret;

	while (lblk < end) {
		u64 pblk, run, got, first, goal, reserve;

		ret = bmap_lookup(inode, lblk, &pblk, &run, &goal);
		if (ret < 0)
			return ret;
		run = min(run, end - lblk);
		if (ret == 0) {
			lblk += run;
			continue;
		}
		reserve = refdax_bmap_txn_reserve(inode);
		if (allocated && !refdax_resv_room_for_run(tp, reserve))
			break;
		run = min3(run, (u64)RDX_STEP_ALLOC,
			   refdax_resv_fit_blocks(tp, reserve, 1));
		/*
		 * Placed so the file's 2 MiB pieces can be huge pages, after
		 * the previous extent if it can go on (refdax_alloc.c).
		 */
		ret = refdax_alloc_data(tp, lblk, run, goal, &first, &got);
		if (ret)
			return ret;
		refdax_zero_blocks(sbi, first, got);
		ret = refdax_bmap_insert(tp, inode, lblk, first, got);
		if (ret)
			return ret;
		allocated = true;
		lblk += got;
	}
	if (done)
		*done = lblk - start;
	return 0;
}

/*
 * Split the extent holding @lblk in two at @lblk, so that a shift can move
 * the part from @lblk on alone.  Both halves keep their blocks: no count
 * changes.  Nothing to do in a hole or at an extent's first block.
 */
int refdax_bmap_split(struct refdax_trans *tp, struct inode *inode, u64 lblk)
{
	struct rdx_bmap_tree bt;
	struct refdax_bt_path p;
	struct refdax_bt_node *leaf;
	struct refdax_extent *e, tail;
	u64 el, ee, pb;
	int i, ret;

	refdax_trans_ijoin(tp, inode, NULL);
	bmap_tree(&bt, inode, tp);
	ret = walk(&bt, lblk, &p);
	if (ret)
		return ret;
	leaf = &p.n[p.depth];
	i = p.pos[p.depth];
	if (i < 0)
		return 0;
	e = n_ext(leaf, i);
	ret = ext_check(inode, e);
	if (ret)
		return ret;
	el = le32_to_cpu(e->e_lblk);
	ee = el + le32_to_cpu(e->e_len);
	pb = le64_to_cpu(e->e_pblk);
	if (lblk == el || lblk >= ee)
		return 0;
	ret = refdax_bt_log(&bt.t, leaf, i, i + 1);
	if (ret)
		return ret;
	e->e_len = cpu_to_le32(lblk - el);
	refdax_bt_done(&bt.t, leaf);
	tail.e_lblk = cpu_to_le32(lblk);
	tail.e_len = cpu_to_le32(ee - lblk);
	tail.e_pblk = cpu_to_le64(pb + (lblk - el));
	return refdax_bt_insert(&bt.t, &p, p.depth, i + 1, &tail);
}

/*
 * Give extent @i of the path's leaf the first block @to.  The caller
 * shifts in an order that keeps the keys sorted (refdax_bmap_shift), so
 * only the extent and, for a leaf's first extent, the index keys above
 * it change: no node splits or merges, no count changes.
 */
static int move_extent(struct rdx_bmap_tree *bt, struct refdax_bt_path *p,
		       int i, u64 to)
{
	struct refdax_bt_node *leaf = &p->n[p->depth];
	int ret;

	ret = refdax_bt_log(&bt->t, leaf, i, i + 1);
	if (ret)
		return ret;
	n_ext(leaf, i)->e_lblk = cpu_to_le32(to);
	refdax_bt_done(&bt->t, leaf);
	return i ? 0 : refdax_bt_fix_keys(&bt->t, p, p->depth);
}

/* The first extent starting at or after @lblk: 0, 1 for none, or -errno. */
static int next_extent(struct rdx_bmap_tree *bt, u64 lblk,
		       struct refdax_bt_path *p, int *pi)
{
	for (;;) {
		struct refdax_bt_node *leaf;
		int i, ret = walk(bt, lblk, p);

		if (ret)
			return ret;
		leaf = &p->n[p->depth];
		i = p->pos[p->depth];
		if (i < 0 || le32_to_cpu(n_ext(leaf, i)->e_lblk) < lblk)
			i++;
		if (i < (int)refdax_bt_nr(leaf)) {
			*pi = i;
			return ext_check(bt->inode, n_ext(leaf, i));
		}
		if (p->bound == U64_MAX)
			return 1;
		lblk = p->bound;
	}
}

/* The last extent starting before @lblk: 0, 1 for none, or -errno. */
static int prev_extent(struct rdx_bmap_tree *bt, u64 lblk,
		       struct refdax_bt_path *p, int *pi)
{
	int ret;

	if (!lblk)
		return 1;
	ret = walk(bt, lblk - 1, p);
	if (ret)
		return ret;
	*pi = p->pos[p->depth];
	if (*pi < 0)
		return 1;
	return ext_check(bt->inode, n_ext(&p->n[p->depth], *pi));
}

/*
 * Move the extents of [@floor, @ceil) by @by blocks, left (@left) for a
 * collapse or right for an insert, one extent at a time in the order that
 * keeps every intermediate tree sorted and free of overlaps: a collapse
 * moves the lowest extent first into the hole the caller punched before
 * it, an insert the highest first into the room past the last one.  The
 * extents still to move are those of [*@next, @ceil) for a collapse and
 * of [@floor, *@next) for an insert; *@next is updated as they move.
 * Returns 1 when the transaction is running out of room (commit and call
 * again), 0 when all have moved.
 */
int refdax_bmap_shift(struct refdax_trans *tp, struct inode *inode,
		      u64 *next, u64 floor, u64 ceil, u64 by, bool left)
{
	bool stepped = false;

	refdax_trans_ijoin(tp, inode, NULL);
	for (;;) {
		struct rdx_bmap_tree bt;
		struct refdax_bt_path p;
		struct refdax_extent *e;
		u64 el, elen;
		int i, ret;

		if (stepped &&
		    !refdax_resv_room_for_run(tp, refdax_bmap_txn_reserve(inode)))
			return 1;
		bmap_tree(&bt, inode, tp);
		if (left)
			ret = next_extent(&bt, *next, &p, &i);
		else
			ret = prev_extent(&bt, *next, &p, &i);
		if (ret)
			return ret > 0 ? 0 : ret;
		e = n_ext(&p.n[p.depth], i);
		el = le32_to_cpu(e->e_lblk);
		elen = le32_to_cpu(e->e_len);
		if (left ? el >= ceil : el < floor)
			return 0;
		if (left ? el < by : el + elen + by > REFDAX_MAX_LBLK + 1)
			return -EUCLEAN;	/* the caller's bounds exclude it */
		ret = move_extent(&bt, &p, i, left ? el - by : el + by);
		if (ret)
			return ret;
		*next = left ? el + elen : el;
		stepped = true;
	}
}
