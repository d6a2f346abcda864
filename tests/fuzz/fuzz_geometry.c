// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-geometry: the layout rules of refdax_check_super(), driven through
 * the geometry fields of an otherwise well-formed superblock (magic,
 * version, state and checksum are always right, so every input reaches the
 * layout checks).
 *
 * Input: flags (bit 0: fields are 16-bit, which keeps them in the range of
 * real small filesystems; else 64-bit), the device size in blocks, then
 * nblocks, journal start/blocks, ibitmap start/blocks, itable start/blocks,
 * ninodes, free-space bitmap start/blocks, data start, root inode, orphan
 * head (the refcount root is an empty, valid one).
 * Properties: an accepted geometry passes fuzz_check_geom(); for a small
 * one, refdax_jnl_format() on a device of that size gives a journal that
 * refdax_jnl_open() accepts and refdax_jnl_recover() finds empty.
 */
#include <stdlib.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void journal_roundtrip(const struct refdax_geom *g)
{
	static struct refdax_journal j;
	struct refdax_pmem pm;
	const char *why = NULL;

	memset(&pm, 0, sizeof(pm));
	pm.size = g->nblocks * REFDAX_BLOCK_SIZE;
	pm.base = calloc(1, pm.size);
	FUZZ_CHECK(pm.base);
	pm.flush = refdax_pmem_nop_flush;
	pm.fence = refdax_pmem_nop_fence;
	FUZZ_CHECK(refdax_jnl_format(&pm, g) == 0);
	FUZZ_CHECK(refdax_jnl_open(&j, &pm, g, &why) == 0);
	FUZZ_CHECK(refdax_jnl_recover(&j) == 0);
	free(pm.base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct refdax_super sb;
	struct refdax_geom g;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in);
	__le64 *f = &sb.s_nblocks;
	__u64 dev_bytes;
	int i;

	memset(&sb, 0, sizeof(sb));
	sb.s_magic = cpu_to_le64(REFDAX_MAGIC);
	sb.s_version = cpu_to_le32(REFDAX_VERSION);
	sb.s_block_size = cpu_to_le32(REFDAX_BLOCK_SIZE);
	sb.s_state = cpu_to_le32(REFDAX_STATE_CLEAN);
	sb.s_errors = cpu_to_le32(REFDAX_ERRORS_RO);
	sb.s_refc_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	sb.s_refc_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	if (flags & 1) {
		dev_bytes = (__u64)fuzz_u16(&in) * REFDAX_BLOCK_SIZE;
		/* s_nblocks ... s_orphan_head are 13 consecutive __le64 */
		for (i = 0; i < 13; i++)
			f[i] = cpu_to_le64(fuzz_u16(&in));
	} else {
		dev_bytes = fuzz_u64(&in);
		for (i = 0; i < 13; i++)
			f[i] = cpu_to_le64(fuzz_u64(&in));
	}
	refdax_super_set_csum(&sb);
	if (refdax_check_super(&sb, dev_bytes, &g, &why))
		return 0;
	fuzz_check_geom(&g, dev_bytes);
	if (g.nblocks <= 1024)
		journal_roundtrip(&g);
	return 0;
}
