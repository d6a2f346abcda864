/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic B+tree over refdax's tree node format (common/refdax_btree.c),
 * shared by the kernel and the tools, as XFS's xfs_btree.c is.
 *
 * A tree has a root stored inside its owner (a media inode's extent root)
 * with room for a few entries, and node blocks of REFDAX_BMAP_NODE_MAX
 * entries.  Every entry, leaf or index, is REFDAX_BT_ENT bytes and starts
 * with its key; an index entry holds the lowest key below its child, whose
 * block number is at byte 8.  What a leaf entry means, how its key is
 * stored, and how nodes are read, allocated, freed and made durable is the
 * tree type's business (struct refdax_btree_ops).
 *
 * Changes are made in place, each range logged before it is written
 * (ops->log); a node allocated by the change is flushed through
 * ops->persist, since the journal flushes only what it logged.
 */
#ifndef REFDAX_BTREE_H
#define REFDAX_BTREE_H

#include "refdax_format.h"

#define REFDAX_BT_ENT		16U
#define REFDAX_BT_NODE_HDR	16U	/* header, checksum, pad */

/* A node on a path: the root (blk 0, inside its owner) or a node block. */
struct refdax_bt_node {
	struct refdax_bmap_hdr *hdr;
	__u8 *ents;
	__u64 blk;
};

/* The nodes from the root down to a leaf, and the entry taken in each. */
struct refdax_bt_path {
	int depth;				/* of the root */
	struct refdax_bt_node n[REFDAX_BMAP_MAX_DEPTH + 1];
	int pos[REFDAX_BMAP_MAX_DEPTH + 1];
	__u64 bound;	/* first key of the next subtree, or ~0 */
};

struct refdax_btree;

struct refdax_btree_ops {
	/* The key of an entry, leaf or index. */
	__u64 (*key)(const void *ent);
	/* Make @ent an index entry: lowest key @key below node @child. */
	void (*make_index)(void *ent, __u64 key, __u64 child);
	/* Set the key of index entry @ent. */
	void (*set_index_key)(void *ent, __u64 key);
	/* Log @len bytes at @p before they change. */
	int (*log)(struct refdax_btree *t, const void *p, __u32 len);
	/*
	 * Node block @blk, expected at @depth: verified, or -EUCLEAN with
	 * the problem reported by the tree type.
	 */
	int (*read_node)(struct refdax_btree *t, __u64 blk, unsigned int depth,
			 struct refdax_bt_node *n);
	/* A free block for a new node, and where it is mapped. */
	int (*alloc_node)(struct refdax_btree *t, __u64 *blk, void **addr);
	/* Node block @blk is no longer part of the tree. */
	int (*free_node)(struct refdax_btree *t, __u64 blk);
	/* Make @len bytes at @p, never logged, durable. */
	void (*persist)(struct refdax_btree *t, const void *p, __u32 len);
};

struct refdax_btree {
	const struct refdax_btree_ops *ops;
	struct refdax_bmap_hdr *root;	/* the root's header in its owner */
	__u8 *root_ents;
	__u16 magic;			/* of every node, root included */
	__u16 root_max;			/* entries the root holds */
	const char *why;		/* what a failed walk found wrong */
};

static inline unsigned int refdax_bt_nr(const struct refdax_bt_node *n)
{
	return le16_to_cpu(n->hdr->bh_nr);
}

static inline void *refdax_bt_ent(const struct refdax_bt_node *n, int i)
{
	return n->ents + i * REFDAX_BT_ENT;
}

static inline __u64 refdax_bt_child(const void *ent)
{
	__le64 c;

	memcpy(&c, (const __u8 *)ent + 8, sizeof(c));
	return le64_to_cpu(c);
}

/* Last entry of @n whose key is <= @key, or -1. */
int refdax_bt_search(const struct refdax_btree *t,
		     const struct refdax_bt_node *n, __u64 key);
/*
 * Walk from the root to the leaf where @key belongs.  p->pos[depth] is the
 * leaf entry with the greatest key <= @key (-1 if none).  -EUCLEAN with
 * t->why set if the root or an interior node is malformed; read_node
 * reports bad node blocks itself.
 */
int refdax_bt_walk(struct refdax_btree *t, __u64 key, struct refdax_bt_path *p);
/* Insert @ent at @pos of level @level of the path, splitting as needed. */
int refdax_bt_insert(struct refdax_btree *t, struct refdax_bt_path *p,
		     int level, int pos, const void *ent);
/* Remove entry @pos of level @level; nodes left empty are freed. */
int refdax_bt_delete(struct refdax_btree *t, struct refdax_bt_path *p,
		     int level, int pos);
/* Log the header and entries [from, to) of @n before changing them. */
int refdax_bt_log(struct refdax_btree *t, struct refdax_bt_node *n, int from,
		  int to);
/* @n changed in place: refresh its checksum (nodes; roots have none). */
void refdax_bt_done(struct refdax_btree *t, struct refdax_bt_node *n);
/* The first key of p->n[level] changed: update the parents' index keys. */
int refdax_bt_fix_keys(struct refdax_btree *t, struct refdax_bt_path *p,
		       int level);

#endif /* REFDAX_BTREE_H */
