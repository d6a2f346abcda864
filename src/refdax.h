/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refdax in-kernel structures and the interfaces between the module's files.
 *
 * Extended attributes: i_rwsem -> refdax_inode_info.xattr_sem -> txn_lock;
 * a new inode's attributes are written inside its create transaction
 * without xattr_sem (nobody else can see the inode yet).
 *
 * Lock order (outermost first), regular files:
 *   i_rwsem (VFS) -> mapping->invalidate_lock -> master entry lock
 *   -> refdax_inode_info.bmap_sem -> refdax_sb_info.txn_lock (the journal)
 *   -> refdax_sb_info.alloc_lock
 * Directories: i_rwsem -> txn_lock -> dir_lock -> bmap_sem; a directory's
 * bmap_sem has its own lockdep class, since a namespace operation begins
 * its transaction before it knows which directory blocks it touches.
 * Faults take invalidate_lock shared and never i_rwsem, so user copies made
 * under i_rwsem may fault on refdax mappings without deadlock.  No user
 * copy is ever made while bmap_sem or the journal is held.
 */
#ifndef REFDAX_H
#define REFDAX_H

#include <linux/fs.h>
#include <linux/dax.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/kobject.h>
#include <linux/xarray.h>
#include <linux/completion.h>
#include <linux/workqueue.h>
#include <linux/string.h>
#include <asm/barrier.h>
#include "refdax_common.h"
#include "refdax_btree.h"
#include "refdax_compat.h"

#define REFDAX_FSNAME "refdax"

struct refdax_sb_info;
struct xattr_handler;
struct posix_acl;

/*
 * Work a transaction defers to its end (refdax_trans.c), as XFS's defer
 * ops: each item is a run of physical blocks and a type; the layer that
 * owns the type registers what to do with the run once the transaction
 * commits (finish) or aborts (cancel).  Items of one type over adjacent
 * runs merge, so the cost follows extents, not blocks.
 */
enum refdax_defer_type {
	RDX_DEFER_ALLOC,	/* blocks handed out: cancel gives them back */
	RDX_DEFER_FREE,		/* blocks freed on media: finish releases */
	RDX_DEFER_UNSHARED,	/* blocks down to one reference: retire */
	RDX_DEFER_NR
};

struct refdax_defer_ops {
	void (*finish)(struct refdax_sb_info *sbi, u64 start, u64 len);
	void (*cancel)(struct refdax_sb_info *sbi, u64 start, u64 len);
};

struct refdax_defer_item {
	u64 start;
	u32 len;
	u32 type;		/* enum refdax_defer_type */
};

/* An inode taking part in a transaction, as it was when it joined. */
struct refdax_trans_inode {
	struct inode *inode;
	void (*cancel)(struct inode *inode);	/* caches to drop on abort */
	loff_t size;
	blkcnt_t blocks;
	unsigned int nlink;
	u32 flags;
	struct timespec64 mtime, ctime;
};

#define RDX_TRANS_MAX_INODES	8

/*
 * One metadata transaction: the journal reservation it was begun with, the
 * work deferred to its end, the inode-number count change, and the inodes
 * taking part, whose in-memory state an abort puts back.
 */
struct refdax_trans {
	struct refdax_sb_info *sbi;
	u64 resv;			/* journal bytes it may log */
	struct refdax_defer_item *items;
	unsigned int nr_items, max_items;
	s64 ino_delta;			/* free_inodes change */
	unsigned int nr_inodes;
	struct refdax_trans_inode inodes[RDX_TRANS_MAX_INODES];
};

