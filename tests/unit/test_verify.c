// SPDX-License-Identifier: GPL-2.0
/*
 * Validators: each accepts a good structure and rejects every targeted
 * mutation with the expected reason; random bit patterns never crash them
 * (the buffers are exactly sized so ASan sees any overread).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "refdax_common.h"
#include "rtest.h"

/* A 64 MiB filesystem laid out like mkfs does it. */
#define NBLOCKS		16384ULL
#define NINODES		4096ULL
#define FSMAP_START	(258 + NINODES / 16)
#define DATA_START	1024ULL

/* The refcount record root of a filesystem with no shared block. */
static void empty_refc_root(struct refdax_bmap_root *r)
{
	memset(r, 0, sizeof(*r));
	r->br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	r->br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
}

static void good_super(struct refdax_super *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->s_magic = cpu_to_le64(REFDAX_MAGIC);
	sb->s_version = cpu_to_le32(REFDAX_VERSION);
	sb->s_block_size = cpu_to_le32(REFDAX_BLOCK_SIZE);
	sb->s_feature_incompat = cpu_to_le64(REFDAX_FEAT_INCOMPAT_REFLINK);
	strcpy(sb->s_label, "test");
	sb->s_nblocks = cpu_to_le64(NBLOCKS);
	sb->s_journal_start = cpu_to_le64(1);
	sb->s_journal_blocks = cpu_to_le64(256);
	sb->s_ibitmap_start = cpu_to_le64(257);
	sb->s_ibitmap_blocks = cpu_to_le64(1);
	sb->s_itable_start = cpu_to_le64(258);
	sb->s_itable_blocks = cpu_to_le64(NINODES / 16);
	sb->s_ninodes = cpu_to_le64(NINODES);
	sb->s_fsmap_start = cpu_to_le64(FSMAP_START);
	sb->s_fsmap_blocks = cpu_to_le64(1);	/* 15360 data blocks */
	sb->s_data_start = cpu_to_le64(DATA_START);
	sb->s_root_ino = cpu_to_le64(1);
	sb->s_state = cpu_to_le32(REFDAX_STATE_CLEAN);
	sb->s_errors = cpu_to_le32(REFDAX_ERRORS_RO);
	empty_refc_root(&sb->s_refc_root);
	refdax_super_set_csum(sb);
}

static struct refdax_geom geom;

static void init_geom(void)
{
	struct refdax_super sb;
	const char *why;

	good_super(&sb);
	if (refdax_check_super(&sb, NBLOCKS * 4096, &geom, &why)) {
		rt_note("good superblock rejected: %s", why);
		abort();
	}
}

/* One targeted change to a structure and what the validator must say. */
struct mut {
	const char *name;
	size_t off;
	unsigned int size;		/* 1, 2, 4 or 8; 0 = use fn */
	__u64 val;
	void (*fn)(void *obj);
	const char *why;		/* substring of the reason; NULL = ok */
	int nocsum;			/* leave the checksum stale */
};

static void poke(void *obj, size_t off, unsigned int size, __u64 val)
{
	__u8 *p = (__u8 *)obj + off;
	__u16 v16 = cpu_to_le16((__u16)val);
	__u32 v32 = cpu_to_le32((__u32)val);
	__u64 v64 = cpu_to_le64(val);

	switch (size) {
	case 1:
		*p = (__u8)val;
		break;
	case 2:
		memcpy(p, &v16, 2);
		break;
	case 4:
		memcpy(p, &v32, 4);
		break;
	case 8:
		memcpy(p, &v64, 8);
		break;
	}
}

typedef int (*check_fn)(void *obj, const char **why);
typedef void (*csum_fn)(void *obj);

static void run_table(const char *what, const struct mut *t, size_t n,
		      const void *good, size_t objsz, check_fn check,
		      csum_fn csum)
{
	size_t i;

	for (i = 0; i < n; i++) {
		void *obj = malloc(objsz);
		const char *why = NULL;
		int ret;

		memcpy(obj, good, objsz);
		if (t[i].fn)
			t[i].fn(obj);
		else
			poke(obj, t[i].off, t[i].size, t[i].val);
		if (csum && !t[i].nocsum)
			csum(obj);
		ret = check(obj, &why);
		rt_begin("%s: %s", what, t[i].name);
		if (t[i].why) {
			EXPECT_EQ(ret, -EUCLEAN);
			if (ret && !EXPECT(why && strstr(why, t[i].why)))
				rt_note("    reason was \"%s\", wanted \"%s\"",
					why ? why : "(null)", t[i].why);
		} else if (!EXPECT_EQ(ret, 0)) {
			rt_note("    rejected: %s", why ? why : "(null)");
		}
		rt_end();
		free(obj);
	}
}

/* ---- superblock ---- */

static __u64 sb_dev_bytes = NBLOCKS * 4096;

static int chk_super(void *obj, const char **why)
{
	struct refdax_geom g;

	return refdax_check_super(obj, sb_dev_bytes, &g, why);
}

static void csum_super(void *obj)
{
	refdax_super_set_csum(obj);
}

static void label_full(void *obj)
{
	struct refdax_super *sb = obj;

	memset(sb->s_label, 'x', sizeof(sb->s_label));
}

static void label_63(void *obj)
{
	struct refdax_super *sb = obj;

	memset(sb->s_label, 'x', sizeof(sb->s_label) - 1);
	sb->s_label[63] = '\0';
}

static void flip_reserved(void *obj)
{
	struct refdax_super *sb = obj;

	sb->s_reserved[5] ^= 1;
}

/* ibitmap of 1 block holds 32768 inodes: ask for more with a big table. */
static void sb_bitmap_small(void *obj)
{
	struct refdax_super *sb = obj;

	sb->s_ninodes = cpu_to_le64(40000);
	sb->s_itable_blocks = cpu_to_le64(2500);
	sb->s_fsmap_start = cpu_to_le64(258 + 2500);
	sb->s_data_start = cpu_to_le64(3072);
}

static void sb_bitmap_ok(void *obj)
{
	struct refdax_super *sb = obj;

	sb_bitmap_small(obj);
	sb->s_ibitmap_blocks = cpu_to_le64(2);
	sb->s_itable_start = cpu_to_le64(259);
	sb->s_fsmap_start = cpu_to_le64(259 + 2500);
}

/*
 * A version 1 superblock: the same magic and a valid checksum, but its
 * refcount table where the free-space bitmap is now and no record root.
 * The version must be what it is refused for, so that mount and fsck can
 * name both versions instead of a layout problem.
 */
static void sb_version1(void *obj)
{
	struct refdax_super *sb = obj;

	sb->s_version = cpu_to_le32(1);
	sb->s_fsmap_blocks = cpu_to_le64(15);
	memset(&sb->s_refc_root, 0, sizeof(sb->s_refc_root));
}

static struct refdax_refc_rec *sb_recs(struct refdax_super *sb)
{
	return (struct refdax_refc_rec *)sb->s_refc_root.br_ext;
}

static struct refdax_refc_index *sb_idx(struct refdax_super *sb)
{
	return (struct refdax_refc_index *)sb->s_refc_root.br_idx;
}

static void put_rec(struct refdax_refc_rec *rc, __u64 start, __u32 len,
		    __u32 count)
{
	rc->rc_start = cpu_to_le64(start);
	rc->rc_len = cpu_to_le32(len);
	rc->rc_count = cpu_to_le32(count);
}

/* Two shared runs, one right after the other, with different counts. */
static void sb_refc_leaf(void *obj)
{
	struct refdax_super *sb = obj;

	sb->s_refc_root.br_hdr.bh_nr = cpu_to_le16(2);
	put_rec(&sb_recs(sb)[0], DATA_START + 10, 4, 2);
	put_rec(&sb_recs(sb)[1], DATA_START + 14, 1, 3);
}

static void sb_refc_full(void *obj)
{
	struct refdax_super *sb = obj;
	unsigned int i;

	sb->s_refc_root.br_hdr.bh_nr = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	for (i = 0; i < REFDAX_BMAP_ROOT_MAX; i++)
		put_rec(&sb_recs(sb)[i], DATA_START + 2 * i, 1, 2);
}

