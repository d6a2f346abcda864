/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Refcount records over the generic B+tree (common/refdax_refc.c), shared
 * by the kernel and fsck.  The caller sets up a struct refdax_btree whose
 * root and node I/O it owns, with refdax_refc_tree_ops() for the keys.
 */
#ifndef REFDAX_REFC_H
#define REFDAX_REFC_H

#include "refdax_btree.h"

/* What a change did to the blocks it touched, for the caller to act on. */
struct refdax_refc_notify {
	/* [start, start+len) lost its last reference: the blocks are free */
	int (*freed)(struct refdax_refc_notify *nf, __u64 start, __u64 len);
	/* [start, start+len) went down to one reference: no longer shared */
	int (*unshared)(struct refdax_refc_notify *nf, __u64 start,
			__u64 len);
};

/* The key, index-entry and key-update ops of a refcount record tree. */
void refdax_refc_tree_ops(struct refdax_btree_ops *ops);
/* An empty record-tree root, as mkfs writes it and fsck rebuilds from. */
void refdax_refc_init_root(struct refdax_bmap_root *root);
/* @t: the record tree rooted at @root, with the caller's node I/O @ops. */
void refdax_refc_tree_init(struct refdax_btree *t,
			   const struct refdax_btree_ops *ops,
			   struct refdax_bmap_root *root);

/*
 * The count of block @blk: the record covering it (*@start, *@len, return
 * its count), or 1 for a block no record covers, with *@start = @blk and
 * *@len the blocks up to the next record (or ~0 - @blk if none).  The
 * caller knows whether the block is mapped at all.  Negative errno if the
 * tree is malformed.
 */
int refdax_refc_lookup(struct refdax_btree *t, __u64 blk, __u64 *start,
		       __u64 *len, __u32 *count);
/*
 * Add @delta (+1 or -1) to the count of every block of [start, start+len).
 * Blocks with no record count 1: +1 gives them a record of 2, -1 frees
 * them (nf->freed).  Records split at the ends of the range, a record
 * reaching 1 goes (nf->unshared), and records that end up adjacent with
 * equal counts at the range's edges merge.  -EMLINK, before any change, if
 * a count would pass REFDAX_REFCOUNT_MAX.
 */
int refdax_refc_adjust(struct refdax_btree *t, __u64 start, __u64 len,
		       int delta, struct refdax_refc_notify *nf);
/*
 * Blocks from @start (at most @len) an adjust can cover while changing at
 * most @max_changes records (a split, a new record, a changed or deleted
 * one each count one); at least 1.  Callers size a change by the journal
 * room each record change may need.
 */
__u64 refdax_refc_span(struct refdax_btree *t, __u64 start, __u64 len,
		       unsigned int max_changes);

#endif /* REFDAX_REFC_H */
