// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax: attribute blocks (refdax_xattr.h).  After the tree nodes,
 * directory and symlink blocks are claimed and before file data is walked,
 * each valid inode's attribute block and remote value runs are verified
 * and claimed as single-user blocks: one that a node or directory block
 * already owns is what gets dropped, file data sharing one is detached.
 * A block that fails its verifier, or that (or whose remote runs) some
 * earlier claim already owns, is dropped when repairing: i_xattr cleared,
 * and the space check then frees what only it used (leaked bits).  The
 * blocks each inode keeps are counted for the i_blocks check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck.h"
#include "refdax_xattr.h"

/* The first block of [pblk, pblk + len) that is claimed already, or 0. */
static __u64 claimed_at(struct fsck *f, __u64 pblk, __u64 len)
{
	const struct blk_claim *c = bm_claimed(&f->bm, pblk, len);

	if (!c)
		return 0;
	return c->start > pblk ? c->start : pblk;
}

/* Each remote run not yet claimed; the first clash found, or 0. */
static __u64 remote_clash(struct fsck *f, const void *b)
{
	const struct refdax_xattr_hdr *h = b;
	const struct refdax_xattr_entry *e;
	__u32 off = REFDAX_XATTR_HDR_LEN, i;
	__u64 at;

	for (i = 0; i < le16_to_cpu(h->xh_count); i++) {
		e = refdax_xattr_entry_at(b, off);
		off += refdax_xattr_entry_len(e);
		if (!e->xe_pblk)
			continue;
		at = claimed_at(f, le64_to_cpu(e->xe_pblk),
				REFDAX_XATTR_REMOTE_BLOCKS(le32_to_cpu(e->xe_vallen)));
		if (at)
			return at;
	}
	return 0;
}

/* Claim the block and its remote runs; the blocks they take. */
static __u64 claim_all(struct fsck *f, __u64 ino, __u64 blk, const void *b)
{
	const struct refdax_xattr_hdr *h = b;
	const struct refdax_xattr_entry *e;
	__u32 off = REFDAX_XATTR_HDR_LEN, i;
	__u64 n = 1, pblk, len;

	bm_add_ref(&f->bm, blk, 1, BK_EXCL, ino, false);
	bm_claim(&f->bm, blk, 1, BK_EXCL);
	for (i = 0; i < le16_to_cpu(h->xh_count); i++) {
		e = refdax_xattr_entry_at(b, off);
		off += refdax_xattr_entry_len(e);
		if (!e->xe_pblk)
			continue;
		pblk = le64_to_cpu(e->xe_pblk);
		len = REFDAX_XATTR_REMOTE_BLOCKS(le32_to_cpu(e->xe_vallen));
		bm_add_ref(&f->bm, pblk, len, BK_EXCL, ino, false);
		bm_claim(&f->bm, pblk, len, BK_EXCL);
		n += len;
	}
	return n;
}

/* What is wrong with inode @ino's attribute block @blk, or NULL. */
static const char *xattr_problem(struct fsck *f, __u64 ino, __u64 blk,
				 char *msg, size_t sz)
{
	const void *b = block_ptr(f, blk);
	const char *why;
	__u64 at;

	if (!(le64_to_cpu(f->sb->s_feature_incompat) &
	      REFDAX_FEAT_INCOMPAT_XATTR))
		return "an attribute block without the XATTR feature";
	if (refdax_check_xattr_block(&f->g, ino, blk, b, &why))
		return why;
	if (claimed_at(f, blk, 1)) {
		snprintf(msg, sz, "attribute block %llu is also used as %s",
			 (unsigned long long)blk,
			 bm_kind_name(bm_kind(&f->bm, blk)));
		return msg;
	}
	at = remote_clash(f, b);
	if (at) {
		snprintf(msg, sz, "remote value block %llu is also used as %s",
			 (unsigned long long)at,
			 bm_kind_name(bm_kind(&f->bm, at)));
		return msg;
	}
	return NULL;
}

void fsck_check_xattrs(struct fsck *f)
{
	struct refdax_inode *ri;
	const char *why;
	char msg[96];
	__u64 ino, blk;

	for (ino = 1; ino < f->g.ninodes; ino++) {
		f->xblocks[ino] = 0;
		if (!(f->istate[ino] & IS_VALID))
			continue;
		ri = &f->itable[ino];
		blk = le64_to_cpu(ri->i_xattr);
		if (!blk)
			continue;
		why = xattr_problem(f, ino, blk, msg, sizeof(msg));
		if (!why) {
			f->xblocks[ino] = claim_all(f, ino, blk,
						    block_ptr(f, blk));
			continue;
		}
		err(f, "inode %llu: xattr block %llu: %s",
		    (unsigned long long)ino, (unsigned long long)blk, why);
		if (fixing(f, FIX_ASK)) {
			ri->i_xattr = 0;
			refdax_inode_set_csum(ri);
			fixed(f, "dropped the extended attributes of inode %llu",
			      (unsigned long long)ino);
		}
	}
}
