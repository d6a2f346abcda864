/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsck.refdax internals shared by the checker (fsck_refdax.c) and the
 * repair helpers (fsck_repair.c).
 */
#ifndef REFDAX_FSCK_H
#define REFDAX_FSCK_H

#include <stdbool.h>
#include <stddef.h>

#include "refdax_common.h"
#include "fsck_compiler.h"
#include "fsck_blockmap.h"
#include "refdax_tools.h"

#define PROG		"fsck.refdax"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define EXIT_CLEAN	0
#define EXIT_FIXED	1
#define EXIT_UNCORRECTED 4
#define EXIT_OPERROR	8
#define EXIT_USAGE	16

enum fsck_mode {
	MODE_CHECK,		/* -n, or no mode given: change nothing */
	MODE_PREEN,		/* -p, -a: apply the safe repairs only */
	MODE_YES,		/* -y: apply every repair */
};

/* Whether preen mode may apply a repair without asking a human. */
#define FIX_SAFE	true
#define FIX_ASK		false

/* A refcount record, in host order. */
struct refc_rec {
	__u64 start, len;
	__u32 count;
};

/* The refcount record tree found on media (fsck_refc.c). */
struct refc_found {
	struct refc_rec *rec;	/* its records, in block order */
	size_t nrec, rec_cap;
	__u64 *node;		/* its node blocks */
	size_t nnode, node_cap;
	unsigned long problems;	/* structural errors: it must be rebuilt */
};

/* per-inode state bits */
#define IS_INUSE	0x01	/* bitmap bit set */
#define IS_VALID	0x02	/* passed the validator */
#define IS_DIR		0x04
#define IS_ORPHANED	0x08	/* on the orphan list */
#define IS_REACHED	0x10	/* reachable from the root */
#define IS_TREE_OK	0x20	/* extent tree walked without errors left */
#define IS_TREE_BAD	0x40	/* tree-node problems left in place */

struct fsck {
	const char *path;
	int verbose;
	enum fsck_mode mode;
	int fd;
	struct refdax_dev dev;	/* kind, size and mapping unit */
	__u8 *map;		/* the device: read-only when checking */
	__u64 dev_bytes;
	__u64 map_bytes;
	__u64 *priv_pages;	/* check mode: units given a private copy */
	size_t npriv;
	struct refdax_geom g;
	struct refdax_super *sb;
	__u8 *ibitmap;
	struct refdax_inode *itable;
	__u8 *fsmap;		/* the free-space bitmap */
	struct refc_found rc;
	__u64 data_blocks;
	struct blockmap bm;	/* references and claims the walks found */
	__u8 *istate;
	__u32 *refs;		/* directory entries naming each inode */
	__u32 *subdirs;		/* subdirectory entries in each dir */
	__u64 *dparent;		/* dir holding a directory's entry */
	__u64 *xblocks;		/* attribute blocks each inode keeps */
	__u64 (*edges)[2];	/* (directory, child) for every live entry */
	size_t nedges, edges_cap;
	__u64 *adj_start;	/* edges by directory, for reachability */
	__u64 *adj;
	__u64 *queue;
	__u64 lost_found;	/* 0: not looked up yet, ~0: unusable */
	__u64 alloc_hint;	/* data-block index to search from */
	unsigned long errors;	/* problems found in this pass */
	unsigned long warnings;
	unsigned long fixes;	/* repairs applied in this pass */
	unsigned long manual;	/* repairs preen mode left for -y */
	int shown;		/* the last problem was printed */
	__u32 other_version;	/* superblock of another format version */
	bool sb_deferred;	/* superblock judged after journal recovery */
};

void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n, size_t sz);
__printf(2, 3) void err(struct fsck *f, const char *fmt, ...);
__printf(2, 3) void warn(struct fsck *f, const char *fmt, ...);
__printf(2, 3) void info(struct fsck *f, const char *fmt, ...);
bool fixing(struct fsck *f, bool safe);
__printf(2, 3) void fixed(struct fsck *f, const char *fmt, ...);

static inline int bit_set(const __u8 *bm, __u64 nr)
{
	return (bm[nr / 8] >> (nr % 8)) & 1;
}

static inline void set_bit_le(__u8 *bm, __u64 nr)
{
	bm[nr / 8] |= (__u8)(1U << (nr % 8));
}

static inline void clear_bit_le(__u8 *bm, __u64 nr)
{
	bm[nr / 8] &= (__u8)~(1U << (nr % 8));
}

static inline void *block_ptr(const struct fsck *f, __u64 pblk)
{
	return f->map + pblk * REFDAX_BLOCK_SIZE;
}

static inline unsigned int mode_to_dt(__u16 mode)
{
	return (mode >> 12) & 15;
}

/* fsck_map.c */
int fsck_map_device(struct fsck *f);
void fsck_unmap_device(struct fsck *f);
void fsck_make_private(struct fsck *f, const void *addr, __u64 len);
void fsck_private_journal(struct fsck *f, struct refdax_journal *j);
void fsck_release(struct fsck *f, const void *addr, __u64 len);
void fsck_stream(struct fsck *f, const void **done, const void *pos);

/* fsck_refc.c */
void fsck_refc_walk(struct fsck *f);
void fsck_refc_empty_root(struct refdax_bmap_root *root);
int fsck_refc_rebuild(struct fsck *f, const struct refc_rec *want,
		      size_t nwant);
void fsck_refc_release(struct fsck *f);

/* fsck_space.c */
typedef void (*run_fn)(struct fsck *f, const struct exp_run *r, void *arg);
void fsck_visit_runs(struct fsck *f, run_fn fn, void *arg);
void fsck_check_space(struct fsck *f, __u64 *used, __u64 *shared);

/* fsck_xattr.c */
void fsck_check_xattrs(struct fsck *f);

/* fsck_repair.c */
__u64 fsck_find_free_block(struct fsck *f);
__u64 fsck_bmap(struct fsck *f, const struct refdax_inode *ri, __u64 lblk);
void fsck_kill_dirent(__u8 *blk, unsigned int off);
__u64 fsck_dir_lookup(struct fsck *f, __u64 dir, const char *name);
int fsck_dir_add(struct fsck *f, __u64 dir, const char *name, __u64 ino,
		 unsigned int dt);
int fsck_reconnect(struct fsck *f, __u64 ino);
void fsck_free_inode(struct fsck *f, __u64 ino);
/* How a bad directory block can be mended (SALVAGE_*), doing it if @apply. */
#define SALVAGE_HASHES	1	/* only name hashes are wrong */
#define SALVAGE_ENTRIES	2	/* some entries must go */
#define SALVAGE_BLOCK	3	/* the record chain is broken: empty it */
int fsck_salvage_dirblock(struct fsck *f, __u8 *blk, bool apply);

#endif /* REFDAX_FSCK_H */
