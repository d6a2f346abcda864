// SPDX-License-Identifier: GPL-2.0
/*
 * mkseeds - build the base image and the seed corpora of the fuzz targets
 * from real structures, at build time (nothing binary is checked in).
 *
 *   mkseeds BINDIR OUTDIR
 *
 * BINDIR holds mkfs.refdax.  The image builder and the list of targeted
 * corruptions are the unit tests' (tests/unit/test_tools.c, included
 * below), so the seeds follow that fixture as it evolves: mkfs.refdax
 * makes a 32 MiB image, the builder populates it (directories, hard links,
 * a reflinked block, a two-level extent tree, inline and block symlinks, a
 * fifo, an orphan; extend() below adds /lost+found and a directory mapped
 * through a tree node), and it is cut to 576 blocks (2.25 MiB) to become
 * OUTDIR/base.img, the fsck target's base.  Every unit-test corruption,
 * and an interrupted journal transaction, becomes an fsck seed as the
 * patch records that turn the base into the damaged image.  The structure
 * targets get the superblock, inodes, nodes, roots and directory blocks of
 * the base image, and journals written by refdax_jnl_log().  The
 * refcount-tree target gets trees built by refdax_refc_adjust() on its own
 * device (refc_dev.c): empty, in the root only, one leaf, several leaves,
 * two index levels, and the base image's root.
 */
#include "test_tools.c"

#include <errno.h>

#include "refc_dev.h"
#include "refdax_xattr.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* The unit-test framework, reduced to what test_tools.c links against. */
void rt_begin(const char *fmt, ...)
{
	(void)fmt;
}

int rt_end(void)
{
	return 0;
}

void rt_run(const char *name, void (*fn)(void))
{
	(void)name;
	(void)fn;
}

int rt_expect(int ok, const char *expr, const char *file, int line)
{
	(void)expr;
	(void)file;
	(void)line;
	return ok;
}

void rt_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int rt_summary(void)
{
	return 0;
}

#define BASE_BLOCKS	576ULL
#define BASE_BYTES	(BASE_BLOCKS * REFDAX_BLOCK_SIZE)

static const char *outdir;

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkseeds: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

/* A growing seed buffer. */
struct seed {
	__u8 buf[1 << 20];
	size_t len;
};

static struct seed sd;

static void s_reset(void)
{
	sd.len = 0;
}

static void s_put(const void *p, size_t n)
{
	if (sd.len + n > sizeof(sd.buf))
		die("seed too large");
	memcpy(sd.buf + sd.len, p, n);
	sd.len += n;
}

static void s_u8(unsigned int v)
{
	__u8 b = (__u8)v;

	s_put(&b, 1);
}

static void s_u16(unsigned int v)
{
	s_u8(v & 0xff);
	s_u8(v >> 8);
}

static void s_u32(__u32 v)
{
	s_u16(v & 0xffff);
	s_u16(v >> 16);
}

static void s_u64(__u64 v)
{
	s_u32((__u32)v);
	s_u32((__u32)(v >> 32));
}

static void s_write(const char *target, const char *name)
{
	char dir[512], path[768];

	snprintf(dir, sizeof(dir), "%s/seeds/%s", outdir, target);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	put_file(path, sd.buf, sd.len);
}

/*
 * More than the unit tests' fixture needs, so that fsck's paths for an
 * existing /lost+found and for directories mapped through a tree node run
 * too: a second root directory block naming /lost+found (inode 20) and
 * /bigdir (21), whose three blocks hang off a depth-1 tree and name a file
 * with three extents (22, twice) and a character device (23).  Inode
 * numbers start at 20, clear of those the corruptions use.
 */
