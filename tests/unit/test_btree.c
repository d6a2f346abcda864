// SPDX-License-Identifier: GPL-2.0
/*
 * The generic B+tree (common/refdax_btree.c) against a model.
 *
 * A test tree type with 64-bit keys (the shape of the refcount records to
 * come) lives in an array of blocks; random inserts and deletes are applied
 * to the tree and to a sorted array, and after each the tree is walked in
 * full: entries in order and equal to the model, index keys equal to their
 * child's first key, every node at the depth its parent expects (so all
 * leaves at one depth), no node empty but the root,
 * checksums valid, and every allocated node block reachable (no leak).
 */
#include <stdlib.h>
#include <string.h>
#include "rtest.h"
#include "refdax_common.h"
#include "refdax_btree.h"
#include "bt_harness.h"

static struct t_tree *TT(struct refdax_btree *t)
{
	return (struct t_tree *)((char *)t - offsetof(struct t_tree, t));
}

static __u64 t_key(const void *ent)
{
	return le64_to_cpu(((const struct t_ent *)ent)->key);
}

static void t_make_index(void *ent, __u64 key, __u64 child)
{
	struct t_ent *e = ent;

	e->key = cpu_to_le64(key);
	e->val = cpu_to_le64(child);
}

static void t_set_key(void *ent, __u64 key)
{
	((struct t_ent *)ent)->key = cpu_to_le64(key);
}

static int t_log(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)p;
	(void)len;
	TT(t)->logs++;
	return 0;
}

static int t_read_node(struct refdax_btree *t, __u64 blk, unsigned int depth,
		       struct refdax_bt_node *n)
{
	struct t_tree *tt = TT(t);
	struct refdax_bmap_node *bn;

	if (blk == 0 || blk >= T_BLOCKS || !tt->used[blk])
		return -EUCLEAN;
	bn = (struct refdax_bmap_node *)(tt->dev + blk * REFDAX_BLOCK_SIZE);
	if (le16_to_cpu(bn->bn_hdr.bh_magic) != t->magic ||
	    le16_to_cpu(bn->bn_hdr.bh_depth) != depth)
		return -EUCLEAN;
	n->hdr = &bn->bn_hdr;
	n->ents = (__u8 *)(bn + 1);
	n->blk = blk;
	return 0;
}

static int t_alloc(struct refdax_btree *t, __u64 *blk, void **addr)
{
	struct t_tree *tt = TT(t);
	__u64 b;

	if (tt->fail_alloc) {
		tt->fail_alloc = 0;
		return -ENOSPC;
	}
	for (b = 1; b < T_BLOCKS; b++) {
		if (!tt->used[b]) {
			tt->used[b] = 1;
			tt->nodes++;
			*blk = b;
			*addr = tt->dev + b * REFDAX_BLOCK_SIZE;
			return 0;
		}
	}
	return -ENOSPC;
}

static int t_free(struct refdax_btree *t, __u64 blk)
{
	struct t_tree *tt = TT(t);

	if (!tt->used[blk])
		return -EUCLEAN;
	tt->used[blk] = 0;
	tt->nodes--;
	memset(tt->dev + blk * REFDAX_BLOCK_SIZE, 0xa5, REFDAX_BLOCK_SIZE);
	return 0;
}

static void t_persist(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)t;
	(void)p;
	(void)len;
}

static const struct refdax_btree_ops t_ops = {
	.key = t_key, .make_index = t_make_index, .set_index_key = t_set_key,
	.log = t_log, .read_node = t_read_node, .alloc_node = t_alloc,
	.free_node = t_free, .persist = t_persist,
};

void t_init(struct t_tree *tt)
{
	memset(tt, 0, sizeof(*tt));
	tt->dev = calloc(T_BLOCKS, REFDAX_BLOCK_SIZE);
	tt->root.br_hdr.bh_magic = cpu_to_le16(T_MAGIC);
	tt->root.br_hdr.bh_max = cpu_to_le16(T_ROOT_MAX);
	tt->ops = t_ops;
	tt->t.ops = &tt->ops;
	tt->t.root = &tt->root.br_hdr;
	tt->t.root_ents = (__u8 *)tt->root.br_ext;
	tt->t.magic = T_MAGIC;
	tt->t.root_max = T_ROOT_MAX;
}