struct refdax_sb_info {
	struct super_block *sb;
	struct dax_device *dax_dev;
	u64 dax_part_off;		/* partition start, bytes */
	dev_t dax_chr;			/* device-dax mount: its char device */
	bool dev_ro;			/* read-only block device (at mount) */
	struct rcu_head rcu;		/* freed after a grace period */
	void *virt;			/* kaddr of block 0 */
	unsigned long pfn0;		/* pfn of block 0 */
	u64 pfn_flags;			/* pfn_t flags from dax_direct_access */
	u64 size;			/* bytes mapped */
	struct refdax_geom geom;
	struct refdax_super *rsb;	/* on pmem */
	const char *sb_why;		/* what was wrong before recovery */
	struct refdax_pmem pm;

	/* journal: one transaction at a time (refdax_trans.c) */
	struct mutex txn_lock;
	struct task_struct *txn_owner;
	struct refdax_journal *jnl;
	struct refdax_trans trans;	/* the running one, under txn_lock */
	const struct refdax_defer_ops *defer_ops[RDX_DEFER_NR];

	/* refcount records (refdax_refcount.c): root in rsb->s_refc_root */
	struct rw_semaphore refc_sem;	/* lookups against changes */
	struct refdax_btree_ops refc_ops;

	/* allocator: in-memory copy of the free-space bitmap */
	spinlock_t alloc_lock;
	unsigned long *used_map;
	/*
	 * Tree nodes (extent or refcount) whose checksum and entries were verified since
	 * mount (or that this mount wrote), one bit per data-area block: a
	 * node is checked in full on its first visit only, as XFS verifies a
	 * buffer when it is read in.
	 */
	unsigned long *node_ok;
	u64 data_blocks;
	u64 free_blocks;
	u64 large_hint;		/* next-fit for whole free chunks */
	u64 small_hint;		/* next-fit in partly used chunks */
	u64 keep_from;		/* small allocations leave this chunk's rest */
	bool no_free_chunk;	/* the last search found none; nothing freed since */
	struct xarray busy_blocks;	/* freed but still pinned by GUP */
	struct delayed_work busy_work;
	u64 free_inodes;
	u64 ino_hint;

	/* orphans: unlinked inodes still open, mirrored from media */
	struct mutex orphan_lock;

	/* master-page table: shared blocks mapped by at least one file */
	struct xarray masters;		/* block -> 4 KiB master entry */
	struct xarray huge_masters;	/* 2 MiB chunk -> PMD master entry */
	spinlock_t unshared_lock;	/* protects unshared */
	struct list_head unshared;	/* runs whose masters may retire */
	struct work_struct retire_work;
	atomic64_t stat_masters;
	atomic64_t stat_shadows;
	atomic64_t stat_cow_faults;
	atomic64_t stat_cow_ops;
	atomic64_t stat_cow_bytes;

	/* memory failure: owner of each mapped private block, bad blocks */
	struct xarray owners;
	struct xarray bad_blocks;
	atomic64_t stat_mem_failures;

	unsigned int errors;		/* REFDAX_ERRORS_* */
	bool shutdown;
	struct kobject kobj;
	struct completion kobj_done;
	atomic64_t stat_txns;
	atomic64_t stat_faults;
	atomic64_t stat_pmd_faults;	/* PMDs mapped */

	/* store tracer (refdax_trace.c); NULL unless this mount is traced */
	struct refdax_tracer *tracer;
};

/* In-memory index of one directory's names (refdax_dir.c). */
struct refdax_dir_index;

struct refdax_inode_info {
	struct inode vfs_inode;
	struct rw_semaphore bmap_sem;	/* protects the extent tree */
	struct rw_semaphore xattr_sem;	/* the attribute block (xattr.c) */
	struct mutex dir_lock;		/* builds/updates dir index */
	struct refdax_dir_index *dir;	/* NULL until first use */
	u32 flags;			/* REFDAX_IFL_* */
	struct xarray shadows;		/* pgoff -> refdax_shadow */
	struct xarray huge_shadows;	/* PMD's first pgoff -> shadow */
	/* pages written through shared mappings since the last fsync */
	struct xarray dirty;		/* pgoff / 32 -> bitmap (refdax_dirty.c) */
	unsigned long dirty_flags;	/* REFDAX_DIRTY_ALL */
};

