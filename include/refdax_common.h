/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code shared by the kernel module and the userspace tools (common/):
 * checksums, name hashing, structure validators and the undo journal.
 * Nothing here touches kernel-only APIs; persistence goes through the
 * struct refdax_pmem callbacks so that userspace can simulate pmem.
 */
#ifndef REFDAX_COMMON_H
#define REFDAX_COMMON_H

#include "refdax_format.h"

#ifndef __KERNEL__
#include <errno.h>
#include <stdbool.h>
#endif

/* ---- checksums and hashing (common/refdax_crc.c) ---- */
__u32 refdax_crc32c(__u32 crc, const void *buf, size_t len);
/* crc32c of @len bytes at @buf, with the 4 bytes at @csum_off read as 0. */
__u32 refdax_csum_skip(const void *buf, size_t len, size_t csum_off);
__u32 refdax_name_hash(const char *name, unsigned int len);

void refdax_super_set_csum(struct refdax_super *sb);
void refdax_inode_set_csum(struct refdax_inode *ri);
void refdax_bmap_node_set_csum(struct refdax_bmap_node *bn);

/* ---- geometry decoded from a validated superblock ---- */
struct refdax_geom {
	__u64 nblocks;
	__u64 journal_start, journal_blocks;
	__u64 ibitmap_start, ibitmap_blocks;
	__u64 itable_start, itable_blocks;
	__u64 ninodes;
	__u64 fsmap_start, fsmap_blocks;
	__u64 data_start;
	__u64 root_ino;
};

/* ---- validators (common/refdax_verify.c) ----
 * Each returns 0 or -EUCLEAN and, on failure, points *why at a short static
 * reason suitable for a one-line log message.
 */
int refdax_check_super(const struct refdax_super *sb, __u64 dev_bytes,
		       struct refdax_geom *geom, const char **why);
/*
 * The reason refdax_check_super() gives for a superblock of another format
 * version; callers that can name both versions (mount, fsck) match it.
 */
#define REFDAX_VERSION_WHY	"unsupported on-media format version"
#define REFDAX_SB_CSUM_WHY	"superblock checksum mismatch"
/*
 * The geometry and fields of a superblock, without its checksum and the
 * refcount root.  A crash inside a transaction that changed the superblock
 * (the orphan list head, the refcount root, the mount state) can leave it
 * torn until journal recovery puts the logged copy back, so a mount or
 * fsck that finds the superblock bad but these sane takes the geometry
 * from here, recovers the journal, and checks the result in full.
 */
int refdax_check_super_fields(const struct refdax_super *sb,
			      __u64 dev_bytes, struct refdax_geom *geom,
			      const char **why);

int refdax_check_inode(const struct refdax_geom *g, __u64 ino,
		       const struct refdax_inode *ri, const char **why);
int refdax_check_bmap_root(const struct refdax_geom *g,
			   const struct refdax_bmap_root *root,
			   const char **why);
int refdax_check_bmap_node(const struct refdax_geom *g,
			   const struct refdax_bmap_node *bn,
			   unsigned int depth, const char **why);
/* Refcount record trees (root in the superblock). */
int refdax_check_refc_root(const struct refdax_geom *g,
			   const struct refdax_bmap_root *root,
			   const char **why);
int refdax_check_refc_node(const struct refdax_geom *g,
			   const struct refdax_bmap_node *bn,
			   unsigned int depth, const char **why);
int refdax_check_extent(const struct refdax_geom *g,
			const struct refdax_extent *ext, const char **why);
int refdax_check_dirblock(const struct refdax_geom *g, const void *block,
			  const char **why);
bool refdax_data_block_ok(const struct refdax_geom *g, __u64 pblk,
			  __u64 len);

/*
 * The free-space bitmap (s_fsmap_start): bit @i, for data block
 * data_start + @i, is bit i % 8 of byte i / 8 (little-endian bit order, as
 * the kernel's *_bit_le helpers).  Set while the block is in use.
 */
static inline int refdax_fsmap_test(const __u8 *map, __u64 i)
{
	return (map[i >> 3] >> (i & 7)) & 1;
}

static inline void refdax_fsmap_set(__u8 *map, __u64 i)
{
	map[i >> 3] |= (__u8)(1U << (i & 7));
}

