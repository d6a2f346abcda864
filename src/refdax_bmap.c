// SPDX-License-Identifier: GPL-2.0
/*
 * Extent maps: a B+tree per file, root in the media inode, one block per
 * interior or leaf node.  Invariants kept by every change (fsck checks them):
 *  - entries in a node are sorted by logical block, extents never overlap;
 *  - an index entry's key equals the first logical block of its child;
 *  - all leaves are at the same depth; only the root may be empty.
 * Changes are made in place under the caller's transaction: every range is
 * logged before it is written, and a node allocated in this transaction is
 * flushed explicitly since the journal only flushes what it logged.
 */
#include "refdax.h"

#define ENT	16U	/* extents and index entries are both 16 bytes */

struct rdx_node {
	struct refdax_bmap_hdr *hdr;
	u8 *ents;
	u64 blk;		/* 0 for the root in the inode */
};

struct rdx_path {
	struct refdax_trans *tp;		/* NULL for lookups */
	int depth;				/* of the root */
	struct rdx_node n[REFDAX_BMAP_MAX_DEPTH + 1];
	int pos[REFDAX_BMAP_MAX_DEPTH + 1];	/* chosen entry per level */
	u64 bound;	/* first lblk of the next subtree, or U64_MAX */
};

static inline u16 n_nr(const struct rdx_node *n)
{
	return le16_to_cpu(n->hdr->bh_nr);
}

static inline u16 n_max(const struct rdx_node *n)
{
	return le16_to_cpu(n->hdr->bh_max);
}

static inline u32 n_key(const struct rdx_node *n, int i)
{
	return le32_to_cpu(*(__le32 *)(n->ents + i * ENT));
}

static inline struct refdax_extent *n_ext(const struct rdx_node *n, int i)
{
	return (struct refdax_extent *)(n->ents + i * ENT);
}

static inline struct refdax_bmap_index *n_idx(const struct rdx_node *n,
					      int i)
{
	return (struct refdax_bmap_index *)(n->ents + i * ENT);
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

static void root_node(struct inode *inode, struct rdx_node *n)
{
	struct refdax_bmap_root *root = inode_root(inode);

	n->hdr = &root->br_hdr;
	n->ents = (u8 *)root->br_ext;
	n->blk = 0;
}

/*
 * The first visit to a node since mount checks it in full (checksum, order
 * and bounds of its entries) with the verifier fsck uses; later visits
 * repeat only the cheap structural checks, as the node is then either
 * verified or written by this mount under the tree's lock.
 */
static int child_node(struct inode *inode, u64 blk, int depth,
		      struct rdx_node *n)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_bmap_node *bn;
	const char *why = "bad extent tree node";

	if (!refdax_data_block_ok(&sbi->geom, blk, 1))
		goto bad;
	bn = rdx_block(sbi, blk);
	if (le16_to_cpu(bn->bn_hdr.bh_magic) != REFDAX_BMAP_MAGIC ||
	    le16_to_cpu(bn->bn_hdr.bh_max) != REFDAX_BMAP_NODE_MAX ||
	    le16_to_cpu(bn->bn_hdr.bh_nr) > REFDAX_BMAP_NODE_MAX ||
	    le16_to_cpu(bn->bn_hdr.bh_depth) != depth)
		goto bad;
	if (!test_bit(blk - sbi->geom.data_start, sbi->node_ok)) {
		if (refdax_check_bmap_node(&sbi->geom, bn, depth, &why))
			goto bad;
		set_bit(blk - sbi->geom.data_start, sbi->node_ok);
	}
	n->hdr = &bn->bn_hdr;
	n->ents = (u8 *)bn->bn_ext;
	n->blk = blk;
	return 0;
bad:
	refdax_error(inode->i_sb, "inode %lu: extent tree node %llu: %s",
		     inode->i_ino, blk, why);
	return -EUCLEAN;
}

