// SPDX-License-Identifier: GPL-2.0
/*
 * The transaction object.
 *
 * A transaction owns everything one metadata update needs besides the
 * media it logs: the journal reservation it was begun with, the work that
 * may only run once it commits (releasing freed blocks, retiring master
 * entries of blocks no longer shared) or that undoes in-memory effects if
 * it aborts (giving back allocated blocks), the change to the free-inode
 * count, and the inodes taking part with their in-memory state as it was
 * when they joined.  An abort therefore leaves both media and memory as
 * they were before the transaction, and no caller keeps its own snapshot.
 *
 * Deferred work is a list of (type, run of blocks) items; the layer owning
 * a type registers its finish and cancel ops at mount (refdax_alloc.c,
 * refdax_master.c), so this file calls nothing above the journal.  Items of
 * one type over adjacent runs merge, so freeing a 1 GiB extent is one item.
 *
 * One transaction runs at a time (the journal is global), so the object is
 * embedded in the superblock info and handed to callers as a pointer.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include "refdax.h"

/* Enough for any transaction: runs, not blocks, are deferred. */
#define RDX_TRANS_MAX_ITEMS	4096U

int refdax_trans_init(struct refdax_sb_info *sbi)
{
	struct refdax_trans *tp = &sbi->trans;

	tp->sbi = sbi;
	tp->max_items = RDX_TRANS_MAX_ITEMS;
	tp->items = kvmalloc_array(tp->max_items, sizeof(*tp->items),
				   GFP_KERNEL);
	return tp->items ? 0 : -ENOMEM;
}

void refdax_trans_exit(struct refdax_sb_info *sbi)
{
	kvfree(sbi->trans.items);
	sbi->trans.items = NULL;
}

void refdax_trans_register(struct refdax_sb_info *sbi,
			   enum refdax_defer_type type,
			   const struct refdax_defer_ops *ops)
{
	sbi->defer_ops[type] = ops;
}

/*
 * Begin a transaction that logs at most @resv bytes.  A reservation larger
 * than the whole journal can never be met: that is a journal too small for
 * the operation, reported as ENOSPC rather than failing midway.
 */
struct refdax_trans *refdax_trans_begin(struct refdax_sb_info *sbi, u64 resv)
{
	struct refdax_trans *tp = &sbi->trans;
	int ret;

	if (resv > refdax_journal_size(sbi))
		return ERR_PTR(-ENOSPC);
	ret = refdax_journal_begin(sbi);
	if (ret)
		return ERR_PTR(ret);
	tp->resv = resv;
	tp->nr_items = 0;
	tp->ino_delta = 0;
	tp->nr_inodes = 0;
	return tp;
}

struct refdax_trans *refdax_trans_current(struct refdax_sb_info *sbi)
{
	return READ_ONCE(sbi->txn_owner) == current ? &sbi->trans : NULL;
}

int refdax_trans_log(struct refdax_trans *tp, const void *ptr, u32 len)
{
	return refdax_journal_log(tp->sbi, ptr, len);
}

u64 refdax_trans_room(struct refdax_trans *tp)
{
	return refdax_journal_room(tp->sbi);
}

/* Deferred items that can still be added. */
unsigned int refdax_trans_defer_room(struct refdax_trans *tp)
{
	return tp->max_items - tp->nr_items;
}

int refdax_trans_defer(struct refdax_trans *tp, enum refdax_defer_type type,
		       u64 start, u64 len)
{
	struct refdax_defer_item *last;

	while (len) {
		u32 n = min_t(u64, len, U32_MAX);

		last = tp->nr_items ? &tp->items[tp->nr_items - 1] : NULL;
		if (last && last->type == type &&
		    last->start + last->len == start &&
		    (u64)last->len + n <= U32_MAX) {
			last->len += n;
		} else {
			if (tp->nr_items == tp->max_items)
				return -ENOSPC;
			tp->items[tp->nr_items++] = (struct refdax_defer_item) {
				.start = start, .len = n, .type = type,
			};
		}
		start += n;
		len -= n;
	}
	return 0;
}