static inline void refdax_fsmap_clear(__u8 *map, __u64 i)
{
	map[i >> 3] &= (__u8)~(1U << (i & 7));
}

/* ---- persistence primitives ---- */
struct refdax_pmem {
	void *base;			/* the whole device, mapped */
	__u64 size;			/* bytes */
	/* write back the cache lines covering [addr, addr + len) */
	void (*flush)(struct refdax_pmem *pm, const void *addr, size_t len);
	/* order all earlier flushes/stores before later ones (sfence) */
	void (*fence)(struct refdax_pmem *pm);
	/* optional: called after recovery/abort restored [addr, addr+len) */
	void (*restored)(struct refdax_pmem *pm, __u64 addr, __u32 len);
	void *priv;
};

#ifndef __KERNEL__
/*
 * Userspace tools and tests over ordinary memory: a store is as durable as it
 * will ever be once made, so flush and fence have nothing to do.
 */
static inline void refdax_pmem_nop_flush(struct refdax_pmem *pm,
					 const void *addr, size_t len)
{
	(void)pm;
	(void)addr;
	(void)len;
}

static inline void refdax_pmem_nop_fence(struct refdax_pmem *pm)
{
	(void)pm;
}
#endif

/* ---- undo journal (common/refdax_journal.c) ---- */
#define REFDAX_TXN_MAX_RANGES	1024

struct refdax_jrange {
	__u64 addr;			/* byte offset on the device */
	__u64 entry;			/* offset of its entry in the area */
	__u32 len;
};

struct refdax_journal {
	struct refdax_pmem *pm;
	struct refdax_journal_header *hdr;
	__u8 *area;			/* entry area */
	__u64 jstart, jend;		/* journal bytes: never a log target */
	__u64 area_bytes;
	__u64 gen;			/* id of the running/next transaction */
	__u32 seed;			/* entry checksum seed (jh_seed) */
	__u64 tail;			/* bytes used in the entry area */
	__u32 seq;			/* entries in the running transaction */
	__u32 nr_ranges;
	int active;
	struct refdax_jrange ranges[REFDAX_TXN_MAX_RANGES];
};

/* Bytes of the entry area one logged range of @len bytes takes. */
static inline __u64 refdax_jnl_entry_bytes(__u32 len)
{
	__u64 n = sizeof(struct refdax_journal_entry) + len;

	return (n + REFDAX_CACHELINE - 1) & ~(__u64)(REFDAX_CACHELINE - 1);
}

/*
 * The commit word after @gen.  0 and ~0 are never valid generations, so the
 * count wraps from ~0 - 1 to 1.  Entries left with generation 1 from before
 * the wrap cannot be taken for live ones: every mount renews the checksum
 * seed, and a generation runs through 2^64 - 2 commits before it recurs.
 */
static inline __u64 refdax_jnl_next_gen(__u64 gen)
{
	return gen + 1 >= ~0ULL ? 1 : gen + 1;
}

int refdax_jnl_format(struct refdax_pmem *pm, const struct refdax_geom *g);
int refdax_jnl_open(struct refdax_journal *j, struct refdax_pmem *pm,
		    const struct refdax_geom *g, const char **why);
/* Set a new checksum seed; only with no live entries (after recovery). */
void refdax_jnl_reseed(struct refdax_journal *j, __u32 seed);
/* Undo an interrupted transaction.  Returns entries undone or -errno. */
int refdax_jnl_recover(struct refdax_journal *j);
void refdax_jnl_begin(struct refdax_journal *j);
/* Record the old contents of [ptr, ptr + len) before changing it in place. */
int refdax_jnl_log(struct refdax_journal *j, const void *ptr, __u32 len);
/* Bytes still free for entries in the running transaction. */
__u64 refdax_jnl_room(const struct refdax_journal *j);
/*
 * Call @fn for each range recovery would restore, in log order, without
 * restoring anything; returns how many (fsck's check mode copies just
 * those pages privately).  -ENOMEM if out of memory.
 */
int refdax_jnl_live_ranges(struct refdax_journal *j,
			   void (*fn)(void *arg, __u64 addr, __u32 len),
			   void *arg);
void refdax_jnl_commit(struct refdax_journal *j);
/* Put back every logged range and end the transaction as if never begun. */
void refdax_jnl_abort(struct refdax_journal *j);

#endif /* REFDAX_COMMON_H */
