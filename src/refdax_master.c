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

/*
 * Entries are sized for the fault path's memory budget: 64 bytes per
 * master (56 and the free pointer the slab keeps beside objects that may
 * be read after freeing), 32 per shadow, from caches of their own.
 * Masters are freed SLAB_TYPESAFE_BY_RCU rather than with an rcu_head: a
 * lockless lookup may find an entry that was freed and reused meanwhile,
 * so it checks, once it holds a reference, that the entry is still the
 * table's entry for its key.  Shadows hang off their master on a singly linked list: taking
 * one off walks the list, which holds one shadow per file and offset
 * mapping the block (the sharing degree), to save a pointer per shadow.
 */
struct refdax_master {
	u64 id;				/* block, or MASTER_HUGE | chunk's first */
	refcount_t users;		/* shadows + callers holding it */
	spinlock_t slock;		/* protects shadows */
	struct mutex lock;		/* serialises CoW of this block */
	struct refdax_shadow *shadows;
};

/* A 2 MiB chunk mapped by PMDs; block numbers never reach this bit. */
#define MASTER_HUGE	BIT_ULL(63)

/* A run of blocks that stopped being shared, waiting for the worker. */
struct refdax_unshared {
	struct list_head link;
	u64 start, len;
};

struct refdax_shadow {
	struct refdax_master *m;
	struct inode *inode;
	pgoff_t pgoff;			/* a PMD's first page if m is huge */
	struct refdax_shadow *next;	/* on m->shadows */
};

static struct kmem_cache *master_cache;
static struct kmem_cache *shadow_cache;

static void retire_work_fn(struct work_struct *work);
static const struct refdax_defer_ops unshared_defer_ops;

static void master_ctor(void *p)
{
	struct refdax_master *m = p;

	spin_lock_init(&m->slock);
	mutex_init(&m->lock);
	refcount_set(&m->users, 0);
}

int refdax_master_cache_init(void)
{
	master_cache = kmem_cache_create("refdax_master",
					 sizeof(struct refdax_master), 0,
					 SLAB_TYPESAFE_BY_RCU | SLAB_ACCOUNT,
					 master_ctor);
	shadow_cache = KMEM_CACHE(refdax_shadow, SLAB_ACCOUNT);
	if (master_cache && shadow_cache)
		return 0;
	refdax_master_cache_exit();
	return -ENOMEM;
}

void refdax_master_cache_exit(void)
{
	kmem_cache_destroy(master_cache);
	kmem_cache_destroy(shadow_cache);
	master_cache = NULL;
	shadow_cache = NULL;
}

void refdax_master_init(struct refdax_sb_info *sbi)
{
	xa_init(&sbi->masters);
	xa_init(&sbi->huge_masters);
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
	WARN_ON_ONCE(!xa_empty(&sbi->huge_masters));
	xa_destroy(&sbi->masters);
	xa_destroy(&sbi->huge_masters);
}

/* 4 KiB entries are keyed by block, 2 MiB ones by chunk. */
static struct xarray *master_table(struct refdax_sb_info *sbi, bool huge)
{
	return huge ? &sbi->huge_masters : &sbi->masters;
}

static unsigned long master_key(u64 pblk, bool huge)
{
	return huge ? pblk / REFDAX_HUGE_BLOCKS : pblk;
}

static bool master_huge(const struct refdax_master *m)
{
	return m->id & MASTER_HUGE;
}

/* The entry's block, or the first block of its chunk. */
static u64 master_pblk(const struct refdax_master *m)
{
	return m->id & ~MASTER_HUGE;
}

static u64 master_id(u64 pblk, bool huge)
{
	return huge ? pblk | MASTER_HUGE : pblk;
}

