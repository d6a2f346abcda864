// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-super: refdax_check_super() on arbitrary superblock bytes.
 *
 * Input: flags (1 byte; bit 0: recompute the checksum so the fuzzer gets
 * past it; bit 1: write the refcount root's magic and capacity, so that
 * the root's entries are reached), device size (8 bytes LE), then the
 * 512-byte superblock.  Properties: an accepted superblock yields a
 * geometry that fits the device and whose regions are ordered, disjoint
 * and large enough, and a refcount root whose records and index entries
 * stay in the data area, in order, with counts a record can have.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct refdax_super sb;
	struct refdax_geom g;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in);
	__u64 dev_bytes = fuzz_u64(&in);

	fuzz_bytes(&in, &sb, sizeof(sb));
	if (flags & 2) {
		sb.s_refc_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
		sb.s_refc_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	}
	if (flags & 1)
		refdax_super_set_csum(&sb);
	memset(&g, 0xa5, sizeof(g));
	if (refdax_check_super(&sb, dev_bytes, &g, &why) == 0) {
		fuzz_check_geom(&g, dev_bytes);
		fuzz_check_refc_root(&g, &sb.s_refc_root);
	} else {
		FUZZ_CHECK(why && why[0]);
	}
	return 0;
}