static void sb_refc_overlap(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_leaf(obj);
	sb_recs(sb)[1].rc_start = cpu_to_le64(DATA_START + 13);
}

static void sb_refc_unsorted(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_leaf(obj);
	sb_recs(sb)[1].rc_start = cpu_to_le64(DATA_START);
}

static void sb_refc_count(void *obj, __u32 count)
{
	struct refdax_super *sb = obj;

	sb_refc_leaf(obj);
	sb_recs(sb)[1].rc_count = cpu_to_le32(count);
}

static void sb_refc_count0(void *obj)
{
	sb_refc_count(obj, 0);
}

static void sb_refc_count1(void *obj)
{
	sb_refc_count(obj, 1);
}

static void sb_refc_count_max(void *obj)
{
	sb_refc_count(obj, REFDAX_REFCOUNT_MAX);
}

static void sb_refc_count_huge(void *obj)
{
	sb_refc_count(obj, REFDAX_REFCOUNT_MAX + 1);
}

static void sb_refc_in_metadata(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_leaf(obj);
	sb_recs(sb)[0].rc_start = cpu_to_le64(FSMAP_START);
}

static void sb_refc_past_end(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_leaf(obj);
	put_rec(&sb_recs(sb)[1], NBLOCKS - 1, 2, 2);
}

static void sb_refc_len0(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_leaf(obj);
	sb_recs(sb)[0].rc_len = 0;
}

static void sb_refc_index(void *obj)
{
	struct refdax_super *sb = obj;

	sb->s_refc_root.br_hdr.bh_depth = cpu_to_le16(1);
	sb->s_refc_root.br_hdr.bh_nr = cpu_to_le16(2);
	sb_idx(sb)[0].ri_start = cpu_to_le64(DATA_START + 3);
	sb_idx(sb)[0].ri_child = cpu_to_le64(DATA_START);
	sb_idx(sb)[1].ri_start = cpu_to_le64(DATA_START + 900);
	sb_idx(sb)[1].ri_child = cpu_to_le64(NBLOCKS - 1);
}

static void sb_refc_index_empty(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_index(obj);
	sb->s_refc_root.br_hdr.bh_nr = 0;
}

static void sb_refc_index_child(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_index(obj);
	sb_idx(sb)[1].ri_child = cpu_to_le64(FSMAP_START);
}

static void sb_refc_index_keys(void *obj)
{
	struct refdax_super *sb = obj;

	sb_refc_index(obj);
	sb_idx(sb)[1].ri_start = sb_idx(sb)[0].ri_start;
}

#define SO(f)	offsetof(struct refdax_super, f), \
		sizeof(((struct refdax_super *)0)->f)
#define SR(f)	SO(s_refc_root.f)

static const struct mut super_muts[] = {
	{ "good", SO(s_mount_count), 0, NULL, NULL, 0 },
	{ "magic", SO(s_magic), 0x1234, NULL, "magic", 0 },
	{ "stale checksum", SO(s_mount_count), 7, NULL, "checksum", 1 },
	{ "reserved bits covered by checksum", 0, 0, 0, flip_reserved,
	  "checksum", 1 },
	{ "version 1", SO(s_version), 1, NULL, REFDAX_VERSION_WHY, 0 },
	{ "version 3", SO(s_version), 3, NULL, REFDAX_VERSION_WHY, 0 },
	{ "version 1 layout", 0, 0, 0, sb_version1, REFDAX_VERSION_WHY, 0 },
	{ "block size 8192", SO(s_block_size), 8192, NULL, "block size", 0 },
	{ "unknown incompat", SO(s_feature_incompat), 5, NULL, "incompat", 0 },
	{ "unknown ro_compat accepted", SO(s_feature_ro_compat), 1, NULL,
	  NULL, 0 },
	{ "unknown compat accepted", SO(s_feature_compat), 1, NULL, NULL, 0 },
	{ "no incompat accepted", SO(s_feature_incompat), 0, NULL, NULL, 0 },
	{ "label not terminated", 0, 0, 0, label_full, "label", 0 },
	{ "label of 63 bytes", 0, 0, 0, label_63, NULL, 0 },
	{ "state 0", SO(s_state), 0, NULL, "state", 0 },
	{ "state 8", SO(s_state), 8, NULL, "state", 0 },
	{ "state clean|dirty", SO(s_state), 3, NULL, "state", 0 },
	{ "state dirty", SO(s_state), REFDAX_STATE_DIRTY, NULL, NULL, 0 },
	{ "state dirty|error", SO(s_state), 6, NULL, NULL, 0 },
	{ "errors 0", SO(s_errors), 0, NULL, "errors", 0 },
	{ "errors 4", SO(s_errors), 4, NULL, "errors", 0 },
	{ "errors panic", SO(s_errors), REFDAX_ERRORS_PANIC, NULL, NULL, 0 },
	{ "nblocks 0", SO(s_nblocks), 0, NULL, "block count", 0 },
	{ "nblocks huge", SO(s_nblocks), ~0ULL, NULL, "block count", 0 },
	{ "nblocks beyond device", SO(s_nblocks), NBLOCKS + 1, NULL,
	  "larger than the device", 0 },
	{ "journal at 0", SO(s_journal_start), 0, NULL, "superblock", 0 },
	{ "journal 1 block", SO(s_journal_blocks), 1, NULL, "journal", 0 },
	{ "journal 0 blocks", SO(s_journal_blocks), 0, NULL, "journal", 0 },
	{ "journal length overflow", SO(s_journal_blocks), ~0ULL, NULL,
	  "journal", 0 },
	{ "journal start overflow", SO(s_journal_start), ~0ULL - 2, NULL,
	  "journal", 0 },
	{ "journal into bitmap", SO(s_journal_blocks), 257, NULL,
	  "inode bitmap overlaps the journal", 0 },
	{ "bitmap 0 blocks", SO(s_ibitmap_blocks), 0, NULL, "inode bitmap", 0 },
	{ "bitmap into itable", SO(s_ibitmap_blocks), 2, NULL,
	  "inode table overlaps", 0 },
	{ "bitmap start overflow", SO(s_ibitmap_start), ~0ULL, NULL,
	  "inode bitmap", 0 },
	{ "bitmap too small", 0, 0, 0, sb_bitmap_small, "bitmap too small", 0 },
	{ "two bitmap blocks", 0, 0, 0, sb_bitmap_ok, NULL, 0 },
	{ "itable into fsmap", SO(s_itable_blocks), NINODES / 16 + 1, NULL,
	  "free-space bitmap overlaps the inode table", 0 },
	{ "itable 0 blocks", SO(s_itable_blocks), 0, NULL, "inode table", 0 },
	{ "itable too small", SO(s_ninodes), NINODES + 1, NULL,
	  "inode table too small", 0 },
	{ "ninodes 1", SO(s_ninodes), 1, NULL, "too few inodes", 0 },
	{ "ninodes 0", SO(s_ninodes), 0, NULL, "too few inodes", 0 },
	{ "ninodes 2^32 + 1", SO(s_ninodes), 0x100000001ULL, NULL,
	  "more inodes than 32-bit numbers", 0 },
	{ "fsmap 0 blocks", SO(s_fsmap_blocks), 0, NULL,
	  "free-space bitmap outside", 0 },
	{ "fsmap start overflow", SO(s_fsmap_start), ~0ULL, NULL,
	  "free-space bitmap outside", 0 },
	{ "fsmap length overflow", SO(s_fsmap_blocks), ~0ULL, NULL,
	  "free-space bitmap outside", 0 },
	{ "fsmap into data", SO(s_fsmap_blocks), DATA_START - FSMAP_START + 1,
	  NULL, "data area overlaps the free-space bitmap", 0 },
	{ "fsmap up to data accepted", SO(s_fsmap_blocks),
	  DATA_START - FSMAP_START, NULL, NULL, 0 },
	{ "fsmap at data start", SO(s_fsmap_start), DATA_START, NULL,
	  "data area overlaps the free-space bitmap", 0 },
	{ "fsmap inside itable", SO(s_fsmap_start), FSMAP_START - 1, NULL,
	  "free-space bitmap overlaps the inode table", 0 },
	{ "data not aligned", SO(s_data_start), 1025, NULL, "2 MiB", 0 },
	{ "data at end", SO(s_data_start), NBLOCKS, NULL, "data area", 0 },
	{ "data beyond end", SO(s_data_start), NBLOCKS + 512, NULL,
	  "data area", 0 },
	{ "data start huge", SO(s_data_start), ~0ULL - 511, NULL,
	  "data area", 0 },
	{ "data later (gap) accepted", SO(s_data_start), 1536, NULL, NULL, 0 },
	{ "root 0", SO(s_root_ino), 0, NULL, "root", 0 },
	{ "root = ninodes", SO(s_root_ino), NINODES, NULL, "root", 0 },
	{ "root 5 accepted", SO(s_root_ino), 5, NULL, NULL, 0 },
	{ "orphan head out of range", SO(s_orphan_head), NINODES, NULL,
	  "orphan", 0 },
	{ "orphan head in range", SO(s_orphan_head), NINODES - 1, NULL,
	  NULL, 0 },
	/* the refcount record root: the checksum is right, the root is not */
	{ "refc root extent magic", SR(br_hdr.bh_magic), REFDAX_BMAP_MAGIC,
	  NULL, "bad refcount root magic", 0 },
	{ "refc root magic 0", SR(br_hdr.bh_magic), 0, NULL,
	  "bad refcount root magic", 0 },
	{ "refc root max 6", SR(br_hdr.bh_max), 6, NULL,
	  "bad refcount root capacity", 0 },
	{ "refc root max 255", SR(br_hdr.bh_max), REFDAX_BMAP_NODE_MAX, NULL,
	  "bad refcount root capacity", 0 },
	{ "refc root 8 entries", SR(br_hdr.bh_nr), 8, NULL,
	  "too many entries in refcount root", 0 },
	{ "refc root 0xffff entries", SR(br_hdr.bh_nr), 0xffff, NULL,
	  "too many entries in refcount root", 0 },
	{ "refc root depth 6", SR(br_hdr.bh_depth), 6, NULL,
	  "refcount tree too deep", 0 },
	{ "refc root records", 0, 0, 0, sb_refc_leaf, NULL, 0 },
	{ "refc root full", 0, 0, 0, sb_refc_full, NULL, 0 },
	{ "refc root records overlap", 0, 0, 0, sb_refc_overlap,
	  "refcount records unsorted or overlapping", 0 },
	{ "refc root records unsorted", 0, 0, 0, sb_refc_unsorted,
	  "refcount records unsorted or overlapping", 0 },
	{ "refc root count 0", 0, 0, 0, sb_refc_count0,
	  "count out of range", 0 },
	{ "refc root count 1", 0, 0, 0, sb_refc_count1,
	  "count out of range", 0 },
	{ "refc root count max", 0, 0, 0, sb_refc_count_max, NULL, 0 },
	{ "refc root count past max", 0, 0, 0, sb_refc_count_huge,
	  "count out of range", 0 },
	{ "refc root record in metadata", 0, 0, 0, sb_refc_in_metadata,
	  "refcount record outside the data area", 0 },
	{ "refc root record past the end", 0, 0, 0, sb_refc_past_end,
	  "refcount record outside the data area", 0 },
	{ "refc root record length 0", 0, 0, 0, sb_refc_len0,
	  "refcount record outside the data area", 0 },
	{ "refc index root", 0, 0, 0, sb_refc_index, NULL, 0 },
	{ "refc index root empty", 0, 0, 0, sb_refc_index_empty,
	  "empty refcount index root", 0 },
	{ "refc index child in metadata", 0, 0, 0, sb_refc_index_child,
	  "index child outside the data area", 0 },
	{ "refc index keys equal", 0, 0, 0, sb_refc_index_keys,
	  "index keys not ascending", 0 },
};

