// SPDX-License-Identifier: GPL-2.0
/*
 * Validators for every refdax on-media structure, shared by the kernel
 * module, mkfs, fsck and the unit tests.
 *
 * Each validator looks only at the structure it is handed (plus the
 * geometry decoded from an already validated superblock), accepts any bit
 * pattern without faulting, and answers 0 or -EUCLEAN with a short static
 * reason in *why.  Nothing here allocates, sleeps or prints.  Fields are
 * decoded into host-order locals once, so a structure that changes under us
 * (a concurrent store to pmem) cannot make a check and its use disagree
 * within the validator.
 */
#include "refdax_common.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#endif

/* File type bits, spelled out so neither <sys/stat.h> nor <linux/stat.h>
 * is needed: the on-media values are the traditional Unix ones.
 */
#define RDX_S_IFMT	0170000U
#define RDX_S_IFSOCK	0140000U
#define RDX_S_IFLNK	0120000U
#define RDX_S_IFREG	0100000U
#define RDX_S_IFBLK	0060000U
#define RDX_S_IFDIR	0040000U
#define RDX_S_IFCHR	0020000U
#define RDX_S_IFIFO	0010000U

#define RDX_NSEC_PER_SEC	1000000000U
#define RDX_BITS_PER_BLOCK	(REFDAX_BLOCK_SIZE * 8ULL)
/* Largest block count whose byte size still fits in 64 bits. */
#define RDX_MAX_NBLOCKS		(~0ULL >> REFDAX_BLOCK_SHIFT)
#define RDX_MAX_FILE_BYTES	((REFDAX_MAX_LBLK + 1) << REFDAX_BLOCK_SHIFT)

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return -EUCLEAN;
}

/* [start, start + len) is a non-empty region below @limit. */
static bool region_ok(__u64 start, __u64 len, __u64 limit)
{
	return len != 0 && start < limit && len <= limit - start;
}

static __u64 div_round_up(__u64 n, __u64 d)
{
	return n / d + (n % d != 0);
}

int refdax_check_super(const struct refdax_super *sb, __u64 dev_bytes,
		       struct refdax_geom *geom, const char **why)
{
	__u32 csum;

	if (le64_to_cpu(sb->s_magic) != REFDAX_MAGIC)
		return bad(why, "bad superblock magic");
	csum = refdax_csum_skip(sb, sizeof(*sb),
				offsetof(struct refdax_super, s_checksum));
	if (le32_to_cpu(sb->s_checksum) != csum)
		return bad(why, REFDAX_SB_CSUM_WHY);
	if (refdax_check_super_fields(sb, dev_bytes, geom, why))
		return -EUCLEAN;
	return refdax_check_refc_root(geom, &sb->s_refc_root, why);
}

