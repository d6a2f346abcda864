/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refdax on-media format.
 *
 * This header is the single definition of every structure refdax stores on
 * persistent memory.  It is shared, unchanged, by the kernel module, mkfs,
 * fsck and the userspace unit tests (like XFS's libxfs), so it only uses
 * fixed-width little-endian types and no kernel-only constructs.
 * docs/format.md explains the layout and the crash-atomicity rules.
 *
 * Layout of a filesystem, in 4 KiB blocks:
 *
 *   0                      superblock
 *   journal_start ...      undo journal (header block + entry area)
 *   ibitmap_start ...      inode allocation bitmap, 1 bit per inode
 *   itable_start ...       inode table, REFDAX_INODE_SIZE bytes per inode
 *   fsmap_start ...        free-space bitmap, 1 bit per data-area block
 *   data_start ... nblocks data area: file data, directory blocks,
 *                          extent-tree and refcount-tree nodes, long
 *                          symlink targets
 *
 * Which data blocks are shared, and by how many references, is a B+tree
 * of refcount records whose root lives in the superblock (s_refc_root).
 *
 * data_start is rounded up to a 2 MiB boundary so that 2 MiB-aligned extents
 * in the data area are also 2 MiB aligned physically (given a 2 MiB aligned
 * namespace), which huge-page mappings need.
 */
#ifndef REFDAX_FORMAT_H
#define REFDAX_FORMAT_H

#include "refdax_types.h"

#define REFDAX_MAGIC		0x3158414446455200ULL	/* "\0REFDAX1" */
/*
 * Version 2 replaced version 1's per-block refcount table by the free-space
 * bitmap and the refcount record tree.  There is no converter: a kernel or
 * tool of one version refuses the other, naming both.
 */
#define REFDAX_VERSION		2
#define REFDAX_BLOCK_SHIFT	12
#define REFDAX_BLOCK_SIZE	4096U			/* 1 << BLOCK_SHIFT */
#define REFDAX_HUGE_BLOCKS	512U			/* 2 MiB in blocks */
#define REFDAX_CACHELINE	64U

#define REFDAX_SB_BLOCK		0ULL
#define REFDAX_ROOT_INO		1ULL	/* inode 0 is never used */
#define REFDAX_LABEL_LEN	64
#define REFDAX_NAME_LEN		255

/* Feature flags.  A kernel refuses to mount an image with unknown incompat
 * bits, and mounts read-only with unknown ro_compat bits.
 */
#define REFDAX_FEAT_INCOMPAT_REFLINK	0x1ULL	/* blocks may be shared */
#define REFDAX_FEAT_INCOMPAT_XATTR	0x2ULL	/* inodes may have i_xattr */
#define REFDAX_FEAT_INCOMPAT_SUPP	(REFDAX_FEAT_INCOMPAT_REFLINK | \
					 REFDAX_FEAT_INCOMPAT_XATTR)
#define REFDAX_FEAT_RO_COMPAT_SUPP	0ULL
#define REFDAX_FEAT_COMPAT_SUPP		0ULL

/* s_state */
#define REFDAX_STATE_CLEAN	1U	/* unmounted cleanly */
#define REFDAX_STATE_DIRTY	2U	/* mounted, or crashed while mounted */
#define REFDAX_STATE_ERROR	4U	/* corruption was detected: run fsck */

/* s_errors: what the kernel does when it meets corrupt metadata */
#define REFDAX_ERRORS_CONTINUE	1U
#define REFDAX_ERRORS_RO	2U
#define REFDAX_ERRORS_PANIC	3U

/* ------------------------------------------------------------------------
 * Tree nodes, shared by extent maps and refcount records (below).  Extent
 * maps: a file's logical blocks map to physical data-area blocks through a
 * B+tree whose root lives in the inode.  Leaves hold extents,
 * interior nodes hold (first logical block, child block) pairs.  Node blocks
 * are data-area blocks in use with a reference count of one.
 */