static void super_extra(void)
{
	struct refdax_super sb;
	struct refdax_geom g;
	const char *why = NULL;

	good_super(&sb);
	memset(&g, 0xff, sizeof(g));
	EXPECT_EQ(refdax_check_super(&sb, NBLOCKS * 4096 + 100, &g, &why), 0);
	EXPECT_EQ(g.nblocks, NBLOCKS);
	EXPECT_EQ(g.journal_start, 1);
	EXPECT_EQ(g.journal_blocks, 256);
	EXPECT_EQ(g.ibitmap_start, 257);
	EXPECT_EQ(g.ibitmap_blocks, 1);
	EXPECT_EQ(g.itable_start, 258);
	EXPECT_EQ(g.itable_blocks, NINODES / 16);
	EXPECT_EQ(g.ninodes, NINODES);
	EXPECT_EQ(g.fsmap_start, FSMAP_START);
	EXPECT_EQ(g.fsmap_blocks, 1);
	EXPECT_EQ(g.data_start, DATA_START);
	EXPECT_EQ(g.root_ino, 1);
	/* device one block short */
	EXPECT_EQ(refdax_check_super(&sb, NBLOCKS * 4096 - 1, &g, &why),
		  -EUCLEAN);
	EXPECT(why && strstr(why, "larger than the device"));
	EXPECT_EQ(refdax_check_super(&sb, 0, &g, &why), -EUCLEAN);
}

/*
 * The bitmap must have a bit for every data block: one block covers
 * REFDAX_FSMAP_BITS_PER_BLOCK of them, so a data area one block larger
 * needs a second bitmap block.  (The 64 MiB table filesystem is too small
 * to show it.)
 */
static void super_fsmap_size(void)
{
	__u64 nblocks = DATA_START + REFDAX_FSMAP_BITS_PER_BLOCK;
	struct refdax_super sb;
	struct refdax_geom g;
	const char *why = NULL;

	good_super(&sb);
	sb.s_nblocks = cpu_to_le64(nblocks);
	refdax_super_set_csum(&sb);
	EXPECT_EQ(refdax_check_super(&sb, (nblocks + 1) * 4096, &g, &why), 0);

	sb.s_nblocks = cpu_to_le64(nblocks + 1);
	refdax_super_set_csum(&sb);
	EXPECT_EQ(refdax_check_super(&sb, (nblocks + 1) * 4096, &g, &why),
		  -EUCLEAN);
	EXPECT(why && strstr(why, "free-space bitmap too small"));

	sb.s_fsmap_blocks = cpu_to_le64(2);
	refdax_super_set_csum(&sb);
	EXPECT_EQ(refdax_check_super(&sb, (nblocks + 1) * 4096, &g, &why), 0);
	EXPECT_EQ(g.fsmap_blocks, 2);
}

/* Mount and fsck match the reason itself to name both versions. */
static void super_version_why(void)
{
	struct refdax_super sb;
	struct refdax_geom g;
	const char *why = NULL;

	good_super(&sb);
	sb_version1(&sb);
	refdax_super_set_csum(&sb);
	EXPECT_EQ(refdax_check_super(&sb, NBLOCKS * 4096, &g, &why), -EUCLEAN);
	EXPECT(why && !strcmp(why, REFDAX_VERSION_WHY));
	/* a bad checksum is reported as such, not as a version problem */
	sb.s_mount_count = cpu_to_le32(1);
	EXPECT_EQ(refdax_check_super(&sb, NBLOCKS * 4096, &g, &why), -EUCLEAN);
	EXPECT(why && strstr(why, "checksum"));
}

/* ---- inodes and extent roots ---- */

static void good_inode(struct refdax_inode *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->i_mode = cpu_to_le16(S_IFREG | 0644);
	ri->i_nlink = cpu_to_le32(1);
	ri->i_size = cpu_to_le64(3 * 4096 - 100);
	ri->i_blocks = cpu_to_le64(3);
	ri->i_mtime_ns = cpu_to_le32(999999999);
	ri->i_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	ri->i_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	ri->i_root.br_hdr.bh_nr = cpu_to_le16(2);
	ri->i_root.br_ext[0].e_lblk = cpu_to_le32(0);
	ri->i_root.br_ext[0].e_len = cpu_to_le32(2);
	ri->i_root.br_ext[0].e_pblk = cpu_to_le64(DATA_START);
	ri->i_root.br_ext[1].e_lblk = cpu_to_le32(2);
	ri->i_root.br_ext[1].e_len = cpu_to_le32(1);
	ri->i_root.br_ext[1].e_pblk = cpu_to_le64(DATA_START + 10);
	refdax_inode_set_csum(ri);
}

