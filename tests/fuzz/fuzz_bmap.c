// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-bmap: the extent B+tree validators, refdax_check_bmap_node() on a
 * 4 KiB node and refdax_check_bmap_root() on the 120-byte root of an
 * inode (both reach refdax_check_extent() and the entry-order checks).
 *
 * Input: flags (bit 0: check a root instead of a node; bit 1: write the
 * right magic and capacity into the header; bit 2: recompute the node
 * checksum), the depth to check the node at (1 byte), then the node or root
 * bytes.  Property: every entry of an accepted node or root points into the
 * data area, in key order (fuzz_check_entries()), and a node's header and
 * checksum are the ones the kernel relies on.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static __u8 blk[REFDAX_BLOCK_SIZE];
	struct refdax_bmap_node *bn = (void *)blk;
	struct refdax_bmap_root root;
	struct refdax_geom g;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in);
	unsigned int depth = fuzz_u8(&in), nr;

	fuzz_geom(&g);
	if (flags & 1) {
		fuzz_bytes(&in, &root, sizeof(root));
		if (flags & 2) {
			root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
			root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
		}
		if (refdax_check_bmap_root(&g, &root, &why)) {
			FUZZ_CHECK(why && why[0]);
			return 0;
		}
		nr = le16_to_cpu(root.br_hdr.bh_nr);
		FUZZ_CHECK(nr <= REFDAX_BMAP_ROOT_MAX);
		FUZZ_CHECK(le16_to_cpu(root.br_hdr.bh_depth) <=
			   REFDAX_BMAP_MAX_DEPTH);
		FUZZ_CHECK(nr || !root.br_hdr.bh_depth);
		fuzz_check_entries(&g, root.br_ext, nr,
				   le16_to_cpu(root.br_hdr.bh_depth));
		return 0;
	}
	fuzz_bytes(&in, blk, sizeof(blk));
	if (flags & 2) {
		bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
		bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	}
	if (flags & 4)
		refdax_bmap_node_set_csum(bn);
	if (refdax_check_bmap_node(&g, bn, depth, &why)) {
		FUZZ_CHECK(why && why[0]);
		return 0;
	}
	nr = le16_to_cpu(bn->bn_hdr.bh_nr);
	FUZZ_CHECK(nr >= 1 && nr <= REFDAX_BMAP_NODE_MAX);
	FUZZ_CHECK(depth < REFDAX_BMAP_MAX_DEPTH &&
		   le16_to_cpu(bn->bn_hdr.bh_depth) == depth);
	FUZZ_CHECK(refdax_csum_skip(bn, REFDAX_BLOCK_SIZE,
				    offsetof(struct refdax_bmap_node, bn_csum)) ==
		   le32_to_cpu(bn->bn_csum));
	fuzz_check_entries(&g, bn + 1, nr, depth);
	return 0;
}