#define REFDAX_BMAP_MAGIC	0xb3a9U
#define REFDAX_BMAP_MAX_DEPTH	5
#define REFDAX_EXT_MAX_LEN	0x7fffffffU
#define REFDAX_EXT_UNWRITTEN	0x80000000U	/* reserved, not yet used */
#define REFDAX_MAX_LBLK		0xffffffffULL	/* 16 TiB files */

struct refdax_bmap_hdr {
	__le16	bh_magic;
	__le16	bh_nr;			/* entries in use */
	__le16	bh_max;			/* entries that fit */
	__le16	bh_depth;		/* 0 = entries are extents */
};

struct refdax_extent {
	__le32	e_lblk;			/* first logical block */
	__le32	e_len;			/* blocks; REFDAX_EXT_UNWRITTEN bit */
	__le64	e_pblk;			/* first physical block */
};

struct refdax_bmap_index {
	__le32	ei_lblk;		/* lowest logical block below child */
	__le32	ei_pad;
	__le64	ei_child;		/* physical block of child node */
};

/* A tree node is one block: header, checksum, entries. */
struct refdax_bmap_node {
	struct refdax_bmap_hdr	bn_hdr;
	__le32			bn_csum;	/* crc32c of block, this field 0 */
	__le32			bn_pad;
	union {
		struct refdax_extent	 bn_ext[0];
		struct refdax_bmap_index bn_idx[0];
	};
};

#define REFDAX_BMAP_NODE_MAX \
	((REFDAX_BLOCK_SIZE - 16U) / sizeof(struct refdax_extent))	/* 255 */
#define REFDAX_BMAP_ROOT_MAX	7U

struct refdax_bmap_root {
	struct refdax_bmap_hdr	br_hdr;
	union {
		struct refdax_extent	 br_ext[REFDAX_BMAP_ROOT_MAX];
		struct refdax_bmap_index br_idx[REFDAX_BMAP_ROOT_MAX];
	};
};

/* ------------------------------------------------------------------------
 * Superblock.
 */
struct refdax_super {
	__le64	s_magic;
	__le32	s_version;
	__le32	s_block_size;
	__le64	s_feature_compat;
	__le64	s_feature_ro_compat;
	__le64	s_feature_incompat;
	__u8	s_uuid[16];
	char	s_label[REFDAX_LABEL_LEN];	/* NUL padded */

	__le64	s_nblocks;		/* blocks in the filesystem */
	__le64	s_journal_start;
	__le64	s_journal_blocks;	/* header block + entry area */
	__le64	s_ibitmap_start;
	__le64	s_ibitmap_blocks;
	__le64	s_itable_start;
	__le64	s_itable_blocks;
	__le64	s_ninodes;		/* inodes in the table */
	__le64	s_fsmap_start;		/* free-space bitmap */
	__le64	s_fsmap_blocks;
	__le64	s_data_start;		/* first data-area block */

	__le64	s_root_ino;
	__le64	s_orphan_head;		/* first unlinked-but-open inode, or 0 */
	__le64	s_mkfs_time;
	__le64	s_mount_time;
	__le64	s_write_time;
	__le32	s_mount_count;
	__le32	s_state;
	__le32	s_errors;		/* default errors= behaviour */
	__le32	s_pad0;
	struct refdax_bmap_root s_refc_root;	/* refcount record tree */
	__u8	s_reserved[120];
	__le32	s_pad1;
	__le32	s_checksum;		/* crc32c of the struct, this field 0 */
};

