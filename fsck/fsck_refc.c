// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax and the refcount record tree (root s_refc_root).
 *
 * Checking walks the tree from the superblock, validates every node, claims
 * the node blocks (BK_REFC: a single user owned by no inode, in use with no
 * record) before the extent trees are walked, so that a file or an extent
 * tree using one of them is the double use that gets reported, and
 * collects the records in block order.  fsck_space.c compares them with the
 * counted references.  A node block is claimed but not counted as a
 * reference: a file extent on it is reported once, as that double use,
 * not again as a block of two references wanting a record.
 *
 * The records are derived data: whatever is wrong with the tree, repairing
 * builds a new one from the counted references with the generic B+tree
 * code the kernel uses, so the result has the shape the kernel expects.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck.h"
#include "refdax_refc.h"

static void add_node(struct refc_found *rc, __u64 blk)
{
	if (rc->nnode == rc->node_cap) {
		rc->node_cap = rc->node_cap ? rc->node_cap * 2 : 16;
		rc->node = xrealloc(rc->node, rc->node_cap, sizeof(*rc->node));
	}
	rc->node[rc->nnode++] = blk;
}

static void add_rec(struct refc_found *rc, const struct refc_rec *r)
{
	if (rc->nrec == rc->rec_cap) {
		rc->rec_cap = rc->rec_cap ? rc->rec_cap * 2 : 64;
		rc->rec = xrealloc(rc->rec, rc->rec_cap, sizeof(*rc->rec));
	}
	rc->rec[rc->nrec++] = *r;
}

void fsck_refc_release(struct fsck *f)
{
	free(f->rc.rec);
	free(f->rc.node);
	memset(&f->rc, 0, sizeof(f->rc));
}

/* A problem with the tree's structure: the tree must be rebuilt. */
__printf(2, 3) static void tree_err(struct fsck *f, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->rc.problems++;
	err(f, "refcount tree: %s", msg);
}

/* Leaf records: each must lie in its parent's key range [lo, hi). */
static void walk_records(struct fsck *f, const struct refdax_refc_rec *rec,
			 unsigned int nr, __u64 lo, __u64 hi)
{
	struct refc_found *rc = &f->rc;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct refc_rec r = {
			le64_to_cpu(rec[i].rc_start),
			le32_to_cpu(rec[i].rc_len),
			le32_to_cpu(rec[i].rc_count),
		};
		const struct refc_rec *last = rc->nrec ?
					      &rc->rec[rc->nrec - 1] : NULL;

		if (r.start < lo || r.start + r.len > hi) {
			tree_err(f, "record %llu+%llu outside its parent's key range [%llu, %llu)",
				 (unsigned long long)r.start,
				 (unsigned long long)r.len,
				 (unsigned long long)lo,
				 (unsigned long long)hi);
			continue;
		}
		/* the key ranges keep leaves apart; be safe anyway */
		if (last && r.start < last->start + last->len) {
			tree_err(f, "record %llu+%llu overlaps record %llu+%llu",
				 (unsigned long long)r.start,
				 (unsigned long long)r.len,
				 (unsigned long long)last->start,
				 (unsigned long long)last->len);
			continue;
		}
		add_rec(rc, &r);
	}
}

/*
 * Child @child of an index entry with key @key, expected at @depth: valid,
 * used once, and its key in the parent's range [lo, hi)?  Claims it if so.
 */
static bool take_node(struct fsck *f, __u64 key, __u64 child,
		      unsigned int depth, __u64 lo, __u64 hi)
{
	const struct refdax_bmap_node *bn = block_ptr(f, child);
	const struct refdax_refc_rec *first = (const void *)(bn + 1);
	const char *why;

	if (key < lo || key >= hi) {
		tree_err(f, "index key %llu outside its parent's key range [%llu, %llu)",
			 (unsigned long long)key, (unsigned long long)lo,
			 (unsigned long long)hi);
		return false;
	}
	if (bm_kind(&f->bm, child) != BK_FREE) {
		tree_err(f, "node block %llu referenced more than once",
			 (unsigned long long)child);
		return false;
	}
	if (refdax_check_refc_node(&f->g, bn, depth, &why)) {
		tree_err(f, "node at block %llu (depth %u): %s",
			 (unsigned long long)child, depth, why);
		return false;
	}
	bm_claim(&f->bm, child, 1, BK_REFC);
	add_node(&f->rc, child);
	/* index and record keys are both the first 8 bytes */
	if (le64_to_cpu(first->rc_start) != key)
		tree_err(f, "node at block %llu starts at %llu, its index entry says %llu",
			 (unsigned long long)child,
			 (unsigned long long)le64_to_cpu(first->rc_start),
			 (unsigned long long)key);
	return true;
}

static void walk_level(struct fsck *f, const struct refdax_bmap_hdr *h,
		       const void *ents, unsigned int depth, __u64 lo,
		       __u64 hi)
{
	const struct refdax_refc_index *idx = ents;
	unsigned int nr = le16_to_cpu(h->bh_nr), i;

	if (!depth) {
		walk_records(f, ents, nr, lo, hi);
		return;
	}
	for (i = 0; i < nr; i++) {
		__u64 key = le64_to_cpu(idx[i].ri_start);
		__u64 child = le64_to_cpu(idx[i].ri_child);
		__u64 end = i + 1 < nr ? le64_to_cpu(idx[i + 1].ri_start) : hi;
		const struct refdax_bmap_node *bn;

		if (!take_node(f, key, child, depth - 1, lo, hi))
			continue;
		bn = block_ptr(f, child);
		walk_level(f, &bn->bn_hdr, bn + 1, depth - 1, key,
			   end < hi ? end : hi);
	}
}

