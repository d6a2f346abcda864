// SPDX-License-Identifier: GPL-2.0
/*
 * corrupt_gen: derive one deterministically corrupted refdax image from a
 * clean base image.
 *
 *   corrupt_gen BASE OUT SEED INDEX   write the mutated image to OUT (a file
 *                                     or a block device) and print one line
 *                                     describing the mutation
 *   corrupt_gen --info BASE           print what the walker found in BASE
 *
 * The same (BASE, SEED, INDEX) always gives the same image, so any image a
 * test run reports can be rebuilt on its own.  Three mutation classes:
 *
 *   flip       random bit or byte flips inside one metadata block found by
 *              walking the base image (superblock and its refcount record
 *              root, journal header and entry area, inode bitmap, inode
 *              table, free-space bitmap, extent and refcount tree nodes,
 *              directory blocks, symlink blocks, attribute blocks and
 *              remote attribute values); for half of them the
 *              checksum of the hit structure is recomputed so the deeper
 *              validators are reached, not only the checksum test
 *   field      one bad value (0, 1, all ones, off by one, huge, negative as
 *              unsigned, or the block of the superblock, the journal or
 *              another inode) in one field a validator or the kernel checks,
 *              checksums fixed
 *   struct     structural lies that pass every per-structure check: two files
 *              owning one block, a directory entry naming a free inode,
 *              directory cycles, a used block marked free in the free-space
 *              bitmap, refcount records that lie about a count or overlap,
 *              a tree node that points at itself, a valid-looking
 *              uncommitted journal entry aimed at a forbidden range, and the
 *              like
 *
 * The description line may end with tags the guest job checks:
 *   [expect=refuse]      the mount must fail (the superblock, refcount root
 *                        included, fails refdax_check_super() and no journal
 *                        entry could restore it)
 *   [expect=norecover]   the mount must not undo any journal entry
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refdax_common.h"
#include "refdax_xattr.h"

#define BS		REFDAX_BLOCK_SIZE
#define S_TYPE(m)	((m) & 0170000U)
#define T_DIR		0040000U
#define T_REG		0100000U
#define T_LNK		0120000U

/* ---- deterministic randomness ---- */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* ---- the image and what the walk found ---- */
enum kind { K_SB, K_JHDR, K_JAREA, K_IBITMAP, K_ITABLE, K_FSMAP,
	    K_NODE, K_REFC, K_DIR, K_SYMLINK, K_XATTR, K_XREMOTE, K_NKINDS };
static const char *const kind_name[K_NKINDS] = {
	"superblock", "journal-header", "journal-entries", "inode-bitmap",
	"inode-table", "fsmap-bitmap", "bmap-node", "refc-node", "dir-block",
	"symlink-block", "xattr-block", "xattr-remote",
};

struct mblk {
	uint64_t blk;
	uint64_t ino;		/* owner, for nodes/dir/symlink blocks */
	unsigned int depth;	/* nodes: depth of the node */
	int kind;
};

/* One extent or index entry, wherever it lives. */
struct eref {
	uint64_t off;		/* byte offset of the entry in the image */
	uint64_t ino;
	uint64_t node;		/* 0: in the inode root, else node block */
	int index;		/* 1: index entry, 0: extent */
};

/* One refcount record or index entry, in the superblock root or a node. */
struct rref {
	uint64_t off;		/* byte offset of the entry in the image */
	uint64_t node;		/* 0: in the superblock root, else node block */
	int index;		/* 1: index entry, 0: record */
};

static uint8_t *img;
static uint64_t img_size;
static struct refdax_geom g;
static struct mblk *mb;
static size_t nmb, cap_mb;
static struct eref *er;
static size_t ner, cap_er;
static uint64_t *used_ino;
static size_t nused, cap_used;
static struct rref *rr;
static size_t nrr, cap_rr;

static char desc[1024];
static size_t dlen;
static int want_refuse, want_norecover, forged;
/* inode the mutation is about: the walker also writes to it */
static uint64_t target;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dlen += vsnprintf(desc + dlen, sizeof(desc) - dlen, fmt, ap);
	va_end(ap);
	if (dlen >= sizeof(desc))
		dlen = sizeof(desc) - 1;
}

static void die(const char *msg)
{
	fprintf(stderr, "corrupt_gen: %s\n", msg);
	exit(2);
}

static void *grow(void *p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 256;
	p = realloc(p, *cap * sz);
	if (!p)
		die("out of memory");
	return p;
}

static void add_mb(uint64_t blk, int kind, uint64_t ino, unsigned int depth)
{
	if (blk >= g.nblocks)
		return;
	mb = grow(mb, &cap_mb, nmb, sizeof(*mb));
	mb[nmb++] = (struct mblk){ blk, ino, depth, kind };
}

static void add_er(uint64_t off, uint64_t ino, uint64_t node, int index)
{
	er = grow(er, &cap_er, ner, sizeof(*er));
	er[ner++] = (struct eref){ off, ino, node, index };
}

static uint8_t *blkp(uint64_t blk)
{
	return img + blk * BS;
}

static struct refdax_super *sbp(void)
{
	return (struct refdax_super *)img;
}

static struct refdax_inode *inop(uint64_t ino)
{
	return (struct refdax_inode *)(blkp(g.itable_start) +
				       ino * REFDAX_INODE_SIZE);
}

static int ino_used(uint64_t ino)
{
	const uint8_t *bm = blkp(g.ibitmap_start);

	return ino < g.ninodes && (bm[ino / 8] >> (ino % 8)) & 1;
}

/* The free-space bitmap: the fsmap region is contiguous, one bit a block. */
static uint8_t *fsmap(void)
{
	return blkp(g.fsmap_start);
}

static int blk_in_use(uint64_t blk)
{
	return refdax_fsmap_test(fsmap(), blk - g.data_start);
}

static void add_rr(uint64_t off, uint64_t node, int index)
{
	rr = grow(rr, &cap_rr, nrr, sizeof(*rr));
	rr[nrr++] = (struct rref){ off, node, index };
}

static struct refdax_refc_rec *rrec(const struct rref *r)
{
	return (struct refdax_refc_rec *)(img + r->off);
}

/* The record after @r in its root or node (the caller checks there is one). */
static struct refdax_refc_rec *next_rec(const struct rref *r)
{
	return (struct refdax_refc_rec *)(img + r->off + 16);
}

static struct refdax_refc_index *ridx(const struct rref *r)
{
	return (struct refdax_refc_index *)(img + r->off);
}

/* The header of the root or node holding @r. */
static struct refdax_bmap_hdr *rr_hdr(const struct rref *r)
{
	if (r->node)
		return &((struct refdax_bmap_node *)blkp(r->node))->bn_hdr;
	return &sbp()->s_refc_root.br_hdr;
}

/* Entry @r is the last one of its root or node. */
static int rr_last(const struct rref *r)
{
	uint64_t first = r->node ? r->node * BS + 16 :
			 offsetof(struct refdax_super, s_refc_root.br_ext);

	return (r->off - first) / 16 + 1 == le16_to_cpu(rr_hdr(r)->bh_nr);
}

/* Recompute the checksum covering @r: its node's, or the superblock's. */
static void fix_rref(const struct rref *r)
{
	if (r->node)
		refdax_bmap_node_set_csum((void *)blkp(r->node));
	else
		refdax_super_set_csum(sbp());
}

