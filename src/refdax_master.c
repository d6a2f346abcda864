// SPDX-License-Identifier: GPL-2.0
/*
 * The master-page table and per-file shadow mappings.
 *
 * A block shared by several files (reflink) is mapped read-only into every
 * file that faults on it, all from the one physical page.  For such a block
 * the filesystem keeps a master entry, keyed by physical block in a per-sb
 * xarray: it holds the lock that serialises copy-on-write of the block
 * across all files (files that know nothing of each other) and the reverse
 * map of its live shadows.  A shadow is one file's record, at one page
 * offset, that its mapping was handed the master's page; it sits in the
 * file's own xarray keyed by page offset and on the master's list.
 *
 * Like fs/dax.c's per-mapping entries, a shadow lives until the file's
 * mapping of that offset is invalidated (copy-on-write, truncate, punch,
 * remap, eviction), not until munmap, which filesystems are not told about.
 * The master entry goes away with its last shadow, and at the latest when
 * the block stops being shared: the transaction that takes blocks down to
 * one reference defers their runs (RDX_DEFER_UNSHARED), and once it has
 * committed, a worker retires the entries it finds in those runs, so
 * unlinking a clone costs per master entry, not per block.
 */
#include <linux/slab.h>
#include <linux/xarray.h>
#include "refdax.h"

struct refdax_master {
	u64 pblk;
	refcount_t users;		/* shadows + callers holding it */
	struct mutex lock;		/* serialises CoW of this block */
	spinlock_t slock;		/* protects shadows */
	struct list_head shadows;
	unsigned int nr_shadows;
	struct rcu_head rcu;
};

/* A run of blocks that stopped being shared, waiting for the worker. */
struct refdax_unshared {
	struct list_head link;
	u64 start, len;
};

struct refdax_shadow {
	struct refdax_master *m;
	struct inode *inode;
	pgoff_t pgoff;
	struct list_head link;		/* on m->shadows */
};

static void retire_work_fn(struct work_struct *work);
static const struct refdax_defer_ops unshared_defer_ops;

void refdax_master_init(struct refdax_sb_info *sbi)
{
	xa_init(&sbi->masters);
	spin_lock_init(&sbi->unshared_lock);
	INIT_LIST_HEAD(&sbi->unshared);
	INIT_WORK(&sbi->retire_work, retire_work_fn);
	refdax_trans_register(sbi, RDX_DEFER_UNSHARED, &unshared_defer_ops);
}

void refdax_master_exit(struct refdax_sb_info *sbi)
{
	/* Runs queued by the last transactions are retired before this. */
	flush_work(&sbi->retire_work);
	/* Evicting every inode dropped every shadow, hence every entry. */
	WARN_ON_ONCE(!xa_empty(&sbi->masters));
	xa_destroy(&sbi->masters);
}

/* The live entry of @pblk with a reference taken, or NULL. */
static struct refdax_master *master_find(struct refdax_sb_info *sbi, u64 pblk)
{
	struct refdax_master *m;

	rcu_read_lock();
	m = xa_load(&sbi->masters, pblk);
	if (m && !refcount_inc_not_zero(&m->users))
		m = NULL;
	rcu_read_unlock();
	return m;
}

struct refdax_master *refdax_master_get(struct refdax_sb_info *sbi, u64 pblk)
{
	struct refdax_master *m, *old;

	for (;;) {
		m = master_find(sbi, pblk);
		if (m)
			return m;

		m = kzalloc(sizeof(*m), GFP_KERNEL);
		if (!m)
			return ERR_PTR(-ENOMEM);
		m->pblk = pblk;
		refcount_set(&m->users, 1);
		mutex_init(&m->lock);
		spin_lock_init(&m->slock);
		INIT_LIST_HEAD(&m->shadows);
		old = xa_cmpxchg(&sbi->masters, pblk, NULL, m, GFP_KERNEL);
		if (!old) {
			atomic64_inc(&sbi->stat_masters);
			return m;
		}
		kfree(m);
		if (xa_is_err(old))
			return ERR_PTR(xa_err(old));
		/* Lost a race, or found a dying entry: look again. */
		cond_resched();
	}
}