static void extend(struct img *im)
{
	static const struct dent root2[] = {
		{ "lost+found", 20, REFDAX_DT_DIR },
		{ "bigdir", 21, REFDAX_DT_DIR },
	};
	static const struct dent big0[] = {
		{ "a", 22, REFDAX_DT_REG }, { "dev", 23, REFDAX_DT_CHR },
	};
	static const struct dent big1[] = { { "a-hard", 22, REFDAX_DT_REG } };
	struct refdax_inode *ri;
	struct refdax_bmap_node *bn;
	struct refdax_extent *e;
	__u64 b, node;
	int i;

	b = alloc_blocks(im, 1);
	fill_dirblock(block(im, b), root2, 2);
	ri = inode(im, 1);
	add_ext(ri, 1, b, 1);
	ri->i_size = cpu_to_le64(2 * REFDAX_BLOCK_SIZE);
	ri->i_nlink = cpu_to_le32(le32_to_cpu(ri->i_nlink) + 2);

	b = alloc_blocks(im, 1);
	((struct refdax_dirent *)block(im, b))->d_reclen =
		cpu_to_le16(REFDAX_BLOCK_SIZE);
	ri = new_inode(im, 20, S_IFDIR | 0700, 2);
	ri->i_parent = cpu_to_le64(1);
	ri->i_size = cpu_to_le64(REFDAX_BLOCK_SIZE);
	add_ext(ri, 0, b, 1);

	node = alloc_blocks(im, 1);
	bn = block(im, node);
	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_nr = cpu_to_le16(3);
	e = (void *)(bn + 1);
	for (i = 0; i < 3; i++) {
		b = alloc_blocks(im, 1);
		e[i].e_lblk = cpu_to_le32(i);
		e[i].e_len = cpu_to_le32(1);
		e[i].e_pblk = cpu_to_le64(b);
		if (i == 0)
			fill_dirblock(block(im, b), big0, 2);
		else if (i == 1)
			fill_dirblock(block(im, b), big1, 1);
		else
			((struct refdax_dirent *)block(im, b))->d_reclen =
				cpu_to_le16(REFDAX_BLOCK_SIZE);
	}
	refdax_bmap_node_set_csum(bn);
	ri = new_inode(im, 21, S_IFDIR | 0755, 2);
	ri->i_parent = cpu_to_le64(1);
	ri->i_size = cpu_to_le64(3 * REFDAX_BLOCK_SIZE);
	ri->i_blocks = cpu_to_le64(4);
	ri->i_root.br_hdr.bh_depth = cpu_to_le16(1);
	ri->i_root.br_hdr.bh_nr = cpu_to_le16(1);
	ri->i_root.br_idx[0].ei_child = cpu_to_le64(node);

	ri = new_inode(im, 22, S_IFREG | 0644, 2);
	ri->i_size = cpu_to_le64(13 * REFDAX_BLOCK_SIZE - 100);
	add_ext(ri, 0, alloc_blocks(im, 2), 2);
	add_ext(ri, 4, alloc_blocks(im, 1), 1);
	add_ext(ri, 10, alloc_blocks(im, 3), 3);

	ri = new_inode(im, 23, S_IFCHR | 0600, 1);
	ri->i_rdev = cpu_to_le32(0x105);
	memset(&ri->i_root, 0, sizeof(ri->i_root));
	ri->i_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	ri->i_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	b_end = im->next_blk;
}

/* ---- fsck seeds: patch records, see fuzz_fsck.c ---- */

struct region {
	__u64 start, bytes;
};

static struct region regions[7];

static void set_regions(const struct refdax_geom *g)
{
	int i;

	regions[0] = (struct region){ 0, 1 };
	regions[1] = (struct region){ g->journal_start, 16 };
	regions[2] = (struct region){ g->ibitmap_start, 1 };
	regions[3] = (struct region){ g->itable_start, 16 };
	regions[4] = (struct region){ g->fsmap_start, 1 };
	regions[5] = (struct region){ g->data_start, 16 };
	regions[6] = (struct region){ g->data_start + 16, 16 };
	for (i = 0; i < 7; i++) {
		regions[i].start *= REFDAX_BLOCK_SIZE;
		regions[i].bytes *= REFDAX_BLOCK_SIZE;
	}
}

static void record(const __u8 *img, __u64 s, __u64 e)
{
	int r;

	for (r = 0; r < 7; r++)
		if (s >= regions[r].start &&
		    e <= regions[r].start + regions[r].bytes)
			break;
	if (r < 7) {
		s_u8((unsigned int)r);
		s_u16((unsigned int)(s - regions[r].start));
	} else {
		s &= ~(__u64)(REFDAX_CACHELINE - 1);
		s_u8(7);
		s_u16((unsigned int)(s / REFDAX_CACHELINE));
	}
	s_u8((unsigned int)(e - s));
	s_put(img + s, e - s);
}