int refdax_check_super_fields(const struct refdax_super *sb,
			      __u64 dev_bytes, struct refdax_geom *geom,
			      const char **why)
{
	struct refdax_geom g;
	__u32 state, errors;
	__u64 orphan, data_blocks;
	unsigned int i;

	if (le64_to_cpu(sb->s_magic) != REFDAX_MAGIC)
		return bad(why, "bad superblock magic");
	if (le32_to_cpu(sb->s_version) != REFDAX_VERSION)
		return bad(why, REFDAX_VERSION_WHY);
	if (le32_to_cpu(sb->s_block_size) != REFDAX_BLOCK_SIZE)
		return bad(why, "unsupported block size");
	if (le64_to_cpu(sb->s_feature_incompat) & ~REFDAX_FEAT_INCOMPAT_SUPP)
		return bad(why, "unknown incompatible features");

	for (i = 0; i < REFDAX_LABEL_LEN; i++)
		if (sb->s_label[i] == '\0')
			break;
	if (i == REFDAX_LABEL_LEN)
		return bad(why, "label not NUL-terminated");

	state = le32_to_cpu(sb->s_state);
	if (state == 0 || (state & ~(REFDAX_STATE_CLEAN | REFDAX_STATE_DIRTY |
				     REFDAX_STATE_ERROR)) ||
	    ((state & REFDAX_STATE_CLEAN) && (state & REFDAX_STATE_DIRTY)))
		return bad(why, "unknown superblock state");
	errors = le32_to_cpu(sb->s_errors);
	if (errors < REFDAX_ERRORS_CONTINUE || errors > REFDAX_ERRORS_PANIC)
		return bad(why, "unknown errors behaviour");

	g.nblocks = le64_to_cpu(sb->s_nblocks);
	g.journal_start = le64_to_cpu(sb->s_journal_start);
	g.journal_blocks = le64_to_cpu(sb->s_journal_blocks);
	g.ibitmap_start = le64_to_cpu(sb->s_ibitmap_start);
	g.ibitmap_blocks = le64_to_cpu(sb->s_ibitmap_blocks);
	g.itable_start = le64_to_cpu(sb->s_itable_start);
	g.itable_blocks = le64_to_cpu(sb->s_itable_blocks);
	g.ninodes = le64_to_cpu(sb->s_ninodes);
	g.fsmap_start = le64_to_cpu(sb->s_fsmap_start);
	g.fsmap_blocks = le64_to_cpu(sb->s_fsmap_blocks);
	g.data_start = le64_to_cpu(sb->s_data_start);
	g.root_ino = le64_to_cpu(sb->s_root_ino);
	orphan = le64_to_cpu(sb->s_orphan_head);

	if (g.nblocks == 0 || g.nblocks > RDX_MAX_NBLOCKS)
		return bad(why, "block count out of range");
	if (g.nblocks > dev_bytes >> REFDAX_BLOCK_SHIFT)
		return bad(why, "filesystem larger than the device");

	/* superblock < journal < ibitmap < itable < fsmap < data */
	if (g.journal_start <= REFDAX_SB_BLOCK)
		return bad(why, "journal overlaps the superblock");
	if (!region_ok(g.journal_start, g.journal_blocks, g.nblocks))
		return bad(why, "journal outside the filesystem");
	if (g.journal_blocks < 2)
		return bad(why, "journal too small");
	if (g.ibitmap_start < g.journal_start + g.journal_blocks)
		return bad(why, "inode bitmap overlaps the journal");
	if (!region_ok(g.ibitmap_start, g.ibitmap_blocks, g.nblocks))
		return bad(why, "inode bitmap outside the filesystem");
	if (g.itable_start < g.ibitmap_start + g.ibitmap_blocks)
		return bad(why, "inode table overlaps the inode bitmap");
	if (!region_ok(g.itable_start, g.itable_blocks, g.nblocks))
		return bad(why, "inode table outside the filesystem");
	if (g.fsmap_start < g.itable_start + g.itable_blocks)
		return bad(why, "free-space bitmap overlaps the inode table");
	if (!region_ok(g.fsmap_start, g.fsmap_blocks, g.nblocks))
		return bad(why, "free-space bitmap outside the filesystem");
	if (g.data_start < g.fsmap_start + g.fsmap_blocks)
		return bad(why, "data area overlaps the free-space bitmap");
	if (g.data_start >= g.nblocks)
		return bad(why, "data area outside the filesystem");
	if (g.data_start % REFDAX_HUGE_BLOCKS)
		return bad(why, "data area not 2 MiB aligned");

	/* Every block count above is below nblocks < 2^52: no overflow. */
	if (g.ninodes < 2)
		return bad(why, "too few inodes");
	if (g.ninodes > REFDAX_MAX_INODES)
		return bad(why, "more inodes than 32-bit numbers");
	if (g.ninodes > g.itable_blocks * REFDAX_INODES_PER_BLOCK)
		return bad(why, "inode table too small for inode count");
	if (g.ibitmap_blocks < div_round_up(g.ninodes, RDX_BITS_PER_BLOCK))
		return bad(why, "inode bitmap too small for inode count");
	data_blocks = g.nblocks - g.data_start;
	if (g.fsmap_blocks <
	    div_round_up(data_blocks, REFDAX_FSMAP_BITS_PER_BLOCK))
		return bad(why, "free-space bitmap too small for data area");

	if (g.root_ino == 0 || g.root_ino >= g.ninodes)
		return bad(why, "root inode out of range");
	if (orphan >= g.ninodes)
		return bad(why, "orphan list head out of range");

	*geom = g;
	return 0;
}

bool refdax_data_block_ok(const struct refdax_geom *g, __u64 pblk,
			  __u64 len)
{
	return len != 0 && pblk >= g->data_start && pblk < g->nblocks &&
	       len <= g->nblocks - pblk;
}

int refdax_check_extent(const struct refdax_geom *g,
			const struct refdax_extent *ext, const char **why)
{
	__u32 lblk = le32_to_cpu(ext->e_lblk);
	__u32 len = le32_to_cpu(ext->e_len);
	__u64 pblk = le64_to_cpu(ext->e_pblk);

	if (len & REFDAX_EXT_UNWRITTEN)
		return bad(why, "unwritten extents not supported");
	if (len == 0)
		return bad(why, "zero-length extent");
	if ((__u64)lblk + len - 1 > REFDAX_MAX_LBLK)
		return bad(why, "extent beyond the maximum file size");
	if (!refdax_data_block_ok(g, pblk, len))
		return bad(why, "extent outside the data area");
	return 0;
}

