// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-symlink: the symlink rules of refdax_check_inode().  The harness
 * forces the file type to symlink and fixes the checksum, so every input
 * exercises the inline/block target checks rather than the type switch.
 *
 * Input: flags (bit 0: set REFDAX_IFL_INLINE, bit 1: clear it; neither:
 * keep the input's flag), the inode number (2 bytes LE), then the inode.
 * Properties: fuzz_check_inode(), and reading the target the way the kernel
 * does (i_size bytes inline, or block 0 of the tree) stays inside the inode
 * or inside one data-area block.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct refdax_inode ri;
	struct refdax_geom g;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in);
	__u64 ino = fuzz_u16(&in), len;
	__u32 iflags;

	fuzz_geom(&g);
	fuzz_bytes(&in, &ri, sizeof(ri));
	ri.i_mode = cpu_to_le16(0120000U | (le16_to_cpu(ri.i_mode) & 07777U));
	iflags = le32_to_cpu(ri.i_flags);
	if (flags & 1)
		iflags |= REFDAX_IFL_INLINE;
	if (flags & 2)
		iflags &= ~REFDAX_IFL_INLINE;
	ri.i_flags = cpu_to_le32(iflags);
	refdax_inode_set_csum(&ri);
	if (refdax_check_inode(&g, ino, &ri, &why)) {
		FUZZ_CHECK(why && why[0]);
		return 0;
	}
	fuzz_check_inode(&g, ino, &ri);
	len = le64_to_cpu(ri.i_size);
	FUZZ_CHECK(len >= 1 && len < REFDAX_BLOCK_SIZE);
	if (iflags & REFDAX_IFL_INLINE) {
		char target[sizeof(ri.i_symlink) + 1];

		FUZZ_CHECK(len < sizeof(target));
		memcpy(target, ri.i_symlink, len);
		target[len] = '\0';
		FUZZ_CHECK(strlen(target) == len);
	}
	return 0;
}