/* Records turning @from into @to (both BASE_BYTES long). */
static void diff(const __u8 *from, const __u8 *to)
{
	__u64 i = 0, s, e;

	while (i < BASE_BYTES) {
		if (from[i] == to[i]) {
			i++;
			continue;
		}
		s = i;
		e = i + 1;
		/* a run, with short equal gaps folded in */
		while (e < BASE_BYTES && e - s < 192) {
			__u64 k = e;

			while (k < BASE_BYTES && k - e < 8 && from[k] == to[k])
				k++;
			if (k == BASE_BYTES || k - e == 8)
				break;
			e = k + 1;
		}
		record(to, s, e);
		i = e;
	}
}

static struct refdax_journal jnl;

/* The byte of the free-space bitmap holding @pblk's bit. */
static __u8 *fsmap_byte(struct img *im, __u64 pblk)
{
	__u64 bit = pblk - im->g.data_start;

	return block(im, im->g.fsmap_start) + bit / 8;
}

/* The record of the superblock's root covering @pblk, or NULL. */
static struct refdax_refc_rec *root_record_of(struct img *im, __u64 pblk)
{
	struct refdax_bmap_root *r = &im->sb->s_refc_root;
	struct refdax_refc_rec *rc = (void *)r->br_ext;
	unsigned int i;

	if (r->br_hdr.bh_depth)
		return NULL;
	for (i = 0; i < le16_to_cpu(r->br_hdr.bh_nr); i++)
		if (pblk >= le64_to_cpu(rc[i].rc_start) &&
		    pblk - le64_to_cpu(rc[i].rc_start) <
		    le32_to_cpu(rc[i].rc_len))
			return &rc[i];
	return NULL;
}

/*
 * An interrupted transaction as the kernel leaves one: an inode, a
 * directory block, the bitmap byte of a freed block and the superblock
 * (whose refcount root a record changed in) logged, then changed.
 */
static void uncommitted_txn(struct img *im)
{
	struct refdax_refc_rec *rc;
	__u8 *blk = block(im, b_root);

	refdax_jnl_begin(&jnl);
	if (refdax_jnl_log(&jnl, inode(im, 2), REFDAX_INODE_SIZE) ||
	    refdax_jnl_log(&jnl, blk, REFDAX_BLOCK_SIZE) ||
	    refdax_jnl_log(&jnl, fsmap_byte(im, b_shared), 1) ||
	    refdax_jnl_log(&jnl, im->sb, sizeof(*im->sb)))
		die("cannot log");
	inode(im, 2)->i_nlink = cpu_to_le32(7);
	refdax_inode_set_csum(inode(im, 2));
	memset(blk, 0, 64);
	*fsmap_byte(im, b_shared) ^= (__u8)(1U << ((b_shared -
						    im->g.data_start) % 8));
	rc = root_record_of(im, b_shared);
	if (rc)
		rc->rc_count = cpu_to_le32(9);
	refdax_super_set_csum(im->sb);
}

static void fsck_seeds(struct img *im, const __u8 *pre, const __u8 *base)
{
	struct refdax_pmem pm;
	const char *why;
	char name[64];
	size_t i;

	for (i = 0; i < 16; i += 5) {
		s_reset();
		s_u8((unsigned int)i);
		snprintf(name, sizeof(name), "base-%zu", i);
		s_write("fsck", name);
	}
	/* unclean states the kernel records: fsck warns, -y clears them */
	for (i = REFDAX_STATE_DIRTY; i <= 6; i += 2) {
		__le32 st = cpu_to_le32((__u32)i);

		s_reset();
		s_u8(0x41);
		s_u8(0);
		s_u16(offsetof(struct refdax_super, s_state));
		s_u8(sizeof(st));
		s_put(&st, sizeof(st));
		snprintf(name, sizeof(name), "state-%zu", i);
		s_write("fsck", name);
	}
	for (i = 0; i < ARRAY_SIZE(corruptions); i++) {
		const struct corruption *c = &corruptions[i];

		memcpy(im->map, c->after_csum ? base : pre, BASE_BYTES);
		im->next_blk = b_end;
		c->fn(im);
		if (!c->after_csum)
			finalize(im);
		s_reset();
		s_u8(0);
		diff(base, im->map);
		snprintf(name, sizeof(name), "corrupt-%02zu", i);
		s_write("fsck", name);
	}

	/* an interrupted transaction: fsck must recover it first */
	memcpy(im->map, base, BASE_BYTES);
	memset(&pm, 0, sizeof(pm));
	pm.base = im->map;
	pm.size = BASE_BYTES;
	pm.flush = refdax_pmem_nop_flush;
	pm.fence = refdax_pmem_nop_fence;
	if (refdax_jnl_open(&jnl, &pm, &im->g, &why))
		die("base journal: %s", why);
	uncommitted_txn(im);
	s_reset();
	s_u8(0);
	diff(base, im->map);
	s_write("fsck", "journal-uncommitted");
}

