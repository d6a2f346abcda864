// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the libFuzzer targets (see fuzz_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "refdax_tools.h"

void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "INVARIANT FAILED: %s (%s:%d)\n", what, file, line);
	abort();
}

void fuzz_geom(struct refdax_geom *g)
{
	memset(g, 0, sizeof(*g));
	g->nblocks = 576;
	g->journal_start = 1;
	g->journal_blocks = 8;
	g->ibitmap_start = 9;
	g->ibitmap_blocks = 1;
	g->itable_start = 10;
	g->itable_blocks = 4;
	g->ninodes = 64;
	g->fsmap_start = 14;
	g->fsmap_blocks = 1;
	g->data_start = 512;
	g->root_ino = REFDAX_ROOT_INO;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, 1);
	return v;
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint8_t b[2];

	fuzz_bytes(in, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	return fuzz_u16(in) | (uint32_t)fuzz_u16(in) << 16;
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);

	return lo | (uint64_t)fuzz_u32(in) << 32;
}

void fuzz_bytes(struct fuzz_in *in, void *dst, size_t n)
{
	size_t k = n < in->len ? n : in->len;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->len -= k;
}

/*
 * fsck's "is it mounted?" scan of /proc/self/mounts: an in-memory image
 * never is, and skipping the scan keeps every run independent of the host.
 */
int refdax_is_mounted(const char *path, const struct stat *st)
{
	(void)path;
	(void)st;
	return 0;
}

/* [s, s + n) lies inside [lo, hi). */
static int inside(__u64 s, __u64 n, __u64 lo, __u64 hi)
{
	return n != 0 && s >= lo && s < hi && n <= hi - s;
}

void fuzz_check_geom(const struct refdax_geom *g, __u64 dev_bytes)
{
	/* Byte offsets of every block must fit in 64 bits. */
	FUZZ_CHECK(g->nblocks != 0 && g->nblocks <= (~0ULL >> REFDAX_BLOCK_SHIFT));
	FUZZ_CHECK(g->nblocks <= dev_bytes / REFDAX_BLOCK_SIZE);
	/* superblock < journal < ibitmap < itable < fsmap < data */
	FUZZ_CHECK(inside(g->journal_start, g->journal_blocks, 1, g->nblocks));
	FUZZ_CHECK(g->journal_blocks >= 2);
	FUZZ_CHECK(inside(g->ibitmap_start, g->ibitmap_blocks,
			  g->journal_start + g->journal_blocks, g->nblocks));
	FUZZ_CHECK(inside(g->itable_start, g->itable_blocks,
			  g->ibitmap_start + g->ibitmap_blocks, g->nblocks));
	FUZZ_CHECK(inside(g->fsmap_start, g->fsmap_blocks,
			  g->itable_start + g->itable_blocks, g->nblocks));
	FUZZ_CHECK(inside(g->data_start, 1,
			  g->fsmap_start + g->fsmap_blocks, g->nblocks));
	FUZZ_CHECK(g->data_start % REFDAX_HUGE_BLOCKS == 0);
	/* the tables are big enough for what they describe */
	FUZZ_CHECK(g->ninodes >= 2);
	FUZZ_CHECK(g->ninodes / REFDAX_INODES_PER_BLOCK <= g->itable_blocks);
	FUZZ_CHECK((g->ninodes - 1) / (REFDAX_BLOCK_SIZE * 8ULL) <
		   g->ibitmap_blocks);
	/* a bit for every data block: the allocator indexes it blindly */
	FUZZ_CHECK(g->fsmap_blocks > (g->nblocks - g->data_start - 1) /
		   REFDAX_FSMAP_BITS_PER_BLOCK);
	FUZZ_CHECK(g->root_ino >= 1 && g->root_ino < g->ninodes);
}

void fuzz_check_entries(const struct refdax_geom *g, const void *ents,
			unsigned int nr, unsigned int depth)
{
	const struct refdax_extent *e = ents;
	const struct refdax_bmap_index *x = ents;
	__u64 next = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (depth == 0) {
			__u64 lblk = le32_to_cpu(e[i].e_lblk);
			__u64 len = le32_to_cpu(e[i].e_len);
			__u64 pblk = le64_to_cpu(e[i].e_pblk);

			/* what the kernel maps must be data-area blocks */
			FUZZ_CHECK(len != 0 && len <= REFDAX_EXT_MAX_LEN);
			FUZZ_CHECK(pblk >= g->data_start && pblk < g->nblocks);
			FUZZ_CHECK(len <= g->nblocks - pblk);
			FUZZ_CHECK(lblk + len - 1 <= REFDAX_MAX_LBLK);
			FUZZ_CHECK(lblk >= next);
			next = lblk + len;
		} else {
			__u64 child = le64_to_cpu(x[i].ei_child);

			FUZZ_CHECK(child >= g->data_start && child < g->nblocks);
			FUZZ_CHECK(i == 0 || le32_to_cpu(x[i].ei_lblk) >= next);
			next = (__u64)le32_to_cpu(x[i].ei_lblk) + 1;
		}
	}
}