/* The live entry of @pblk with a reference taken, or NULL. */
static struct refdax_master *master_find(struct refdax_sb_info *sbi,
					 u64 pblk, bool huge)
{
	struct xarray *xa = master_table(sbi, huge);
	unsigned long key = master_key(pblk, huge);
	struct refdax_master *m;

	rcu_read_lock();
	for (;;) {
		m = xa_load(xa, key);
		if (!m)
			break;
		if (!refcount_inc_not_zero(&m->users)) {
			m = NULL;	/* dying: its put clears the slot */
			break;
		}
		/* Pairs with the smp_wmb() before an entry's users is set. */
		smp_rmb();
		if (m->id == master_id(pblk, huge) && xa_load(xa, key) == m)
			break;
		/* Freed and reused meanwhile: not ours. */
		rcu_read_unlock();
		refdax_master_put(sbi, m);
		rcu_read_lock();
	}
	rcu_read_unlock();
	return m;
}

/*
 * The entry of block @pblk, or with @huge of the 2 MiB chunk that starts
 * at @pblk, created if there is none; with a reference held.
 */
struct refdax_master *refdax_master_get(struct refdax_sb_info *sbi, u64 pblk,
					bool huge)
{
	struct xarray *xa = master_table(sbi, huge);
	struct refdax_master *m, *old;

	for (;;) {
		m = master_find(sbi, pblk, huge);
		if (m)
			return m;

		m = kmem_cache_alloc(master_cache, GFP_KERNEL);
		if (!m)
			return ERR_PTR(-ENOMEM);
		m->id = master_id(pblk, huge);
		m->shadows = NULL;
		/* A stale lookup may see this object: key first, then users. */
		smp_wmb();
		refcount_set(&m->users, 1);
		old = xa_cmpxchg(xa, master_key(pblk, huge), NULL, m,
				 GFP_KERNEL);
		if (!old) {
			atomic64_inc(&sbi->stat_masters);
			return m;
		}
		/* Not in the table: a stale lookup's put may free it. */
		refdax_master_put(sbi, m);
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
	if (xa_cmpxchg(master_table(sbi, master_huge(m)),
		       master_key(master_pblk(m), master_huge(m)), m, NULL,
		       0) == m)
		atomic64_dec(&sbi->stat_masters);
	kmem_cache_free(master_cache, m);
}

void refdax_master_lock(struct refdax_master *m)
{
	mutex_lock(&m->lock);
}

void refdax_master_unlock(struct refdax_master *m)
{
	mutex_unlock(&m->lock);
}

static struct xarray *shadow_table(struct inode *inode, bool huge)
{
	struct refdax_inode_info *ri = RDX_I(inode);

	return huge ? &ri->huge_shadows : &ri->shadows;
}

/*
 * Record that @inode's mapping at @pgoff was handed @m's page, or its
 * 2 MiB chunk when @m is huge (@pgoff is then the PMD's first page).
 */
int refdax_shadow_add(struct inode *inode, pgoff_t pgoff,
		      struct refdax_master *m)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct xarray *xa = shadow_table(inode, master_huge(m));
	struct refdax_shadow *s, *old;

	s = xa_load(xa, pgoff);
	if (s && s->m == m)
		return 0;
	if (s)
		refdax_shadow_drop(inode, pgoff, master_huge(m));
	s = kmem_cache_alloc(shadow_cache, GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->m = m;
	s->inode = inode;
	s->pgoff = pgoff;
	old = xa_cmpxchg(xa, pgoff, NULL, s, GFP_KERNEL);
	if (old) {
		kmem_cache_free(shadow_cache, s);
		return xa_is_err(old) ? xa_err(old) : 0;
	}
	refcount_inc(&m->users);
	spin_lock(&m->slock);
	s->next = m->shadows;
	m->shadows = s;
	spin_unlock(&m->slock);
	atomic64_inc(&sbi->stat_shadows);
	return 0;
}

/* Take @s off its master's list; m->slock held. */
static void shadow_unlink(struct refdax_master *m, struct refdax_shadow *s)
{
	struct refdax_shadow **pp = &m->shadows;

	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
}

static void shadow_free(struct refdax_sb_info *sbi, struct refdax_shadow *s)
{
	struct refdax_master *m = s->m;

	spin_lock(&m->slock);
	shadow_unlink(m, s);
	spin_unlock(&m->slock);
	kmem_cache_free(shadow_cache, s);
	atomic64_dec(&sbi->stat_shadows);
	refdax_master_put(sbi, m);
}

void refdax_shadow_drop(struct inode *inode, pgoff_t pgoff, bool huge)
{
	struct refdax_shadow *s = xa_erase(shadow_table(inode, huge), pgoff);

	if (s)
		shadow_free(RDX_SB(inode->i_sb), s);
}

static void drop_range(struct inode *inode, struct xarray *xa,
		       pgoff_t first, pgoff_t last)
{
	struct refdax_shadow *s;
	unsigned long idx;

	if (xa_empty(xa))
		return;
	/*
	 * Free only what xa_erase() hands back: the retire worker may have
	 * claimed the shadow (xa_cmpxchg) since the walk saw it.
	 */
	xa_for_each_range(xa, idx, s, first, last) {
		s = xa_erase(xa, idx);
		if (s)
			shadow_free(RDX_SB(inode->i_sb), s);
	}
}

/* Every shadow, 4 KiB or 2 MiB, that covers a page of [first, last]. */
void refdax_shadow_drop_range(struct inode *inode, pgoff_t first,
			      pgoff_t last)
{
	drop_range(inode, &RDX_I(inode)->shadows, first, last);
	drop_range(inode, &RDX_I(inode)->huge_shadows,
		   round_down(first, REFDAX_HUGE_BLOCKS), last);
}

/* Snapshot @m's shadows as (inode reference, page) pairs; m->lock held. */
static unsigned int snapshot_shadows(struct refdax_master *m, u64 pblk,
				     struct inode **inodes, pgoff_t *offs,
				     unsigned int max)
{
	struct refdax_shadow *s;
	unsigned int n = 0;

	spin_lock(&m->slock);
	for (s = m->shadows; s && n < max; s = s->next) {
		inodes[n] = igrab(s->inode);
		if (inodes[n])
			offs[n++] = s->pgoff + (pblk - master_pblk(m));
	}
	spin_unlock(&m->slock);
	return n;
}

static unsigned int count_shadows(struct refdax_master *m)
{
	struct refdax_shadow *s;
	unsigned int n = 0;

	spin_lock(&m->slock);
	for (s = m->shadows; s; s = s->next)
		n++;
	spin_unlock(&m->slock);
	return n;
}

/* Zap the mappings handed out through one entry's shadows. */
static unsigned int unmap_entry(struct refdax_sb_info *sbi, u64 pblk,
				bool huge)
{
	struct refdax_master *m;
	struct inode **inodes;
	pgoff_t *offs;
	unsigned int n = 0, i, max;

	m = master_find(sbi, huge ? round_down(pblk, REFDAX_HUGE_BLOCKS) :
			pblk, huge);
	if (!m)
		return 0;
	/* Shadows are only added under the lock: the list can only shrink. */
	refdax_master_lock(m);
	max = count_shadows(m);
	inodes = kcalloc(max, sizeof(*inodes), GFP_NOFS);
	offs = kcalloc(max, sizeof(*offs), GFP_NOFS);
	if (inodes && offs)
		n = snapshot_shadows(m, pblk, inodes, offs, max);
	refdax_master_unlock(m);
	/* Zapping one page of a PMD zaps the PMD: the refault sees poison. */
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
 * Zap every mapping of @pblk's page that was handed out through a shadow,
 * 4 KiB or as part of a PMD (memory failure: every owner must refault).
 * Returns how many.
 */
unsigned int refdax_master_unmap_shadows(struct refdax_sb_info *sbi, u64 pblk)
{
	return unmap_entry(sbi, pblk, false) + unmap_entry(sbi, pblk, true);
}

/*
 * The entry's blocks are no longer shared (for a chunk: none of its 512),
 * so the entry goes.  The one file still holding a shadow keeps its
 * read-only mapping (its next store finds the block private and just makes
 * it writable) and moves to the owner map, where memory-failure handling
 * still finds it.  Called with m->lock held.
 */
static struct refdax_shadow *retire_shadows(struct refdax_sb_info *sbi,
					    struct refdax_master *m)
{
	struct refdax_shadow *s, *next, *gone = NULL;

	spin_lock(&m->slock);
	for (s = m->shadows; s; s = next) {
		next = s->next;
		/* Whoever erases the xarray slot frees the shadow. */
		if (xa_cmpxchg(shadow_table(s->inode, master_huge(m)), s->pgoff,
			       s, NULL, 0) != s)
			continue;
		refdax_owner_set_atomic(sbi, master_pblk(m), s->inode->i_ino,
					s->pgoff);
		shadow_unlink(m, s);
		s->next = gone;
		gone = s;
	}
	spin_unlock(&m->slock);
	return gone;
}

static void retire_master(struct refdax_sb_info *sbi, u64 pblk, bool huge)
{
	u64 nblk = huge ? REFDAX_HUGE_BLOCKS : 1;
	struct refdax_shadow *s, *gone = NULL;
	struct refdax_master *m;

	m = master_find(sbi, pblk, huge);
	if (!m)
		return;
	refdax_master_lock(m);
	if (refdax_refcount_run(sbi, pblk, nblk, false) == nblk &&
	    refdax_blocks_in_use(sbi, pblk, nblk))
		gone = retire_shadows(sbi, m);
	refdax_master_unlock(m);
	while ((s = gone)) {
		gone = s->next;
		kmem_cache_free(shadow_cache, s);
		atomic64_dec(&sbi->stat_shadows);
		refdax_master_put(sbi, m);
	}
	refdax_master_put(sbi, m);
}

/* Retire the entries of every block and chunk in [start, start+len). */
static void retire_run(struct refdax_sb_info *sbi, u64 start, u64 len)
{
	unsigned long idx = start;
	void *entry;

	xa_for_each_range(&sbi->masters, idx, entry, start, start + len - 1) {
		retire_master(sbi, idx, false);
		cond_resched();
	}
	xa_for_each_range(&sbi->huge_masters, idx, entry,
			  start / REFDAX_HUGE_BLOCKS,
			  (start + len - 1) / REFDAX_HUGE_BLOCKS) {
		retire_master(sbi, (u64)idx * REFDAX_HUGE_BLOCKS, true);
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
 * one.  Nothing to do when no block or chunk of it has a master entry (the
 * common case).
 * If the run cannot be queued, the entries simply stay until their last
 * shadow goes: a master of an unshared block is only a stale cache.
 */
static void unshared_finish(struct refdax_sb_info *sbi, u64 start, u64 len)
{
	unsigned long idx = start, chunk = start / REFDAX_HUGE_BLOCKS;
	struct refdax_unshared *u;

	if (!xa_find(&sbi->masters, &idx, start + len - 1, XA_PRESENT) &&
	    !xa_find(&sbi->huge_masters, &chunk,
		     (start + len - 1) / REFDAX_HUGE_BLOCKS, XA_PRESENT))
		return;
	u = kmalloc(sizeof(*u), GFP_NOFS);
	if (!u)
		return;
	u->start = start;
	u->len = len;
	spin_lock(&sbi->unshared_lock);
	list_add_tail(&u->link, &sbi->unshared);
	spin_unlock(&sbi->unshared_lock);
	queue_work(rdx_unbound_wq, &sbi->retire_work);
}

static const struct refdax_defer_ops unshared_defer_ops = {
	.finish = unshared_finish,
};

/* Per entry as the slab lays it out: the free pointer sits beside it. */
size_t refdax_master_entry_bytes(void)
{
	return ALIGN(sizeof(struct refdax_master) + sizeof(void *),
		     sizeof(void *));
}

size_t refdax_shadow_entry_bytes(void)
{
	return sizeof(struct refdax_shadow);
}