/* ---- structure seeds ---- */

static void structure_seeds(struct img *im)
{
	static const __u64 sizes[] = { BASE_BYTES, 32 << 20 };
	const __le64 *f = &im->sb->s_nblocks;
	char name[64];
	__u64 ino;
	size_t i;
	int k;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		s_reset();
		s_u8(i);
		s_u64(sizes[i]);
		s_put(im->sb, sizeof(*im->sb));
		snprintf(name, sizeof(name), "sb-%zu", i);
		s_write("super", name);
	}

	s_reset();
	s_u8(1);
	s_u16(BASE_BLOCKS);
	for (k = 0; k < 13; k++)
		s_u16((unsigned int)le64_to_cpu(f[k]));
	s_write("geometry", "base-16");
	s_reset();
	s_u8(0);
	s_u64(BASE_BYTES);
	for (k = 0; k < 13; k++)
		s_u64(le64_to_cpu(f[k]));
	s_write("geometry", "base-64");

	for (ino = 1; ino < im->g.ninodes; ino++) {
		if (!(ibitmap(im)[ino / 8] & (1U << (ino % 8))))
			continue;
		s_reset();
		s_u8(0);
		s_u16((unsigned int)ino);
		s_put(inode(im, ino), REFDAX_INODE_SIZE);
		snprintf(name, sizeof(name), "ino-%llu", (unsigned long long)ino);
		s_write("inode", name);
		if (S_ISLNK(le16_to_cpu(inode(im, ino)->i_mode)))
			s_write("symlink", name);
		if (inode(im, ino)->i_flags & cpu_to_le32(REFDAX_IFL_INLINE))
			continue;
		s_reset();
		s_u8(1);
		s_u8(0);
		s_put(&inode(im, ino)->i_root, sizeof(struct refdax_bmap_root));
		snprintf(name, sizeof(name), "root-%llu",
			 (unsigned long long)ino);
		s_write("bmap", name);
	}
	s_reset();
	s_u8(0);
	s_u8(0);
	s_put(block(im, b_node), REFDAX_BLOCK_SIZE);
	s_write("bmap", "node");

	s_reset();
	s_u8(0);
	s_put(block(im, b_root), REFDAX_BLOCK_SIZE);
	s_write("dir", "root");
	s_reset();
	s_u8(0);
	s_put(block(im, b_sub), REFDAX_BLOCK_SIZE);
	s_write("dir", "sub");
}

/* ---- attribute-block seeds (fuzz_xattr.c's input) ---- */

static __u32 xattr_put(__u8 *b, __u32 used, __u8 ns, const char *name,
		       __u32 vallen, __u64 pblk)
{
	struct refdax_xattr_entry *e = refdax_xattr_entry_at(b, used);
	__u32 n = strlen(name);

	e->xe_ns = ns;
	e->xe_namelen = n;
	e->xe_vallen = cpu_to_le32(vallen);
	e->xe_pblk = cpu_to_le64(pblk);
	memcpy(e + 1, name, n);
	if (!pblk)
		memset((__u8 *)(e + 1) + n, 'v', vallen);
	return used + refdax_xattr_entry_len(e);
}

/*
 * Blocks as the kernel writes them for inode 5 at data block 512 + 3 of
 * fuzz_geom(): one inline value; a mix of every namespace with two remote
 * values; a block nearly full.
 */