/* ---- walking the base image ---- */
static void walk_entries(uint64_t ino, uint64_t node, uint8_t *ents,
			 unsigned int nr, unsigned int depth, int kind);

static void walk_node(uint64_t ino, uint64_t blk, unsigned int depth, int kind)
{
	struct refdax_bmap_node *bn;
	const char *why;

	if (blk < g.data_start || blk >= g.nblocks)
		return;
	bn = (void *)blkp(blk);
	if (refdax_check_bmap_node(&g, bn, depth, &why))
		return;
	add_mb(blk, K_NODE, ino, depth);
	walk_entries(ino, blk, (uint8_t *)(bn + 1), le16_to_cpu(bn->bn_hdr.bh_nr),
		     depth, kind);
}

static void walk_entries(uint64_t ino, uint64_t node, uint8_t *ents,
			 unsigned int nr, unsigned int depth, int kind)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		add_er(ents + i * 16 - img, ino, node, depth > 0);
		if (depth > 0) {
			struct refdax_bmap_index *ix = (void *)(ents + i * 16);

			walk_node(ino, le64_to_cpu(ix->ei_child), depth - 1, kind);
		} else if (kind >= 0) {
			struct refdax_extent *e = (void *)(ents + i * 16);
			uint64_t p = le64_to_cpu(e->e_pblk), k;
			uint64_t len = le32_to_cpu(e->e_len);

			for (k = 0; k < len && k < 64; k++)
				add_mb(p + k, kind, ino, 0);
		}
	}
}

static void walk_refc_entries(uint64_t node, uint8_t *ents, unsigned int nr,
			      unsigned int depth);

static void walk_refc_node(uint64_t blk, unsigned int depth)
{
	struct refdax_bmap_node *bn;
	const char *why;

	if (blk < g.data_start || blk >= g.nblocks)
		return;
	bn = (void *)blkp(blk);
	if (refdax_check_refc_node(&g, bn, depth, &why))
		return;
	add_mb(blk, K_REFC, 0, depth);
	walk_refc_entries(blk, (uint8_t *)(bn + 1),
			  le16_to_cpu(bn->bn_hdr.bh_nr), depth);
}

/* Depth falls by one a level, so even a bad tree ends the walk. */
static void walk_refc_entries(uint64_t node, uint8_t *ents, unsigned int nr,
			      unsigned int depth)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct refdax_refc_index *ix = (void *)(ents + i * 16);

		add_rr(ents + i * 16 - img, node, depth > 0);
		if (depth > 0)
			walk_refc_node(le64_to_cpu(ix->ri_child), depth - 1);
	}
}

/* Inode @ino's attribute block @blk (if it verifies) and remote runs. */
static void walk_xattr(uint64_t ino, uint64_t blk)
{
	const struct refdax_xattr_hdr *h;
	const struct refdax_xattr_entry *e;
	uint32_t off = REFDAX_XATTR_HDR_LEN, i;
	const char *why;

	if (!blk || refdax_check_xattr_block(&g, ino, blk, blkp(blk), &why))
		return;
	add_mb(blk, K_XATTR, ino, 0);
	h = (const void *)blkp(blk);
	for (i = 0; i < le16_to_cpu(h->xh_count); i++) {
		e = refdax_xattr_entry_at(h, off);
		off += refdax_xattr_entry_len(e);
		if (e->xe_pblk)
			add_mb(le64_to_cpu(e->xe_pblk), K_XREMOTE, ino, 0);
	}
}

static void walk_image(void)
{
	const char *why;
	uint64_t b, ino;

	if (refdax_check_super(sbp(), img_size, &g, &why))
		die(why);
	add_mb(0, K_SB, 0, 0);
	add_mb(g.journal_start, K_JHDR, 0, 0);
	for (b = 1; b < g.journal_blocks && b < 4; b++)
		add_mb(g.journal_start + b, K_JAREA, 0, 0);
	for (b = 0; b < g.ibitmap_blocks; b++)
		add_mb(g.ibitmap_start + b, K_IBITMAP, 0, 0);
	for (b = 0; b < g.fsmap_blocks; b++)
		add_mb(g.fsmap_start + b, K_FSMAP, 0, 0);
	walk_refc_entries(0, (uint8_t *)sbp()->s_refc_root.br_ext,
			  le16_to_cpu(sbp()->s_refc_root.br_hdr.bh_nr),
			  le16_to_cpu(sbp()->s_refc_root.br_hdr.bh_depth));
	for (ino = 1; ino < g.ninodes; ino++) {
		struct refdax_inode *ri = inop(ino);
		unsigned int type = S_TYPE(le16_to_cpu(ri->i_mode));
		int kind = -1;

		if (!ino_used(ino) || refdax_check_inode(&g, ino, ri, &why))
			continue;
		used_ino = grow(used_ino, &cap_used, nused, sizeof(*used_ino));
		used_ino[nused++] = ino;
		walk_xattr(ino, le64_to_cpu(ri->i_xattr));
		if (le32_to_cpu(ri->i_flags) & REFDAX_IFL_INLINE)
			continue;
		if (type == T_DIR)
			kind = K_DIR;
		else if (type == T_LNK)
			kind = K_SYMLINK;
		walk_entries(ino, 0, (uint8_t *)ri->i_root.br_ext,
			     le16_to_cpu(ri->i_root.br_hdr.bh_nr),
			     le16_to_cpu(ri->i_root.br_hdr.bh_depth), kind);
	}
	/* inode table blocks holding used inodes, once each */
	for (b = 0; b < g.itable_blocks; b++) {
		for (ino = b * REFDAX_INODES_PER_BLOCK;
		     ino < (b + 1) * REFDAX_INODES_PER_BLOCK; ino++)
			if (ino_used(ino))
				break;
		if (ino < (b + 1) * REFDAX_INODES_PER_BLOCK)
			add_mb(g.itable_start + b, K_ITABLE, ino, 0);
	}
}

/* ---- checksum repair ---- */
static void fix_dirblock(uint8_t *blk)
{
	unsigned int off = 0;

	while (off + REFDAX_DIRENT_HDR <= BS) {
		struct refdax_dirent *de = (void *)(blk + off);
		unsigned int reclen = le16_to_cpu(de->d_reclen);

		if (reclen < REFDAX_DIRENT_HDR || reclen % 8 || reclen > BS - off)
			break;
		if (de->d_ino && off + REFDAX_DIRENT_HDR + de->d_namelen <= BS)
			de->d_hash = cpu_to_le32(refdax_name_hash(de->d_name,
								  de->d_namelen));
		off += reclen;
	}
}

static struct mblk *find_mb(uint64_t blk)
{
	size_t i;

	for (i = 0; i < nmb; i++)
		if (mb[i].blk == blk)
			return &mb[i];
	return NULL;
}

/* Recompute whatever checksum covers byte @off. */
static void fix_at(uint64_t off)
{
	uint64_t blk = off / BS;
	struct mblk *m;

	if (off < sizeof(struct refdax_super)) {
		refdax_super_set_csum(sbp());
		return;
	}
	if (blk >= g.itable_start && blk < g.itable_start + g.itable_blocks) {
		refdax_inode_set_csum((void *)(img + off - off % REFDAX_INODE_SIZE));
		return;
	}
	m = find_mb(blk);
	if (m && (m->kind == K_NODE || m->kind == K_REFC))
		refdax_bmap_node_set_csum((void *)blkp(blk));
	else if (m && m->kind == K_DIR)
		fix_dirblock(blkp(blk));
	else if (m && m->kind == K_XATTR)
		refdax_xattr_set_csum(blkp(blk));
}

