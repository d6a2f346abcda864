// SPDX-License-Identifier: GPL-2.0
/*
 * Refcount records: which runs of data blocks have two or more references,
 * as a B+tree of (start, length, count) records keyed by physical block,
 * the way XFS's refcount btree records shared extents.  A mapped block no
 * record covers has one reference; what is free, the free-space map says.
 *
 * A change adds +1 or -1 over a range of blocks.  It visits the range's
 * pieces in order, one walk from the root each (records are few: one per
 * shared extent, not per block): a record straddling an end of the range
 * is split there first, a record inside is counted up or down (and goes at
 * 1), a gap between records gets a record of 2 or, going down, is free.
 * Splits happen only at the range's ends and a uniform change keeps unequal
 * neighbours unequal, so two adjacent records with one count can only
 * appear at the ends, where they are merged: the records stay the one
 * canonical description of the counts, which fsck rebuilds and compares.
 */
#include "refdax_common.h"
#include "refdax_refc.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

struct rec {
	__u64 start, len;
	__u32 count;
};

static __u64 refc_key(const void *ent)
{
	return le64_to_cpu(((const struct refdax_refc_rec *)ent)->rc_start);
}

static void refc_make_index(void *ent, __u64 key, __u64 child)
{
	struct refdax_refc_index *ri = ent;

	ri->ri_start = cpu_to_le64(key);
	ri->ri_child = cpu_to_le64(child);
}

static void refc_set_index_key(void *ent, __u64 key)
{
	((struct refdax_refc_index *)ent)->ri_start = cpu_to_le64(key);
}

void refdax_refc_tree_ops(struct refdax_btree_ops *ops)
{
	ops->key = refc_key;
	ops->make_index = refc_make_index;
	ops->set_index_key = refc_set_index_key;
}

void refdax_refc_init_root(struct refdax_bmap_root *root)
{
	memset(root, 0, sizeof(*root));
	root->br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	root->br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
}

void refdax_refc_tree_init(struct refdax_btree *t,
			   const struct refdax_btree_ops *ops,
			   struct refdax_bmap_root *root)
{
	t->ops = ops;
	t->root = &root->br_hdr;
	t->root_ents = (__u8 *)root->br_ext;
	t->magic = REFDAX_REFC_MAGIC;
	t->root_max = REFDAX_BMAP_ROOT_MAX;
	t->why = NULL;
}

static void rec_get(const void *ent, struct rec *r)
{
	const struct refdax_refc_rec *rc = ent;

	r->start = le64_to_cpu(rc->rc_start);
	r->len = le32_to_cpu(rc->rc_len);
	r->count = le32_to_cpu(rc->rc_count);
}

static void rec_put(void *ent, const struct rec *r)
{
	struct refdax_refc_rec *rc = ent;

	rc->rc_start = cpu_to_le64(r->start);
	rc->rc_len = cpu_to_le32((__u32)r->len);
	rc->rc_count = cpu_to_le32(r->count);
}

static int bad(struct refdax_btree *t, const char *why)
{
	t->why = why;
	return -EUCLEAN;
}

/*
 * Walk to @blk: *@i is the leaf entry with the greatest start <= @blk (or
 * -1), *@next the start of the record after it (or ~0).  A record that
 * could stall a loop (no length, or a count a record never has) is
 * reported as corruption.
 */
static int find(struct refdax_btree *t, __u64 blk, struct refdax_bt_path *p,
		int *i, struct rec *r, __u64 *next)
{
	struct refdax_bt_node *leaf;
	int ret = refdax_bt_walk(t, blk, p);

	if (ret)
		return ret;
	leaf = &p->n[p->depth];
	*i = p->pos[p->depth];
	*next = p->bound;
	if (*i + 1 < (int)refdax_bt_nr(leaf))
		*next = refc_key(refdax_bt_ent(leaf, *i + 1));
	r->len = 0;
	if (*i < 0)
		return 0;
	rec_get(refdax_bt_ent(leaf, *i), r);
	if (!r->len || r->count < 2 || r->count > REFDAX_REFCOUNT_MAX ||
	    r->start + r->len < r->start || r->start + r->len > *next)
		return bad(t, "bad refcount record");
	return 0;
}

int refdax_refc_lookup(struct refdax_btree *t, __u64 blk, __u64 *start,
		       __u64 *len, __u32 *count)
{
	struct refdax_bt_path p;
	struct rec r;
	__u64 next;
	int i, ret;

	ret = find(t, blk, &p, &i, &r, &next);
	if (ret)
		return ret;
	if (i >= 0 && blk < r.start + r.len) {
		*start = r.start;
		*len = r.len;
		*count = r.count;
		return 0;
	}
	*start = blk;
	*len = next - blk;
	*count = 1;
	return 0;
}

/* Rewrite entry @i of the path's leaf as @r. */
static int rewrite(struct refdax_btree *t, struct refdax_bt_path *p, int i,
		   const struct rec *r)
{
	struct refdax_bt_node *leaf = &p->n[p->depth];
	int ret = refdax_bt_log(t, leaf, i, i + 1);

	if (ret)
		return ret;
	rec_put(refdax_bt_ent(leaf, i), r);
	refdax_bt_done(t, leaf);
	return 0;
}

