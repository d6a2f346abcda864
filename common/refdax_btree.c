// SPDX-License-Identifier: GPL-2.0
/*
 * Generic B+tree over refdax's tree node format, shared by the kernel and
 * the tools.  Invariants kept by every change (fsck checks them):
 *  - entries in a node are sorted by key;
 *  - an index entry's key equals the first key of its child;
 *  - all leaves are at the same depth; only the root may be empty.
 * The tree type supplies keys, node I/O and logging (refdax_btree.h).
 */
#include "refdax_common.h"
#include "refdax_btree.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#define ENT	REFDAX_BT_ENT

static inline unsigned int n_max(const struct refdax_bt_node *n)
{
	return le16_to_cpu(n->hdr->bh_max);
}

static inline __u64 n_key(const struct refdax_btree *t,
			  const struct refdax_bt_node *n, int i)
{
	return t->ops->key(refdax_bt_ent(n, i));
}

static void root_node(const struct refdax_btree *t, struct refdax_bt_node *n)
{
	n->hdr = t->root;
	n->ents = t->root_ents;
	n->blk = 0;
}

int refdax_bt_search(const struct refdax_btree *t,
		     const struct refdax_bt_node *n, __u64 key)
{
	int lo = 0, hi = (int)refdax_bt_nr(n) - 1, ans = -1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (n_key(t, n, mid) <= key) {
			ans = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return ans;
}

static int bad_walk(struct refdax_btree *t, const char *why)
{
	t->why = why;
	return -EUCLEAN;
}

int refdax_bt_walk(struct refdax_btree *t, __u64 key, struct refdax_bt_path *p)
{
	int l, ret, depth;

	root_node(t, &p->n[0]);
	depth = le16_to_cpu(t->root->bh_depth);
	if (le16_to_cpu(t->root->bh_magic) != t->magic ||
	    le16_to_cpu(t->root->bh_max) != t->root_max ||
	    depth > REFDAX_BMAP_MAX_DEPTH || refdax_bt_nr(&p->n[0]) > t->root_max)
		return bad_walk(t, "bad tree root");
	p->depth = depth;
	p->bound = ~0ULL;
	for (l = 0; l < depth; l++) {
		struct refdax_bt_node *n = &p->n[l];
		int i;

		if (!refdax_bt_nr(n))
			return bad_walk(t, "empty tree node");
		i = refdax_bt_search(t, n, key);
		if (i < 0)
			i = 0;
		p->pos[l] = i;
		if (i + 1 < (int)refdax_bt_nr(n) && n_key(t, n, i + 1) < p->bound)
			p->bound = n_key(t, n, i + 1);
		ret = t->ops->read_node(t, refdax_bt_child(refdax_bt_ent(n, i)),
					depth - l - 1, &p->n[l + 1]);
		if (ret)
			return ret;
	}
	p->pos[depth] = refdax_bt_search(t, &p->n[depth], key);
	return 0;
}

int refdax_bt_log(struct refdax_btree *t, struct refdax_bt_node *n, int from,
		  int to)
{
	int ret;

	/* A node's header and checksum share its first 16 bytes. */
	ret = t->ops->log(t, n->hdr, n->blk ? REFDAX_BT_NODE_HDR :
				     sizeof(*n->hdr));
	if (ret || to <= from)
		return ret;
	return t->ops->log(t, refdax_bt_ent(n, from), (to - from) * ENT);
}

void refdax_bt_done(struct refdax_btree *t, struct refdax_bt_node *n)
{
	(void)t;
	if (n->blk)
		refdax_bmap_node_set_csum((struct refdax_bmap_node *)n->hdr);
}

/* A fresh, empty node block at @depth. */
static int new_node(struct refdax_btree *t, int depth,
		    struct refdax_bt_node *n)
{
	struct refdax_bmap_node *bn;
	void *addr;
	int ret;

	ret = t->ops->alloc_node(t, &n->blk, &addr);
	if (ret)
		return ret;
	bn = addr;
	memset(bn, 0, REFDAX_BLOCK_SIZE);
	bn->bn_hdr.bh_magic = cpu_to_le16(t->magic);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_depth = cpu_to_le16(depth);
	n->hdr = &bn->bn_hdr;
	n->ents = (__u8 *)(bn + 1);
	return 0;
}

/* A node written in this change but never logged: flush it now. */
static void persist_new(struct refdax_btree *t, struct refdax_bt_node *n)
{
	refdax_bt_done(t, n);
	t->ops->persist(t, n->hdr, REFDAX_BLOCK_SIZE);
}

int refdax_bt_fix_keys(struct refdax_btree *t, struct refdax_bt_path *p,
		       int level)
{
	while (level > 0 && refdax_bt_nr(&p->n[level])) {
		struct refdax_bt_node *par = &p->n[level - 1];
		int pi = p->pos[level - 1];
		__u64 key = n_key(t, &p->n[level], 0);
		int ret;

		if (n_key(t, par, pi) == key)
			break;
		ret = refdax_bt_log(t, par, pi, pi + 1);
		if (ret)
			return ret;
		t->ops->set_index_key(refdax_bt_ent(par, pi), key);
		refdax_bt_done(t, par);
		if (pi)
			break;
		level--;
	}
	return 0;
}

/* Move the root's entries into a new child so the root can hold an index. */
static int grow_root(struct refdax_btree *t, struct refdax_bt_path *p)
{
	struct refdax_bt_node *root = &p->n[0], child;
	int nr = refdax_bt_nr(root), depth = p->depth, ret, l;

	if (depth >= REFDAX_BMAP_MAX_DEPTH)
		return -EFBIG;
	ret = new_node(t, depth, &child);
	if (ret)
		return ret;
	memcpy(child.ents, root->ents, nr * ENT);
	child.hdr->bh_nr = cpu_to_le16(nr);
	persist_new(t, &child);

	ret = refdax_bt_log(t, root, 0, t->root_max);
	if (ret)
		return ret;
	memset(root->ents, 0, t->root_max * ENT);
	t->ops->make_index(refdax_bt_ent(root, 0), n_key(t, &child, 0),
			   child.blk);
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

/* Split full node p->n[level] in two and insert @ent at @pos. */
static int split_insert(struct refdax_btree *t, struct refdax_bt_path *p,
			int level, int pos, const void *ent)
{
	struct refdax_bt_node *n = &p->n[level], right;
	int nr = refdax_bt_nr(n), mid = nr / 2, ret;
	__u8 idx[ENT];

	ret = new_node(t, p->depth - level, &right);
	if (ret)
		return ret;
	ret = refdax_bt_log(t, n, mid, nr);
	if (ret)
		return ret;
	memcpy(right.ents, refdax_bt_ent(n, mid), (nr - mid) * ENT);
	right.hdr->bh_nr = cpu_to_le16(nr - mid);
	memset(refdax_bt_ent(n, mid), 0, (nr - mid) * ENT);
	n->hdr->bh_nr = cpu_to_le16(mid);
	if (pos <= mid) {
		persist_new(t, &right);
		ret = refdax_bt_insert(t, p, level, pos, ent);
	} else {
		struct refdax_bt_node left = *n;

		p->n[level] = right;
		ret = refdax_bt_insert(t, p, level, pos - mid, ent);
		p->n[level] = left;
		refdax_bt_done(t, &left);
		persist_new(t, &right);
	}
	if (ret)
		return ret;
	refdax_bt_done(t, n);
	memset(idx, 0, sizeof(idx));
	t->ops->make_index(idx, n_key(t, &right, 0), right.blk);
	return refdax_bt_insert(t, p, level - 1, p->pos[level - 1] + 1, idx);
}

int refdax_bt_insert(struct refdax_btree *t, struct refdax_bt_path *p,
		     int level, int pos, const void *ent)
{
	struct refdax_bt_node *n = &p->n[level];
	int nr = refdax_bt_nr(n), ret;

	if (nr >= (int)n_max(n)) {
		if (level > 0)
			return split_insert(t, p, level, pos, ent);
		ret = grow_root(t, p);
		if (ret)
			return ret;
		/* The new child is a node block: it has room now. */
		level = 1;
		n = &p->n[1];
	}
	ret = refdax_bt_log(t, n, pos, nr + 1);
	if (ret)
		return ret;
	memmove(refdax_bt_ent(n, pos + 1), refdax_bt_ent(n, pos),
		(nr - pos) * ENT);
	memcpy(refdax_bt_ent(n, pos), ent, ENT);
	n->hdr->bh_nr = cpu_to_le16(nr + 1);
	refdax_bt_done(t, n);
	return pos ? 0 : refdax_bt_fix_keys(t, p, level);
}

int refdax_bt_delete(struct refdax_btree *t, struct refdax_bt_path *p,
		     int level, int pos)
{
	struct refdax_bt_node *n = &p->n[level];
	int nr = refdax_bt_nr(n), ret;

	if (nr == 1 && level > 0) {
		ret = t->ops->free_node(t, n->blk);
		if (ret)
			return ret;
		return refdax_bt_delete(t, p, level - 1, p->pos[level - 1]);
	}
	ret = refdax_bt_log(t, n, pos, nr);
	if (ret)
		return ret;
	memmove(refdax_bt_ent(n, pos), refdax_bt_ent(n, pos + 1),
		(nr - pos - 1) * ENT);
	memset(refdax_bt_ent(n, nr - 1), 0, ENT);
	n->hdr->bh_nr = cpu_to_le16(nr - 1);
	if (level == 0 && nr == 1)
		n->hdr->bh_depth = 0;	/* the tree is empty again */
	refdax_bt_done(t, n);
	return pos ? 0 : refdax_bt_fix_keys(t, p, level);
}