static inline struct refdax_sb_info *RDX_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct refdax_inode_info *RDX_I(struct inode *inode)
{
	return container_of(inode, struct refdax_inode_info, vfs_inode);
}

static inline void *rdx_block(struct refdax_sb_info *sbi, u64 blk)
{
	return (u8 *)sbi->virt + (blk << REFDAX_BLOCK_SHIFT);
}

static inline struct refdax_inode *rdx_pinode(struct refdax_sb_info *sbi,
					      u64 ino)
{
	u8 *table = rdx_block(sbi, sbi->geom.itable_start);

	return (struct refdax_inode *)(table + ino * REFDAX_INODE_SIZE);
}

/* refdax_super.c */
__printf(3, 4) void refdax_fs_error(struct super_block *sb,
				    const char *func, const char *fmt, ...);
#define refdax_error(sb, fmt, ...) \
	refdax_fs_error(sb, __func__, fmt, ##__VA_ARGS__)
int refdax_sync_super(struct refdax_sb_info *sbi);
int refdax_flush_device(struct refdax_sb_info *sbi);

/*
 * The module's files form layers: a file calls only into files below it
 * (scripts/layering.py, run by make lint, checks that no chain of calls
 * between files loops), and work that must run above a layer at the end of
 * a transaction goes through the defer ops each layer registers.  From the
 * bottom up: journal and trace; trans; resv; owner; alloc; refcount;
 * master; bmap; inode; xattr; acl; dir; iomap; reflink; dirty; then mf,
 * fault, file, iops and namei; then sysfs and super.
 */

/* refdax_journal.c: the undo journal on pmem, one transaction at a time. */
int refdax_journal_init(struct refdax_sb_info *sbi);
void refdax_journal_exit(struct refdax_sb_info *sbi);
void refdax_persist(struct refdax_sb_info *sbi, const void *p, size_t len);
int refdax_journal_begin(struct refdax_sb_info *sbi);
int refdax_journal_log(struct refdax_sb_info *sbi, const void *ptr, u32 len);
void refdax_journal_commit(struct refdax_sb_info *sbi);
void refdax_journal_abort(struct refdax_sb_info *sbi);
void refdax_journal_end(struct refdax_sb_info *sbi);
u64 refdax_journal_room(struct refdax_sb_info *sbi);
u64 refdax_journal_size(struct refdax_sb_info *sbi);

/*
 * refdax_trans.c: the transaction object.  refdax_trans_begin() returns
 * ERR_PTR(-EROFS) once the filesystem is shut down or read-only, and
 * -ENOSPC if @resv exceeds the journal.  refdax_trans_log() must precede
 * every in-place change of metadata; a failure there is a bug in sizing and
 * the caller cancels.  Commit runs the deferred work; cancel undoes the
 * media through the journal and, through the defer ops and the joined
 * inodes' snapshots, the in-memory state.
 */
struct refdax_trans *refdax_trans_begin(struct refdax_sb_info *sbi, u64 resv);
int refdax_trans_log(struct refdax_trans *tp, const void *ptr, u32 len);
u64 refdax_trans_room(struct refdax_trans *tp);
int refdax_trans_defer(struct refdax_trans *tp, enum refdax_defer_type type,
		       u64 start, u64 len);
unsigned int refdax_trans_defer_room(struct refdax_trans *tp);
bool refdax_trans_allocated(struct refdax_trans *tp, u64 blk);
void refdax_trans_ijoin(struct refdax_trans *tp, struct inode *inode,
			void (*cancel)(struct inode *inode));
void refdax_trans_commit(struct refdax_trans *tp);
void refdax_trans_cancel(struct refdax_trans *tp);
/* The running transaction if the caller began it, else NULL. */
struct refdax_trans *refdax_trans_current(struct refdax_sb_info *sbi);
void refdax_trans_register(struct refdax_sb_info *sbi,
			   enum refdax_defer_type type,
			   const struct refdax_defer_ops *ops);
int refdax_trans_init(struct refdax_sb_info *sbi);
void refdax_trans_exit(struct refdax_sb_info *sbi);

/*
 * refdax_resv.c: how many journal bytes each kind of update logs, in one
 * place (XFS's xfs_trans_resv.c); transactions are sized from these.
 */
u64 refdax_resv_inode(void);
u64 refdax_resv_tree_update(unsigned int depth);
u64 refdax_resv_refc_change(unsigned int depth);
u64 refdax_resv_fit_blocks(struct refdax_trans *tp, u64 reserve,
			   unsigned int times);
bool refdax_resv_room_for_run(struct refdax_trans *tp, u64 reserve);
u64 refdax_resv_small(void);
u64 refdax_resv_data(void);
/* One attribute set or removal; the attributes of a new inode. */
u64 refdax_resv_xattr(void);
u64 refdax_resv_new_attrs(void);
/* Blocks one transaction moves at most, for latency, whatever the room. */
/* Remap costs per record, not per block: bounded by the journal room only. */
#define RDX_STEP_REMAP		REFDAX_EXT_MAX_LEN
#define RDX_STEP_COW		4096U
#define RDX_STEP_ALLOC		65536U
#define RDX_STEP_REMOVE		65536U
#define RDX_STEP_FALLOC		16384U

/*
 * refdax_trace.c: store tracer for crash enumeration, off unless armed
 * through debugfs.  Every flush and fence of metadata or data goes through
 * the helpers below, which cost one unlikely branch when tracing is off.
 */
struct refdax_tracer;
void refdax_trace_flush(struct refdax_sb_info *sbi, const void *p, size_t len);
void refdax_trace_fence(struct refdax_sb_info *sbi);
void refdax_trace_attach(struct refdax_sb_info *sbi);
void refdax_trace_detach(struct refdax_sb_info *sbi);
void refdax_trace_init(void);
void refdax_trace_exit(void);

/* Order all earlier flushes and non-temporal stores before later stores. */
static inline void refdax_fence(struct refdax_sb_info *sbi)
{
	pmem_wmb();
	if (unlikely(READ_ONCE(sbi->tracer)))
		refdax_trace_fence(sbi);
}

/* @p..@len was just written with non-temporal stores (or flushed). */
static inline void refdax_flushed(struct refdax_sb_info *sbi, const void *p,
				  size_t len)
{
	if (unlikely(READ_ONCE(sbi->tracer)))
		refdax_trace_flush(sbi, p, len);
}

static inline void refdax_copy_flushcache(struct refdax_sb_info *sbi,
					  void *dst, const void *src,
					  size_t len)
{
	memcpy_flushcache(dst, src, len);
	refdax_flushed(sbi, dst, len);
}

/* refdax_owner.c: owner map of private mapped blocks, bad blocks. */
void refdax_owner_init(struct refdax_sb_info *sbi);
void refdax_owner_exit(struct refdax_sb_info *sbi);
void refdax_owner_set(struct refdax_sb_info *sbi, u64 pblk, u64 ino,
		      pgoff_t pgoff);
void refdax_owner_set_atomic(struct refdax_sb_info *sbi, u64 pblk, u64 ino,
			     pgoff_t pgoff);
void refdax_owner_clear(struct refdax_sb_info *sbi, u64 pblk);
bool refdax_owner_get(struct refdax_sb_info *sbi, u64 pblk, u64 *ino,
		      pgoff_t *pgoff);
void refdax_bad_block_add(struct refdax_sb_info *sbi, u64 pblk);
bool refdax_block_bad(struct refdax_sb_info *sbi, u64 pblk, u64 len);

/* refdax_alloc.c: free space and inode numbers, inside a transaction. */
int refdax_alloc_init(struct refdax_sb_info *sbi);
void refdax_alloc_exit(struct refdax_sb_info *sbi);
/* Allocate up to @want blocks (at least 1) as one run, one reference each.
 * @align: 1 (metadata: packed into partly used 2 MiB chunks), or
 * REFDAX_HUGE_BLOCKS to start a whole free 2 MiB chunk if @want fills one.
 * Returns the first block and the length in *@got, or -ENOSPC.
 */
int refdax_alloc_blocks(struct refdax_trans *tp, u64 want, u64 align,
			u64 *first, u64 *got);
/* The same for file data at file block @lblk: placed so 2 MiB pieces of the
 * file can be mapped with huge pages; @goal is the block that would continue
 * the file's previous extent in place, or 0.
 */
int refdax_alloc_data(struct refdax_trans *tp, u64 lblk, u64 want, u64 goal,
		      u64 *first, u64 *got);
/* Free [first, first+len) on media; memory releases it when @tp commits. */
int refdax_free_blocks(struct refdax_trans *tp, u64 first, u64 len);
/* Whether every block of the run is in use in the free-space bitmap. */
bool refdax_blocks_in_use(struct refdax_sb_info *sbi, u64 first, u64 len);
/* Inode numbers: allocate marks the bitmap bit, free clears it. */
int refdax_alloc_ino(struct refdax_trans *tp, u64 *ino);
int refdax_free_ino(struct refdax_trans *tp, u64 ino);
/* Tree nodes (either tree): checked in full on the first visit only. */
typedef int (*refdax_node_verify_t)(const struct refdax_geom *g,
				    const struct refdax_bmap_node *bn,
				    unsigned int depth, const char **why);
int refdax_read_tree_node(struct refdax_sb_info *sbi, u64 blk, u16 magic,
			  unsigned int depth, refdax_node_verify_t verify,
			  struct refdax_bt_node *n, const char **why);
void refdax_tree_node_written(struct refdax_sb_info *sbi, u64 blk);
/* Zero blocks on media and flush them (no fence). */
void refdax_zero_blocks(struct refdax_sb_info *sbi, u64 first, u64 len);

/* refdax_refcount.c: how many extent references each data block has. */
void refdax_refcount_init(struct refdax_sb_info *sbi);
/* 0 for a free block, 1 for a private one, N for one shared N ways. */
u32 refdax_refcount_get(struct refdax_sb_info *sbi, u64 blk);
/* Blocks from @pblk (at most @len) whose sharing is @shared. */
u64 refdax_refcount_run(struct refdax_sb_info *sbi, u64 pblk, u64 len,
			bool shared);
bool refdax_refcount_any_shared(struct refdax_sb_info *sbi, u64 pblk,
				u64 len);
u64 refdax_refcount_shared(struct refdax_sb_info *sbi, u64 *records);
/* Journal bytes the smallest count change of a run may log. */
u64 refdax_refcount_reserve(struct refdax_sb_info *sbi);
/* Blocks of a run whose count change fits beside @reserve (at least 1). */
u64 refdax_refcount_fit(struct refdax_trans *tp, u64 first, u64 len,
			u64 reserve);
/* One more reference to each block of a run (reflink). */
int refdax_refcount_inc(struct refdax_trans *tp, u64 first, u64 len);
/* One reference less; blocks reaching 0 are freed at commit. */
int refdax_refcount_dec(struct refdax_trans *tp, u64 first, u64 len);

/* refdax_master.c: master-page table and per-file shadows */
struct refdax_master;
int refdax_master_cache_init(void);
void refdax_master_cache_exit(void);
void refdax_master_init(struct refdax_sb_info *sbi);
void refdax_master_exit(struct refdax_sb_info *sbi);
struct refdax_master *refdax_master_get(struct refdax_sb_info *sbi, u64 pblk,
					bool huge);
void refdax_master_put(struct refdax_sb_info *sbi, struct refdax_master *m);
void refdax_master_lock(struct refdax_master *m);
void refdax_master_unlock(struct refdax_master *m);
int refdax_shadow_add(struct inode *inode, pgoff_t pgoff,
		      struct refdax_master *m);
void refdax_shadow_drop(struct inode *inode, pgoff_t pgoff, bool huge);
void refdax_shadow_drop_range(struct inode *inode, pgoff_t first,
			      pgoff_t last);
unsigned int refdax_master_unmap_shadows(struct refdax_sb_info *sbi,
					 u64 pblk);
size_t refdax_master_entry_bytes(void);
size_t refdax_shadow_entry_bytes(void);

/* refdax_bmap.c: the extent tree.  Callers hold bmap_sem (write for
 * changes) and, for changes, a transaction.
 *
 * refdax_bmap_lookup: 0 and *@pblk, *@len for the mapped run starting at
 * @lblk (len clipped to the extent), or 1 for a hole and *@len = blocks to
 * the next mapped block (or to REFDAX_MAX_LBLK + 1).
 */
int refdax_bmap_lookup(struct inode *inode, u64 lblk, u64 *pblk, u64 *len);
/* Map [lblk, lblk+len) to [pblk, ...); the range must be a hole. */
int refdax_bmap_insert(struct refdax_trans *tp, struct inode *inode,
		       u64 lblk, u64 pblk, u64 len);
u64 refdax_bmap_txn_reserve(struct inode *inode);
/* Unmap [lblk, lblk+len), dropping block references.  Stops early (and
 * returns 1) when the transaction is running out of room; the caller
 * commits and calls again.  Returns 0 when the range is fully unmapped.
 */
int refdax_bmap_remove(struct refdax_trans *tp, struct inode *inode,
		       u64 lblk, u64 len);
void refdax_bmap_init_root(struct refdax_bmap_root *root);
/* Allocate and map zeroed blocks for the holes of [lblk, lblk+len), or a
 * prefix of them when the transaction runs out of room: *@done says how
 * far it got (@done may be NULL).
 */
int refdax_bmap_alloc_range(struct refdax_trans *tp, struct inode *inode,
			    u64 lblk, u64 len, u64 *done);
/* Split the extent holding @lblk at @lblk (insert range). */
int refdax_bmap_split(struct refdax_trans *tp, struct inode *inode, u64 lblk);
/* Move the extents of [floor, ceil) by @by blocks (collapse and insert
 * range); stops early and returns 1 when the transaction runs out of room,
 * *@next saying where to go on (refdax_bmap.c).
 */
int refdax_bmap_shift(struct refdax_trans *tp, struct inode *inode,
		      u64 *next, u64 floor, u64 ceil, u64 by, bool left);

/* refdax_inode.c: media inodes */
struct inode *refdax_iget(struct super_block *sb, u64 ino);
/* The same for a number and generation from a file handle: -ESTALE for
 * anything but that live inode, and no corruption report.
 */
struct inode *refdax_iget_handle(struct super_block *sb, u64 ino, u32 gen);
/* New inode in @dir with @mode, inside a running transaction. */
struct inode *refdax_new_inode(struct refdax_trans *tp, struct inode *dir,
			       umode_t mode, dev_t rdev);
/* Copy the VFS inode into its media inode, logged, checksummed. */
int refdax_write_inode_txn(struct refdax_trans *tp, struct inode *inode);
/* Same, in a transaction of its own (or the caller's running one). */
int refdax_update_inode(struct inode *inode);
int refdax_write_inode(struct inode *inode, struct writeback_control *wbc);
int refdax_orphan_add(struct refdax_trans *tp, struct inode *inode);
int refdax_orphan_del(struct refdax_trans *tp, struct inode *inode);
int refdax_orphan_recover(struct super_block *sb);
void refdax_set_inode_ops(struct inode *inode);
/* Set S_APPEND, S_IMMUTABLE, S_NOATIME from the inode's REFDAX_IFL_*. */
void refdax_set_iflags(struct inode *inode);

/*
 * refdax_xattr.c: extended attributes in one attribute block per inode
 * (refdax_format.h).  refdax_xattr_set_txn() runs inside the caller's
 * transaction, which must reserve refdax_resv_xattr() for each call, with
 * xattr_sem held for write or on an inode nobody else can see yet; a
 * @value of NULL removes.
 */
struct refdax_xattr_req {
	u8 ns;				/* REFDAX_XATTR_NS_* */
	const char *name;
	u32 namelen;
	const void *value;		/* NULL: remove */
	u32 size;
	int flags;			/* XATTR_CREATE, XATTR_REPLACE */
};

extern const struct xattr_handler *RDX_XATTR_ARRAY_CONST
	refdax_xattr_handlers[];
int refdax_xattr_get(struct inode *inode, u8 ns, const char *name,
		     void *buf, size_t size);
int refdax_xattr_set_txn(struct refdax_trans *tp, struct inode *inode,
			 const struct refdax_xattr_req *rq);
int refdax_xattr_set(struct inode *inode, const struct refdax_xattr_req *rq);
ssize_t refdax_listxattr(struct dentry *dentry, char *buf, size_t size);
/* Free the attribute block and remote values of an inode being freed. */
int refdax_xattr_free_all(struct refdax_trans *tp, struct inode *inode);

/*
 * refdax_acl.c: POSIX ACLs kept as attributes, and the attributes a new
 * inode gets at create.  Every create path (O_TMPFILE too) calls
 * refdax_new_attrs_prepare() before its transaction (it may adjust @mode
 * and read @dir's default ACL), refdax_new_attrs_init() inside it once
 * the inode exists (reserving refdax_resv_new_attrs()), and
 * refdax_new_attrs_release() at the end.
 */
struct refdax_new_attrs {
	struct posix_acl *default_acl, *acl;
};

struct posix_acl *refdax_get_acl(struct inode *inode, int type, bool rcu);
int refdax_set_acl(struct rdx_idmap *idmap, struct rdx_acl_target *target,
		   struct posix_acl *acl, int type);
int refdax_new_attrs_prepare(struct inode *dir, umode_t *mode,
			     struct refdax_new_attrs *na);
int refdax_new_attrs_init(struct refdax_trans *tp, struct inode *dir,
			  struct inode *inode, const struct qstr *qstr,
			  const struct refdax_new_attrs *na);
void refdax_new_attrs_release(struct refdax_new_attrs *na);

/* refdax_dir.c: directory contents and the in-memory name index.
 * Changes run inside a transaction with the directory's i_rwsem held.
 */
extern const struct file_operations refdax_dir_ops;
int refdax_dir_find(struct inode *dir, const struct qstr *name, u64 *ino,
		    u64 *pos);
int refdax_dir_add(struct refdax_trans *tp, struct inode *dir,
		   const struct qstr *name, u64 ino, umode_t mode);
int refdax_dir_remove(struct refdax_trans *tp, struct inode *dir,
		      const struct qstr *name);
/* Point the existing entry @name at @ino (rename over / exchange). */
int refdax_dir_retarget(struct refdax_trans *tp, struct inode *dir,
			const struct qstr *name, u64 ino, umode_t mode);
bool refdax_dir_empty(struct inode *dir);
void refdax_dir_index_free(struct refdax_inode_info *ri);

/* refdax_iomap.c: transactional block mapping for the data paths.
 *
 * refdax_get_block: look up @lblk; with @want > 0 a hole there is first
 * filled with up to @want zeroed blocks (zero-page mappings of them are
 * removed).  Returns 0 with the mapped run, 1 for a hole (only when
 * @want == 0), or -errno.
 */
int refdax_get_block(struct inode *inode, u64 lblk, u64 want,
		     u64 *pblk, u64 *len);
/* Unmap [lblk, lblk+len) in bounded transactions (truncate, punch). */
int refdax_remove_range(struct inode *inode, u64 lblk, u64 len);
/* Allocate zeroed blocks for the holes of [lblk, end) (fallocate). */
int refdax_alloc_file_range(struct inode *inode, u64 lblk, u64 end);
/* Collapse [lblk, lblk+len) out of the file's map, or insert a hole of
 * @len blocks at @lblk (split there first), in bounded transactions;
 * i_size is the caller's.
 */
int refdax_collapse_blocks(struct inode *inode, u64 lblk, u64 len);
int refdax_split_blocks(struct inode *inode, u64 lblk);
int refdax_insert_blocks(struct inode *inode, u64 lblk, u64 len);

/* refdax_reflink.c */
int refdax_unshare_range_locked(struct inode *inode, u64 lblk, u64 len);
int refdax_unshare_for_write(struct inode *inode, loff_t pos, size_t count);
/* Zero from @pos to the end of its block, if that block is mapped; a
 * shared block is unshared first.  Caller holds invalidate_lock (excl).
 */
int refdax_zero_tail(struct inode *inode, loff_t pos);
int refdax_cow_fault(struct inode *inode, pgoff_t pgoff, u64 old);
vm_fault_t refdax_map_shared(struct vm_fault *vmf, u64 pblk);
vm_fault_t refdax_map_shared_huge(struct vm_fault *vmf, pgoff_t pgoff,
				  u64 pblk);
loff_t refdax_remap_file_range(struct file *file_in, loff_t pos_in,
			       struct file *file_out, loff_t pos_out,
			       loff_t len, unsigned int flags);

/* refdax_mf.c: memory failure */
extern const struct dax_holder_operations refdax_dax_holder_ops;

/* refdax_iops.c: inode operations of regular files and special inodes */
int refdax_truncate_blocks(struct inode *inode, loff_t newsize);
void refdax_evict_inode(struct inode *inode);
int refdax_setattr(struct rdx_idmap *idmap, struct dentry *dentry, struct iattr *attr);
int refdax_getattr(struct rdx_idmap *idmap, const struct path *path, struct kstat *st,
		   u32 request_mask, unsigned int query_flags);
extern const struct inode_operations refdax_file_inode_ops;
extern const struct inode_operations refdax_special_inode_ops;
extern const struct inode_operations refdax_symlink_inode_ops;

/* refdax_fileattr.c: file flags (chattr, FS_IOC_FSSETXATTR) */
struct rdx_fileattr;
int refdax_fileattr_get(struct dentry *dentry, struct rdx_fileattr *fa);
int refdax_fileattr_set(struct rdx_idmap *idmap, struct dentry *dentry,
			struct rdx_fileattr *fa);

/* refdax_export.c: file handles (open_by_handle_at, NFS, overlayfs) */
extern const struct export_operations refdax_export_ops;

/* refdax_sysfs.c */
int refdax_sysfs_init(void);
void refdax_sysfs_exit(void);
int refdax_sysfs_register(struct refdax_sb_info *sbi);
void refdax_sysfs_unregister(struct refdax_sb_info *sbi);

/* refdax_namei.c */
extern const struct inode_operations refdax_dir_inode_ops;

/* refdax_file.c */
extern const struct file_operations refdax_file_ops;

/* refdax_dirty.c: pages stored to through shared mappings */
#define REFDAX_DIRTY_ALL	0	/* bit: the set overflowed */
void refdax_mark_mmap_dirty(struct inode *inode, pgoff_t pgoff,
			    unsigned long nr);
int refdax_flush_mmap_dirty(struct inode *inode);
int refdax_flush_mmap_dirty_sb(struct super_block *sb);
void refdax_dirty_forget(struct inode *inode);
void refdax_dirty_moved(struct inode *inode, pgoff_t pgoff);

/* refdax_fault.c */
int refdax_file_mmap(struct file *file, struct vm_area_struct *vma);
extern const struct vm_operations_struct refdax_vm_ops;

#endif /* REFDAX_H */
