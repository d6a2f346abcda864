// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-xattr: refdax_check_xattr_block() on arbitrary attribute blocks,
 * and the lookups the kernel makes in an accepted one.
 *
 * Input: flags (bit 0: write the right magic and owner, bit 1: recompute
 * the checksum, so the fuzzer gets past both), the owner inode and the
 * block's own number as offsets (1 byte each), then the 4 KiB block.
 * Properties, besides no sanitizer report:
 *  - a refused block has a reason;
 *  - an accepted block's entries lie inside its used bytes, which its
 *    entries fill exactly, with known namespaces, legal names, values of
 *    at most 64 KiB, remote runs inside the data area and apart from each
 *    other and from the block, and a zero tail;
 *  - refdax_xattr_find() finds every entry at its own offset (names are
 *    unique), and nothing for a name one byte longer.
 */
#include "fuzz_util.h"
#include "refdax_xattr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct refdax_geom *g, __u64 blk,
			const __u8 *b, __u32 off)
{
	const struct refdax_xattr_entry *e = refdax_xattr_entry_at(b, off);
	__u64 pblk = le64_to_cpu(e->xe_pblk), n;
	__u32 vallen = le32_to_cpu(e->xe_vallen), i;
	char name[REFDAX_XATTR_NAME_MAX + 2];

	FUZZ_CHECK(e->xe_ns >= 1 && e->xe_ns <= REFDAX_XATTR_NS_MAX);
	FUZZ_CHECK(vallen <= REFDAX_XATTR_SIZE_MAX);
	for (i = 0; i < e->xe_namelen; i++)
		FUZZ_CHECK(refdax_xattr_name(e)[i] != '\0');
	if (pblk) {
		n = REFDAX_XATTR_REMOTE_BLOCKS(vallen);
		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(pblk >= g->data_start && pblk + n <= g->nblocks);
		FUZZ_CHECK(blk < pblk || blk >= pblk + n);
	}
	FUZZ_CHECK(refdax_xattr_find(b, e->xe_ns, refdax_xattr_name(e),
				     e->xe_namelen) == off);
	memcpy(name, refdax_xattr_name(e), e->xe_namelen);
	name[e->xe_namelen] = 'x';
	FUZZ_CHECK(refdax_xattr_find(b, e->xe_ns, name,
				     e->xe_namelen + 1) == 0 ||
		   e->xe_namelen + 1 > REFDAX_XATTR_NAME_MAX);
}

static void check_accepted(const struct refdax_geom *g, __u64 blk,
			   const __u8 *b)
{
	const struct refdax_xattr_hdr *h = (const void *)b;
	__u32 used = le16_to_cpu(h->xh_used), off = REFDAX_XATTR_HDR_LEN, i;

	FUZZ_CHECK(used <= REFDAX_BLOCK_SIZE);
	for (i = 0; i < le16_to_cpu(h->xh_count); i++) {
		FUZZ_CHECK(off + REFDAX_XATTR_ENTRY_LEN(0, 0) <= used);
		check_entry(g, blk, b, off);
		off += refdax_xattr_entry_len(refdax_xattr_entry_at(b, off));
		FUZZ_CHECK(off <= used);
	}
	FUZZ_CHECK(off == used);
	for (; off < REFDAX_BLOCK_SIZE; off++)
		FUZZ_CHECK(b[off] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static __u8 b[REFDAX_BLOCK_SIZE];
	struct refdax_xattr_hdr *h = (void *)b;
	struct refdax_geom g;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in);
	__u64 ino = fuzz_u8(&in), blk;

	fuzz_geom(&g);
	blk = g.data_start + fuzz_u8(&in) % (g.nblocks - g.data_start);
	ino %= g.ninodes;
	fuzz_bytes(&in, b, sizeof(b));
	if (flags & 1) {
		h->xh_magic = cpu_to_le32(REFDAX_XATTR_MAGIC);
		h->xh_ino = cpu_to_le64(ino);
	}
	if (flags & 2)
		refdax_xattr_set_csum(b);
	if (refdax_check_xattr_block(&g, ino, blk, b, &why))
		FUZZ_CHECK(why && why[0]);
	else
		check_accepted(&g, blk, b);
	return 0;
}