/*
 * The root was validated with the superblock; the nodes are validated
 * here, at the depth their parent implies, which also ends any loop.
 */
void fsck_refc_walk(struct fsck *f)
{
	const struct refdax_bmap_root *r = &f->sb->s_refc_root;

	fsck_refc_release(f);
	walk_level(f, &r->br_hdr, r->br_ext, le16_to_cpu(r->br_hdr.bh_depth),
		   0, ~0ULL);
	info(f, "refcount tree: depth %u, %zu nodes, %zu records",
	     le16_to_cpu(r->br_hdr.bh_depth), f->rc.nnode, f->rc.nrec);
}

/* ---- rebuilding ---- */

/* The root of a tree with no record (what mkfs writes). */
void fsck_refc_empty_root(struct refdax_bmap_root *root)
{
	refdax_refc_init_root(root);
}

struct rebuild {
	struct refdax_btree t;		/* first: the ops get &t */
	struct refdax_btree_ops ops;
	struct fsck *f;
	size_t nodes;			/* allocated */
};

static struct fsck *rb_fsck(struct refdax_btree *t)
{
	return ((struct rebuild *)t)->f;
}

/* Repairs write in place, unjournalled, like every other fsck repair. */
static int rb_log(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)t;
	(void)p;
	(void)len;
	return 0;
}

static int rb_read_node(struct refdax_btree *t, __u64 blk, unsigned int depth,
			struct refdax_bt_node *n)
{
	struct fsck *f = rb_fsck(t);
	struct refdax_bmap_node *bn;
	const char *why;

	if (!refdax_data_block_ok(&f->g, blk, 1) ||
	    bm_kind(&f->bm, blk) != BK_REFC)
		return -EUCLEAN;
	bn = block_ptr(f, blk);
	if (refdax_check_refc_node(&f->g, bn, depth, &why)) {
		t->why = why;
		return -EUCLEAN;
	}
	n->hdr = &bn->bn_hdr;
	n->ents = (__u8 *)(bn + 1);
	n->blk = blk;
	return 0;
}

/*
 * A block free in the new bitmap becomes a node: marked in use there (its
 * reference, which bm_take() also counts, is fine: the records are made).
 */
static int rb_alloc_node(struct refdax_btree *t, __u64 *blk, void **addr)
{
	struct fsck *f = rb_fsck(t);
	__u64 b = fsck_find_free_block(f);

	if (!b)
		return -ENOSPC;
	bm_take(&f->bm, b, BK_REFC, 0);
	refdax_fsmap_set(f->fsmap, b - f->g.data_start);
	((struct rebuild *)t)->nodes++;
	*blk = b;
	*addr = block_ptr(f, b);
	return 0;
}

/* Node @blk leaves the tree; the bitmap rewrite that follows frees it. */
static void drop_node(struct fsck *f, __u64 blk)
{
	bm_unclaim(&f->bm, blk);
}

/* Inserting never frees a node; for completeness of the ops. */
static int rb_free_node(struct refdax_btree *t, __u64 blk)
{
	drop_node(rb_fsck(t), blk);
	return 0;
}

/* Written through the shared mapping, which main() writes back. */
static void rb_persist(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)t;
	(void)p;
	(void)len;
}

static void rb_init(struct rebuild *rb, struct fsck *f)
{
	struct refdax_bmap_root *root = &f->sb->s_refc_root;

	memset(rb, 0, sizeof(*rb));
	rb->f = f;
	refdax_refc_tree_ops(&rb->ops);
	rb->ops.log = rb_log;
	rb->ops.read_node = rb_read_node;
	rb->ops.alloc_node = rb_alloc_node;
	rb->ops.free_node = rb_free_node;
	rb->ops.persist = rb_persist;
	refdax_refc_tree_init(&rb->t, &rb->ops, root);
	refdax_refc_init_root(root);
}

static int insert_rec(struct rebuild *rb, const struct refc_rec *r)
{
	struct refdax_refc_rec ent;
	struct refdax_bt_path p;
	int ret;

	ent.rc_start = cpu_to_le64(r->start);
	ent.rc_len = cpu_to_le32((__u32)r->len);
	ent.rc_count = cpu_to_le32(r->count);
	ret = refdax_bt_walk(&rb->t, r->start, &p);
	if (ret)
		return ret;
	return refdax_bt_insert(&rb->t, &p, p.depth, p.pos[p.depth] + 1,
				&ent);
}

/*
 * Replace the tree by one holding exactly @want (canonical, in block
 * order): the old nodes are freed (their blocks are free for the new ones
 * unless something else uses them), the root emptied, the records inserted
 * in order, and the superblock checksum, which covers the root, redone.
 * The caller rewrites the bitmap afterwards.  0, or -errno if the tree
 * could not be completed (it then holds the records inserted so far).
 */
int fsck_refc_rebuild(struct fsck *f, const struct refc_rec *want,
		      size_t nwant)
{
	struct rebuild rb;
	size_t i;
	int ret = 0;

	for (i = 0; i < f->rc.nnode; i++)
		drop_node(f, f->rc.node[i]);
	f->rc.nnode = 0;
	rb_init(&rb, f);
	for (i = 0; i < nwant && !ret; i++)
		ret = insert_rec(&rb, &want[i]);
	refdax_super_set_csum(f->sb);
	info(f, "refcount tree rebuilt: %zu records in %zu nodes", nwant,
	     rb.nodes);
	return ret;
}
