// SPDX-License-Identifier: GPL-2.0
/*
 * Recovery trusts stale bytes past the live entries.
 *
 * Entries are written over whatever earlier transactions left in the entry
 * area, and that is mostly the *old contents of logged metadata*.  If those
 * contents hold, at the 64-byte slot where the next transaction's entry
 * k + 1 will go, the image of an entry for that next generation with a
 * correct crc32c (not a secret), then a crash once entry k is durable makes
 * recovery "undo" the stale entry too: it writes the bytes it carries to the
 * address it names (here: the superblock), and scan_live() accepts it.
 *
 * Nothing here is lost or reordered, so the crash enumeration (whose
 * workloads store benign patterns) cannot show it; this program does, with
 * a plain simulated pmem.  It exits 1 while recovery accepts such an entry.
 *
 * How likely: never by accident (generation, sequence number, bounds and
 * a 32-bit checksum must all match).  On purpose it needs metadata whose
 * bytes a user shapes: directory names cannot carry the zero bytes of an
 * entry header, but an inode logged whole has user-settable 8-byte fields
 * in a row (i_size at 24, i_atime 40, i_mtime 48; the *_ns words give the
 * freedom to fix a crc32c), plus a crash at the right moment.  So it is a
 * hardening issue, not a crash-consistency bug in the model's sense.
 *
 * Possible fixes: write a zeroed header at the slot after each entry in
 * the same flush + fence (the walk then always stops at the durable end of
 * the live log), and seed the entry checksum with a random value chosen at
 * mount and kept in the journal header, so that no content a user shapes
 * can carry a valid entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refdax_common.h"

#define DEV_BYTES	(64U * 1024)
#define JSTART		1
#define JBLOCKS		4
#define DIRBLK		(5U * REFDAX_BLOCK_SIZE)	/* a metadata block */
#define INODE		(9U * REFDAX_BLOCK_SIZE)	/* some inode */
#define SLOT		320U	/* 32-byte header + 256 bytes, rounded */

int main(void)
{
	static struct refdax_journal j;
	struct refdax_geom g = {
		.nblocks = DEV_BYTES / REFDAX_BLOCK_SIZE,
		.journal_start = JSTART, .journal_blocks = JBLOCKS,
	};
	__u8 *dev = calloc(1, DEV_BYTES), *before;
	struct refdax_pmem pm = {
		.base = dev, .size = DEV_BYTES,
		.flush = refdax_pmem_nop_flush, .fence = refdax_pmem_nop_fence,
	};
	struct refdax_journal_entry *je;
	const char *why;
	__u64 gen;
	__u32 csum;
	int n;

	if (!dev)
		return 2;
	memset(dev, 0x5a, 512);			/* "superblock" */
	if (refdax_jnl_format(&pm, &g) || refdax_jnl_open(&j, &pm, &g, &why))
		return 2;
	gen = j.gen;

	/*
	 * Bytes at block offset SLOT - 32: once txn 1 logged the block (its
	 * data follows a 32-byte entry header) they sit at entry-area offset
	 * SLOT, where the next transaction's entry 1 goes after a 256-byte
	 * entry 0.  They claim generation gen + 1.
	 */
	je = (void *)(dev + DIRBLK + SLOT - 32);
	je->je_gen = cpu_to_le64(gen + 1);
	je->je_addr = cpu_to_le64(0);		/* the superblock */
	je->je_len = cpu_to_le32(32);
	je->je_seq = cpu_to_le32(1);
	je->je_pad = 0;
	memset(je + 1, 0x66, 32);
	csum = refdax_csum_skip(je, sizeof(*je) + 32,
				offsetof(struct refdax_journal_entry, je_csum));
	je->je_csum = cpu_to_le32(csum);

	/* txn 1 rewrites that block and commits */
	refdax_jnl_begin(&j);
	if (refdax_jnl_log(&j, dev + DIRBLK, REFDAX_BLOCK_SIZE))
		return 2;
	memset(dev + DIRBLK, 0, REFDAX_BLOCK_SIZE);
	refdax_jnl_commit(&j);

	/* txn 2: logs one inode (entry 0), changes it, power fails */
	before = malloc(DEV_BYTES);
	if (!before)
		return 2;
	memcpy(before, dev, DEV_BYTES);
	refdax_jnl_begin(&j);
	if (refdax_jnl_log(&j, dev + INODE, 256))
		return 2;
	memset(dev + INODE, 0x11, 256);

	if (refdax_jnl_open(&j, &pm, &g, &why))
		return 2;
	n = refdax_jnl_recover(&j);
	printf("forge: recovery undid %d entries (1 was logged)\n", n);
	if (memcmp(dev, before, JSTART * REFDAX_BLOCK_SIZE)) {
		printf("FAIL forge: stale entry image from logged metadata ");
		printf("overwrote the superblock (0x%02x, was 0x5a)\n", dev[0]);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("ok   forge: stale bytes past the live log are not trusted\n");
	printf("1 passed, 0 failed\n");
	return 0;
}