static __u64 inode_ino = 7;

static int chk_inode(void *obj, const char **why)
{
	return refdax_check_inode(&geom, inode_ino, obj, why);
}

static void csum_inode(void *obj)
{
	refdax_inode_set_csum(obj);
}

static void mk_dir(void *obj)
{
	struct refdax_inode *ri = obj;

	ri->i_mode = cpu_to_le16(S_IFDIR | 0755);
	ri->i_size = cpu_to_le64(3 * 4096);
	ri->i_parent = cpu_to_le64(1);
}

static void dir_size_odd(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_dir(obj);
	ri->i_size = cpu_to_le64(3 * 4096 + 8);
}

static void dir_parent0(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_dir(obj);
	ri->i_parent = 0;
}

static void dir_parent_big(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_dir(obj);
	ri->i_parent = cpu_to_le64(NINODES);
}

static void mk_inline(struct refdax_inode *ri, unsigned int len)
{
	ri->i_mode = cpu_to_le16(S_IFLNK | 0777);
	ri->i_flags = cpu_to_le32(REFDAX_IFL_INLINE);
	ri->i_size = cpu_to_le64(len);
	ri->i_blocks = 0;
	memset(ri->i_symlink, 0, sizeof(ri->i_symlink));
	memset(ri->i_symlink, 'a', len < sizeof(ri->i_symlink) ?
	       len : sizeof(ri->i_symlink));
}

static void inline_ok(void *obj)
{
	mk_inline(obj, 5);
}

static void inline_119(void *obj)
{
	mk_inline(obj, 119);
}

static void inline_120(void *obj)
{
	mk_inline(obj, 120);
}

static void inline_nul(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_inline(obj, 10);
	ri->i_symlink[4] = '\0';
}

static void inline_empty(void *obj)
{
	mk_inline(obj, 0);
}

static void inline_on_reg(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_inline(obj, 5);
	ri->i_mode = cpu_to_le16(S_IFREG | 0644);
}

static void symlink_block(void *obj)
{
	struct refdax_inode *ri = obj;

	ri->i_mode = cpu_to_le16(S_IFLNK | 0777);
	ri->i_size = cpu_to_le64(REFDAX_SYMLINK_MAX);
}

static void symlink_too_long(void *obj)
{
	struct refdax_inode *ri = obj;

	ri->i_mode = cpu_to_le16(S_IFLNK | 0777);
	ri->i_size = cpu_to_le64(REFDAX_SYMLINK_MAX + 1);
}

static void mk_special(struct refdax_inode *ri, __u16 type)
{
	ri->i_mode = cpu_to_le16(type | 0600);
	ri->i_size = 0;
	ri->i_blocks = 0;
	ri->i_root.br_hdr.bh_nr = 0;
	ri->i_rdev = cpu_to_le32(0x801);
}

static void special_chr(void *obj)
{
	mk_special(obj, S_IFCHR);
}

static void special_sock(void *obj)
{
	mk_special(obj, S_IFSOCK);
}

static void special_fifo_data(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_special(obj, S_IFIFO);
	ri->i_root.br_hdr.bh_nr = cpu_to_le16(1);
}

static void special_blk_size(void *obj)
{
	struct refdax_inode *ri = obj;

	mk_special(obj, S_IFBLK);
	ri->i_size = cpu_to_le64(1);
}

#define IO(f)	offsetof(struct refdax_inode, f), \
		sizeof(((struct refdax_inode *)0)->f)

static const struct mut inode_muts[] = {
	{ "good", IO(i_uid), 1000, NULL, NULL, 0 },
	{ "stale checksum", IO(i_uid), 1000, NULL, "checksum", 1 },
	{ "mode 0", IO(i_mode), 0, NULL, "file type", 0 },
	{ "mode type 0170000", IO(i_mode), 0170644, NULL, "file type", 0 },
	{ "mode type 0030000", IO(i_mode), 0030644, NULL, "file type", 0 },
	{ "flags 0x40", IO(i_flags), 0x40, NULL, "flags", 0 },
	{ "flags all supported", IO(i_flags), REFDAX_IFL_SUPP &
	  ~REFDAX_IFL_INLINE, NULL, NULL, 0 },
	{ "size 16 TiB", IO(i_size), 1ULL << 44, NULL, NULL, 0 },
	{ "size 16 TiB + 1", IO(i_size), (1ULL << 44) + 1, NULL, "16 TiB", 0 },
	{ "size ~0", IO(i_size), ~0ULL, NULL, "16 TiB", 0 },
	{ "atime ns", IO(i_atime_ns), 1000000000, NULL, "nanosecond", 0 },
	{ "mtime ns", IO(i_mtime_ns), 1000000000, NULL, "nanosecond", 0 },
	{ "ctime ns", IO(i_ctime_ns), 0xffffffff, NULL, "nanosecond", 0 },
	{ "crtime ns", IO(i_crtime_ns), 1000000001, NULL, "nanosecond", 0 },
	{ "next orphan out of range", IO(i_next_orphan), NINODES, NULL,
	  "orphan", 0 },
	{ "next orphan in range", IO(i_next_orphan), 3, NULL, NULL, 0 },
	{ "xattr block in metadata", IO(i_xattr), 1, NULL, "xattr", 0 },
	{ "directory", 0, 0, 0, mk_dir, NULL, 0 },
	{ "directory size unaligned", 0, 0, 0, dir_size_odd, "directory size",
	  0 },
	{ "directory parent 0", 0, 0, 0, dir_parent0, "parent", 0 },
	{ "directory parent too big", 0, 0, 0, dir_parent_big, "parent", 0 },
	{ "inline symlink", 0, 0, 0, inline_ok, NULL, 0 },
	{ "inline symlink 119 bytes", 0, 0, 0, inline_119, NULL, 0 },
	{ "inline symlink 120 bytes", 0, 0, 0, inline_120, "inline symlink",
	  0 },
	{ "inline symlink with NUL", 0, 0, 0, inline_nul, "NUL", 0 },
	{ "empty symlink", 0, 0, 0, inline_empty, "empty symlink", 0 },
	{ "inline on a regular file", 0, 0, 0, inline_on_reg, "inline", 0 },
	{ "block symlink 4095 bytes", 0, 0, 0, symlink_block, NULL, 0 },
	{ "block symlink 4096 bytes", 0, 0, 0, symlink_too_long, "too long",
	  0 },
	{ "char device", 0, 0, 0, special_chr, NULL, 0 },
	{ "socket", 0, 0, 0, special_sock, NULL, 0 },
	{ "fifo with extents", 0, 0, 0, special_fifo_data, "special", 0 },
	{ "block device with size", 0, 0, 0, special_blk_size, "special", 0 },
	{ "root magic", IO(i_root.br_hdr.bh_magic), 0xb3aa, NULL, "magic", 0 },
	{ "root extent outside data", IO(i_root.br_ext[1].e_pblk), 5, NULL,
	  "data area", 0 },
};

static void inode_numbers(void)
{
	struct refdax_inode ri;
	const char *why;

	good_inode(&ri);
	EXPECT_EQ(refdax_check_inode(&geom, 1, &ri, &why), 0);
	EXPECT_EQ(refdax_check_inode(&geom, NINODES - 1, &ri, &why), 0);
	EXPECT_EQ(refdax_check_inode(&geom, 0, &ri, &why), -EUCLEAN);
	EXPECT_EQ(refdax_check_inode(&geom, NINODES, &ri, &why), -EUCLEAN);
	EXPECT_EQ(refdax_check_inode(&geom, ~0ULL, &ri, &why), -EUCLEAN);
}

static void good_root(struct refdax_bmap_root *r)
{
	memset(r, 0, sizeof(*r));
	r->br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	r->br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	r->br_hdr.bh_nr = cpu_to_le16(3);
	r->br_ext[0].e_lblk = cpu_to_le32(0);
	r->br_ext[0].e_len = cpu_to_le32(4);
	r->br_ext[0].e_pblk = cpu_to_le64(DATA_START + 100);
	r->br_ext[1].e_lblk = cpu_to_le32(4);
	r->br_ext[1].e_len = cpu_to_le32(1);
	r->br_ext[1].e_pblk = cpu_to_le64(DATA_START);
	r->br_ext[2].e_lblk = cpu_to_le32(100);
	r->br_ext[2].e_len = cpu_to_le32(8);
	r->br_ext[2].e_pblk = cpu_to_le64(NBLOCKS - 8);
}

