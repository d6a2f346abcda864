// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-inode: refdax_check_inode() (and through it the extent-root and
 * extent validators) on arbitrary 256-byte inodes.
 *
 * Input: flags (bit 0: recompute i_csum), inode number (2 bytes LE), then
 * the inode.  Property: an accepted inode has a known type, sane size, a
 * root whose entries all point into the data area in order, and an inline
 * symlink target without NULs that fits the inode (fuzz_check_inode()).
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
	__u64 ino = fuzz_u16(&in);

	fuzz_geom(&g);
	fuzz_bytes(&in, &ri, sizeof(ri));
	if (flags & 1)
		refdax_inode_set_csum(&ri);
	if (refdax_check_inode(&g, ino, &ri, &why) == 0)
		fuzz_check_inode(&g, ino, &ri);
	else
		FUZZ_CHECK(why && why[0]);
	return 0;
}