static uint64_t pick_ino(unsigned int type);

/* ---- class a: flips ---- */
static int pick_kind_block(int kind, struct mblk **out)
{
	size_t i, n = 0, k;

	for (i = 0; i < nmb; i++)
		n += mb[i].kind == kind;
	if (!n)
		return -1;
	k = rn(n);
	for (i = 0; i < nmb; i++)
		if (mb[i].kind == kind && k-- == 0) {
			*out = &mb[i];
			return 0;
		}
	return -1;
}

/* Bytes of a block worth hitting: the live structure, not padding. */
static uint64_t live_len(const struct mblk *m)
{
	switch (m->kind) {
	case K_SB:
		return sizeof(struct refdax_super);
	case K_JHDR:
		return sizeof(struct refdax_journal_header);
	case K_NODE:
	case K_REFC: {
		const struct refdax_bmap_node *bn = (void *)blkp(m->blk);

		return 16 + 16ULL * le16_to_cpu(bn->bn_hdr.bh_nr);
	}
	case K_XATTR: {
		const struct refdax_xattr_hdr *h = (void *)blkp(m->blk);

		return le16_to_cpu(h->xh_used);
	}
	case K_FSMAP: {
		/* the bytes holding bits of data blocks; the rest stays 0 */
		uint64_t first = (m->blk - g.fsmap_start) *
				 REFDAX_FSMAP_BITS_PER_BLOCK;
		uint64_t data = g.nblocks - g.data_start;

		if (data <= first)
			return 1;
		data -= first;
		if (data >= REFDAX_FSMAP_BITS_PER_BLOCK)
			return BS;
		return (data + 7) / 8;
	}
	default:
		return BS;
	}
}

static void mutate_flip(void)
{
	static const int pick[] = { K_SB, K_SB, K_JHDR, K_JAREA, K_IBITMAP,
				    K_ITABLE, K_ITABLE, K_ITABLE, K_FSMAP,
				    K_NODE, K_NODE, K_REFC, K_DIR, K_DIR,
				    K_SYMLINK, K_XATTR, K_XATTR, K_XREMOTE };
	struct mblk *m = NULL;
	int fix = rnd() & 1, byte = rn(3) == 0;
	unsigned int n = 1 + rn(rn(4) == 0 ? 16 : 3), i;
	uint64_t len, base, first = 0;
	static uint8_t save[BS];
	int kind = pick[rn(sizeof(pick) / sizeof(pick[0]))];

	while (pick_kind_block(kind, &m))
		kind = K_ITABLE;
	len = live_len(m);
	base = m->blk * BS;
	if (m->kind == K_ITABLE) {
		/* aim at one used inode */
		static struct mblk im;

		im = (struct mblk){ 0, pick_ino(0), 0, K_ITABLE };
		im.blk = g.itable_start + im.ino / REFDAX_INODES_PER_BLOCK;
		m = &im;
		base = (uint8_t *)inop(m->ino) - img;
		len = REFDAX_INODE_SIZE;
	}
	target = m->ino;
	say("flip: %s block %" PRIu64, kind_name[m->kind], m->blk);
	if (m->kind == K_SB && rn(3) == 0) {
		/* the refcount root: its own verifier, not only the checksum */
		base = offsetof(struct refdax_super, s_refc_root);
		len = sizeof(struct refdax_bmap_root);
		say(" (refc root)");
	}
	if (m->ino)
		say(" (ino %" PRIu64 ")", m->ino);
	memcpy(save, img + m->blk * BS, BS);
	say(": %u %s at", n, byte ? "random bytes" : "bit flips");
	for (i = 0; i < n; i++) {
		uint64_t off = base + rn(len);

		if (i == 0)
			first = off;
		if (byte)
			img[off] = (uint8_t)rnd();
		else
			img[off] ^= (uint8_t)(1U << rn(8));
		if (i < 4)
			say(" +%" PRIu64, off - m->blk * BS);
	}
	if (fix) {
		fix_at(first);
		if (m->kind == K_ITABLE || m->kind == K_SB || m->kind == K_NODE ||
		    m->kind == K_REFC || m->kind == K_DIR || m->kind == K_XATTR)
			say(", checksum fixed");
	} else if (m->kind == K_SB && memcmp(save, img, BS)) {
		/* any change to the checksummed superblock must be refused */
		want_refuse = 1;
	}
}

/* ---- class b: targeted fields ---- */
struct field {
	const char *name;
	unsigned int off, size;
};

#define F(st, fld) { #fld, offsetof(st, fld), sizeof(((st *)0)->fld) }

static const struct field sb_fields[] = {
	F(struct refdax_super, s_magic),
	F(struct refdax_super, s_version),
	F(struct refdax_super, s_block_size),
	F(struct refdax_super, s_feature_ro_compat),
	F(struct refdax_super, s_feature_incompat),
	F(struct refdax_super, s_nblocks),
	F(struct refdax_super, s_journal_start),
	F(struct refdax_super, s_journal_blocks),
	F(struct refdax_super, s_ibitmap_start),
	F(struct refdax_super, s_ibitmap_blocks),
	F(struct refdax_super, s_itable_start),
	F(struct refdax_super, s_itable_blocks),
	F(struct refdax_super, s_ninodes),
	F(struct refdax_super, s_fsmap_start),
	F(struct refdax_super, s_fsmap_blocks),
	F(struct refdax_super, s_data_start),
	F(struct refdax_super, s_root_ino),
	F(struct refdax_super, s_orphan_head),
	F(struct refdax_super, s_state),
	F(struct refdax_super, s_errors),
	F(struct refdax_super, s_refc_root.br_hdr.bh_magic),
	F(struct refdax_super, s_refc_root.br_hdr.bh_nr),
	F(struct refdax_super, s_refc_root.br_hdr.bh_max),
	F(struct refdax_super, s_refc_root.br_hdr.bh_depth),
};

static const struct field jh_fields[] = {
	F(struct refdax_journal_header, jh_magic),
	F(struct refdax_journal_header, jh_gen),
	F(struct refdax_journal_header, jh_entry_start),
	F(struct refdax_journal_header, jh_entry_bytes),
	F(struct refdax_journal_header, jh_seed),
};

static const struct field ino_fields[] = {
	F(struct refdax_inode, i_mode),
	F(struct refdax_inode, i_nlink),
	F(struct refdax_inode, i_flags),
	F(struct refdax_inode, i_size),
	F(struct refdax_inode, i_size),
	F(struct refdax_inode, i_blocks),
	F(struct refdax_inode, i_atime_ns),
	F(struct refdax_inode, i_mtime_ns),
	F(struct refdax_inode, i_parent),
	F(struct refdax_inode, i_parent),
	F(struct refdax_inode, i_next_orphan),
	F(struct refdax_inode, i_rdev),
	F(struct refdax_inode, i_xattr),
	F(struct refdax_inode, i_xattr),
	F(struct refdax_inode, i_root.br_hdr.bh_magic),
	F(struct refdax_inode, i_root.br_hdr.bh_nr),
	F(struct refdax_inode, i_root.br_hdr.bh_nr),
	F(struct refdax_inode, i_root.br_hdr.bh_max),
	F(struct refdax_inode, i_root.br_hdr.bh_depth),
	F(struct refdax_inode, i_root.br_hdr.bh_depth),
};