void refdax_master_put(struct refdax_sb_info *sbi, struct refdax_master *m)
{
	if (!refcount_dec_and_test(&m->users))
		return;
	xa_cmpxchg(&sbi->masters, m->pblk, m, NULL, 0);
	atomic64_dec(&sbi->stat_masters);
	kfree_rcu(m, rcu);
}

void refdax_master_lock(struct refdax_master *m)
{
	mutex_lock(&m->lock);
}

void refdax_master_unlock(struct refdax_master *m)
{
	mutex_unlock(&m->lock);
}

unsigned int refdax_master_shadows(struct refdax_master *m)
{
	return READ_ONCE(m->nr_shadows);
}

/* Record that @inode's mapping at @pgoff was handed @m's page. */
int refdax_shadow_add(struct inode *inode, pgoff_t pgoff,
		      struct refdax_master *m)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_shadow *s, *old;

	s = xa_load(&ri->shadows, pgoff);
	if (s && s->m == m)
		return 0;
	if (s)
		refdax_shadow_drop(inode, pgoff);
	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->m = m;
	s->inode = inode;
	s->pgoff = pgoff;
	old = xa_cmpxchg(&ri->shadows, pgoff, NULL, s, GFP_KERNEL);
	if (old) {
		kfree(s);
		return xa_is_err(old) ? xa_err(old) : 0;
	}
	refcount_inc(&m->users);
	spin_lock(&m->slock);
	list_add(&s->link, &m->shadows);
	m->nr_shadows++;
	spin_unlock(&m->slock);
	atomic64_inc(&sbi->stat_shadows);
	return 0;
}

static void shadow_free(struct refdax_sb_info *sbi, struct refdax_shadow *s)
{
	struct refdax_master *m = s->m;

	spin_lock(&m->slock);
	list_del(&s->link);
	m->nr_shadows--;
	spin_unlock(&m->slock);
	kfree(s);
	atomic64_dec(&sbi->stat_shadows);
	refdax_master_put(sbi, m);
}

void refdax_shadow_drop(struct inode *inode, pgoff_t pgoff)
{
	struct refdax_shadow *s = xa_erase(&RDX_I(inode)->shadows, pgoff);

	if (s)
		shadow_free(RDX_SB(inode->i_sb), s);
}

void refdax_shadow_drop_range(struct inode *inode, pgoff_t first,
			      pgoff_t last)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_shadow *s;
	unsigned long idx;

	if (xa_empty(&ri->shadows))
		return;
	/*
	 * Free only what xa_erase() hands back: the retire worker may have
	 * claimed the shadow (xa_cmpxchg) since the walk saw it.
	 */
	xa_for_each_range(&ri->shadows, idx, s, first, last) {
		s = xa_erase(&ri->shadows, idx);
		if (s)
			shadow_free(RDX_SB(inode->i_sb), s);
	}
}

/*
 * Zap every mapping of @pblk's page that was handed out through a shadow
 * (memory failure: every owner must refault).  Returns how many.
 */
unsigned int refdax_master_unmap_shadows(struct refdax_sb_info *sbi, u64 pblk)
{
	struct refdax_master *m;
	struct refdax_shadow *s;
	struct inode **inodes;
	pgoff_t *offs;
	unsigned int n = 0, i, max;

	m = master_find(sbi, pblk);
	if (!m)
		return 0;
	/* Snapshot the list with inode references, then unmap outside. */
	refdax_master_lock(m);
	max = m->nr_shadows;
	inodes = kcalloc(max, sizeof(*inodes), GFP_NOFS);
	offs = kcalloc(max, sizeof(*offs), GFP_NOFS);
	if (inodes && offs) {
		spin_lock(&m->slock);
		list_for_each_entry(s, &m->shadows, link) {
			if (n == max)
				break;
			inodes[n] = igrab(s->inode);
			if (inodes[n])
				offs[n++] = s->pgoff;
		}
		spin_unlock(&m->slock);
	}
	refdax_master_unlock(m);
	for (i = 0; i < n; i++) {
		unmap_mapping_pages(inodes[i]->i_mapping, offs[i], 1, true);
		iput(inodes[i]);
	}
	kfree(inodes);
	kfree(offs);
	refdax_master_put(sbi, m);
	return n;
}