/* ------------------------------------------------------------------------
 * Undo journal.
 *
 * Every multi-structure metadata update runs as one transaction.  Before a
 * metadata range is changed in place, its old contents are appended to the
 * journal entry area as one entry and made durable (flush + fence).  Commit
 * flushes every changed range, fences, then bumps jh_gen with one 8-byte
 * non-temporal store and fences again.  Entries whose je_gen equals the
 * current jh_gen and whose checksum verifies belong to an uncommitted
 * transaction: recovery copies their old contents back in reverse order and
 * then bumps jh_gen.  Entry checksums start from jh_seed, a random value
 * the kernel renews at every mount (after recovery), so bytes a user shapes
 * in metadata that is later logged cannot pass for a valid entry in a slot
 * the next transaction reuses.  See docs/format.md.
 */
#define REFDAX_JOURNAL_MAGIC	0x4c4e524a58445252ULL	/* "RRDXJRNL" */

struct refdax_journal_header {
	__le64	jh_magic;
	__le64	jh_gen;			/* commit word: the live transaction id */
	__le64	jh_entry_start;		/* byte offset of entry area in journal */
	__le64	jh_entry_bytes;		/* size of the entry area */
	__le32	jh_seed;		/* secret seed of entry checksums */
	__u8	jh_pad[28];		/* the header fills one cache line */
};

struct refdax_journal_entry {
	__le64	je_gen;			/* transaction id this entry belongs to */
	__le64	je_addr;		/* byte offset on the device of the range */
	__le32	je_len;			/* bytes of old data that follow */
	__le32	je_seq;			/* index of the entry within the txn */
	__le32	je_pad;
	__le32	je_csum;		/* crc32c of header (csum 0) + data */
	/* je_len bytes of old contents follow, padded to REFDAX_CACHELINE */
};

#define REFDAX_JENTRY_MAX_DATA	REFDAX_BLOCK_SIZE

/* ------------------------------------------------------------------------
 * Inodes.  Fixed-size slots in the inode table; slot N is inode N.  A slot is
 * in use iff its bit is set in the inode bitmap, and then i_mode != 0.
 */
#define REFDAX_INODE_SIZE	256U
#define REFDAX_INODES_PER_BLOCK	(REFDAX_BLOCK_SIZE / REFDAX_INODE_SIZE)
/* Inode numbers fit 32 bits: file handles carry them so (src/refdax_export.c). */
#define REFDAX_MAX_INODES	0x100000000ULL
#define REFDAX_INLINE_SYMLINK	(sizeof(struct refdax_bmap_root))	/* 120 */
#define REFDAX_SYMLINK_MAX	(REFDAX_BLOCK_SIZE - 1)

/* i_flags */
#define REFDAX_IFL_ORPHAN	0x01U	/* on the orphan list */
#define REFDAX_IFL_INLINE	0x02U	/* symlink target stored inline */
#define REFDAX_IFL_APPEND	0x04U
#define REFDAX_IFL_IMMUTABLE	0x08U
#define REFDAX_IFL_NOATIME	0x10U
#define REFDAX_IFL_NODUMP	0x20U	/* dump(8) skips it; refdax only stores it */
#define REFDAX_IFL_SUPP		0x3fU

struct refdax_inode {
	__le16	i_mode;
	__le16	i_pad0;
	__le32	i_nlink;
	__le32	i_uid;
	__le32	i_gid;
	__le32	i_flags;
	__le32	i_generation;
	__le64	i_size;
	__le64	i_blocks;		/* 4 KiB blocks mapped, tree nodes too */
	__le64	i_atime;		/* seconds */
	__le64	i_mtime;
	__le64	i_ctime;
	__le64	i_crtime;
	__le32	i_atime_ns;
	__le32	i_mtime_ns;
	__le32	i_ctime_ns;
	__le32	i_crtime_ns;
	__le64	i_parent;		/* directories: parent directory inode */
	__le64	i_next_orphan;		/* orphan list link, 0 ends the list */
	__le32	i_rdev;			/* device nodes: new_encode_dev() */
	__le32	i_pad1;
	union {
		struct refdax_bmap_root	i_root;		/* regular, dir, symlink */
		char	i_symlink[REFDAX_INLINE_SYMLINK];	/* IFL_INLINE */
	};
	__le64	i_xattr;		/* attribute block (refdax_xattr.h), 0 */
	__u8	i_reserved[8];
	__le32	i_pad2;
	__le32	i_csum;			/* crc32c of the inode, this field 0 */
};