static const struct field node_fields[] = {
	F(struct refdax_bmap_node, bn_hdr.bh_magic),
	F(struct refdax_bmap_node, bn_hdr.bh_nr),
	F(struct refdax_bmap_node, bn_hdr.bh_nr),
	F(struct refdax_bmap_node, bn_hdr.bh_max),
	F(struct refdax_bmap_node, bn_hdr.bh_depth),
};

static const struct field ext_fields[] = {
	F(struct refdax_extent, e_lblk),
	F(struct refdax_extent, e_len),
	F(struct refdax_extent, e_len),
	F(struct refdax_extent, e_pblk),
	F(struct refdax_extent, e_pblk),
};

static const struct field idx_fields[] = {
	F(struct refdax_bmap_index, ei_lblk),
	F(struct refdax_bmap_index, ei_child),
	F(struct refdax_bmap_index, ei_child),
};

static const struct field rec_fields[] = {
	F(struct refdax_refc_rec, rc_start),
	F(struct refdax_refc_rec, rc_len),
	F(struct refdax_refc_rec, rc_count),
	F(struct refdax_refc_rec, rc_count),
};

static const struct field ridx_fields[] = {
	F(struct refdax_refc_index, ri_start),
	F(struct refdax_refc_index, ri_child),
	F(struct refdax_refc_index, ri_child),
};

static const struct field de_fields[] = {
	F(struct refdax_dirent, d_ino),
	F(struct refdax_dirent, d_ino),
	F(struct refdax_dirent, d_reclen),
	F(struct refdax_dirent, d_reclen),
	F(struct refdax_dirent, d_namelen),
	F(struct refdax_dirent, d_namelen),
	F(struct refdax_dirent, d_type),
	F(struct refdax_dirent, d_hash),
};

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t get_le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned int size, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t other_ino_block(uint64_t not_ino)
{
	size_t i;

	for (i = 0; i < nmb * 2; i++) {
		struct mblk *m = &mb[rn(nmb)];

		if ((m->kind == K_NODE || m->kind == K_DIR ||
		     m->kind == K_SYMLINK) && m->ino != not_ino)
			return m->blk;
	}
	return g.data_start;
}

/* A bad value for a field of @size bytes whose old value is @old. */
static uint64_t bad_value(unsigned int size, uint64_t old, uint64_t ino,
			  const char **what)
{
	uint64_t all = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	uint64_t v;

	switch (rn(20)) {
	case 0: *what = "0"; v = 0; break;
	case 1: *what = "1"; v = 1; break;
	case 2: *what = "max"; v = all; break;
	case 3: *what = "max-1"; v = all - 1; break;
	case 4: *what = "old+1"; v = old + 1; break;
	case 5: *what = "old-1"; v = old - 1; break;
	case 6: *what = "negative"; v = 1ULL << (8 * size - 1); break;
	case 7: *what = "huge"; v = all >> 1; break;
	case 8: *what = "nblocks"; v = g.nblocks; break;
	case 9: *what = "nblocks-1"; v = g.nblocks - 1; break;
	case 10: *what = "nblocks+1"; v = g.nblocks + 1; break;
	case 11: *what = "superblock"; v = 0; break;
	case 12: *what = "journal"; v = g.journal_start + rn(2); break;
	case 13: *what = "inode-table"; v = g.itable_start; break;
	case 14: *what = "data_start-1"; v = g.data_start - 1; break;
	case 15: *what = "ninodes"; v = g.ninodes; break;
	case 16: *what = "ninodes-1"; v = g.ninodes - 1; break;
	case 17: *what = "other-inode-block"; v = other_ino_block(ino); break;
	case 18: *what = "old*2"; v = old * 2; break;
	default: *what = "random"; v = rnd(); break;
	}
	v &= all;
	if (v == old) {
		*what = "old^1";
		v = old ^ 1;
	}
	return v;
}

static void set_field(uint64_t base, const struct field *f, uint64_t ino,
		      const char *where)
{
	uint8_t *p = img + base + f->off;
	uint64_t old = get_le(p, f->size);
	const char *what;
	uint64_t v = bad_value(f->size, old, ino, &what);

	put_le(p, f->size, v);
	target = ino;
	say("field: %s %s 0x%" PRIx64 " -> %s 0x%" PRIx64, where, f->name, old,
	    what, v);
	fix_at(base + f->off);
}

static uint64_t pick_ino(unsigned int type)
{
	size_t i, n = 0, k;

	for (i = 0; i < nused; i++)
		if (!type || S_TYPE(le16_to_cpu(inop(used_ino[i])->i_mode)) == type)
			n++;
	if (!n)
		return used_ino[rn(nused)];
	k = rn(n);
	for (i = 0; i < nused; i++)
		if (!type || S_TYPE(le16_to_cpu(inop(used_ino[i])->i_mode)) == type)
			if (k-- == 0)
				return used_ino[i];
	return used_ino[0];
}

/* Offset of a random live directory entry, or 0. */
static uint64_t pick_dirent(uint64_t *dir_ino, int last_only)
{
	struct mblk *m;
	unsigned int off = 0, n = 0, k;
	uint64_t offs[512];

	if (pick_kind_block(K_DIR, &m))
		return 0;
	*dir_ino = m->ino;
	while (off + REFDAX_DIRENT_HDR <= BS && n < 512) {
		struct refdax_dirent *de = (void *)(blkp(m->blk) + off);
		unsigned int reclen = le16_to_cpu(de->d_reclen);

		if (reclen < REFDAX_DIRENT_HDR || reclen > BS - off)
			break;
		if (de->d_ino)
			offs[n++] = m->blk * BS + off;
		off += reclen;
	}
	if (!n)
		return 0;
	k = last_only ? n - 1 : rn(n);
	return offs[k];
}

/* A refcount record or index entry, in the superblock root or a node. */
static int field_refc_entry(void)
{
	char where[96];
	struct rref *r;

	if (!nrr)
		return -1;
	r = &rr[rn(nrr)];
	snprintf(where, sizeof(where), "refc %s %s @%" PRIu64,
		 r->node ? "node" : "root", r->index ? "index" : "record",
		 r->off);
	if (r->index)
		set_field(r->off, &ridx_fields[rn(NF(ridx_fields))], 0, where);
	else
		set_field(r->off, &rec_fields[rn(NF(rec_fields))], 0, where);
	return 0;
}

static int field_refc_node(void)
{
	char where[96];
	struct mblk *m;

	if (pick_kind_block(K_REFC, &m))
		return -1;
	snprintf(where, sizeof(where), "refc node %" PRIu64 " (depth %u)",
		 m->blk, m->depth);
	set_field(m->blk * BS, &node_fields[rn(NF(node_fields))], 0, where);
	return 0;
}