static void xattr_seeds(void)
{
	static __u8 b[REFDAX_BLOCK_SIZE];
	struct refdax_xattr_hdr *h = (void *)b;
	/* the data area of fuzz_geom() */
	static const struct refdax_geom xg = {
		.nblocks = 576, .data_start = 512, .ninodes = 64,
	};
	const char *why;
	__u32 used, n;
	char nm[16];
	int k;

	for (k = 0; k < 3; k++) {
		memset(b, 0, sizeof(b));
		used = REFDAX_XATTR_HDR_LEN;
		used = xattr_put(b, used, REFDAX_XATTR_NS_USER, "a", 5, 0);
		if (k == 1) {
			used = xattr_put(b, used, REFDAX_XATTR_NS_TRUSTED,
					 "big", 65536, 530);
			used = xattr_put(b, used, REFDAX_XATTR_NS_SECURITY,
					 "selinux", 1025, 520);
			used = xattr_put(b, used, REFDAX_XATTR_NS_ACL_ACCESS,
					 "", 28, 0);
			used = xattr_put(b, used, REFDAX_XATTR_NS_ACL_DEFAULT,
					 "", 44, 0);
		}
		n = k == 1 ? 5 : 1;
		while (k == 2 && used + 1000 <= REFDAX_BLOCK_SIZE) {
			snprintf(nm, sizeof(nm), "fill%u", n++);
			used = xattr_put(b, used, REFDAX_XATTR_NS_USER, nm,
					 1000 - 16 - 5, 0);
		}
		h->xh_magic = cpu_to_le32(REFDAX_XATTR_MAGIC);
		h->xh_ino = cpu_to_le64(5);
		h->xh_count = cpu_to_le16(n);
		h->xh_used = cpu_to_le16(used);
		refdax_xattr_set_csum(b);
		if (refdax_check_xattr_block(&xg, 5, 515, b, &why))
			die("xattr seed %d refused: %s", k, why);
		s_reset();
		s_u8(0);
		s_u8(5);
		s_u8(3);
		s_put(b, sizeof(b));
		s_write("xattr", k == 0 ? "one" : k == 1 ? "mix" : "full");
	}
}

/* ---- refcount-tree seeds (fuzz_refc.c's input) ---- */

static struct refc_dev rdev;

static void refc_change(__u64 off, __u64 len, int delta)
{
	struct refdax_refc_notify nf = { NULL, NULL };

	if (refdax_refc_adjust(&rdev.t, REFC_DEV_DATA0 + off, len, delta, &nf))
		die("refcount seed tree: %s", rdev.t.why ? rdev.t.why : "error");
}

/* @n records of alternating counts 2 and 3, one block apart. */
static void refc_records(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		refc_change(2ULL * i, 1, 1);
		if (i % 2)
			refc_change(2ULL * i, 1, 1);
	}
}

/* Header, tree, and a few lookups and changes for the fuzzer to vary. */
static void refc_write(const char *name, __u8 flags)
{
	static const __u16 ops[][3] = {
		{ 0, 0, 16 }, { 1, 3, 4 }, { 3, 1, 2 }, { 0, 100, 1 },
		{ 1, 200, 300 }, { 3, 250, 10 },
	};
	unsigned int nodes = 0, i;

	for (i = 0; i < REFC_DEV_NODES; i++)
		if (rdev.used[i])
			nodes = i + 1;
	s_reset();
	s_u8(flags);
	s_u8(nodes);
	s_put(&rdev.root, sizeof(rdev.root));
	for (i = 0; i < nodes; i++)
		s_put(rdev.node[i], REFDAX_BLOCK_SIZE);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		s_u8(ops[i][0]);
		s_u16(ops[i][1]);
		s_u16(ops[i][2]);
	}
	s_write("refc", name);
}