static int chk_root(void *obj, const char **why)
{
	return refdax_check_bmap_root(&geom, obj, why);
}

static void root_index(void *obj)
{
	struct refdax_bmap_root *r = obj;

	r->br_hdr.bh_depth = cpu_to_le16(2);
	r->br_hdr.bh_nr = cpu_to_le16(2);
	r->br_idx[0].ei_lblk = cpu_to_le32(0);
	r->br_idx[0].ei_child = cpu_to_le64(DATA_START + 1);
	r->br_idx[1].ei_lblk = cpu_to_le32(500);
	r->br_idx[1].ei_child = cpu_to_le64(NBLOCKS - 1);
}

static void root_index_unsorted(void *obj)
{
	struct refdax_bmap_root *r = obj;

	root_index(obj);
	r->br_idx[1].ei_lblk = cpu_to_le32(0);
}

static void root_index_child_low(void *obj)
{
	struct refdax_bmap_root *r = obj;

	root_index(obj);
	r->br_idx[1].ei_child = cpu_to_le64(DATA_START - 1);
}

static void root_index_child_high(void *obj)
{
	struct refdax_bmap_root *r = obj;

	root_index(obj);
	r->br_idx[1].ei_child = cpu_to_le64(NBLOCKS);
}

static void root_index_empty(void *obj)
{
	struct refdax_bmap_root *r = obj;

	root_index(obj);
	r->br_hdr.bh_nr = 0;
}

static void root_empty(void *obj)
{
	struct refdax_bmap_root *r = obj;

	r->br_hdr.bh_nr = 0;
}

static void root_full(void *obj)
{
	struct refdax_bmap_root *r = obj;
	int i;

	r->br_hdr.bh_nr = cpu_to_le16(7);
	for (i = 0; i < 7; i++) {
		r->br_ext[i].e_lblk = cpu_to_le32(i * 10);
		r->br_ext[i].e_len = cpu_to_le32(10);
		r->br_ext[i].e_pblk = cpu_to_le64(DATA_START + 100 * i);
	}
}

#define RO(f)	offsetof(struct refdax_bmap_root, f), \
		sizeof(((struct refdax_bmap_root *)0)->f)

static const struct mut root_muts[] = {
	{ "good", RO(br_ext[5].e_len), 77, NULL, NULL, 0 },
	{ "empty", 0, 0, 0, root_empty, NULL, 0 },
	{ "full", 0, 0, 0, root_full, NULL, 0 },
	{ "magic", RO(br_hdr.bh_magic), 0, NULL, "magic", 0 },
	{ "max 6", RO(br_hdr.bh_max), 6, NULL, "capacity", 0 },
	{ "max 255", RO(br_hdr.bh_max), 255, NULL, "capacity", 0 },
	{ "nr 8", RO(br_hdr.bh_nr), 8, NULL, "too many", 0 },
	{ "nr 0xffff", RO(br_hdr.bh_nr), 0xffff, NULL, "too many", 0 },
	{ "depth 6", RO(br_hdr.bh_depth), 6, NULL, "deep", 0 },
	{ "unsorted extents", RO(br_ext[1].e_lblk), 0, NULL, "unsorted", 0 },
	{ "overlapping extents", RO(br_ext[1].e_lblk), 3, NULL, "overlapping",
	  0 },
	{ "zero length", RO(br_ext[1].e_len), 0, NULL, "zero-length", 0 },
	{ "unwritten bit", RO(br_ext[1].e_len), REFDAX_EXT_UNWRITTEN | 1, NULL,
	  "unwritten", 0 },
	{ "length 0xffffffff", RO(br_ext[1].e_len), 0xffffffff, NULL,
	  "unwritten", 0 },
	{ "beyond max lblk", RO(br_ext[2].e_lblk), 0xfffffff9U, NULL,
	  "maximum file size", 0 },
	{ "ends at max lblk", RO(br_ext[2].e_lblk), 0xfffffff8U, NULL, NULL,
	  0 },
	{ "pblk below data", RO(br_ext[1].e_pblk), DATA_START - 1, NULL,
	  "data area", 0 },
	{ "pblk in metadata", RO(br_ext[1].e_pblk), 0, NULL, "data area", 0 },
	{ "extent past the end", RO(br_ext[2].e_pblk), NBLOCKS - 7, NULL,
	  "data area", 0 },
	{ "pblk overflow", RO(br_ext[2].e_pblk), ~0ULL - 3, NULL, "data area",
	  0 },
	{ "index root", 0, 0, 0, root_index, NULL, 0 },
	{ "index keys unsorted", 0, 0, 0, root_index_unsorted, "index keys",
	  0 },
	{ "index child below data", 0, 0, 0, root_index_child_low,
	  "child", 0 },
	{ "index child past the end", 0, 0, 0, root_index_child_high,
	  "child", 0 },
	{ "empty index root", 0, 0, 0, root_index_empty, "empty", 0 },
};

static void extent_and_data_block_ok(void)
{
	struct refdax_extent e;
	const char *why;

	EXPECT(refdax_data_block_ok(&geom, DATA_START, 1));
	EXPECT(refdax_data_block_ok(&geom, DATA_START, NBLOCKS - DATA_START));
	EXPECT(refdax_data_block_ok(&geom, NBLOCKS - 1, 1));
	EXPECT(!refdax_data_block_ok(&geom, NBLOCKS - 1, 2));
	EXPECT(!refdax_data_block_ok(&geom, NBLOCKS, 1));
	EXPECT(!refdax_data_block_ok(&geom, DATA_START - 1, 1));
	EXPECT(!refdax_data_block_ok(&geom, DATA_START, 0));
	EXPECT(!refdax_data_block_ok(&geom, DATA_START, ~0ULL));
	EXPECT(!refdax_data_block_ok(&geom, ~0ULL, 2));

	e.e_lblk = cpu_to_le32(0xffffffff);
	e.e_len = cpu_to_le32(1);
	e.e_pblk = cpu_to_le64(DATA_START);
	EXPECT_EQ(refdax_check_extent(&geom, &e, &why), 0);
	e.e_len = cpu_to_le32(2);
	EXPECT_EQ(refdax_check_extent(&geom, &e, &why), -EUCLEAN);
	e.e_lblk = 0;
	e.e_len = cpu_to_le32(REFDAX_EXT_MAX_LEN);
	EXPECT_EQ(refdax_check_extent(&geom, &e, &why), -EUCLEAN);
	EXPECT(strstr(why, "data area") != NULL);
}

/* ---- extent tree nodes ---- */

static unsigned int node_depth;
static __u8 good_leaf[REFDAX_BLOCK_SIZE], good_index[REFDAX_BLOCK_SIZE];

static void init_nodes(void)
{
	struct refdax_bmap_node *bn = (void *)good_leaf;
	struct refdax_extent *e = (void *)(bn + 1);
	struct refdax_bmap_index *ix;
	int i;

	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_nr = cpu_to_le16(3);
	for (i = 0; i < 3; i++) {
		e[i].e_lblk = cpu_to_le32(1000 + 10 * i);
		e[i].e_len = cpu_to_le32(10);
		e[i].e_pblk = cpu_to_le64(DATA_START + 2000 - 10 * i);
	}
	refdax_bmap_node_set_csum(bn);

	bn = (void *)good_index;
	ix = (void *)(bn + 1);
	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_nr = cpu_to_le16(2);
	bn->bn_hdr.bh_depth = cpu_to_le16(1);
	ix[0].ei_lblk = cpu_to_le32(0);
	ix[0].ei_child = cpu_to_le64(DATA_START + 5);
	ix[1].ei_lblk = cpu_to_le32(1);
	ix[1].ei_child = cpu_to_le64(DATA_START + 6);
	refdax_bmap_node_set_csum(bn);
}

static int chk_node(void *obj, const char **why)
{
	return refdax_check_bmap_node(&geom, obj, node_depth, why);
}