/* Insert key @k (value @v) where it belongs. */
static int t_insert(struct t_tree *tt, __u64 k, __u64 v)
{
	struct refdax_bt_path p;
	struct t_ent e = { cpu_to_le64(k), cpu_to_le64(v) };
	int ret = refdax_bt_walk(&tt->t, k, &p);

	if (ret)
		return ret;
	return refdax_bt_insert(&tt->t, &p, p.depth, p.pos[p.depth] + 1, &e);
}

/* Delete key @k, which must be present. */
static int t_delete(struct t_tree *tt, __u64 k)
{
	struct refdax_bt_path p;
	int ret = refdax_bt_walk(&tt->t, k, &p);

	if (ret)
		return ret;
	if (p.pos[p.depth] < 0 ||
	    t_key(refdax_bt_ent(&p.n[p.depth], p.pos[p.depth])) != k)
		return -ENOENT;
	return refdax_bt_delete(&tt->t, &p, p.depth, p.pos[p.depth]);
}

void t_walk(struct t_tree *tt, struct refdax_bt_node *n, int depth,
		   int is_root, struct t_check *c)
{
	unsigned int i, nr = refdax_bt_nr(n);

	if (!is_root) {
		c->nodes++;
		if (!nr || nr > REFDAX_BMAP_NODE_MAX)
			c->bad |= 1;
		if (le32_to_cpu(((struct refdax_bmap_node *)n->hdr)->bn_csum) !=
		    refdax_csum_skip(n->hdr, REFDAX_BLOCK_SIZE,
				     offsetof(struct refdax_bmap_node, bn_csum)))
			c->bad |= 2;
	}
	for (i = 0; i < nr; i++) {
		const void *ent = refdax_bt_ent(n, i);
		struct refdax_bt_node child;

		if (depth == 0) {
			if (c->keys)
				c->keys[c->n] = t_key(ent);
			if (c->leaf)
				c->leaf(ent, c->arg);
			c->n++;
			continue;
		}
		if (t_read_node(&tt->t, refdax_bt_child(ent), depth - 1,
				&child)) {
			c->bad |= 4;
			continue;
		}
		if (t_key(refdax_bt_ent(&child, 0)) != t_key(ent))
			c->bad |= 8;
		t_walk(tt, &child, depth - 1, 0, c);
	}
}

/* The whole tree must equal the sorted model @model[0..n). */
static int t_matches(struct t_tree *tt, const __u64 *model, size_t n)
{
	struct refdax_bt_node root = {
		&tt->root.br_hdr, (__u8 *)tt->root.br_ext, 0
	};
	struct t_check c = { .keys = calloc(n + 1, sizeof(__u64)) };
	int ok;

	t_walk(tt, &root, le16_to_cpu(tt->root.br_hdr.bh_depth), 1, &c);
	ok = !c.bad && c.n == n && c.nodes == tt->nodes &&
	     !memcmp(c.keys, model, n * sizeof(__u64));
	if (!ok)
		rt_note("    tree: bad %d, %zu keys (model %zu), %u nodes reached, %u allocated",
			c.bad, c.n, n, c.nodes, tt->nodes);
	free(c.keys);
	return ok;
}