/* Last entry whose key is <= lblk, or -1. */
static int node_search(const struct rdx_node *n, u64 lblk)
{
	int lo = 0, hi = n_nr(n) - 1, ans = -1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (n_key(n, mid) <= lblk) {
			ans = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return ans;
}

static int walk(struct inode *inode, u64 lblk, struct rdx_path *p)
{
	int l, ret, depth;

	root_node(inode, &p->n[0]);
	depth = le16_to_cpu(p->n[0].hdr->bh_depth);
	if (depth > REFDAX_BMAP_MAX_DEPTH ||
	    n_nr(&p->n[0]) > REFDAX_BMAP_ROOT_MAX) {
		refdax_error(inode->i_sb, "inode %lu: bad extent root",
			     inode->i_ino);
		return -EUCLEAN;
	}
	p->depth = depth;
	p->bound = U64_MAX;
	for (l = 0; l < depth; l++) {
		struct rdx_node *n = &p->n[l];
		int i;

		if (!n_nr(n)) {
			refdax_error(inode->i_sb, "inode %lu: empty tree node",
				     inode->i_ino);
			return -EUCLEAN;
		}
		i = max(node_search(n, lblk), 0);
		p->pos[l] = i;
		if (i + 1 < n_nr(n))
			p->bound = min_t(u64, p->bound, n_key(n, i + 1));
		ret = child_node(inode, le64_to_cpu(n_idx(n, i)->ei_child),
				 depth - l - 1, &p->n[l + 1]);
		if (ret)
			return ret;
	}
	p->pos[depth] = node_search(&p->n[depth], lblk);
	return 0;
}

static int ext_check(struct inode *inode, const struct refdax_extent *e)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u32 len = le32_to_cpu(e->e_len);

	if (!len || len > REFDAX_EXT_MAX_LEN ||
	    !refdax_data_block_ok(&sbi->geom, le64_to_cpu(e->e_pblk), len)) {
		refdax_error(inode->i_sb, "inode %lu: bad extent at %u",
			     inode->i_ino, le32_to_cpu(e->e_lblk));
		return -EUCLEAN;
	}
	return 0;
}

int refdax_bmap_lookup(struct inode *inode, u64 lblk, u64 *pblk, u64 *len)
{
	struct rdx_path p;
	struct rdx_node *leaf;
	u64 next;
	int i, ret;

	ret = walk(inode, lblk, &p);
	if (ret)
		return ret;
	leaf = &p.n[p.depth];
	i = p.pos[p.depth];
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
	}
	next = p.bound;
	if (i + 1 < n_nr(leaf))
		next = min_t(u64, next, n_key(leaf, i + 1));
	if (next == U64_MAX)
		next = REFDAX_MAX_LBLK + 1;
	*len = next > lblk ? next - lblk : 1;
	return 1;
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

/* Log header and entries [from, to) of a node before changing them. */
static int log_node(struct refdax_trans *tp, struct rdx_node *n, int from,
		    int to)
{
	int ret;

	/* The node header and checksum share the first 16 bytes. */
	ret = refdax_trans_log(tp, n->hdr, n->blk ? 16 : sizeof(*n->hdr));
	if (ret || to <= from)
		return ret;
	return refdax_trans_log(tp, n->ents + from * ENT, (to - from) * ENT);
}

static void node_done(struct refdax_sb_info *sbi, struct rdx_node *n)
{
	if (n->blk)
		refdax_bmap_node_set_csum(rdx_block(sbi, n->blk));
}

static void add_blocks(struct inode *inode, s64 blocks)
{
	inode->i_blocks += blocks << (REFDAX_BLOCK_SHIFT - 9);
}

static int new_node(struct refdax_trans *tp, struct inode *inode, int depth,
		    struct rdx_node *n)
{
	struct refdax_sb_info *sbi = tp->sbi;
	struct refdax_bmap_node *bn;
	u64 blk, got;
	int ret;

	ret = refdax_alloc_blocks(tp, 1, 1, &blk, &got);
	if (ret)
		return ret;
	bn = rdx_block(sbi, blk);
	memset(bn, 0, REFDAX_BLOCK_SIZE);
	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_depth = cpu_to_le16(depth);
	n->hdr = &bn->bn_hdr;
	n->ents = (u8 *)bn->bn_ext;
	n->blk = blk;
	set_bit(blk - sbi->geom.data_start, sbi->node_ok);
	add_blocks(inode, 1);
	return 0;
}