/*
 * Entries of a root or node: @ents points at @nr entries, which are extents
 * when @depth is 0 and index entries otherwise.
 */
static int check_entries(const struct refdax_geom *g, const void *ents,
			 unsigned int nr, unsigned int depth, const char **why)
{
	unsigned int i;
	__u64 next = 0;		/* lowest block the next entry may use */
	int err;

	if (depth == 0) {
		const struct refdax_extent *ext = ents;

		for (i = 0; i < nr; i++) {
			__u32 lblk = le32_to_cpu(ext[i].e_lblk);

			err = refdax_check_extent(g, &ext[i], why);
			if (err)
				return err;
			if (lblk < next)
				return bad(why,
					   "extents unsorted or overlapping");
			next = (__u64)lblk + le32_to_cpu(ext[i].e_len);
		}
		return 0;
	}

	{
		const struct refdax_bmap_index *idx = ents;

		for (i = 0; i < nr; i++) {
			__u32 lblk = le32_to_cpu(idx[i].ei_lblk);
			__u64 child = le64_to_cpu(idx[i].ei_child);

			if (i > 0 && lblk < next)
				return bad(why, "index keys not ascending");
			if (!refdax_data_block_ok(g, child, 1))
				return bad(why,
					   "index child outside the data area");
			next = (__u64)lblk + 1;
		}
	}
	return 0;
}

/* What a tree node of one kind must look like, and how to say it is not. */
struct node_kind {
	__u16 magic;
	__u16 root_max;
	const char *bad_magic, *bad_max, *too_many, *empty, *wrong_depth,
		   *bad_csum;
	const char *bad_root_magic, *bad_root_max, *root_too_many,
		   *empty_root, *too_deep;
	int (*entries)(const struct refdax_geom *g, const void *ents,
		       unsigned int nr, unsigned int depth, const char **why);
};

static int check_root(const struct node_kind *k,
		      const struct refdax_geom *g,
		      const struct refdax_bmap_root *root, const char **why)
{
	unsigned int nr = le16_to_cpu(root->br_hdr.bh_nr);
	unsigned int depth = le16_to_cpu(root->br_hdr.bh_depth);

	if (le16_to_cpu(root->br_hdr.bh_magic) != k->magic)
		return bad(why, k->bad_root_magic);
	if (le16_to_cpu(root->br_hdr.bh_max) != k->root_max)
		return bad(why, k->bad_root_max);
	if (nr > k->root_max)
		return bad(why, k->root_too_many);
	if (depth > REFDAX_BMAP_MAX_DEPTH)
		return bad(why, k->too_deep);
	if (depth > 0 && nr == 0)
		return bad(why, k->empty_root);
	return k->entries(g, root->br_ext, nr, depth, why);
}

static int check_node(const struct node_kind *k, const struct refdax_geom *g,
		      const struct refdax_bmap_node *bn, unsigned int depth,
		      const char **why)
{
	unsigned int nr = le16_to_cpu(bn->bn_hdr.bh_nr);
	__u32 csum;

	if (le16_to_cpu(bn->bn_hdr.bh_magic) != k->magic)
		return bad(why, k->bad_magic);
	if (le16_to_cpu(bn->bn_hdr.bh_max) != REFDAX_BMAP_NODE_MAX)
		return bad(why, k->bad_max);
	if (nr > REFDAX_BMAP_NODE_MAX)
		return bad(why, k->too_many);
	if (nr == 0)
		return bad(why, k->empty);
	if (depth >= REFDAX_BMAP_MAX_DEPTH ||
	    le16_to_cpu(bn->bn_hdr.bh_depth) != depth)
		return bad(why, k->wrong_depth);
	csum = refdax_csum_skip(bn, REFDAX_BLOCK_SIZE,
				offsetof(struct refdax_bmap_node, bn_csum));
	if (le32_to_cpu(bn->bn_csum) != csum)
		return bad(why, k->bad_csum);
	return k->entries(g, bn + 1, nr, depth, why);
}

static const struct node_kind bmap_kind = {
	.magic = REFDAX_BMAP_MAGIC,
	.root_max = REFDAX_BMAP_ROOT_MAX,
	.bad_magic = "bad extent node magic",
	.bad_root_magic = "bad extent root magic",
	.root_too_many = "too many entries in extent root",
	.bad_root_max = "bad extent root capacity",
	.bad_max = "bad extent node capacity",
	.too_many = "too many entries in extent node",
	.empty = "empty extent node",
	.empty_root = "empty extent index root",
	.too_deep = "extent tree too deep",
	.wrong_depth = "extent node at wrong depth",
	.bad_csum = "extent node checksum mismatch",
	.entries = check_entries,
};