static void csum_node(void *obj)
{
	refdax_bmap_node_set_csum(obj);
}

static void node_full(void *obj)
{
	struct refdax_bmap_node *bn = obj;
	struct refdax_extent *e = (void *)(bn + 1);
	unsigned int i;

	bn->bn_hdr.bh_nr = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	for (i = 0; i < REFDAX_BMAP_NODE_MAX; i++) {
		e[i].e_lblk = cpu_to_le32(i);
		e[i].e_len = cpu_to_le32(1);
		e[i].e_pblk = cpu_to_le64(NBLOCKS - 1 - i);
	}
}

static void node_last_bad(void *obj)
{
	struct refdax_bmap_node *bn = obj;
	struct refdax_extent *e = (void *)(bn + 1);

	node_full(obj);
	e[REFDAX_BMAP_NODE_MAX - 1].e_pblk = cpu_to_le64(NBLOCKS);
}

#define NO(f)	offsetof(struct refdax_bmap_node, f), \
		sizeof(((struct refdax_bmap_node *)0)->f)
#define EXT(i, f) (16 + 16 * (i) + offsetof(struct refdax_extent, f)), \
		sizeof(((struct refdax_extent *)0)->f)
#define IDX(i, f) (16 + 16 * (i) + offsetof(struct refdax_bmap_index, f)), \
		sizeof(((struct refdax_bmap_index *)0)->f)

static const struct mut leaf_muts[] = {
	{ "good", EXT(100, e_pblk), 5, NULL, NULL, 0 },
	{ "stale checksum", EXT(100, e_pblk), 5, NULL, "checksum", 1 },
	{ "full", 0, 0, 0, node_full, NULL, 0 },
	{ "full, last extent bad", 0, 0, 0, node_last_bad, "data area", 0 },
	{ "magic", NO(bn_hdr.bh_magic), 1, NULL, "magic", 0 },
	{ "max = root max", NO(bn_hdr.bh_max), REFDAX_BMAP_ROOT_MAX, NULL,
	  "capacity", 0 },
	{ "nr 0", NO(bn_hdr.bh_nr), 0, NULL, "empty", 0 },
	{ "nr 256", NO(bn_hdr.bh_nr), 256, NULL, "too many", 0 },
	{ "depth 1", NO(bn_hdr.bh_depth), 1, NULL, "depth", 0 },
	{ "overlap", EXT(1, e_lblk), 1005, NULL, "overlapping", 0 },
	{ "unwritten", EXT(2, e_len), REFDAX_EXT_UNWRITTEN | 10, NULL,
	  "unwritten", 0 },
	{ "extent outside", EXT(2, e_pblk), 1, NULL, "data area", 0 },
};

static const struct mut index_muts[] = {
	{ "good", IDX(1, ei_lblk), 77, NULL, NULL, 0 },
	{ "stale checksum", IDX(1, ei_lblk), 77, NULL, "checksum", 1 },
	{ "depth 0", NO(bn_hdr.bh_depth), 0, NULL, "depth", 0 },
	{ "depth 5", NO(bn_hdr.bh_depth), 5, NULL, "depth", 0 },
	{ "equal keys", IDX(1, ei_lblk), 0, NULL, "index keys", 0 },
	{ "child in metadata", IDX(1, ei_child), 2, NULL, "child", 0 },
	{ "child past the end", IDX(0, ei_child), NBLOCKS, NULL, "child", 0 },
};

static void node_depth_arg(void)
{
	const char *why;
	__u8 *blk = malloc(REFDAX_BLOCK_SIZE);
	struct refdax_bmap_node *bn = (void *)blk;

	memcpy(blk, good_index, REFDAX_BLOCK_SIZE);
	EXPECT_EQ(refdax_check_bmap_node(&geom, bn, 1, &why), 0);
	EXPECT_EQ(refdax_check_bmap_node(&geom, bn, 0, &why), -EUCLEAN);
	EXPECT_EQ(refdax_check_bmap_node(&geom, bn, 2, &why), -EUCLEAN);
	/* a node can never be at the root's maximum depth */
	bn->bn_hdr.bh_depth = cpu_to_le16(REFDAX_BMAP_MAX_DEPTH);
	refdax_bmap_node_set_csum(bn);
	EXPECT_EQ(refdax_check_bmap_node(&geom, bn, REFDAX_BMAP_MAX_DEPTH,
					 &why), -EUCLEAN);
	free(blk);
}

/* ---- refcount tree nodes ---- */

static __u8 good_refc_leaf[REFDAX_BLOCK_SIZE];
static __u8 good_refc_index[REFDAX_BLOCK_SIZE];

static void init_refc_nodes(void)
{
	struct refdax_bmap_node *bn = (void *)good_refc_leaf;
	struct refdax_refc_rec *rc = (void *)(bn + 1);
	struct refdax_refc_index *ri;

	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_nr = cpu_to_le16(3);
	put_rec(&rc[0], DATA_START + 100, 10, 2);
	put_rec(&rc[1], DATA_START + 110, 5, 3);
	put_rec(&rc[2], NBLOCKS - 1, 1, REFDAX_REFCOUNT_MAX);
	refdax_bmap_node_set_csum(bn);

	bn = (void *)good_refc_index;
	ri = (void *)(bn + 1);
	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_nr = cpu_to_le16(2);
	bn->bn_hdr.bh_depth = cpu_to_le16(1);
	ri[0].ri_start = cpu_to_le64(DATA_START + 100);
	ri[0].ri_child = cpu_to_le64(DATA_START + 5);
	ri[1].ri_start = cpu_to_le64(DATA_START + 5000);
	ri[1].ri_child = cpu_to_le64(DATA_START + 6);
	refdax_bmap_node_set_csum(bn);
}

static int chk_refc_node(void *obj, const char **why)
{
	return refdax_check_refc_node(&geom, obj, node_depth, why);
}

static void refc_node_full(void *obj)
{
	struct refdax_bmap_node *bn = obj;
	struct refdax_refc_rec *rc = (void *)(bn + 1);
	unsigned int i;

	bn->bn_hdr.bh_nr = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	for (i = 0; i < REFDAX_BMAP_NODE_MAX; i++)
		put_rec(&rc[i], DATA_START + 2 * i, 2, 2 + i % 2);
}

static void refc_node_last_past_end(void *obj)
{
	struct refdax_bmap_node *bn = obj;
	struct refdax_refc_rec *rc = (void *)(bn + 1);

	refc_node_full(obj);
	put_rec(&rc[REFDAX_BMAP_NODE_MAX - 1], NBLOCKS - 1, 2, 2);
}

#define REC(i, f) (16 + 16 * (i) + offsetof(struct refdax_refc_rec, f)), \
		sizeof(((struct refdax_refc_rec *)0)->f)
#define RIX(i, f) (16 + 16 * (i) + offsetof(struct refdax_refc_index, f)), \
		sizeof(((struct refdax_refc_index *)0)->f)