/* A node written in this transaction but never logged: flush it now. */
static void persist_new(struct refdax_sb_info *sbi, struct rdx_node *n)
{
	node_done(sbi, n);
	refdax_persist(sbi, rdx_block(sbi, n->blk), REFDAX_BLOCK_SIZE);
}

/* Propagate a new first key of p->n[level] up to the parents. */
static int fix_keys(struct refdax_sb_info *sbi, struct rdx_path *p, int level)
{
	while (level > 0 && n_nr(&p->n[level])) {
		struct rdx_node *par = &p->n[level - 1];
		int pi = p->pos[level - 1];
		u32 key = n_key(&p->n[level], 0);
		int ret;

		if (n_key(par, pi) == key)
			break;
		ret = log_node(p->tp, par, pi, pi + 1);
		if (ret)
			return ret;
		n_idx(par, pi)->ei_lblk = cpu_to_le32(key);
		node_done(sbi, par);
		if (pi)
			break;
		level--;
	}
	return 0;
}

/* Move the root's entries into a new child so the root can hold an index. */
static int grow_root(struct inode *inode, struct rdx_path *p)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct rdx_node *root = &p->n[0], child;
	int nr = n_nr(root), depth = p->depth, ret, l;

	if (depth >= REFDAX_BMAP_MAX_DEPTH)
		return -EFBIG;
	ret = new_node(p->tp, inode, depth, &child);
	if (ret)
		return ret;
	memcpy(child.ents, root->ents, nr * ENT);
	child.hdr->bh_nr = cpu_to_le16(nr);
	persist_new(sbi, &child);

	ret = log_node(p->tp, root, 0, REFDAX_BMAP_ROOT_MAX);
	if (ret)
		return ret;
	memset(root->ents, 0, REFDAX_BMAP_ROOT_MAX * ENT);
	n_idx(root, 0)->ei_lblk = cpu_to_le32(n_key(&child, 0));
	n_idx(root, 0)->ei_child = cpu_to_le64(child.blk);
	root->hdr->bh_nr = cpu_to_le16(1);
	root->hdr->bh_depth = cpu_to_le16(depth + 1);

	/* Shift the path down one level under the new root. */
	for (l = depth; l >= 1; l--) {
		p->n[l + 1] = p->n[l];
		p->pos[l + 1] = p->pos[l];
	}
	p->n[1] = child;
	p->pos[1] = p->pos[0];
	p->pos[0] = 0;
	p->depth = depth + 1;
	return 0;
}

static int insert_at(struct inode *inode, struct rdx_path *p, int level,
		     int pos, const void *ent);

/* Split full node p->n[level] in two and insert @ent at @pos. */
static int split_insert(struct inode *inode, struct rdx_path *p, int level,
			int pos, const void *ent)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct rdx_node *n = &p->n[level], right;
	int nr = n_nr(n), mid = nr / 2, ret;
	struct refdax_bmap_index idx = {};

	ret = new_node(p->tp, inode, p->depth - level, &right);
	if (ret)
		return ret;
	ret = log_node(p->tp, n, mid, nr);
	if (ret)
		return ret;
	memcpy(right.ents, n->ents + mid * ENT, (nr - mid) * ENT);
	right.hdr->bh_nr = cpu_to_le16(nr - mid);
	memset(n->ents + mid * ENT, 0, (nr - mid) * ENT);
	n->hdr->bh_nr = cpu_to_le16(mid);
	if (pos <= mid) {
		persist_new(sbi, &right);
		ret = insert_at(inode, p, level, pos, ent);
	} else {
		struct rdx_node left = *n;

		p->n[level] = right;
		ret = insert_at(inode, p, level, pos - mid, ent);
		p->n[level] = left;
		node_done(sbi, &left);
		refdax_persist(sbi, rdx_block(sbi, right.blk),
			       REFDAX_BLOCK_SIZE);
	}
	if (ret)
		return ret;
	node_done(sbi, n);
	idx.ei_lblk = cpu_to_le32(n_key(&right, 0));
	idx.ei_child = cpu_to_le64(right.blk);
	return insert_at(inode, p, level - 1, p->pos[level - 1] + 1, &idx);
}