int refdax_check_bmap_root(const struct refdax_geom *g,
			   const struct refdax_bmap_root *root,
			   const char **why)
{
	return check_root(&bmap_kind, g, root, why);
}

int refdax_check_bmap_node(const struct refdax_geom *g,
			   const struct refdax_bmap_node *bn,
			   unsigned int depth, const char **why)
{
	return check_node(&bmap_kind, g, bn, depth, why);
}

/*
 * Refcount records of a leaf: in the data area, sorted and apart, a count
 * a record can have; or index entries with ascending keys.  Whether
 * neighbours with one count were merged is fsck's comparison to make.
 */
static int check_refc_entries(const struct refdax_geom *g, const void *ents,
			      unsigned int nr, unsigned int depth,
			      const char **why)
{
	const struct refdax_refc_index *idx = ents;
	const struct refdax_refc_rec *rec = ents;
	__u64 next = 0;		/* lowest block the next entry may use */
	unsigned int i;

	for (i = 0; i < nr; i++) {
		__u64 start = le64_to_cpu(depth ? idx[i].ri_start :
						  rec[i].rc_start);

		if (i > 0 && start < next)
			return bad(why, depth ? "index keys not ascending" :
					"refcount records unsorted or overlapping");
		if (depth) {
			if (!refdax_data_block_ok(g, le64_to_cpu(idx[i].ri_child),
						  1))
				return bad(why,
					   "index child outside the data area");
			next = start + 1;
			continue;
		}
		if (!refdax_data_block_ok(g, start, le32_to_cpu(rec[i].rc_len)))
			return bad(why, "refcount record outside the data area");
		if (le32_to_cpu(rec[i].rc_count) < 2 ||
		    le32_to_cpu(rec[i].rc_count) > REFDAX_REFCOUNT_MAX)
			return bad(why, "refcount record count out of range");
		next = start + le32_to_cpu(rec[i].rc_len);
	}
	return 0;
}

static const struct node_kind refc_kind = {
	.magic = REFDAX_REFC_MAGIC,
	.root_max = REFDAX_BMAP_ROOT_MAX,
	.bad_magic = "bad refcount node magic",
	.bad_root_magic = "bad refcount root magic",
	.root_too_many = "too many entries in refcount root",
	.bad_root_max = "bad refcount root capacity",
	.bad_max = "bad refcount node capacity",
	.too_many = "too many entries in refcount node",
	.empty = "empty refcount node",
	.empty_root = "empty refcount index root",
	.too_deep = "refcount tree too deep",
	.wrong_depth = "refcount node at wrong depth",
	.bad_csum = "refcount node checksum mismatch",
	.entries = check_refc_entries,
};

int refdax_check_refc_root(const struct refdax_geom *g,
			   const struct refdax_bmap_root *root,
			   const char **why)
{
	return check_root(&refc_kind, g, root, why);
}

int refdax_check_refc_node(const struct refdax_geom *g,
			   const struct refdax_bmap_node *bn,
			   unsigned int depth, const char **why)
{
	return check_node(&refc_kind, g, bn, depth, why);
}