static const struct mut refc_leaf_muts[] = {
	{ "good", REC(100, rc_count), 5, NULL, NULL, 0 },
	{ "stale checksum", REC(1, rc_count), 4, NULL,
	  "refcount node checksum mismatch", 1 },
	{ "full", 0, 0, 0, refc_node_full, NULL, 0 },
	{ "full, last record past the end", 0, 0, 0, refc_node_last_past_end,
	  "refcount record outside the data area", 0 },
	{ "extent node magic", NO(bn_hdr.bh_magic), REFDAX_BMAP_MAGIC, NULL,
	  "bad refcount node magic", 0 },
	{ "max = root max", NO(bn_hdr.bh_max), REFDAX_BMAP_ROOT_MAX, NULL,
	  "bad refcount node capacity", 0 },
	{ "nr 0", NO(bn_hdr.bh_nr), 0, NULL, "empty refcount node", 0 },
	{ "nr 256", NO(bn_hdr.bh_nr), 256, NULL,
	  "too many entries in refcount node", 0 },
	{ "depth 1", NO(bn_hdr.bh_depth), 1, NULL,
	  "refcount node at wrong depth", 0 },
	{ "records overlap", REC(1, rc_start), DATA_START + 109, NULL,
	  "refcount records unsorted or overlapping", 0 },
	{ "records unsorted", REC(2, rc_start), DATA_START, NULL,
	  "refcount records unsorted or overlapping", 0 },
	{ "records touching accepted", REC(1, rc_start), DATA_START + 110,
	  NULL, NULL, 0 },
	/* merging equal neighbours is fsck's comparison, not the verifier's */
	{ "equal neighbours accepted", REC(1, rc_count), 2, NULL, NULL, 0 },
	{ "count 0", REC(0, rc_count), 0, NULL, "count out of range", 0 },
	{ "count 1", REC(0, rc_count), 1, NULL, "count out of range", 0 },
	{ "count past max", REC(2, rc_count), REFDAX_REFCOUNT_MAX + 1, NULL,
	  "count out of range", 0 },
	{ "count ~0", REC(2, rc_count), 0xffffffffU, NULL,
	  "count out of range", 0 },
	{ "record in metadata", REC(0, rc_start), FSMAP_START, NULL,
	  "refcount record outside the data area", 0 },
	{ "record past the end", REC(2, rc_start), NBLOCKS, NULL,
	  "refcount record outside the data area", 0 },
	{ "record length 0", REC(1, rc_len), 0, NULL,
	  "refcount record outside the data area", 0 },
	{ "record length ~0", REC(2, rc_len), 0xffffffffU, NULL,
	  "refcount record outside the data area", 0 },
	{ "record start overflow", REC(2, rc_start), ~0ULL, NULL,
	  "refcount record outside the data area", 0 },
};

static const struct mut refc_index_muts[] = {
	{ "good", RIX(1, ri_start), DATA_START + 101, NULL, NULL, 0 },
	{ "stale checksum", RIX(1, ri_start), DATA_START + 101, NULL,
	  "refcount node checksum mismatch", 1 },
	{ "depth 0", NO(bn_hdr.bh_depth), 0, NULL,
	  "refcount node at wrong depth", 0 },
	{ "depth 5", NO(bn_hdr.bh_depth), 5, NULL,
	  "refcount node at wrong depth", 0 },
	{ "equal keys", RIX(1, ri_start), DATA_START + 100, NULL,
	  "index keys not ascending", 0 },
	{ "child in metadata", RIX(1, ri_child), FSMAP_START, NULL,
	  "index child outside the data area", 0 },
	{ "child past the end", RIX(0, ri_child), NBLOCKS, NULL,
	  "index child outside the data area", 0 },
};

/* One node format, two trees: neither verifier takes the other's nodes. */
static void refc_node_kinds(void)
{
	const char *why = NULL;
	__u8 *blk = malloc(REFDAX_BLOCK_SIZE);

	memcpy(blk, good_refc_leaf, REFDAX_BLOCK_SIZE);
	EXPECT_EQ(refdax_check_refc_node(&geom, (void *)blk, 0, &why), 0);
	EXPECT_EQ(refdax_check_bmap_node(&geom, (void *)blk, 0, &why),
		  -EUCLEAN);
	EXPECT(why && strstr(why, "bad extent node magic"));
	memcpy(blk, good_leaf, REFDAX_BLOCK_SIZE);
	EXPECT_EQ(refdax_check_refc_node(&geom, (void *)blk, 0, &why),
		  -EUCLEAN);
	EXPECT(why && strstr(why, "bad refcount node magic"));
	memcpy(blk, good_refc_index, REFDAX_BLOCK_SIZE);
	EXPECT_EQ(refdax_check_refc_node(&geom, (void *)blk, 1, &why), 0);
	EXPECT_EQ(refdax_check_refc_node(&geom, (void *)blk, 2, &why),
		  -EUCLEAN);
	free(blk);
}

/* ---- directory blocks ---- */

static __u8 good_dir[REFDAX_BLOCK_SIZE];

static unsigned int put_dirent(__u8 *blk, unsigned int off, __u64 ino,
			       const char *name, unsigned int type,
			       unsigned int reclen)
{
	struct refdax_dirent *de = (void *)(blk + off);
	unsigned int len = (unsigned int)strlen(name);

	de->d_ino = cpu_to_le64(ino);
	de->d_reclen = cpu_to_le16(reclen);
	de->d_namelen = (__u8)len;
	de->d_type = (__u8)type;
	de->d_hash = cpu_to_le32(refdax_name_hash(name, len));
	memcpy(de->d_name, name, len);
	return off + reclen;
}

/* alpha at 0, beta at 24, a free record at 48, gamma at 80 to the end */
static void init_dir(void)
{
	unsigned int off = 0;

	off = put_dirent(good_dir, off, 2, "alpha", REFDAX_DT_REG, 24);
	off = put_dirent(good_dir, off, 3, "beta", REFDAX_DT_DIR, 24);
	off = put_dirent(good_dir, off, 0, "junk!name", 0, 32);
	memset(good_dir + 48, 0, 8);	/* d_ino 0 */
	put_dirent(good_dir, off, 4, "gamma", REFDAX_DT_LNK, 4096 - off);
}

static int chk_dir(void *obj, const char **why)
{
	return refdax_check_dirblock(&geom, obj, why);
}

static void rename_entry(__u8 *blk, unsigned int off, const char *name,
			 unsigned int len)
{
	struct refdax_dirent *de = (void *)(blk + off);

	de->d_namelen = (__u8)len;
	memcpy(de->d_name, name, len);
	de->d_hash = cpu_to_le32(refdax_name_hash(name, len));
}

static void dir_dot(void *obj)
{
	rename_entry(obj, 24, ".", 1);
}

static void dir_dotdot(void *obj)
{
	rename_entry(obj, 24, "..", 2);
}

static void dir_dots3(void *obj)
{
	rename_entry(obj, 24, "...", 3);
}

static void dir_dot_a(void *obj)
{
	rename_entry(obj, 24, ".a", 2);
}

static void dir_slash(void *obj)
{
	rename_entry(obj, 24, "b/ta", 4);
}

static void dir_nul(void *obj)
{
	rename_entry(obj, 24, "b\0ta", 4);
}

static void dir_high_bytes(void *obj)
{
	rename_entry(obj, 24, "\xff\x80\x01", 3);
}

static void dir_empty_name(void *obj)
{
	rename_entry(obj, 24, "", 0);
}

static void dir_long_name(void *obj)
{
	__u8 *blk = obj;
	char name[255];
	unsigned int reclen = REFDAX_DIRENT_LEN(255);

	memset(blk, 0, REFDAX_BLOCK_SIZE);
	memset(name, 'n', sizeof(name));
	put_dirent(blk, 0, 9, "x", REFDAX_DT_REG, reclen);
	rename_entry(blk, 0, name, 255);
	put_dirent(blk, reclen, 0, "", 0, 4096 - reclen);
}

static void dir_one_free(void *obj)
{
	memset(obj, 0, REFDAX_BLOCK_SIZE);
	put_dirent(obj, 0, 0, "", 0, 4096);
}

static void dir_zeroed(void *obj)
{
	memset(obj, 0, REFDAX_BLOCK_SIZE);
}

static void dir_short_tail(void *obj)
{
	/* last record ends 8 bytes early: the leftover cannot be a header */
	put_dirent(obj, 80, 4, "gamma", REFDAX_DT_LNK, 4096 - 80 - 8);
}

static void dir_tail16(void *obj)
{
	put_dirent(obj, 80, 4, "gamma", REFDAX_DT_LNK, 4096 - 80 - 16);
	put_dirent(obj, 4096 - 16, 0, "", 0, 16);
}

static void dir_unknown_type_ok(void *obj)
{
	((__u8 *)obj)[24 + offsetof(struct refdax_dirent, d_type)] =
		REFDAX_DT_UNKNOWN;
}

#define DO(off, f)	((off) + offsetof(struct refdax_dirent, f)), \
			sizeof(((struct refdax_dirent *)0)->f)