static int insert_at(struct inode *inode, struct rdx_path *p, int level,
		     int pos, const void *ent)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct rdx_node *n = &p->n[level];
	int nr = n_nr(n), ret;

	if (nr >= n_max(n)) {
		if (level == 0) {
			ret = grow_root(inode, p);
			if (ret)
				return ret;
			level = 1;
			n = &p->n[1];
			/* The new child is a node: it has room now. */
		} else {
			return split_insert(inode, p, level, pos, ent);
		}
	}
	ret = log_node(p->tp, n, pos, nr + 1);
	if (ret)
		return ret;
	memmove(n->ents + (pos + 1) * ENT, n->ents + pos * ENT,
		(nr - pos) * ENT);
	memcpy(n->ents + pos * ENT, ent, ENT);
	n->hdr->bh_nr = cpu_to_le16(nr + 1);
	node_done(sbi, n);
	return pos ? 0 : fix_keys(sbi, p, level);
}

int refdax_bmap_insert(struct refdax_trans *tp, struct inode *inode,
		       u64 lblk, u64 pblk, u64 len)
{
	struct refdax_sb_info *sbi = tp->sbi;
	struct refdax_extent ext;
	struct rdx_path p;
	struct rdx_node *leaf;
	int i, ret;

	if (!len || len > REFDAX_EXT_MAX_LEN ||
	    lblk + len - 1 > REFDAX_MAX_LBLK)
		return -EFBIG;
	/* i_blocks changes below: an abort puts it back */
	refdax_trans_ijoin(tp, inode, NULL);
	ret = walk(inode, lblk, &p);
	if (ret)
		return ret;
	p.tp = tp;
	leaf = &p.n[p.depth];
	i = p.pos[p.depth];
	if (i >= 0) {
		struct refdax_extent *e = n_ext(leaf, i);
		u64 el = le32_to_cpu(e->e_len);

		/* Extend the previous extent when both runs are contiguous. */
		if (le32_to_cpu(e->e_lblk) + el == lblk &&
		    le64_to_cpu(e->e_pblk) + el == pblk &&
		    el + len <= REFDAX_EXT_MAX_LEN &&
		    (i + 1 >= n_nr(leaf) || n_key(leaf, i + 1) >= lblk + len)) {
			ret = log_node(tp, leaf, i, i + 1);
			if (ret)
				return ret;
			e->e_len = cpu_to_le32(el + len);
			node_done(sbi, leaf);
			add_blocks(inode, len);
			return 0;
		}
	}
	ext.e_lblk = cpu_to_le32(lblk);
	ext.e_len = cpu_to_le32(len);
	ext.e_pblk = cpu_to_le64(pblk);
	ret = insert_at(inode, &p, p.depth, i + 1, &ext);
	if (!ret)
		add_blocks(inode, len);
	return ret;
}

/* Remove entry @pos of p->n[level]; free nodes that become empty. */
static int delete_at(struct inode *inode, struct rdx_path *p, int level,
		     int pos)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct rdx_node *n = &p->n[level];
	int nr = n_nr(n), ret;

	if (nr == 1 && level > 0) {
		ret = refdax_refcount_dec(p->tp, n->blk, 1);
		if (ret)
			return ret;
		add_blocks(inode, -1);
		return delete_at(inode, p, level - 1, p->pos[level - 1]);
	}
	ret = log_node(p->tp, n, pos, nr);
	if (ret)
		return ret;
	memmove(n->ents + pos * ENT, n->ents + (pos + 1) * ENT,
		(nr - pos - 1) * ENT);
	memset(n->ents + (nr - 1) * ENT, 0, ENT);
	n->hdr->bh_nr = cpu_to_le16(nr - 1);
	if (level == 0 && nr == 1)
		n->hdr->bh_depth = 0;	/* the tree is empty again */
	node_done(sbi, n);
	return pos ? 0 : fix_keys(sbi, p, level);
}