/* ------------------------------------------------------------------------
 * Directories.  A directory's data blocks hold variable-length records that
 * never cross a block boundary and together cover the whole block.  A record
 * with d_ino == 0 is free space.  "." and ".." are not stored: the parent is
 * i_parent.  The kernel indexes names by d_hash in memory, so lookups in large
 * directories do not scan.
 */
#define REFDAX_DIRENT_HDR	16U
#define REFDAX_DIRENT_ALIGN	8U
#define REFDAX_DIRENT_LEN(namelen) \
	((REFDAX_DIRENT_HDR + (namelen) + REFDAX_DIRENT_ALIGN - 1) & \
	 ~(REFDAX_DIRENT_ALIGN - 1))

/* d_type, same values as the VFS DT_* */
#define REFDAX_DT_UNKNOWN	0
#define REFDAX_DT_FIFO		1
#define REFDAX_DT_CHR		2
#define REFDAX_DT_DIR		4
#define REFDAX_DT_BLK		6
#define REFDAX_DT_REG		8
#define REFDAX_DT_LNK		10
#define REFDAX_DT_SOCK		12

struct refdax_dirent {
	__le64	d_ino;			/* 0: free record */
	__le16	d_reclen;		/* bytes to the next record */
	__u8	d_namelen;
	__u8	d_type;
	__le32	d_hash;			/* refdax_name_hash() of the name */
	char	d_name[];		/* not NUL terminated */
};

/* ------------------------------------------------------------------------
 * Free space.  One bit per data-area block, bit i (bit i % 8 of byte i / 8)
 * for block s_data_start + i: set while the block holds anything (file
 * data, a directory block, a node of either tree, a symlink target), clear
 * when it is free.  The kernel builds its in-memory allocator from it at
 * mount.  Bits past the data area are clear.
 */
#define REFDAX_FSMAP_BITS_PER_BLOCK	(REFDAX_BLOCK_SIZE * 8U)

/*
 * Reference counts: a B+tree in the tree node format above, magic
 * REFDAX_REFC_MAGIC, root s_refc_root in the superblock, keyed by physical
 * block, whose leaves hold one record per run of data blocks sharing a
 * count of at least two (reflink).  A block in use that no record covers
 * has one reference; a record never covers a free block.  Records never
 * overlap, and two adjacent records never have the same count (fsck
 * rebuilds them from the extent maps and compares).  Index entries are
 * (lowest start below, child block).  Record-tree nodes are blocks in use
 * with no record.
 */
#define REFDAX_REFCOUNT_MAX		0xfffffff0U
#define REFDAX_REFC_MAGIC	0x7fc2U
#define REFDAX_REFC_MAX_LEN	0xffffffffU

struct refdax_refc_rec {
	__le64	rc_start;		/* first physical block */
	__le32	rc_len;			/* blocks, at least 1 */
	__le32	rc_count;		/* references, 2..REFDAX_REFCOUNT_MAX */
};

struct refdax_refc_index {
	__le64	ri_start;		/* lowest start below child */
	__le64	ri_child;		/* physical block of child node */
};

/* ------------------------------------------------------------------------
 * Extended attributes.  An inode with attributes has one attribute block,
 * a data-area block in use with one reference, whose physical number is
 * i_xattr (0: none).  The 256-byte inode has no room for values of its own.
 * The block is a header followed by xh_count entries packed from byte 32,
 * each REFDAX_XATTR_ENTRY_LEN() bytes: namespace, name, and the value
 * either inline after the name or, if xe_pblk != 0, in a "remote" run of
 * DIV_ROUND_UP(xe_vallen, 4096) contiguous data blocks of its own (raw
 * bytes, the tail of the last block zero).  (namespace, name) pairs are
 * unique; posix ACLs have an empty name.  Neither the attribute block nor
 * a remote run is ever shared.  Common code: include/refdax_xattr.h.
 */
