// SPDX-License-Identifier: GPL-2.0
/*
 * Attribute blocks: checksum, verifier and lookup, shared by the kernel
 * module and the tools.  Like every validator (refdax_verify.c) this
 * accepts any bit pattern without faulting and answers 0 or -EUCLEAN with
 * a static reason; fields are read into locals once.
 */
#include "refdax_xattr.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <string.h>
#endif

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return -EUCLEAN;
}

void refdax_xattr_set_csum(void *block)
{
	struct refdax_xattr_hdr *h = block;
	__u32 csum = refdax_csum_skip(block, REFDAX_BLOCK_SIZE,
				      offsetof(struct refdax_xattr_hdr, xh_csum));

	h->xh_csum = cpu_to_le32(csum);
}

static bool runs_overlap(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* One entry at @off, inside @used bytes; *@len gets its length. */
static int check_entry(const struct refdax_geom *g, __u64 blk,
		       const __u8 *block, __u32 off, __u32 used, __u32 *len,
		       const char **why)
{
	const struct refdax_xattr_entry *e;
	__u32 vallen, namelen, i;
	bool acl;
	__u64 pblk;

	if (used - off < REFDAX_XATTR_ENTRY_LEN(0, 0))
		return bad(why, "xattr entry header past the used bytes");
	e = refdax_xattr_entry_at(block, off);
	namelen = e->xe_namelen;
	vallen = le32_to_cpu(e->xe_vallen);
	pblk = le64_to_cpu(e->xe_pblk);
	if (e->xe_ns == 0 || e->xe_ns > REFDAX_XATTR_NS_MAX)
		return bad(why, "unknown xattr namespace");
	if (e->xe_pad)
		return bad(why, "xattr entry padding not zero");
	acl = e->xe_ns >= REFDAX_XATTR_NS_ACL_ACCESS;
	if (acl != !namelen)
		return bad(why, "xattr name length wrong for its namespace");
	if (vallen > REFDAX_XATTR_SIZE_MAX)
		return bad(why, "xattr value too long");
	*len = REFDAX_XATTR_ENTRY_LEN(namelen, pblk ? 0 : vallen);
	if (*len > used - off)
		return bad(why, "xattr entry past the used bytes");
	for (i = 0; i < namelen; i++)
		if (block[off + sizeof(*e) + i] == '\0')
			return bad(why, "NUL in xattr name");
	if (!pblk)
		return 0;
	if (!vallen)
		return bad(why, "remote xattr value of no bytes");
	if (!refdax_data_block_ok(g, pblk, REFDAX_XATTR_REMOTE_BLOCKS(vallen)))
		return bad(why, "remote xattr value outside the data area");
	if (runs_overlap(pblk, REFDAX_XATTR_REMOTE_BLOCKS(vallen), blk, 1))
		return bad(why, "remote xattr value overlaps its block");
	return 0;
}

static bool same_entry(const struct refdax_xattr_entry *a,
		       const struct refdax_xattr_entry *b)
{
	return a->xe_ns == b->xe_ns && a->xe_namelen == b->xe_namelen &&
	       !memcmp(a + 1, b + 1, a->xe_namelen);
}

static bool runs_of_overlap(const struct refdax_xattr_entry *a,
			    const struct refdax_xattr_entry *b)
{
	return a->xe_pblk && b->xe_pblk &&
	       runs_overlap(le64_to_cpu(a->xe_pblk),
			    REFDAX_XATTR_REMOTE_BLOCKS(le32_to_cpu(a->xe_vallen)),
			    le64_to_cpu(b->xe_pblk),
			    REFDAX_XATTR_REMOTE_BLOCKS(le32_to_cpu(b->xe_vallen)));
}

/*
 * Names unique, remote runs disjoint: pairwise over the @n entries already
 * checked one by one, walked again rather than kept (no stack to spare).
 */
static int check_pairs(const __u8 *block, __u32 n, const char **why)
{
	const struct refdax_xattr_entry *a, *b;
	__u32 i, j, aoff = REFDAX_XATTR_HDR_LEN, boff;

	for (i = 0; i < n; i++, aoff += refdax_xattr_entry_len(a)) {
		a = refdax_xattr_entry_at(block, aoff);
		boff = aoff + refdax_xattr_entry_len(a);
		for (j = i + 1; j < n; j++, boff += refdax_xattr_entry_len(b)) {
			b = refdax_xattr_entry_at(block, boff);
			if (same_entry(a, b))
				return bad(why, "duplicate xattr name");
			if (runs_of_overlap(a, b))
				return bad(why, "remote xattr values overlap");
		}
	}
	return 0;
}

int refdax_check_xattr_block(const struct refdax_geom *g, __u64 ino,
			     __u64 blk, const void *block, const char **why)
{
	const struct refdax_xattr_hdr *h = block;
	const __u8 *b = block;
	__u32 count, used, off, len, i;

	if (le32_to_cpu(h->xh_magic) != REFDAX_XATTR_MAGIC)
		return bad(why, "bad xattr block magic");
	if (le32_to_cpu(h->xh_csum) !=
	    refdax_csum_skip(block, REFDAX_BLOCK_SIZE,
			     offsetof(struct refdax_xattr_hdr, xh_csum)))
		return bad(why, "xattr block checksum mismatch");
	if (le64_to_cpu(h->xh_ino) != ino)
		return bad(why, "xattr block owned by another inode");
	if (h->xh_pad0 || h->xh_pad1)
		return bad(why, "xattr block padding not zero");
	count = le16_to_cpu(h->xh_count);
	used = le16_to_cpu(h->xh_used);
	if (used < REFDAX_XATTR_HDR_LEN || used > REFDAX_BLOCK_SIZE)
		return bad(why, "xattr block used bytes out of range");
	if (count == 0 || count > REFDAX_XATTR_MAX_ENTRIES)
		return bad(why, "xattr block entry count out of range");
	off = REFDAX_XATTR_HDR_LEN;
	for (i = 0; i < count; i++) {
		if (check_entry(g, blk, b, off, used, &len, why))
			return -EUCLEAN;
		off += len;
	}
	if (off != used)
		return bad(why, "xattr entries do not fill the used bytes");
	for (; off < REFDAX_BLOCK_SIZE; off++)
		if (b[off])
			return bad(why, "xattr block tail not zero");
	return check_pairs(b, count, why);
}

__u32 refdax_xattr_find(const void *block, __u8 ns, const char *name,
			__u32 namelen)
{
	const struct refdax_xattr_hdr *h = block;
	__u32 count = le16_to_cpu(h->xh_count);
	__u32 off = REFDAX_XATTR_HDR_LEN, i;
	const struct refdax_xattr_entry *e;

	for (i = 0; i < count; i++) {
		e = refdax_xattr_entry_at(block, off);
		if (e->xe_ns == ns && e->xe_namelen == namelen &&
		    !memcmp(refdax_xattr_name(e), name, namelen))
			return off;
		off += refdax_xattr_entry_len(e);
	}
	return 0;
}