static void mutate_field(void)
{
	char where[96];
	uint64_t ino, off;

	switch (rn(14)) {
	case 0:
	case 1: {
		const struct field *f = &sb_fields[rn(NF(sb_fields))];

		set_field(0, f, 0, "superblock");
		break;
	}
	case 2: {
		const struct field *f = &jh_fields[rn(NF(jh_fields))];

		set_field(g.journal_start * BS, f, 0, "journal-header");
		break;
	}
	case 3:
	case 4:
	case 5: {
		const struct field *f = &ino_fields[rn(NF(ino_fields))];
		static const unsigned int types[] = { 0, T_REG, T_DIR, T_LNK };

		ino = rn(6) == 0 ? g.root_ino : pick_ino(types[rn(4)]);
		snprintf(where, sizeof(where), "inode %" PRIu64 " mode 0%o", ino,
			 le16_to_cpu(inop(ino)->i_mode));
		set_field((uint8_t *)inop(ino) - img, f, ino, where);
		break;
	}
	case 6:
	case 7: {
		struct eref *e;

		if (!ner)
			goto dflt;
		e = &er[rn(ner)];
		snprintf(where, sizeof(where), "ino %" PRIu64 " %s %s @%" PRIu64,
			 e->ino, e->node ? "node" : "root",
			 e->index ? "index" : "extent", e->off);
		if (e->index)
			set_field(e->off, &idx_fields[rn(NF(idx_fields))], e->ino,
				  where);
		else
			set_field(e->off, &ext_fields[rn(NF(ext_fields))], e->ino,
				  where);
		break;
	}
	case 8: {
		struct mblk *m;

		if (pick_kind_block(K_NODE, &m))
			goto dflt;
		snprintf(where, sizeof(where), "node %" PRIu64 " (ino %" PRIu64
			 " depth %u)", m->blk, m->ino, m->depth);
		set_field(m->blk * BS, &node_fields[rn(NF(node_fields))], m->ino,
			  where);
		break;
	}
	case 9:
	case 10: {
		uint64_t dino = 0;

		off = pick_dirent(&dino, rn(3) == 0);
		if (!off)
			goto dflt;
		snprintf(where, sizeof(where), "dir %" PRIu64 " dirent @%" PRIu64
			 " '%.*s'", dino, off % BS,
			 ((struct refdax_dirent *)(img + off))->d_namelen > 20 ? 20 :
			 ((struct refdax_dirent *)(img + off))->d_namelen,
			 ((struct refdax_dirent *)(img + off))->d_name);
		set_field(off, &de_fields[rn(NF(de_fields))], dino, where);
		break;
	}
	case 11:
		if (field_refc_entry())
			goto dflt;
		break;
	case 12:
		if (field_refc_node() && field_refc_entry())
			goto dflt;
		break;
	default: {
		/* symlink lengths and inline flags */
		struct refdax_inode *ri;
		static const uint64_t sizes[] = { 0, 1, REFDAX_INLINE_SYMLINK - 1,
			REFDAX_INLINE_SYMLINK, REFDAX_INLINE_SYMLINK + 1,
			BS - 1, BS, BS + 1, ~0ULL };
		uint64_t s = sizes[rn(NF(sizes))];

		ino = pick_ino(T_LNK);
		ri = inop(ino);
		target = ino;
		say("field: symlink inode %" PRIu64 " i_size %" PRIu64 " -> %" PRIu64,
		    ino, le64_to_cpu(ri->i_size), s);
		ri->i_size = cpu_to_le64(s);
		if (rn(3) == 0) {
			ri->i_flags ^= cpu_to_le32(REFDAX_IFL_INLINE);
			say(", inline flag toggled");
		}
		refdax_inode_set_csum(ri);
		break;
	}
	}
	return;
dflt:
	set_field(0, &sb_fields[rn(NF(sb_fields))], 0, "superblock");
}

/* ---- class c: structural ---- */
static struct eref *pick_ext(uint64_t not_ino, int index)
{
	size_t i;

	for (i = 0; i < ner * 4; i++) {
		struct eref *e = &er[rn(ner)];

		if (e->index == index && e->ino != not_ino)
			return e;
	}
	return NULL;
}

static void fix_eref(const struct eref *e)
{
	if (e->node)
		refdax_bmap_node_set_csum((void *)blkp(e->node));
	else
		refdax_inode_set_csum(inop(e->ino));
}

/* Forge an uncommitted entry in the live generation, checksum valid. */
static void forge_entry(uint64_t addr, uint32_t len, int garbage)
{
	struct refdax_journal_header *jh = (void *)blkp(g.journal_start);
	uint64_t es = le64_to_cpu(jh->jh_entry_start);
	struct refdax_journal_entry *je;
	uint32_t seed = le32_to_cpu(jh->jh_seed), crc, dl;
	static const uint8_t zero[4];
	size_t coff = offsetof(struct refdax_journal_entry, je_csum);

	if (es > g.journal_blocks * BS - BS - 64)
		es = BS;
	je = (void *)(blkp(g.journal_start) + es);
	dl = len > REFDAX_JENTRY_MAX_DATA ? REFDAX_JENTRY_MAX_DATA : len;
	memset(je, 0, sizeof(*je) + REFDAX_JENTRY_MAX_DATA + 64);
	je->je_gen = jh->jh_gen;
	je->je_addr = cpu_to_le64(addr);
	je->je_len = cpu_to_le32(len);
	je->je_seq = 0;
	if (garbage) {
		uint32_t i;

		for (i = 0; i < dl; i++)
			((uint8_t *)(je + 1))[i] = (uint8_t)rnd();
	} else if (addr < img_size && dl <= img_size - addr) {
		memcpy(je + 1, img + addr, dl);
	}
	crc = refdax_crc32c(seed, je, coff);
	crc = refdax_crc32c(crc, zero, 4);
	crc = refdax_crc32c(crc, (uint8_t *)je + coff + 4,
			    sizeof(*je) - coff - 4 + dl);
	je->je_csum = cpu_to_le32(crc);
	forged = 1;
	say(" entry addr 0x%" PRIx64 " len %u", addr, len);
}

/* The inode whose extent maps @blk, or 0. */
static uint64_t owner_of(uint64_t blk)
{
	size_t i;

	for (i = 0; i < ner; i++) {
		const struct refdax_extent *e = (void *)(img + er[i].off);
		uint64_t p = le64_to_cpu(e->e_pblk);

		if (!er[i].index && blk >= p && blk - p < le32_to_cpu(e->e_len))
			return er[i].ino;
	}
	return 0;
}

/* A used block marked free: the allocator may hand it out a second time. */
static int fsmap_used_as_free(void)
{
	struct eref *a = NULL;
	struct mblk *m;
	uint64_t blk;

	if (rn(4) == 0 && !pick_kind_block(K_REFC, &m)) {
		blk = m->blk;
	} else {
		a = pick_ext(0, rn(4) == 0);
		if (!a)
			return -1;
		blk = a->index ?
		      le64_to_cpu(((struct refdax_bmap_index *)(img + a->off))->ei_child) :
		      le64_to_cpu(((struct refdax_extent *)(img + a->off))->e_pblk);
	}
	if (blk < g.data_start || blk >= g.nblocks || !blk_in_use(blk))
		return -1;
	target = a ? a->ino : 0;
	refdax_fsmap_clear(fsmap(), blk - g.data_start);
	say("struct: fsmap bit of used block %" PRIu64 " cleared (%s %" PRIu64 ")",
	    blk, a ? (a->index ? "extent node of ino" : "data of ino") :
	    "refc node", a ? a->ino : blk);
	return 0;
}

