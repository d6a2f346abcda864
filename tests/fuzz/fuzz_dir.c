// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-dir: refdax_check_dirblock() on arbitrary directory blocks, and
 * fsck's salvage of the same block (fsck_salvage_dirblock()).
 *
 * Input: flags (bit 0: recompute the hash of every record the chain
 * reaches, so the fuzzer gets past the hash check), then the 4 KiB block.
 * Properties:
 *  - an accepted block is a chain of aligned records covering exactly the
 *    block, each live one with a legal name of its stated length inside
 *    its record and an inode number in range;
 *  - salvage (dry run) finds nothing to do in an accepted block;
 *  - after a salvage that applies its repairs, the validator accepts the
 *    block and a second salvage finds nothing more to do.
 */
#include "fuzz_util.h"
#include "fsck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fix_hashes(__u8 *blk)
{
	unsigned int off = 0;

	while (REFDAX_BLOCK_SIZE - off >= REFDAX_DIRENT_HDR) {
		struct refdax_dirent *de = (void *)(blk + off);
		unsigned int rl = le16_to_cpu(de->d_reclen);

		if (off + REFDAX_DIRENT_HDR + de->d_namelen <= REFDAX_BLOCK_SIZE)
			de->d_hash = cpu_to_le32(refdax_name_hash(de->d_name,
								  de->d_namelen));
		/* stop where the validator will: records stay aligned */
		if (rl == 0 || rl % REFDAX_DIRENT_ALIGN ||
		    rl > REFDAX_BLOCK_SIZE - off)
			break;
		off += rl;
	}
}

static void check_accepted(const struct refdax_geom *g, const __u8 *blk)
{
	unsigned int off = 0, i;

	while (off < REFDAX_BLOCK_SIZE) {
		const struct refdax_dirent *de = (const void *)(blk + off);
		unsigned int rl = le16_to_cpu(de->d_reclen);

		FUZZ_CHECK(REFDAX_BLOCK_SIZE - off >= REFDAX_DIRENT_HDR);
		FUZZ_CHECK(rl >= REFDAX_DIRENT_LEN(de->d_namelen));
		FUZZ_CHECK(rl % REFDAX_DIRENT_ALIGN == 0);
		FUZZ_CHECK(rl <= REFDAX_BLOCK_SIZE - off);
		if (le64_to_cpu(de->d_ino)) {
			FUZZ_CHECK(le64_to_cpu(de->d_ino) < g->ninodes);
			FUZZ_CHECK(de->d_namelen > 0);
			for (i = 0; i < de->d_namelen; i++)
				FUZZ_CHECK(de->d_name[i] != '/' &&
					   de->d_name[i] != '\0');
			FUZZ_CHECK(le32_to_cpu(de->d_hash) ==
				   refdax_name_hash(de->d_name, de->d_namelen));
		}
		off += rl;
	}
	FUZZ_CHECK(off == REFDAX_BLOCK_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static __u8 blk[REFDAX_BLOCK_SIZE], fix[REFDAX_BLOCK_SIZE];
	static struct fsck f;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in);
	int ok, level;

	fuzz_geom(&f.g);
	fuzz_bytes(&in, blk, sizeof(blk));
	if (flags & 1)
		fix_hashes(blk);
	ok = refdax_check_dirblock(&f.g, blk, &why) == 0;
	if (ok)
		check_accepted(&f.g, blk);
	else
		FUZZ_CHECK(why && why[0]);

	memcpy(fix, blk, sizeof(fix));
	level = fsck_salvage_dirblock(&f, fix, false);
	FUZZ_CHECK(!memcmp(fix, blk, sizeof(fix)));
	if (ok)
		FUZZ_CHECK(level == 0);
	fsck_salvage_dirblock(&f, fix, true);
	why = NULL;
	FUZZ_CHECK(refdax_check_dirblock(&f.g, fix, &why) == 0);
	check_accepted(&f.g, fix);
	FUZZ_CHECK(fsck_salvage_dirblock(&f, fix, false) == 0);
	return 0;
}