static size_t model_pos(const __u64 *m, size_t n, __u64 k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Grow the tree to @target keys (through several levels), then shrink it
 * back to empty, mixing inserts and deletes, checking after every step.
 */
static void random_ops(unsigned int seed, size_t target, int sequential)
{
	struct t_tree tt;
	__u64 *model = calloc(target + 1, sizeof(__u64));
	size_t n = 0, step;
	int max_depth = 0, ok = 1;

	t_init(&tt);
	srand(seed);
	for (step = 0; ok && step < 6 * target; step++) {
		int grow = step < 3 * target ? rand() % 4 != 0 : rand() % 4 == 0;

		if ((grow || !n) && n < target) {
			__u64 k = sequential ? (__u64)step * 8 :
				  ((__u64)rand() << 20) ^ (__u64)rand();
			size_t at = model_pos(model, n, k);

			if (at < n && model[at] == k)
				continue;
			if (!EXPECT(t_insert(&tt, k, ~k) == 0)) {
				ok = 0;
				break;
			}
			memmove(model + at + 1, model + at,
				(n - at) * sizeof(__u64));
			model[at] = k;
			n++;
		} else if (n) {
			size_t at = (size_t)rand() % n;

			if (!EXPECT(t_delete(&tt, model[at]) == 0)) {
				ok = 0;
				break;
			}
			memmove(model + at, model + at + 1,
				(n - at - 1) * sizeof(__u64));
			n--;
		}
		if (le16_to_cpu(tt.root.br_hdr.bh_depth) > max_depth)
			max_depth = le16_to_cpu(tt.root.br_hdr.bh_depth);
		/* checking all of a large tree at every step is slow */
		if ((step < 2000 || step % 97 == 0) && !t_matches(&tt, model, n))
			ok = EXPECT(0);
	}
	while (ok && n) {
		ok = EXPECT(t_delete(&tt, model[--n]) == 0);
	}
	EXPECT(t_matches(&tt, model, 0));
	EXPECT_EQ(tt.nodes, 0);
	EXPECT_EQ(le16_to_cpu(tt.root.br_hdr.bh_depth), 0);
	EXPECT(max_depth >= (target > 20000 ? 2 : 1));
	free(model);
	free(tt.dev);
}

static void bt_random(void)
{
	random_ops(1, 3000, 0);
}

static void bt_sequential(void)
{
	random_ops(2, 3000, 1);
}

static void bt_deep(void)
{
	random_ops(3, 40000, 0);
}

/* A walk refuses a malformed root and a node at the wrong depth. */
static void bt_corrupt(void)
{
	struct t_tree tt;
	struct refdax_bt_path p;
	__u64 k;

	t_init(&tt);
	for (k = 0; k < 100; k++)
		EXPECT(t_insert(&tt, k * 3, k) == 0);
	EXPECT_EQ(le16_to_cpu(tt.root.br_hdr.bh_depth), 1);
	tt.root.br_hdr.bh_depth = cpu_to_le16(REFDAX_BMAP_MAX_DEPTH + 1);
	EXPECT(refdax_bt_walk(&tt.t, 5, &p) == -EUCLEAN);
	EXPECT(tt.t.why != NULL);
	tt.root.br_hdr.bh_depth = cpu_to_le16(2);	/* children are leaves */
	EXPECT(refdax_bt_walk(&tt.t, 5, &p) == -EUCLEAN);
	tt.root.br_hdr.bh_depth = cpu_to_le16(1);
	tt.root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	EXPECT(refdax_bt_walk(&tt.t, 5, &p) == -EUCLEAN);
	free(tt.dev);
}

/* A failed node allocation leaves nothing half-inserted in the root. */
static void bt_enospc(void)
{
	struct t_tree tt;
	__u64 model[T_ROOT_MAX], k;

	t_init(&tt);
	for (k = 0; k < T_ROOT_MAX; k++) {
		EXPECT(t_insert(&tt, k, k) == 0);
		model[k] = k;
	}
	tt.fail_alloc = 1;
	EXPECT(t_insert(&tt, 100, 100) == -ENOSPC);
	EXPECT(t_matches(&tt, model, T_ROOT_MAX));
	EXPECT(t_insert(&tt, 100, 100) == 0);
	free(tt.dev);
}

void test_btree(void)
{
	rt_run("btree: random inserts and deletes against a model",
	       bt_random);
	rt_run("btree: ascending keys (appends)", bt_sequential);
	rt_run("btree: 40,000 keys, three levels", bt_deep);
	rt_run("btree: a malformed root or node is refused", bt_corrupt);
	rt_run("btree: ENOSPC on a split changes nothing", bt_enospc);
}