int refdax_check_inode(const struct refdax_geom *g, __u64 ino,
		       const struct refdax_inode *ri, const char **why)
{
	__u32 mode = le16_to_cpu(ri->i_mode);
	__u32 type = mode & RDX_S_IFMT;
	__u32 flags = le32_to_cpu(ri->i_flags);
	__u64 size = le64_to_cpu(ri->i_size);
	__u64 next_orphan = le64_to_cpu(ri->i_next_orphan);
	__u32 csum;
	__u64 i;

	if (ino == 0 || ino >= g->ninodes)
		return bad(why, "inode number out of range");
	csum = refdax_csum_skip(ri, sizeof(*ri),
				offsetof(struct refdax_inode, i_csum));
	if (le32_to_cpu(ri->i_csum) != csum)
		return bad(why, "inode checksum mismatch");
	switch (type) {
	case RDX_S_IFREG:
	case RDX_S_IFDIR:
	case RDX_S_IFLNK:
	case RDX_S_IFCHR:
	case RDX_S_IFBLK:
	case RDX_S_IFIFO:
	case RDX_S_IFSOCK:
		break;
	default:
		return bad(why, "unknown inode file type");
	}
	if (flags & ~REFDAX_IFL_SUPP)
		return bad(why, "unknown inode flags");
	if (size > RDX_MAX_FILE_BYTES)
		return bad(why, "inode size beyond 16 TiB");
	if (le32_to_cpu(ri->i_atime_ns) >= RDX_NSEC_PER_SEC ||
	    le32_to_cpu(ri->i_mtime_ns) >= RDX_NSEC_PER_SEC ||
	    le32_to_cpu(ri->i_ctime_ns) >= RDX_NSEC_PER_SEC ||
	    le32_to_cpu(ri->i_crtime_ns) >= RDX_NSEC_PER_SEC)
		return bad(why, "inode nanoseconds out of range");
	if (next_orphan >= g->ninodes)
		return bad(why, "orphan link out of range");
	if (ri->i_xattr &&
	    !refdax_data_block_ok(g, le64_to_cpu(ri->i_xattr), 1))
		return bad(why, "xattr block outside the data area");

	if (type == RDX_S_IFDIR) {
		__u64 parent = le64_to_cpu(ri->i_parent);

		if (parent == 0 || parent >= g->ninodes)
			return bad(why, "directory parent out of range");
		if (size % REFDAX_BLOCK_SIZE)
			return bad(why, "directory size not block aligned");
	}
	if (type == RDX_S_IFLNK) {
		if (size == 0)
			return bad(why, "empty symlink");
		if (size > REFDAX_SYMLINK_MAX)
			return bad(why, "symlink target too long");
	}
	if (flags & REFDAX_IFL_INLINE) {
		if (type != RDX_S_IFLNK)
			return bad(why, "inline data on a non-symlink");
		if (size >= sizeof(ri->i_symlink))
			return bad(why, "inline symlink too long");
		for (i = 0; i < size; i++)
			if (ri->i_symlink[i] == '\0')
				return bad(why, "NUL in inline symlink");
		return 0;
	}
	if (type == RDX_S_IFCHR || type == RDX_S_IFBLK ||
	    type == RDX_S_IFIFO || type == RDX_S_IFSOCK) {
		if (size != 0 || le16_to_cpu(ri->i_root.br_hdr.bh_nr) != 0)
			return bad(why, "special file with data");
	}
	return refdax_check_bmap_root(g, &ri->i_root, why);
}

int refdax_check_dirblock(const struct refdax_geom *g, const void *block,
			  const char **why)
{
	const __u8 *base = block;
	unsigned int off = 0;

	while (off < REFDAX_BLOCK_SIZE) {
		struct refdax_dirent de;
		const char *name;
		unsigned int reclen, namelen, i;
		__u64 ino;

		if (REFDAX_BLOCK_SIZE - off < REFDAX_DIRENT_HDR)
			return bad(why, "dirent header crosses block end");
		memcpy(&de, base + off, sizeof(de));
		reclen = le16_to_cpu(de.d_reclen);
		namelen = de.d_namelen;
		ino = le64_to_cpu(de.d_ino);
		name = (const char *)base + off + REFDAX_DIRENT_HDR;

		if (reclen % REFDAX_DIRENT_ALIGN)
			return bad(why, "dirent length misaligned");
		if (reclen < REFDAX_DIRENT_LEN(namelen))
			return bad(why, "dirent length too short for name");
		if (reclen > REFDAX_BLOCK_SIZE - off)
			return bad(why, "dirent crosses block end");
		if (ino != 0) {
			if (namelen == 0)
				return bad(why, "dirent with empty name");
			for (i = 0; i < namelen; i++)
				if (name[i] == '/' || name[i] == '\0')
					return bad(why,
						   "dirent name has '/' or NUL");
			if (name[0] == '.' &&
			    (namelen == 1 || (namelen == 2 && name[1] == '.')))
				return bad(why, "dirent named . or ..");
			if (ino >= g->ninodes)
				return bad(why, "dirent inode out of range");
			switch (de.d_type) {
			case REFDAX_DT_UNKNOWN:
			case REFDAX_DT_FIFO:
			case REFDAX_DT_CHR:
			case REFDAX_DT_DIR:
			case REFDAX_DT_BLK:
			case REFDAX_DT_REG:
			case REFDAX_DT_LNK:
			case REFDAX_DT_SOCK:
				break;
			default:
				return bad(why, "dirent has unknown type");
			}
			if (le32_to_cpu(de.d_hash) !=
			    refdax_name_hash(name, namelen))
				return bad(why, "dirent hash mismatch");
		}
		off += reclen;
	}
	return 0;
}
