// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of the undo journal: persistence primitives for pmem and the
 * one-transaction-at-a-time wrapper around common/refdax_journal.c.
 *
 * Transactions are serialised by txn_lock.  Metadata operations are short
 * and never copy from or to user memory while the lock is held, so a global
 * journal keeps the crash argument simple; per-CPU journals can come later
 * without a format change (the journal region is just split).
 */
#include <linux/libnvdimm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sched.h>
#include <linux/random.h>
#include <asm/cacheflush.h>
#include "refdax.h"

static void rdx_pm_flush(struct refdax_pmem *pm, const void *addr,
			 size_t len)
{
	arch_wb_cache_pmem((void *)addr, len);
	refdax_flushed(pm->priv, addr, len);
}

static void rdx_pm_fence(struct refdax_pmem *pm)
{
	refdax_fence(pm->priv);
}

void refdax_persist(struct refdax_sb_info *sbi, const void *p, size_t len)
{
	arch_wb_cache_pmem((void *)p, len);
	refdax_flushed(sbi, p, len);
}

int refdax_journal_init(struct refdax_sb_info *sbi)
{
	const char *why = NULL;
	int ret;

	sbi->pm.base = sbi->virt;
	sbi->pm.size = sbi->geom.nblocks << REFDAX_BLOCK_SHIFT;
	sbi->pm.flush = rdx_pm_flush;
	sbi->pm.fence = rdx_pm_fence;
	/*
	 * Nothing above the journal is told what a rollback restored: the
	 * transaction object undoes its own in-memory effects (refdax_trans.c).
	 */
	sbi->pm.restored = NULL;
	sbi->pm.priv = sbi;
	mutex_init(&sbi->txn_lock);

	sbi->jnl = kvzalloc(sizeof(*sbi->jnl), GFP_KERNEL);
	if (!sbi->jnl)
		return -ENOMEM;

	ret = refdax_jnl_open(sbi->jnl, &sbi->pm, &sbi->geom, &why);
	if (ret) {
		pr_err("refdax: %s: %s\n", sbi->sb->s_id, why);
		return ret;
	}
	/* Recover even for read-only mounts: readers need consistency. */
	if (sbi->dev_ro)
		return 0;
	ret = refdax_jnl_recover(sbi->jnl);
	if (ret < 0)
		return ret;
	if (ret > 0)
		pr_info("refdax: %s: journal recovery undid %d entries\n",
			sbi->sb->s_id, ret);
	/* A fresh secret: no stale slot can pass for an entry of this mount. */
	refdax_jnl_reseed(sbi->jnl, get_random_u32());
	return 0;
}

void refdax_journal_exit(struct refdax_sb_info *sbi)
{
	kvfree(sbi->jnl);
	sbi->jnl = NULL;
}

/*
 * The raw journal, one transaction at a time under txn_lock; the
 * transaction object (refdax_trans.c) is built on these.
 */
int refdax_journal_begin(struct refdax_sb_info *sbi)
{
	if (sbi->shutdown || sb_rdonly(sbi->sb))
		return -EROFS;
	mutex_lock(&sbi->txn_lock);
	if (sbi->shutdown) {
		mutex_unlock(&sbi->txn_lock);
		return -EROFS;
	}
	sbi->txn_owner = current;
	refdax_jnl_begin(sbi->jnl);
	return 0;
}

int refdax_journal_log(struct refdax_sb_info *sbi, const void *ptr, u32 len)
{
	int ret;

	if (WARN_ON_ONCE(READ_ONCE(sbi->txn_owner) != current))
		return -EINVAL;
	ret = refdax_jnl_log(sbi->jnl, ptr, len);
	if (ret)
		pr_err_ratelimited("refdax: journal entry failed (%d), %llu bytes free\n",
				   ret, refdax_jnl_room(sbi->jnl));
	return ret;
}

u64 refdax_journal_room(struct refdax_sb_info *sbi)
{
	return refdax_jnl_room(sbi->jnl);
}

u64 refdax_journal_size(struct refdax_sb_info *sbi)
{
	return sbi->jnl->area_bytes;
}

/* Make the running transaction durable; the caller still holds it. */
void refdax_journal_commit(struct refdax_sb_info *sbi)
{
	refdax_jnl_commit(sbi->jnl);
}

/* Put back what the running transaction logged; the caller holds it. */
void refdax_journal_abort(struct refdax_sb_info *sbi)
{
	refdax_jnl_abort(sbi->jnl);
}

/* Let the next transaction begin. */
void refdax_journal_end(struct refdax_sb_info *sbi)
{
	atomic64_inc(&sbi->stat_txns);
	sbi->txn_owner = NULL;
	mutex_unlock(&sbi->txn_lock);
}