static void refc_seeds(struct img *im)
{
	static const struct {
		const char *name;
		unsigned int records;
	} trees[] = {
		{ "empty", 0 }, { "root", 5 }, { "leaf", 100 },
		{ "leaves", 600 }, { "two-levels", 1300 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(trees); i++) {
		refc_dev_init(&rdev);
		refc_records(trees[i].records);
		refc_write(trees[i].name, 0);
	}
	/* the base image's own root, from its superblock */
	refc_dev_init(&rdev);
	rdev.root = im->sb->s_refc_root;
	refc_write("base-root", 0);
}

/* Journals written by the journal code itself, on fuzz_journal.c's device. */
static void journal_seeds(void)
{
	static __u8 dev[16 * REFDAX_BLOCK_SIZE];
	static const struct {
		__u32 addr, len;
	} ops[] = {
		{ 9 * 4096 + 100, 256 }, { 12 * 4096, 4096 }, { 15 * 4096, 8 },
		{ 9 * 4096 + 64, 64 },
	};
	struct refdax_pmem pm;
	struct refdax_geom g;
	const char *why;
	unsigned int jsel, end, i;
	char name[64];

	for (jsel = 0; jsel < 6; jsel += 4) {
		for (end = 0; end < 4; end++) {
			memset(&g, 0, sizeof(g));
			g.nblocks = 16;
			g.journal_start = 1;
			g.journal_blocks = 2 + jsel;
			for (i = 0; i < sizeof(dev); i++)
				dev[i] = (__u8)(i * 7 + 3);
			memset(&pm, 0, sizeof(pm));
			pm.base = dev;
			pm.size = sizeof(dev);
			pm.flush = refdax_pmem_nop_flush;
			pm.fence = refdax_pmem_nop_fence;
			refdax_jnl_format(&pm, &g);
			if (refdax_jnl_open(&jnl, &pm, &g, &why))
				die("journal seed: %s", why);
			refdax_jnl_reseed(&jnl, 0x5eed0000U + end);
			/* end 0: an interrupted transaction in the journal */
			if (end == 0) {
				refdax_jnl_begin(&jnl);
				for (i = 0; i < ARRAY_SIZE(ops); i++)
					refdax_jnl_log(&jnl, dev + ops[i].addr,
						       ops[i].len);
			}
			s_reset();
			s_u8(end << 3);
			s_u8(jsel);
			s_u32(0x1234abcdU);
			s_u8(ARRAY_SIZE(ops));
			for (i = 0; i < ARRAY_SIZE(ops); i++) {
				s_u16(ops[i].addr & 0xffff);
				s_u16(ops[i].len);
				s_u8(0x40 + i);
			}
			s_put(dev + REFDAX_BLOCK_SIZE,
			      g.journal_blocks * REFDAX_BLOCK_SIZE);
			snprintf(name, sizeof(name), "jnl-%u-%u", jsel, end);
			s_write("journal", name);
		}
	}
	/* a commit word one below the top: the commit wraps it to 1 */
	s_reset();
	s_u8(4 | 1 << 3);
	s_u8(0);
	s_u32(0x1234abcdU);
	s_u8(1);
	s_u16(0);
	s_u16(16);
	s_u8(0xab);
	s_u64(REFDAX_JOURNAL_MAGIC);
	s_u64(~0ULL - 1);
	s_write("journal", "jnl-gen-wrap");
}

int main(int argc, char **argv)
{
	static const char *targets[] = {
		"super", "geometry", "inode", "symlink", "bmap", "refc", "dir",
		"xattr", "journal", "fsck",
	};
	char path[512];
	struct img im;
	__u8 *pre, *base;
	size_t i;

	if (argc != 3)
		die("usage: mkseeds BINDIR OUTDIR");
	bindir = argv[1];
	outdir = argv[2];
	snprintf(path, sizeof(path), "%s/seeds", outdir);
	mkdir(path, 0755);
	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		snprintf(path, sizeof(path), "%s/seeds/%s", outdir, targets[i]);
		mkdir(path, 0755);
	}
	snprintf(img, sizeof(img), "%s/mkseeds.img", outdir);
	snprintf(out, sizeof(out), "%s/mkseeds.out", outdir);
	snprintf(errf, sizeof(errf), "%s/mkseeds.err", outdir);

	/* few inodes and a short journal: less for fsck to scan per run */
	if (mkfs_img("-N 64 -J 8") || img_open(&im))
		die("mkfs.refdax failed: %s", errbuf);
	/* Cut short: the populated blocks all sit at the data start. */
	im.sb->s_nblocks = cpu_to_le64(BASE_BLOCKS);
	im.g.nblocks = BASE_BLOCKS;
	populate(&im);
	extend(&im);
	if (b_end > BASE_BLOCKS)
		die("populated image does not fit %llu blocks", BASE_BLOCKS);
	pre = malloc(BASE_BYTES);
	base = malloc(BASE_BYTES);
	if (!pre || !base)
		die("out of memory");
	memcpy(pre, im.map, BASE_BYTES);
	finalize(&im);
	memcpy(base, im.map, BASE_BYTES);
	snprintf(path, sizeof(path), "%s/base.img", outdir);
	put_file(path, base, BASE_BYTES);

	set_regions(&im.g);
	structure_seeds(&im);
	refc_seeds(&im);
	xattr_seeds();
	fsck_seeds(&im, pre, base);
	journal_seeds();

	img_close(&im);
	unlink(img);
	unlink(out);
	unlink(errf);
	free(pre);
	free(base);
	return 0;
}