/* A free block marked used: space leaks until fsck gives it back. */
static int fsmap_free_as_used(void)
{
	uint64_t n = g.nblocks - g.data_start, first = rn(n), i;

	for (i = 0; i < n; i++) {
		uint64_t bit = (first + i) % n;

		if (!refdax_fsmap_test(fsmap(), bit)) {
			refdax_fsmap_set(fsmap(), bit);
			say("struct: fsmap bit of free block %" PRIu64 " set",
			    g.data_start + bit);
			return 0;
		}
	}
	return -1;
}

/* A bit past the data area, in the last bitmap block's slack. */
static int fsmap_past_end(void)
{
	uint64_t n = g.nblocks - g.data_start;
	uint64_t bits = g.fsmap_blocks * REFDAX_FSMAP_BITS_PER_BLOCK;
	uint64_t bit;

	if (bits <= n)
		return -1;
	bit = n + rn(bits - n);
	refdax_fsmap_set(fsmap(), bit);
	say("struct: fsmap bit %" PRIu64 " past the data area (%" PRIu64
	    " blocks) set", bit, n);
	return 0;
}

static int struct_fsmap(void)
{
	switch (rn(5)) {
	case 0:
	case 1:
	case 2:
		return fsmap_used_as_free();
	case 3:
		return fsmap_free_as_used();
	default:
		return fsmap_past_end();
	}
}

static struct rref *pick_rref(int index)
{
	size_t i, n = 0, k;

	for (i = 0; i < nrr; i++)
		n += rr[i].index == index;
	if (!n)
		return NULL;
	k = rn(n);
	for (i = 0; i < nrr; i++)
		if (rr[i].index == index && k-- == 0)
			return &rr[i];
	return NULL;
}

static void put_rec(struct refdax_refc_rec *rc, uint64_t start, uint64_t len,
		    uint32_t count)
{
	rc->rc_start = cpu_to_le64(start);
	rc->rc_len = cpu_to_le32((uint32_t)len);
	rc->rc_count = cpu_to_le32(count);
}

/*
 * A count one off, still between 2 and the maximum, checksum valid: no
 * verifier can see it, only fsck rebuilding the counts from the extent
 * maps.  The kernel frees too early (one less) or leaks (one more).
 */
static void refc_count_lie(struct rref *r)
{
	uint32_t c = le32_to_cpu(rrec(r)->rc_count);
	uint32_t nc = c <= 2 || (c < REFDAX_REFCOUNT_MAX && rn(2)) ? c + 1 :
		      c - 1;

	rrec(r)->rc_count = cpu_to_le32(nc);
	say("count %u -> %u (only fsck's comparison sees it)", c, nc);
}

/* A count no record has: the record verifier must refuse it. */
static void refc_count_bad(struct rref *r)
{
	static const uint32_t v[] = { 0, 1, 1, REFDAX_REFCOUNT_MAX + 1,
				      0xffffffffU };
	uint32_t nc = v[rn(NF(v))];

	say("count %u -> %u", le32_to_cpu(rrec(r)->rc_count), nc);
	rrec(r)->rc_count = cpu_to_le32(nc);
}

/* Into the next record of its node, or past the end of the data area. */
static void refc_overlap(struct rref *r)
{
	uint64_t start = le64_to_cpu(rrec(r)->rc_start);
	uint64_t len = g.nblocks - start + 1;

	if (!rr_last(r)) {
		len = le64_to_cpu(next_rec(r)->rc_start) - start + 1;
		say("now overlaps the next record, len %" PRIu64, len);
	} else {
		say("now runs past the data area, len %" PRIu64, len);
	}
	rrec(r)->rc_len = cpu_to_le32((uint32_t)len);
}

static void refc_outside(struct rref *r)
{
	uint64_t starts[] = { g.data_start - 1, 0, g.fsmap_start,
			      g.nblocks - 1, g.nblocks };
	uint64_t start = starts[rn(NF(starts))];
	uint64_t len = start == g.nblocks - 1 ? 2 : 1;

	say("now [%" PRIu64 ", +%" PRIu64 ") outside the data area", start,
	    len);
	put_rec(rrec(r), start, len, le32_to_cpu(rrec(r)->rc_count));
}

/*
 * The record goes: its blocks look private, and the first owner to let go
 * of them frees blocks another file still maps.
 */
static void refc_drop(struct rref *r)
{
	struct refdax_bmap_hdr *h = rr_hdr(r);
	uint64_t first = r->node ? r->node * BS + 16 :
			 offsetof(struct refdax_super, s_refc_root.br_ext);
	unsigned int nr = le16_to_cpu(h->bh_nr);
	unsigned int i = (r->off - first) / 16;

	memmove(img + r->off, img + r->off + 16, 16ULL * (nr - 1 - i));
	memset(img + first + 16ULL * (nr - 1), 0, 16);
	h->bh_nr = cpu_to_le16(nr - 1);
	say("dropped (%u left in its %s)", nr - 1, r->node ? "node" : "root");
}

/* One block more: a private or free block now counted as shared. */
static void refc_grow(struct rref *r)
{
	uint64_t start = le64_to_cpu(rrec(r)->rc_start);
	uint64_t end = start + le32_to_cpu(rrec(r)->rc_len);

	if (end >= g.nblocks ||
	    (!rr_last(r) && le64_to_cpu(next_rec(r)->rc_start) <= end)) {
		refc_count_lie(r);
		return;
	}
	rrec(r)->rc_len = cpu_to_le32((uint32_t)(end + 1 - start));
	say("grown over %s block %" PRIu64, blk_in_use(end) ? "private" : "free",
	    end);
}

/* An index entry aimed at itself, a file's extent node or file data. */
static void refc_bad_child(struct rref *r)
{
	uint64_t child;
	struct mblk *m;

	if (r->node && rn(3) == 0) {
		child = r->node;
		say("index child -> its own node %" PRIu64, child);
	} else if (rn(2) && !pick_kind_block(K_NODE, &m)) {
		child = m->blk;
		say("index child -> extent node %" PRIu64 " of ino %" PRIu64,
		    child, m->ino);
	} else {
		child = other_ino_block(0);
		say("index child -> block %" PRIu64 " of a file", child);
	}
	ridx(r)->ri_child = cpu_to_le64(child);
}

static int struct_refc(void)
{
	int v = (int)rn(9);
	struct rref *r = v == 8 ? pick_rref(1) : NULL;
	uint64_t start;

	if (!r) {
		r = pick_rref(0);
		if (!r)
			return -1;
		if (v == 8)
			v = 0;
	}
	start = le64_to_cpu(rrec(r)->rc_start);
	if (!r->index) {
		target = owner_of(start);
		say("struct: refc record [%" PRIu64 ", +%u) count %u in the %s: ",
		    start, le32_to_cpu(rrec(r)->rc_len),
		    le32_to_cpu(rrec(r)->rc_count), r->node ? "node" : "root");
	} else {
		say("struct: refc %s index entry key %" PRIu64 ": ",
		    r->node ? "node" : "root", start);
	}
	switch (v) {
	case 0:
	case 1:
		refc_count_lie(r);
		break;
	case 2:
		refc_count_bad(r);
		break;
	case 3:
		refc_overlap(r);
		break;
	case 4:
		refc_outside(r);
		break;
	case 5:
		refc_drop(r);
		break;
	case 6:
	case 7:
		refc_grow(r);
		break;
	default:
		refc_bad_child(r);
		break;
	}
	fix_rref(r);
	return 0;
}