/*
 * @pblk's count dropped to one: it is no longer shared, so its master entry
 * goes.  The one file still holding a shadow keeps its read-only pte (its
 * next store finds the block private and just makes it writable) and moves
 * to the owner map, where memory-failure handling still finds it.
 */
static void retire_master(struct refdax_sb_info *sbi, u64 pblk)
{
	struct refdax_master *m;
	struct refdax_shadow *s, *tmp;
	LIST_HEAD(gone);

	m = master_find(sbi, pblk);
	if (!m)
		return;
	refdax_master_lock(m);
	if (refdax_refcount_get(sbi, pblk) == 1) {
		spin_lock(&m->slock);
		list_for_each_entry_safe(s, tmp, &m->shadows, link) {
			struct refdax_inode_info *ri = RDX_I(s->inode);

			/* Whoever erases the xarray slot frees the shadow. */
			if (xa_cmpxchg(&ri->shadows, s->pgoff, s, NULL, 0) != s)
				continue;
			refdax_owner_set_atomic(sbi, pblk, s->inode->i_ino,
						s->pgoff);
			list_move(&s->link, &gone);
			m->nr_shadows--;
		}
		spin_unlock(&m->slock);
	}
	refdax_master_unlock(m);
	list_for_each_entry_safe(s, tmp, &gone, link) {
		kfree(s);
		atomic64_dec(&sbi->stat_shadows);
		refdax_master_put(sbi, m);
	}
	refdax_master_put(sbi, m);
}

/* Retire the entries of every block in [start, start+len) that has one. */
static void retire_run(struct refdax_sb_info *sbi, u64 start, u64 len)
{
	unsigned long idx = start;
	void *entry;

	xa_for_each_range(&sbi->masters, idx, entry, start, start + len - 1) {
		retire_master(sbi, idx);
		cond_resched();
	}
}

static void retire_work_fn(struct work_struct *work)
{
	struct refdax_sb_info *sbi = container_of(work, struct refdax_sb_info,
						  retire_work);
	struct refdax_unshared *u;

	/*
	 * Runs are queued only after their transaction committed, so the
	 * counts read here are durable; retire_master() reads them again
	 * under the entry's lock, since a later clone may share them anew.
	 */
	for (;;) {
		spin_lock(&sbi->unshared_lock);
		u = list_first_entry_or_null(&sbi->unshared,
					     struct refdax_unshared, link);
		if (u)
			list_del(&u->link);
		spin_unlock(&sbi->unshared_lock);
		if (!u)
			break;
		retire_run(sbi, u->start, u->len);
		kfree(u);
	}
}

/*
 * A committed transaction took [start, start+len) from two references to
 * one.  Nothing to do when no block has a master entry (the common case).
 * If the run cannot be queued, the entries simply stay until their last
 * shadow goes: a master of an unshared block is only a stale cache.
 */
static void unshared_finish(struct refdax_sb_info *sbi, u64 start, u64 len)
{
	struct refdax_unshared *u;
	unsigned long idx = start;

	if (!xa_find(&sbi->masters, &idx, start + len - 1, XA_PRESENT))
		return;
	u = kmalloc(sizeof(*u), GFP_NOFS);
	if (!u)
		return;
	u->start = start;
	u->len = len;
	spin_lock(&sbi->unshared_lock);
	list_add_tail(&u->link, &sbi->unshared);
	spin_unlock(&sbi->unshared_lock);
	queue_work(system_unbound_wq, &sbi->retire_work);
}

static const struct refdax_defer_ops unshared_defer_ops = {
	.finish = unshared_finish,
};

size_t refdax_master_entry_bytes(void)
{
	return sizeof(struct refdax_master);
}

size_t refdax_shadow_entry_bytes(void)
{
	return sizeof(struct refdax_shadow);
}