/*
 * Did this transaction allocate @blk?  Such a block needs no undo entry
 * before it is changed again: an abort frees it (its bitmap change is
 * logged), so its old contents never matter.
 */
bool refdax_trans_allocated(struct refdax_trans *tp, u64 blk)
{
	unsigned int i;

	for (i = 0; i < tp->nr_items; i++) {
		const struct refdax_defer_item *it = &tp->items[i];

		if (it->type == RDX_DEFER_ALLOC && blk >= it->start &&
		    blk - it->start < it->len)
			return true;
	}
	return false;
}

/*
 * @inode takes part: remember what an abort must restore.  @cancel, if
 * given, drops caches of the inode's layer that an abort makes stale (a
 * directory's name index).  Joining twice keeps the first snapshot.
 */
void refdax_trans_ijoin(struct refdax_trans *tp, struct inode *inode,
			void (*cancel)(struct inode *inode))
{
	struct refdax_trans_inode *ti;
	unsigned int i;

	for (i = 0; i < tp->nr_inodes; i++) {
		if (tp->inodes[i].inode == inode) {
			if (cancel)
				tp->inodes[i].cancel = cancel;
			return;
		}
	}
	if (WARN_ON_ONCE(tp->nr_inodes == RDX_TRANS_MAX_INODES))
		return;
	ti = &tp->inodes[tp->nr_inodes++];
	ti->inode = inode;
	ti->cancel = cancel;
	ti->size = i_size_read(inode);
	ti->blocks = inode->i_blocks;
	ti->nlink = inode->i_nlink;
	ti->flags = RDX_I(inode)->flags;
	ti->mtime = rdx_get_mtime(inode);
	ti->ctime = inode_get_ctime(inode);
}

static void restore_inode(struct refdax_trans_inode *ti)
{
	struct inode *inode = ti->inode;

	i_size_write(inode, ti->size);
	inode->i_blocks = ti->blocks;
	set_nlink(inode, ti->nlink);
	RDX_I(inode)->flags = ti->flags;
	rdx_set_mtime(inode, ti->mtime);
	inode_set_ctime_to_ts(inode, ti->ctime);
	if (ti->cancel)
		ti->cancel(inode);
}

static void run_items(struct refdax_trans *tp, bool commit)
{
	struct refdax_sb_info *sbi = tp->sbi;
	unsigned int i;

	for (i = 0; i < tp->nr_items; i++) {
		const struct refdax_defer_item *it = &tp->items[i];
		const struct refdax_defer_ops *ops = sbi->defer_ops[it->type];
		void (*fn)(struct refdax_sb_info *sbi, u64 start, u64 len);

		fn = ops ? (commit ? ops->finish : ops->cancel) : NULL;
		if (fn)
			fn(sbi, it->start, it->len);
	}
	tp->nr_items = 0;
}

/*
 * Make the transaction durable, then run its deferred work: freed blocks
 * become reusable only once their release is durable, and a master entry
 * retires only once the count that lets it go is committed.
 */
void refdax_trans_commit(struct refdax_trans *tp)
{
	struct refdax_sb_info *sbi = tp->sbi;

	refdax_journal_commit(sbi);
	run_items(tp, true);
	tp->nr_inodes = 0;
	refdax_journal_end(sbi);
}

/* Put media back through the journal, then memory through the items. */
void refdax_trans_cancel(struct refdax_trans *tp)
{
	struct refdax_sb_info *sbi = tp->sbi;
	unsigned int i;

	refdax_journal_abort(sbi);
	run_items(tp, false);
	sbi->free_inodes -= tp->ino_delta;
	tp->ino_delta = 0;
	for (i = 0; i < tp->nr_inodes; i++)
		restore_inode(&tp->inodes[i]);
	tp->nr_inodes = 0;
	refdax_journal_end(sbi);
}