static const struct mut dir_muts[] = {
	{ "good", DO(48, d_name[3]), 'x', NULL, NULL, 0 },
	{ "free record with garbage", DO(48, d_hash), 5, NULL, NULL, 0 },
	{ "single free record", 0, 0, 0, dir_one_free, NULL, 0 },
	{ "255-byte name", 0, 0, 0, dir_long_name, NULL, 0 },
	{ "name ...", 0, 0, 0, dir_dots3, NULL, 0 },
	{ "name .a", 0, 0, 0, dir_dot_a, NULL, 0 },
	{ "name with high bytes", 0, 0, 0, dir_high_bytes, NULL, 0 },
	{ "16-byte free tail", 0, 0, 0, dir_tail16, NULL, 0 },
	{ "type unknown", 0, 0, 0, dir_unknown_type_ok, NULL, 0 },
	{ "zeroed block", 0, 0, 0, dir_zeroed, "too short", 0 },
	{ "reclen odd", DO(24, d_reclen), 20, NULL, "misaligned", 0 },
	{ "reclen short for name", DO(0, d_reclen), 16, NULL, "too short", 0 },
	{ "free reclen short for name", DO(48, d_namelen), 17, NULL,
	  "too short", 0 },
	{ "reclen past block end", DO(80, d_reclen), 4096 - 72, NULL,
	  "crosses block end", 0 },
	{ "reclen 0xfff8", DO(0, d_reclen), 0xfff8, NULL, "crosses block end",
	  0 },
	{ "records stop short", 0, 0, 0, dir_short_tail, "header crosses",
	  0 },
	{ "empty live name", 0, 0, 0, dir_empty_name, "empty name", 0 },
	{ "slash", 0, 0, 0, dir_slash, "'/'", 0 },
	{ "NUL", 0, 0, 0, dir_nul, "NUL", 0 },
	{ "dot", 0, 0, 0, dir_dot, ". or ..", 0 },
	{ "dotdot", 0, 0, 0, dir_dotdot, ". or ..", 0 },
	{ "ino = ninodes", DO(24, d_ino), NINODES, NULL, "out of range", 0 },
	{ "ino huge", DO(80, d_ino), ~0ULL, NULL, "out of range", 0 },
	{ "type 3", DO(0, d_type), 3, NULL, "type", 0 },
	{ "type 14", DO(80, d_type), 14, NULL, "type", 0 },
	{ "hash", DO(24, d_hash), 12345, NULL, "hash", 0 },
	{ "name changed, hash stale", DO(80, d_name[0]), 'G', NULL, "hash",
	  0 },
};

/* ---- fuzzing ---- */

static __u64 rng = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void scramble(void *obj, size_t len, int mode)
{
	__u8 *p = obj;
	size_t i, n;

	if (mode == 0) {
		for (i = 0; i < len; i++)
			p[i] = (__u8)rnd();
		return;
	}
	n = 1 + rnd() % 8;
	for (i = 0; i < n; i++) {
		size_t at = rnd() % len;

		if (rnd() % 2)
			p[at] ^= (__u8)(1U << (rnd() % 8));
		else
			p[at] = (__u8)rnd();
	}
}

static void fuzz(void)
{
	struct refdax_super *sb = malloc(sizeof(*sb));
	struct refdax_inode *ri = malloc(sizeof(*ri));
	__u8 *blk = malloc(REFDAX_BLOCK_SIZE);
	struct refdax_geom g;
	const char *why;
	int i, ret, accepted = 0, bad = 0;

	for (i = 0; i < 20000; i++) {
		int mode = i % 4;

		good_super(sb);
		if (mode == 3)
			sb_refc_leaf(sb);
		scramble(sb, sizeof(*sb), mode);
		if (i % 2)
			refdax_super_set_csum(sb);
		why = NULL;
		ret = refdax_check_super(sb, NBLOCKS * 4096, &g, &why);
		if (ret == 0) {
			accepted++;
			if (g.data_start >= g.nblocks ||
			    g.nblocks > NBLOCKS ||
			    g.fsmap_start + g.fsmap_blocks >
			    g.data_start || g.root_ino >= g.ninodes ||
			    g.ninodes > g.itable_blocks * 16)
				bad++;
		} else if (ret != -EUCLEAN || !why) {
			bad++;
		}

		good_inode(ri);
		if (mode == 3)
			inline_ok(ri);
		scramble(ri, sizeof(*ri), mode);
		if (i % 2)
			refdax_inode_set_csum(ri);
		why = NULL;
		ret = refdax_check_inode(&geom, 1 + rnd() % NINODES, ri, &why);
		if (ret && (ret != -EUCLEAN || !why))
			bad++;

		memcpy(blk, i % 3 ? good_leaf : good_index, REFDAX_BLOCK_SIZE);
		scramble(blk, REFDAX_BLOCK_SIZE, mode);
		if (i % 2)
			refdax_bmap_node_set_csum((void *)blk);
		why = NULL;
		ret = refdax_check_bmap_node(&geom, (void *)blk,
					     (unsigned int)(rnd() % 7), &why);
		if (ret && (ret != -EUCLEAN || !why))
			bad++;

		memcpy(blk, i % 3 ? good_refc_leaf : good_refc_index,
		       REFDAX_BLOCK_SIZE);
		scramble(blk, REFDAX_BLOCK_SIZE, mode);
		if (i % 2)
			refdax_bmap_node_set_csum((void *)blk);
		why = NULL;
		ret = refdax_check_refc_node(&geom, (void *)blk,
					     (unsigned int)(rnd() % 7), &why);
		if (ret && (ret != -EUCLEAN || !why))
			bad++;

		memcpy(blk, good_dir, REFDAX_BLOCK_SIZE);
		scramble(blk, REFDAX_BLOCK_SIZE, mode);
		why = NULL;
		ret = refdax_check_dirblock(&geom, blk, &why);
		if (ret && (ret != -EUCLEAN || !why))
			bad++;
	}
	EXPECT_EQ(bad, 0);
	EXPECT(accepted > 0);
	free(sb);
	free(ri);
	free(blk);
}

void test_verify(void)
{
	struct refdax_super sb;
	struct refdax_inode ri;
	struct refdax_bmap_root root;

	init_geom();
	init_nodes();
	init_refc_nodes();
	init_dir();

	good_super(&sb);
	run_table("super", super_muts, sizeof(super_muts) /
		  sizeof(super_muts[0]), &sb, sizeof(sb), chk_super,
		  csum_super);
	rt_run("super: geometry and device size", super_extra);
	rt_run("super: free-space bitmap sized for the data area",
	       super_fsmap_size);
	rt_run("super: another version is refused as such", super_version_why);

	good_inode(&ri);
	run_table("inode", inode_muts, sizeof(inode_muts) /
		  sizeof(inode_muts[0]), &ri, sizeof(ri), chk_inode,
		  csum_inode);
	rt_run("inode: inode numbers", inode_numbers);

	good_root(&root);
	run_table("bmap root", root_muts, sizeof(root_muts) /
		  sizeof(root_muts[0]), &root, sizeof(root), chk_root, NULL);
	rt_run("extent and data-block ranges", extent_and_data_block_ok);

	node_depth = 0;
	run_table("leaf node", leaf_muts, sizeof(leaf_muts) /
		  sizeof(leaf_muts[0]), good_leaf, REFDAX_BLOCK_SIZE,
		  chk_node, csum_node);
	node_depth = 1;
	run_table("index node", index_muts, sizeof(index_muts) /
		  sizeof(index_muts[0]), good_index, REFDAX_BLOCK_SIZE,
		  chk_node, csum_node);
	rt_run("node: depth argument", node_depth_arg);

	node_depth = 0;
	run_table("refc leaf", refc_leaf_muts, sizeof(refc_leaf_muts) /
		  sizeof(refc_leaf_muts[0]), good_refc_leaf, REFDAX_BLOCK_SIZE,
		  chk_refc_node, csum_node);
	node_depth = 1;
	run_table("refc index", refc_index_muts, sizeof(refc_index_muts) /
		  sizeof(refc_index_muts[0]), good_refc_index,
		  REFDAX_BLOCK_SIZE, chk_refc_node, csum_node);
	rt_run("refc node: extent and refcount nodes apart", refc_node_kinds);

	run_table("dir block", dir_muts, sizeof(dir_muts) /
		  sizeof(dir_muts[0]), good_dir, REFDAX_BLOCK_SIZE, chk_dir,
		  NULL);

	rt_run("fuzz: validators survive random bit patterns", fuzz);
}