void fuzz_check_refc_entries(const struct refdax_geom *g, const void *ents,
			     unsigned int nr, unsigned int depth)
{
	const struct refdax_refc_rec *r = ents;
	const struct refdax_refc_index *x = ents;
	__u64 next = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (depth == 0) {
			__u64 start = le64_to_cpu(r[i].rc_start);
			__u64 len = le32_to_cpu(r[i].rc_len);
			__u32 count = le32_to_cpu(r[i].rc_count);

			/* counts only of data-area blocks, never of 0 or 1 */
			FUZZ_CHECK(len != 0);
			FUZZ_CHECK(start >= g->data_start && start < g->nblocks);
			FUZZ_CHECK(len <= g->nblocks - start);
			FUZZ_CHECK(count >= 2 && count <= REFDAX_REFCOUNT_MAX);
			FUZZ_CHECK(i == 0 || start >= next);
			next = start + len;
		} else {
			__u64 child = le64_to_cpu(x[i].ri_child);
			__u64 key = le64_to_cpu(x[i].ri_start);

			FUZZ_CHECK(child >= g->data_start && child < g->nblocks);
			FUZZ_CHECK(i == 0 || key >= next);
			next = key + 1;
		}
	}
}

void fuzz_check_refc_root(const struct refdax_geom *g,
			  const struct refdax_bmap_root *root)
{
	const struct refdax_bmap_hdr *h = &root->br_hdr;
	unsigned int nr = le16_to_cpu(h->bh_nr);

	FUZZ_CHECK(le16_to_cpu(h->bh_magic) == REFDAX_REFC_MAGIC);
	FUZZ_CHECK(le16_to_cpu(h->bh_max) == REFDAX_BMAP_ROOT_MAX);
	FUZZ_CHECK(nr <= REFDAX_BMAP_ROOT_MAX);
	FUZZ_CHECK(le16_to_cpu(h->bh_depth) <= REFDAX_BMAP_MAX_DEPTH);
	FUZZ_CHECK(nr || !h->bh_depth);
	fuzz_check_refc_entries(g, root->br_ext, nr, le16_to_cpu(h->bh_depth));
}

void fuzz_check_inode(const struct refdax_geom *g, __u64 ino,
		      const struct refdax_inode *ri)
{
	unsigned int type = le16_to_cpu(ri->i_mode) & 0170000U;
	__u64 size = le64_to_cpu(ri->i_size);
	__u32 flags = le32_to_cpu(ri->i_flags);
	const struct refdax_bmap_hdr *h = &ri->i_root.br_hdr;
	__u64 i;

	FUZZ_CHECK(ino >= 1 && ino < g->ninodes);
	FUZZ_CHECK(refdax_csum_skip(ri, sizeof(*ri),
				    offsetof(struct refdax_inode, i_csum)) ==
		   le32_to_cpu(ri->i_csum));
	FUZZ_CHECK(type == 0140000U || type == 0120000U || type == 0100000U ||
		   type == 0060000U || type == 0040000U || type == 0020000U ||
		   type == 0010000U);
	FUZZ_CHECK(size <= (REFDAX_MAX_LBLK + 1) << REFDAX_BLOCK_SHIFT);
	FUZZ_CHECK(le64_to_cpu(ri->i_next_orphan) < g->ninodes);
	if (type == 0040000U) {
		FUZZ_CHECK(size % REFDAX_BLOCK_SIZE == 0);
		FUZZ_CHECK(le64_to_cpu(ri->i_parent) >= 1 &&
			   le64_to_cpu(ri->i_parent) < g->ninodes);
	}
	if (type == 0120000U)
		FUZZ_CHECK(size >= 1 && size <= REFDAX_SYMLINK_MAX);
	if (flags & REFDAX_IFL_INLINE) {
		/* the kernel copies i_size bytes out of i_symlink */
		FUZZ_CHECK(type == 0120000U);
		FUZZ_CHECK(size < sizeof(ri->i_symlink));
		for (i = 0; i < size; i++)
			FUZZ_CHECK(ri->i_symlink[i] != '\0');
		return;
	}
	FUZZ_CHECK(le16_to_cpu(h->bh_magic) == REFDAX_BMAP_MAGIC);
	FUZZ_CHECK(le16_to_cpu(h->bh_nr) <= REFDAX_BMAP_ROOT_MAX);
	FUZZ_CHECK(le16_to_cpu(h->bh_depth) <= REFDAX_BMAP_MAX_DEPTH);
	if (type != 0100000U && type != 0040000U && type != 0120000U)
		FUZZ_CHECK(size == 0 && le16_to_cpu(h->bh_nr) == 0);
	fuzz_check_entries(g, ri->i_root.br_ext, le16_to_cpu(h->bh_nr),
			   le16_to_cpu(h->bh_depth));
}
