/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What fsck.refdax knows about data-area blocks, in memory that grows with
 * the metadata it checks, never with the device:
 *
 * - every reference the tree walks found (an extent, a tree node), in one
 *   growable array, later sorted by physical block;
 * - the claims of blocks that have exactly one user (nodes of either tree,
 *   directory and symlink blocks), as sorted disjoint ranges, queried while
 *   walking;
 * - from both, the expected runs: maximal ranges of blocks with the same
 *   expected reference count and use, computed by one sweep.  Blocks in no
 *   run are free.  The free-space bitmap and the refcount records on media
 *   are compared against these runs.
 */
#ifndef REFDAX_FSCK_BLOCKMAP_H
#define REFDAX_FSCK_BLOCKMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "refdax_types.h"

/* What uses a data block. */
#define BK_FREE		0
#define BK_DATA		1	/* regular file data: may be shared */
#define BK_EXCL		2	/* directory block or block symlink target */
#define BK_NODE		3	/* extent-tree node */
#define BK_BADNODE	4	/* node that failed validation, left in place */
#define BK_REFC		5	/* refcount-tree node: claimed, no reference */

/* A reference to @len blocks from @pblk, found in inode @ino's tree. */
struct blk_ref {
	__u64 pblk;
	__u64 ino;
	__u32 len;
	__u8 kind;		/* BK_DATA, BK_EXCL or BK_NODE */
	__u8 drop;		/* cancels one earlier reference (a freed node) */
};

/* [start, start + len) has one user: BK_EXCL, BK_NODE, BK_BADNODE, BK_REFC */
struct blk_claim {
	__u64 start, len;
	__u8 kind;
};

struct claim_chunk;

struct blockmap {
	struct blk_ref *ref;
	size_t nref, ref_cap;
	size_t sorted;			/* ref[0 .. sorted) is in order */
	struct claim_chunk **chunk;	/* claims, in block order */
	size_t nchunk, chunk_cap;
	struct blk_claim *used;		/* what the allocator must avoid */
	size_t nused;
	bool have_used;
};

/* A maximal run of blocks with one expected count and one kind of claim. */
struct exp_run {
	__u64 start, len;
	__u64 count;			/* references found */
	__u8 kind;			/* the claim (BK_FREE: none) */
};

/* The sweep over the sorted references and the claims; see bm_runs_next(). */
struct run_iter {
	const struct blockmap *bm;
	__u64 *ends;			/* (end block << 1) | drop, sorted */
	size_t nends, ri, ei;
	size_t ci, cj;			/* next claim: chunk, index */
	__u64 pos;			/* sweep position */
	__s64 count;			/* references covering pos */
	const struct blk_claim *in;	/* claim covering pos, if any */
	struct exp_run pending;
	bool have_pending;
};

void bm_init(struct blockmap *bm);
void bm_release(struct blockmap *bm);
void bm_add_ref(struct blockmap *bm, __u64 pblk, __u64 len, __u8 kind,
		__u64 ino, bool drop);
const struct blk_claim *bm_claimed(const struct blockmap *bm, __u64 pblk,
				   __u64 len);
__u8 bm_kind(const struct blockmap *bm, __u64 pblk);
const char *bm_kind_name(__u8 kind);
void bm_claim(struct blockmap *bm, __u64 pblk, __u64 len, __u8 kind);
void bm_unclaim(struct blockmap *bm, __u64 pblk);
void bm_runs_start(struct blockmap *bm, struct run_iter *it);
bool bm_runs_next(struct run_iter *it, struct exp_run *r);
void bm_runs_end(struct run_iter *it);
bool bm_find_free(struct blockmap *bm, __u64 lo, __u64 hi, __u64 from,
		  __u64 *out);
void bm_take(struct blockmap *bm, __u64 pblk, __u8 kind, __u64 ino);

#endif /* REFDAX_FSCK_BLOCKMAP_H */