/* A legal journal target: the kernel logs each of these before changing it. */
static void forge_legal(void)
{
	struct mblk *m;

	switch (rn(5)) {
	case 0:
		forge_entry(g.itable_start * BS + rn(g.itable_blocks) * BS, BS, 1);
		break;
	case 1:
		forge_entry(0, 512, 1);
		break;
	case 2:
		if (!pick_kind_block(K_REFC, &m))
			forge_entry(m->blk * BS, BS, 1);
		else	/* no refcount node in this image */
			forge_entry(g.fsmap_start * BS, BS, 1);
		break;
	default:
		forge_entry(g.fsmap_start * BS + rn(g.fsmap_blocks) * BS, BS, 1);
		break;
	}
}

/*
 * A structural lie about an attribute block that its verifier cannot see:
 * a remote value aimed at another file's data block, the block marked free
 * in the free-space bitmap, or a second inode pointing at it.
 */
static int struct_xattr(void)
{
	struct refdax_xattr_entry *e = NULL;
	struct refdax_xattr_hdr *h;
	struct mblk *m;
	struct eref *a;
	uint32_t off = REFDAX_XATTR_HDR_LEN, i;
	uint64_t ino, blk;

	if (pick_kind_block(K_XATTR, &m))
		return -1;
	h = (void *)blkp(m->blk);
	target = m->ino;
	for (i = 0; i < le16_to_cpu(h->xh_count); i++) {
		struct refdax_xattr_entry *x = refdax_xattr_entry_at(h, off);

		off += refdax_xattr_entry_len(x);
		if (x->xe_pblk)
			e = x;
	}
	a = pick_ext(m->ino, 0);
	switch (rn(3)) {
	case 0:
		if (!e || !a)
			break;
		blk = le64_to_cpu(((struct refdax_extent *)(img + a->off))->e_pblk);
		e->xe_pblk = cpu_to_le64(blk);
		e->xe_vallen = cpu_to_le32(BS);
		refdax_xattr_set_csum(h);
		say("struct: ino %" PRIu64 " remote xattr value -> block %" PRIu64
		    " of ino %" PRIu64, m->ino, blk, a->ino);
		return 0;
	case 1:
		blk = m->blk - g.data_start;
		fsmap()[blk / 8] &= (uint8_t)~(1U << (blk % 8));
		say("struct: ino %" PRIu64 " xattr block %" PRIu64
		    " marked free", m->ino, m->blk);
		return 0;
	}
	ino = pick_ino(0);
	if (ino == m->ino)
		return -1;
	inop(ino)->i_xattr = cpu_to_le64(m->blk);
	refdax_inode_set_csum(inop(ino));
	target = ino;
	say("struct: ino %" PRIu64 " i_xattr -> ino %" PRIu64 "'s block %" PRIu64,
	    ino, m->ino, m->blk);
	return 0;
}

static void mutate_struct(void)
{
	struct eref *a, *b;
	uint64_t ino, dino, off, blk;
	struct refdax_dirent *de;
	struct mblk *m;

	switch (rn(16)) {
	case 0: /* two files claim one block, no refcount record */
		a = pick_ext(0, 0);
		b = a ? pick_ext(a->ino, 0) : NULL;
		if (!b)
			goto wild;
		((struct refdax_extent *)(img + b->off))->e_pblk =
			((struct refdax_extent *)(img + a->off))->e_pblk;
		((struct refdax_extent *)(img + b->off))->e_len = cpu_to_le32(1);
		fix_eref(b);
		target = b->ino;
		say("struct: ino %" PRIu64 " extent now shares ino %" PRIu64
		    "'s block %" PRIu64 " (no refcount record)", b->ino, a->ino,
		    le64_to_cpu(((struct refdax_extent *)(img + a->off))->e_pblk));
		return;
	case 1: /* directory entry naming a free inode */
		off = pick_dirent(&dino, 0);
		if (!off)
			goto wild;
		for (ino = g.ninodes - 1; ino > 1 && ino_used(ino); ino--)
			;
		ino = 2 + rn(g.ninodes - 2);
		while (ino_used(ino) && ino + 1 < g.ninodes)
			ino++;
		de = (void *)(img + off);
		target = dino;
		say("struct: dir %" PRIu64 " entry '%.*s' -> free inode %" PRIu64,
		    dino, de->d_namelen, de->d_name, ino);
		de->d_ino = cpu_to_le64(ino);
		return;
	case 2: /* directory entry naming an ancestor: a cycle */
	case 3:
		off = pick_dirent(&dino, 0);
		if (!off)
			goto wild;
		de = (void *)(img + off);
		ino = rn(2) ? g.root_ino : le64_to_cpu(inop(dino)->i_parent);
		if (rn(3) == 0)
			ino = dino;
		target = dino;
		say("struct: dir %" PRIu64 " entry '%.*s' -> ancestor dir %" PRIu64,
		    dino, de->d_namelen, de->d_name, ino);
		de->d_ino = cpu_to_le64(ino);
		de->d_type = REFDAX_DT_DIR;
		return;
	case 4: /* a directory's parent is its own child or itself */
		dino = pick_ino(T_DIR);
		ino = rn(2) ? dino : pick_ino(T_DIR);
		target = dino;
		say("struct: dir %" PRIu64 " i_parent -> %" PRIu64, dino, ino);
		inop(dino)->i_parent = cpu_to_le64(ino);
		refdax_inode_set_csum(inop(dino));
		return;
	case 5: /* the free-space bitmap lies about a block */
		if (struct_fsmap())
			goto wild;
		return;
	case 6: /* tree node or index pointing at itself / its parent */
		if (pick_kind_block(K_NODE, &m))
			goto wild;
		{
			struct refdax_bmap_node *bn = (void *)blkp(m->blk);
			unsigned int nr = le16_to_cpu(bn->bn_hdr.bh_nr);
			unsigned int i = rn(nr);

			target = m->ino;
			if (m->depth > 0) {
				bn->bn_idx[i].ei_child = cpu_to_le64(m->blk);
				say("struct: node %" PRIu64 " index %u -> itself", m->blk, i);
			} else {
				/* make the leaf claim to be an index onto itself */
				bn->bn_hdr.bh_depth = cpu_to_le16(1 + rn(2));
				bn->bn_idx[i].ei_child = cpu_to_le64(m->blk);
				say("struct: leaf %" PRIu64 " turned index, entry %u -> itself",
				    m->blk, i);
			}
			refdax_bmap_node_set_csum((void *)bn);
		}
		return;
	case 7: /* inode root index pointing at a data block, or at the inode table */
		a = pick_ext(0, 1);
		if (!a)
			goto wild;
		b = pick_ext(0, 0);
		blk = b && rn(2) ? le64_to_cpu(((struct refdax_extent *)(img + b->off))->e_pblk) :
		      other_ino_block(a->ino);
		((struct refdax_bmap_index *)(img + a->off))->ei_child = cpu_to_le64(blk);
		fix_eref(a);
		target = a->ino;
		say("struct: ino %" PRIu64 " index child -> block %" PRIu64
		    " (not its node)", a->ino, blk);
		return;
	case 8: /* inode bitmap says free for a used inode, or used for a free one */
		ino = rn(2) ? pick_ino(0) : 2 + rn(g.ninodes - 2);
		blkp(g.ibitmap_start)[ino / 8] ^= 1U << (ino % 8);
		target = ino;
		say("struct: inode bitmap bit %" PRIu64 " toggled (was %s)", ino,
		    ino_used(ino) ? "free" : "used");
		return;
	case 9: /* orphan list through live inodes / a loop */
		ino = pick_ino(0);
		sbp()->s_orphan_head = cpu_to_le64(ino);
		target = ino;
		refdax_super_set_csum(sbp());
		if (rn(2)) {
			inop(ino)->i_next_orphan = cpu_to_le64(ino);
			inop(ino)->i_flags |= cpu_to_le32(REFDAX_IFL_ORPHAN);
			refdax_inode_set_csum(inop(ino));
			say("struct: orphan head -> live inode %" PRIu64 " linked to itself",
			    ino);
		} else {
			say("struct: orphan head -> live inode %" PRIu64, ino);
		}
		return;
	case 10: /* i_size / nlink lies on a live file */
		ino = pick_ino(rn(2) ? T_REG : T_DIR);
		target = ino;
		if (rn(2)) {
			inop(ino)->i_nlink = 0;
			say("struct: inode %" PRIu64 " nlink 0 while linked", ino);
		} else {
			inop(ino)->i_size = cpu_to_le64(le64_to_cpu(inop(ino)->i_size) +
						       BS * (1 + rn(64)));
			say("struct: inode %" PRIu64 " i_size beyond its blocks", ino);
		}
		refdax_inode_set_csum(inop(ino));
		return;
	case 11: /* an extent covering metadata-ish data blocks of another file */
		a = pick_ext(0, 0);
		if (!a)
			goto wild;
		blk = other_ino_block(a->ino);
		((struct refdax_extent *)(img + a->off))->e_pblk = cpu_to_le64(blk);
		((struct refdax_extent *)(img + a->off))->e_len = cpu_to_le32(1);
		fix_eref(a);
		target = a->ino;
		say("struct: ino %" PRIu64 " extent -> block %" PRIu64
		    " of another inode's metadata", a->ino, blk);
		return;
	case 12: /* valid uncommitted entry with legal target, garbage contents */
		say("struct: uncommitted journal entry, legal target, garbage:");
		forge_legal();
		return;
	case 13: /* refcount records that lie, overlap or leave the data area */
	case 14:
		if (struct_refc())
			goto wild;
		return;
	case 15: /* attribute blocks shared, freed or pointing into files */
		if (struct_xattr())
			goto wild;
		return;
	default:
		break;
	}
wild:
	/* valid-looking uncommitted entry whose range must be refused */
	say("struct: uncommitted journal entry with a wild range:");
	switch (rn(7)) {
	case 0: forge_entry(g.journal_start * BS, 64, 0); break;
	case 1: forge_entry(g.journal_start * BS + BS, BS, 1); break;
	case 2: forge_entry(g.nblocks * BS, BS, 1); break;
	case 3: forge_entry(g.nblocks * BS - 64, 128, 1); break;
	case 4: forge_entry(~0ULL - 63, 128, 1); break;
	case 5: forge_entry((g.journal_start - 1) * BS + BS - 64, 128, 1); break;
	default: forge_entry(g.data_start * BS, BS + 64, 1); break;
	}
	want_norecover = 1;
}