#define REFDAX_XATTR_MAGIC	0x52544158U	/* "XATR" */
#define REFDAX_XATTR_NAME_MAX	255U
#define REFDAX_XATTR_SIZE_MAX	65536U		/* XATTR_SIZE_MAX */
/* Values up to this many bytes are stored inline, larger ones remote. */
#define REFDAX_XATTR_INLINE_MAX	1024U

/* xe_ns: the namespace (prefix) of an entry */
#define REFDAX_XATTR_NS_USER		1	/* "user." */
#define REFDAX_XATTR_NS_TRUSTED		2	/* "trusted." */
#define REFDAX_XATTR_NS_SECURITY	3	/* "security." */
#define REFDAX_XATTR_NS_ACL_ACCESS	4	/* posix ACL, no name */
#define REFDAX_XATTR_NS_ACL_DEFAULT	5	/* default ACL, no name */
#define REFDAX_XATTR_NS_MAX		5

struct refdax_xattr_hdr {
	__le32	xh_magic;
	__le32	xh_csum;		/* crc32c of the block, this field 0 */
	__le64	xh_ino;			/* owner inode */
	__le16	xh_count;		/* entries */
	__le16	xh_used;		/* bytes of header and entries */
	__le32	xh_pad0;
	__le64	xh_pad1;
};

struct refdax_xattr_entry {
	__u8	xe_ns;			/* REFDAX_XATTR_NS_* */
	__u8	xe_namelen;
	__le16	xe_pad;
	__le32	xe_vallen;		/* value bytes */
	__le64	xe_pblk;		/* remote value's first block, or 0 */
	/* xe_namelen name bytes, then the value if xe_pblk == 0 */
};

/*
 * A POSIX ACL's value: a version word, then one entry per ACL entry in
 * the kernel's order, ids in the initial user namespace (the layout of
 * the system.posix_acl_* xattr values).
 */
#define REFDAX_ACL_VERSION	2U

struct refdax_acl_entry {
	__le16	e_tag;			/* ACL_USER_OBJ, ACL_USER, ... */
	__le16	e_perm;
	__le32	e_id;			/* uid or gid, for ACL_USER/GROUP */
};

#define REFDAX_XATTR_ALIGN	8U
#define REFDAX_XATTR_ENTRY_LEN(namelen, inl) \
	((16U + (namelen) + (inl) + REFDAX_XATTR_ALIGN - 1) & \
	 ~(REFDAX_XATTR_ALIGN - 1))
/* Contiguous blocks of a remote value of @len bytes. */
#define REFDAX_XATTR_REMOTE_BLOCKS(len) \
	(((len) + REFDAX_BLOCK_SIZE - 1) / REFDAX_BLOCK_SIZE)

REFDAX_STATIC_ASSERT(REFDAX_BLOCK_SIZE == 1U << REFDAX_BLOCK_SHIFT);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_super) == 512);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_journal_header) == 64);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_journal_entry) == 32);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_bmap_hdr) == 8);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_extent) == 16);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_bmap_index) == 16);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_bmap_node) == 16);
REFDAX_STATIC_ASSERT(16 + REFDAX_BMAP_NODE_MAX * 16 == REFDAX_BLOCK_SIZE);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_bmap_root) == 120);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_refc_rec) == 16);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_refc_index) == 16);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_inode) == REFDAX_INODE_SIZE);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_dirent) == REFDAX_DIRENT_HDR);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_xattr_hdr) == 32);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_xattr_entry) == 16);
REFDAX_STATIC_ASSERT(sizeof(struct refdax_acl_entry) == 8);

#endif /* REFDAX_FORMAT_H */
