/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attribute blocks (the structures are in refdax_format.h): the verifier
 * and entry accessors, shared by the kernel module, fsck, the corrupt-image
 * generator and the fuzz targets (common/refdax_xattr.c).
 */
#ifndef REFDAX_XATTR_H
#define REFDAX_XATTR_H

#include "refdax_common.h"

#define REFDAX_XATTR_HDR_LEN	((__u32)sizeof(struct refdax_xattr_hdr))
/* Entries in a block: at least one byte of name each (ACLs: two at most). */
#define REFDAX_XATTR_MAX_ENTRIES \
	((REFDAX_BLOCK_SIZE - REFDAX_XATTR_HDR_LEN) / \
	 REFDAX_XATTR_ENTRY_LEN(0, 0))

static inline struct refdax_xattr_entry *
refdax_xattr_entry_at(const void *block, __u32 off)
{
	return (struct refdax_xattr_entry *)((const __u8 *)block + off);
}

static inline __u32 refdax_xattr_inline_len(const struct refdax_xattr_entry *e)
{
	return e->xe_pblk ? 0 : le32_to_cpu(e->xe_vallen);
}

static inline __u32 refdax_xattr_entry_len(const struct refdax_xattr_entry *e)
{
	return REFDAX_XATTR_ENTRY_LEN(e->xe_namelen,
				      refdax_xattr_inline_len(e));
}

static inline const char *refdax_xattr_name(const struct refdax_xattr_entry *e)
{
	return (const char *)(e + 1);
}

/* The inline value, valid only when xe_pblk == 0. */
static inline const void *
refdax_xattr_inline_value(const struct refdax_xattr_entry *e)
{
	return refdax_xattr_name(e) + e->xe_namelen;
}

void refdax_xattr_set_csum(void *block);
/*
 * Check attribute block @blk of inode @ino: magic, checksum, owner, every
 * entry inside the used bytes with a known namespace, a valid name and a
 * value within limits, names unique, remote runs inside the data area and
 * disjoint from each other and the block, the unused tail zero.
 */
int refdax_check_xattr_block(const struct refdax_geom *g, __u64 ino,
			     __u64 blk, const void *block, const char **why);
/* Byte offset of entry (@ns, @name) in a verified block, or 0 if none. */
__u32 refdax_xattr_find(const void *block, __u8 ns, const char *name,
			__u32 namelen);

#endif /* REFDAX_XATTR_H */