/* Cut [s, t) out of extent @i of the leaf; both ends inside the extent. */
static int cut_extent(struct inode *inode, struct rdx_path *p, int i, u64 s,
		      u64 t)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct rdx_node *leaf = &p->n[p->depth];
	struct refdax_extent *e = n_ext(leaf, i), tail;
	u64 el = le32_to_cpu(e->e_lblk), ee = el + le32_to_cpu(e->e_len);
	u64 pb = le64_to_cpu(e->e_pblk);
	int ret;

	ret = refdax_refcount_dec(p->tp, pb + (s - el), t - s);
	if (ret)
		return ret;
	add_blocks(inode, -(s64)(t - s));
	if (s == el && t == ee)
		return delete_at(inode, p, p->depth, i);
	ret = log_node(p->tp, leaf, i, i + 1);
	if (ret)
		return ret;
	if (s == el) {			/* head */
		e->e_lblk = cpu_to_le32(t);
		e->e_pblk = cpu_to_le64(pb + (t - el));
		e->e_len = cpu_to_le32(ee - t);
		node_done(sbi, leaf);
		return i ? 0 : fix_keys(sbi, p, p->depth);
	}
	e->e_len = cpu_to_le32(s - el);
	node_done(sbi, leaf);
	if (t == ee)			/* tail */
		return 0;
	/* Middle: the right part becomes a new extent after this one. */
	tail.e_lblk = cpu_to_le32(t);
	tail.e_len = cpu_to_le32(ee - t);
	tail.e_pblk = cpu_to_le64(pb + (t - el));
	return insert_at(inode, p, p->depth, i + 1, &tail);
}

/*
 * Blocks the next removal step may cut: as many as the room left allows
 * beside a tree update, bounded for latency and by the deferred items one
 * block may add, at least one.
 */
static u64 remove_step(struct refdax_trans *tp, struct inode *inode)
{
	u64 fit = refdax_resv_fit_blocks(tp, refdax_bmap_txn_reserve(inode), 1);

	return min_t(u64, fit, RDX_STEP_REMOVE);
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
		struct rdx_path p;
		struct rdx_node *leaf;
		struct refdax_extent *e;
		u64 el, ee;
		int i;

		/*
		 * Ask for a new transaction only after a step: the first step
		 * of one always runs (and fails with ENOSPC if even an empty
		 * journal is too small), so the caller's loop makes progress.
		 */
		if (stepped &&
		    !refdax_resv_room_for_run(tp, refdax_bmap_txn_reserve(inode)))
			return 1;
		ret = walk(inode, lblk, &p);
		if (ret)
			return ret;
		p.tp = tp;
		leaf = &p.n[p.depth];
		i = p.pos[p.depth];
		if (i >= 0 && le32_to_cpu(n_ext(leaf, i)->e_lblk) +
		    (u64)le32_to_cpu(n_ext(leaf, i)->e_len) <= lblk)
			i++;
		if (i < 0)
			i = 0;
		if (i >= n_nr(leaf)) {
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
		ee = min_t(u64, ee, max(lblk, el) + remove_step(tp, inode));
		ret = cut_extent(inode, &p, i, max(lblk, el), min(end, ee));
		if (ret)
			return ret;
		stepped = true;
		lblk = min(end, ee);
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
		u64 pblk, run, got, first, align, reserve;

		ret = refdax_bmap_lookup(inode, lblk, &pblk, &run);
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
		/* 2 MiB-aligned logical runs get 2 MiB-aligned blocks. */
		align = (lblk % REFDAX_HUGE_BLOCKS == 0 &&
			 run >= REFDAX_HUGE_BLOCKS) ? REFDAX_HUGE_BLOCKS : 1;
		ret = refdax_alloc_blocks(tp, run, align, &first, &got);
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