static int insert_after(struct refdax_btree *t, struct refdax_bt_path *p,
			int i, const struct rec *r)
{
	struct refdax_refc_rec ent;

	rec_put(&ent, r);
	return refdax_bt_insert(t, p, p->depth, i + 1, &ent);
}

/* Split record @i (@r) at @at, strictly inside it, into two records. */
static int split(struct refdax_btree *t, struct refdax_bt_path *p, int i,
		 struct rec *r, __u64 at)
{
	struct rec right = { at, r->start + r->len - at, r->count };
	int ret;

	r->len = at - r->start;
	ret = rewrite(t, p, i, r);
	return ret ? ret : insert_after(t, p, i, &right);
}

static int notify(int (*fn)(struct refdax_refc_notify *nf, __u64 start,
			    __u64 len),
		  struct refdax_refc_notify *nf, __u64 start, __u64 len)
{
	return fn ? fn(nf, start, len) : 0;
}

/* One piece of an adjust from *@pos; advances *@pos when it is done. */
static int adjust_step(struct refdax_btree *t, __u64 *pos, __u64 end,
		       int delta, struct refdax_refc_notify *nf)
{
	struct refdax_bt_path p;
	struct rec r;
	__u64 next, stop;
	int i, ret;

	ret = find(t, *pos, &p, &i, &r, &next);
	if (ret)
		return ret;
	if (i >= 0 && *pos < r.start + r.len) {
		if (r.start < *pos)
			return split(t, &p, i, &r, *pos);
		if (r.start + r.len > end)
			return split(t, &p, i, &r, end);
		*pos = r.start + r.len;
		if (r.count + delta >= 2) {
			r.count += delta;
			return rewrite(t, &p, i, &r);
		}
		ret = refdax_bt_delete(t, &p, p.depth, i);
		return ret ? ret : notify(nf->unshared, nf, r.start, r.len);
	}
	/* A gap: blocks of one reference up to the next record. */
	stop = next < end ? next : end;
	if (stop - *pos > REFDAX_REFC_MAX_LEN)
		stop = *pos + REFDAX_REFC_MAX_LEN;
	r = (struct rec){ *pos, stop - *pos, 2 };
	*pos = stop;
	if (delta > 0)
		return insert_after(t, &p, i, &r);
	return notify(nf->freed, nf, r.start, r.len);
}

/* Merge the record ending at @b - 1 with one starting at @b, if alike. */
static int merge_at(struct refdax_btree *t, __u64 b)
{
	struct refdax_bt_path p;
	struct rec l, r;
	__u64 next;
	int i, ret;

	if (!b)
		return 0;
	ret = find(t, b, &p, &i, &r, &next);
	if (ret || i < 0 || r.start != b)
		return ret;
	ret = find(t, b - 1, &p, &i, &l, &next);
	if (ret || i < 0 || l.start + l.len != b || l.count != r.count ||
	    l.len + r.len > REFDAX_REFC_MAX_LEN)
		return ret;
	/* The right one goes first: the two never overlap on media. */
	ret = find(t, b, &p, &i, &r, &next);
	if (!ret)
		ret = refdax_bt_delete(t, &p, p.depth, i);
	if (!ret)
		ret = find(t, b - 1, &p, &i, &l, &next);
	if (ret)
		return ret;
	l.len += r.len;
	return rewrite(t, &p, i, &l);
}

/* -EMLINK if a block of the range already has the greatest count. */
static int check_room(struct refdax_btree *t, __u64 start, __u64 end)
{
	while (start < end) {
		__u64 s, len;
		__u32 count;
		int ret = refdax_refc_lookup(t, start, &s, &len, &count);

		if (ret)
			return ret;
		if (count >= REFDAX_REFCOUNT_MAX)
			return -EMLINK;
		if (!len)
			return bad(t, "bad refcount record");
		start = s + len;
	}
	return 0;
}

int refdax_refc_adjust(struct refdax_btree *t, __u64 start, __u64 len,
		       int delta, struct refdax_refc_notify *nf)
{
	__u64 pos = start, end = start + len;
	int ret;

	if (!len)
		return 0;
	if (end < start || (delta != 1 && delta != -1))
		return -EINVAL;
	if (delta > 0) {
		ret = check_room(t, start, end);
		if (ret)
			return ret;
	}
	while (pos < end) {
		ret = adjust_step(t, &pos, end, delta, nf);
		if (ret)
			return ret;
	}
	ret = merge_at(t, start);
	return ret ? ret : merge_at(t, end);
}

/*
 * Changes an adjust makes besides one per piece: a split at either end,
 * and a merge (a delete and a rewrite) at either end.
 */
#define EDGE_CHANGES	6U

__u64 refdax_refc_span(struct refdax_btree *t, __u64 start, __u64 len,
		       unsigned int max_changes)
{
	unsigned int pieces = max_changes > EDGE_CHANGES ?
			      max_changes - EDGE_CHANGES : 1;
	__u64 pos = start, end = start + len;

	while (pos < end && pieces--) {
		__u64 s, l;
		__u32 count;

		if (refdax_refc_lookup(t, pos, &s, &l, &count) || !l)
			break;
		pos = s + l;
	}
	if (pos > end)
		pos = end;
	return pos > start ? pos - start : 1;
}