/* ---- main ---- */
/*
 * The kernel runs the same superblock validator (refcount root included)
 * at mount, after journal recovery at the latest: with no forged entry to
 * put a superblock back, one it rejects must be refused.  Any device size
 * (~0) is assumed, as the guest's device is larger than the image.
 */
static void expect_refuse_if_bad_super(void)
{
	struct refdax_geom sg;
	const char *why;

	if (!forged && refdax_check_super(sbp(), ~0ULL, &sg, &why))
		want_refuse = 1;
}

static void load(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		die("cannot open base image");
	img_size = st.st_size;
	if (img_size < 2 * BS || img_size % BS)
		die("base image too small or not a multiple of 4 KiB");
	/*
	 * A private mapping, not a read into a buffer: in a TCG guest copying
	 * and faulting in 32 MiB for every image is what generation costs.
	 * Only the pages the mutation touches are copied.  Page aligned, as
	 * O_DIRECT wants.
	 */
	img = mmap(NULL, img_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		die("cannot map the base image");
	close(fd);
}

static void store(const char *path)
{
	uint64_t done = 0;
	struct stat st;
	ssize_t n;
	int fd;

	/*
	 * A block device is written with O_DIRECT: the filesystem reads it
	 * through DAX anyway, and 32 MiB of page cache per image would only be
	 * copied, written back and invalidated again (slow under TCG).
	 */
	if (!stat(path, &st) && S_ISBLK(st.st_mode) && img_size % BS == 0)
		fd = open(path, O_WRONLY | O_DIRECT);
	else
		fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		die("cannot open output");
	while (done < img_size) {
		n = write(fd, img + done, img_size - done);
		if (n <= 0)
			die("short write of the output");
		done += n;
	}
	if (fsync(fd) && errno != EINVAL)
		die("fsync of the output failed");
	close(fd);
}

static void info(void)
{
	size_t i, count[K_NKINDS] = { 0 };
	unsigned int maxdepth = 0;

	for (i = 0; i < nmb; i++) {
		count[mb[i].kind]++;
		if (mb[i].kind == K_NODE && mb[i].depth + 1 > maxdepth)
			maxdepth = mb[i].depth + 1;
	}
	printf("nblocks %" PRIu64 " ninodes %" PRIu64
	       " used inodes %zu extent/index entries %zu tree height %u"
	       " refcount records/index entries %zu refcount tree height %u\n",
	       (uint64_t)g.nblocks, (uint64_t)g.ninodes, nused, ner, maxdepth,
	       nrr, le16_to_cpu(sbp()->s_refc_root.br_hdr.bh_depth) + 1U);
	for (i = 0; i < K_NKINDS; i++)
		printf("  %-16s %zu blocks\n", kind_name[i], count[i]);
}

int main(int argc, char **argv)
{
	uint64_t seed, index;
	int cls;

	if (argc == 3 && !strcmp(argv[1], "--info")) {
		load(argv[2]);
		walk_image();
		info();
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: corrupt_gen BASE OUT SEED INDEX | --info BASE\n");
		return 2;
	}
	seed = strtoull(argv[3], NULL, 0);
	index = strtoull(argv[4], NULL, 0);
	load(argv[1]);
	walk_image();
	rng_state = seed * 0x2545f4914f6cdd1dULL ^ (index + 1) * 0x9e3779b97f4a7c15ULL;
	rnd();
	cls = (int)rn(10);
	if (cls < 4)
		mutate_flip();
	else if (cls < 8)
		mutate_field();
	else
		mutate_struct();
	expect_refuse_if_bad_super();
	store(argv[2]);
	if (target)
		say(" [target=%" PRIu64 "]", target);
	printf("%s%s%s\n", desc, want_refuse ? " [expect=refuse]" : "",
	       want_norecover ? " [expect=norecover]" : "");
	return 0;
}
