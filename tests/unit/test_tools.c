// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end tests of mkfs.refdax and fsck.refdax on image files in /tmp.
 *
 * A small image builder populates a fresh filesystem the way the kernel
 * would (directories, hard links, a reflinked block, a two-level extent
 * tree, inline and block symlinks, a fifo, an orphan), fsck must call that
 * clean, and then each targeted corruption must make fsck exit 4.  Then
 * fsck -y must repair each repairable one (exit 1) so that a second check
 * is clean (exit 0), with the specific fix in place, while -n must not
 * change a byte of the damaged image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "refdax_common.h"
#include "refdax_refc.h"
#include "refdax_xattr.h"
#include "rtest.h"

#define IMG_SIZE	(32ULL << 20)

static const char *bindir;
static char tmpdir[64], img[128], out[128], errf[128];
static char outbuf[65536], errbuf[65536];

static void slurp(const char *path, char *buf, size_t sz)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sz - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Run a shell command with stdout/stderr captured; returns the exit code. */
__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
	char cmd[1024], full[1400];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s >%s 2>%s", cmd, out, errf);
	st = system(full);
	slurp(out, outbuf, sizeof(outbuf));
	slurp(errf, errbuf, sizeof(errbuf));
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void show_output(void)
{
	rt_note("    stdout: %.2000s", outbuf);
	rt_note("    stderr: %.2000s", errbuf);
}

#define EXPECT_RUN(code, ...)						\
	do {								\
		int rc_ = run(__VA_ARGS__);				\
		if (!EXPECT_EQ(rc_, code))				\
			show_output();					\
	} while (0)

static int mkfs_img(const char *extra)
{
	unlink(img);
	return run("%s/mkfs.refdax -q -s %llu %s %s", bindir, IMG_SIZE,
		   extra, img);
}

static int fsck_img(void)
{
	return run("%s/fsck.refdax -n %s", bindir, img);
}

/* ---- image builder ---- */

struct img {
	int fd;
	__u8 *map;
	__u64 bytes;
	struct refdax_geom g;
	struct refdax_super *sb;
	__u64 next_blk;
};

static int img_open(struct img *im)
{
	struct stat st;
	const char *why;

	memset(im, 0, sizeof(*im));
	im->fd = open(img, O_RDWR);
	if (im->fd < 0 || fstat(im->fd, &st))
		return -1;
	im->bytes = (__u64)st.st_size;
	im->map = mmap(NULL, im->bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       im->fd, 0);
	if (im->map == MAP_FAILED)
		return -1;
	im->sb = (void *)im->map;
	if (refdax_check_super(im->sb, im->bytes, &im->g, &why)) {
		rt_note("image superblock: %s", why);
		return -1;
	}
	im->next_blk = im->g.data_start;
	return 0;
}

static void img_close(struct img *im)
{
	msync(im->map, im->bytes, MS_SYNC);
	munmap(im->map, im->bytes);
	close(im->fd);
}

static struct refdax_inode *inode(struct img *im, __u64 ino)
{
	return (struct refdax_inode *)(im->map + im->g.itable_start *
				       REFDAX_BLOCK_SIZE) + ino;
}

static void *block(struct img *im, __u64 pblk)
{
	return im->map + pblk * REFDAX_BLOCK_SIZE;
}

static __u8 *ibitmap(struct img *im)
{
	return im->map + im->g.ibitmap_start * REFDAX_BLOCK_SIZE;
}

static __u8 *fsmap(struct img *im)
{
	return im->map + im->g.fsmap_start * REFDAX_BLOCK_SIZE;
}

static int used_bit(struct img *im, __u64 pblk)
{
	return refdax_fsmap_test(fsmap(im), pblk - im->g.data_start);
}

static void set_used(struct img *im, __u64 pblk, int used)
{
	if (used)
		refdax_fsmap_set(fsmap(im), pblk - im->g.data_start);
	else
		refdax_fsmap_clear(fsmap(im), pblk - im->g.data_start);
}

/* Fresh zeroed blocks in use with one reference (no record). */
static __u64 alloc_blocks(struct img *im, __u64 n)
{
	__u64 b = im->next_blk, i;

	im->next_blk += n;
	memset(block(im, b), 0, n * REFDAX_BLOCK_SIZE);
	for (i = 0; i < n; i++)
		set_used(im, b + i, 1);
	return b;
}

/*
 * The image's refcount record tree, changed the way the kernel changes it
 * (refdax_refc_adjust() over the generic tree), with node blocks taken by
 * alloc_blocks() and nothing logged.
 */
struct img_refc {
	struct refdax_btree t;		/* first: the ops get &t */
	struct refdax_btree_ops ops;
	struct img *im;
};

static struct img *refc_img(struct refdax_btree *t)
{
	return ((struct img_refc *)t)->im;
}

static int ir_log(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)t;
	(void)p;
	(void)len;
	return 0;
}

static int ir_read_node(struct refdax_btree *t, __u64 blk, unsigned int depth,
			struct refdax_bt_node *n)
{
	struct img *im = refc_img(t);
	struct refdax_bmap_node *bn = block(im, blk);

	if (refdax_check_refc_node(&im->g, bn, depth, &t->why))
		return -EUCLEAN;
	n->hdr = &bn->bn_hdr;
	n->ents = (__u8 *)(bn + 1);
	n->blk = blk;
	return 0;
}

static int ir_alloc_node(struct refdax_btree *t, __u64 *blk, void **addr)
{
	struct img *im = refc_img(t);

	*blk = alloc_blocks(im, 1);
	*addr = block(im, *blk);
	return 0;
}

static int ir_free_node(struct refdax_btree *t, __u64 blk)
{
	set_used(refc_img(t), blk, 0);
	return 0;
}

static void ir_persist(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)t;
	(void)p;
	(void)len;
}

static void refc_open(struct img *im, struct img_refc *ir)
{
	memset(ir, 0, sizeof(*ir));
	ir->im = im;
	refdax_refc_tree_ops(&ir->ops);
	ir->ops.log = ir_log;
	ir->ops.read_node = ir_read_node;
	ir->ops.alloc_node = ir_alloc_node;
	ir->ops.free_node = ir_free_node;
	ir->ops.persist = ir_persist;
	refdax_refc_tree_init(&ir->t, &ir->ops, &im->sb->s_refc_root);
}

/* One more (@delta 1) or one fewer (-1) reference to blocks in use. */
static void share(struct img *im, __u64 pblk, __u64 len, int delta)
{
	struct refdax_refc_notify nf = { NULL, NULL };
	struct img_refc ir;

	refc_open(im, &ir);
	EXPECT_EQ(refdax_refc_adjust(&ir.t, pblk, len, delta, &nf), 0);
}

/* The references block @pblk has on media: 0 if free, else its count. */
static __u32 refs(struct img *im, __u64 pblk)
{
	struct img_refc ir;
	__u64 start, len;
	__u32 count;

	if (!used_bit(im, pblk))
		return 0;
	refc_open(im, &ir);
	if (!EXPECT_EQ(refdax_refc_lookup(&ir.t, pblk, &start, &len, &count),
		       0))
		return ~0U;
	return count;
}

/* The superblock's refcount root and its records, for corruptions. */
static struct refdax_bmap_root *refc_root(struct img *im)
{
	return &im->sb->s_refc_root;
}

static struct refdax_refc_rec *root_rec(struct img *im, int i)
{
	return (struct refdax_refc_rec *)&refc_root(im)->br_ext[i];
}

/*
 * Move the root's entries into a new leaf node under it (what the tree
 * does when the root fills up), so that the tree has a node to damage.
 */
static __u64 refc_push_down(struct img *im)
{
	struct refdax_bmap_root *r = refc_root(im);
	unsigned int nr = le16_to_cpu(r->br_hdr.bh_nr);
	__u64 b = alloc_blocks(im, 1);
	struct refdax_bmap_node *bn = block(im, b);
	struct refdax_refc_index *ri = (void *)r->br_ext;

	bn->bn_hdr = r->br_hdr;
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	memcpy(bn + 1, r->br_ext, nr * sizeof(r->br_ext[0]));
	refdax_bmap_node_set_csum(bn);
	ri->ri_start = root_rec(im, 0)->rc_start;
	ri->ri_child = cpu_to_le64(b);
	memset(&r->br_ext[1], 0, (REFDAX_BMAP_ROOT_MAX - 1) *
	       sizeof(r->br_ext[0]));
	r->br_hdr.bh_nr = cpu_to_le16(1);
	r->br_hdr.bh_depth = cpu_to_le16(le16_to_cpu(r->br_hdr.bh_depth) + 1);
	return b;
}

static struct refdax_inode *new_inode(struct img *im, __u64 ino, __u16 mode,
				      __u32 nlink)
{
	struct refdax_inode *ri = inode(im, ino);

	memset(ri, 0, sizeof(*ri));
	ri->i_mode = cpu_to_le16(mode);
	ri->i_nlink = cpu_to_le32(nlink);
	ri->i_generation = cpu_to_le32((__u32)ino * 7);
	ri->i_mtime = cpu_to_le64(1700000000);
	ri->i_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	ri->i_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	ibitmap(im)[ino / 8] |= (__u8)(1U << (ino % 8));
	return ri;
}

static void add_ext(struct refdax_inode *ri, __u32 lblk, __u64 pblk,
		    __u32 len)
{
	unsigned int nr = le16_to_cpu(ri->i_root.br_hdr.bh_nr);

	ri->i_root.br_ext[nr].e_lblk = cpu_to_le32(lblk);
	ri->i_root.br_ext[nr].e_len = cpu_to_le32(len);
	ri->i_root.br_ext[nr].e_pblk = cpu_to_le64(pblk);
	ri->i_root.br_hdr.bh_nr = cpu_to_le16(nr + 1);
	ri->i_blocks = cpu_to_le64(le64_to_cpu(ri->i_blocks) + len);
}

struct dent {
	const char *name;
	__u64 ino;
	__u8 type;
};

static void fill_dirblock(__u8 *blk, const struct dent *d, int n)
{
	unsigned int off = 0;
	int i;

	for (i = 0; i < n; i++) {
		struct refdax_dirent *de = (void *)(blk + off);
		unsigned int len = (unsigned int)strlen(d[i].name);
		unsigned int rl = REFDAX_DIRENT_LEN(len);

		if (i == n - 1)
			rl = REFDAX_BLOCK_SIZE - off;
		de->d_ino = cpu_to_le64(d[i].ino);
		de->d_reclen = cpu_to_le16(rl);
		de->d_namelen = (__u8)len;
		de->d_type = d[i].type;
		de->d_hash = cpu_to_le32(refdax_name_hash(d[i].name, len));
		memcpy(de->d_name, d[i].name, len);
		off += rl;
	}
}

/* A directory entry by name in a directory block (for corruptions). */
static struct refdax_dirent *find_dirent(__u8 *blk, const char *name)
{
	unsigned int off = 0;

	while (off < REFDAX_BLOCK_SIZE) {
		struct refdax_dirent *de = (void *)(blk + off);

		if (de->d_namelen == strlen(name) &&
		    !memcmp(de->d_name, name, de->d_namelen))
			return de;
		off += le16_to_cpu(de->d_reclen);
	}
	abort();
}

static void finalize(struct img *im)
{
	__u64 ino;

	for (ino = 1; ino < im->g.ninodes; ino++)
		if (ibitmap(im)[ino / 8] & (1U << (ino % 8)))
			refdax_inode_set_csum(inode(im, ino));
	refdax_super_set_csum(im->sb);
}

/* Blocks of note in the populated image. */
static __u64 b_root, b_shared, b_sub, b_node, b_link, b_orphan, b_xattr,
	     b_xremote, b_end;
#define POPULATED_INODES	9
#define POPULATED_BLOCKS	21

/* Entry of @ns, @name and a value of @len bytes ('v') at @used. */
static __u32 put_xattr(__u8 *b, __u32 used, __u8 ns, const char *name,
		       __u32 len, __u64 pblk)
{
	struct refdax_xattr_entry *e = refdax_xattr_entry_at(b, used);
	__u32 n = (__u32)strlen(name);

	e->xe_ns = ns;
	e->xe_namelen = (__u8)n;
	e->xe_vallen = cpu_to_le32(len);
	e->xe_pblk = cpu_to_le64(pblk);
	memcpy(e + 1, name, n);
	if (!pblk)
		memset((__u8 *)(e + 1) + n, 'v', len);
	return used + refdax_xattr_entry_len(e);
}

/*
 * Inode 2's attribute block, as the kernel writes it: user.small inline,
 * trusted.big remote in two blocks; i_blocks counts all three.
 */
static void add_xattrs(struct img *im)
{
	struct refdax_xattr_hdr *h;
	__u32 used = REFDAX_XATTR_HDR_LEN;
	__u8 *b;

	b_xattr = alloc_blocks(im, 1);
	b_xremote = alloc_blocks(im, 2);
	memset(block(im, b_xremote), 'r', 5000);
	b = block(im, b_xattr);
	used = put_xattr(b, used, REFDAX_XATTR_NS_USER, "small", 5, 0);
	used = put_xattr(b, used, REFDAX_XATTR_NS_TRUSTED, "big", 5000,
			 b_xremote);
	h = (void *)b;
	h->xh_magic = cpu_to_le32(REFDAX_XATTR_MAGIC);
	h->xh_ino = cpu_to_le64(2);
	h->xh_count = cpu_to_le16(2);
	h->xh_used = cpu_to_le16((__u16)used);
	refdax_xattr_set_csum(b);
	inode(im, 2)->i_xattr = cpu_to_le64(b_xattr);
	inode(im, 2)->i_blocks = cpu_to_le64(le64_to_cpu(inode(im, 2)->i_blocks) + 3);
}

static void populate(struct img *im)
{
	struct refdax_inode *ri;
	struct refdax_bmap_node *bn;
	struct refdax_extent *e;
	__u64 a;
	int i;
	static const struct dent root_ents[] = {
		{ "file", 2, REFDAX_DT_REG },
		{ "clone", 3, REFDAX_DT_REG },
		{ "sub", 4, REFDAX_DT_DIR },
		{ "longlink", 6, REFDAX_DT_LNK },
		{ "hard", 2, REFDAX_DT_REG },
		{ "big", 7, REFDAX_DT_REG },
		{ "fifo", 8, REFDAX_DT_FIFO },
	};
	static const struct dent sub_ents[] = {
		{ "deep", 5, REFDAX_DT_LNK },
	};

	/* root: one directory block */
	b_root = alloc_blocks(im, 1);
	fill_dirblock(block(im, b_root), root_ents, 7);
	ri = inode(im, 1);
	ri->i_nlink = cpu_to_le32(3);
	ri->i_size = cpu_to_le64(REFDAX_BLOCK_SIZE);
	add_ext(ri, 0, b_root, 1);

	/* 2: two links; blocks 0-1 and 5, block 5 shared with inode 3 */
	a = alloc_blocks(im, 2);
	b_shared = alloc_blocks(im, 1);
	ri = new_inode(im, 2, S_IFREG | 0644, 2);
	ri->i_size = cpu_to_le64(6 * REFDAX_BLOCK_SIZE);
	add_ext(ri, 0, a, 2);
	add_ext(ri, 5, b_shared, 1);
	ri = new_inode(im, 3, S_IFREG | 0600, 1);
	ri->i_size = cpu_to_le64(100);
	add_ext(ri, 0, b_shared, 1);
	share(im, b_shared, 1, 1);

	/* 4: subdirectory holding an inline symlink (5) */
	b_sub = alloc_blocks(im, 1);
	fill_dirblock(block(im, b_sub), sub_ents, 1);
	ri = new_inode(im, 4, S_IFDIR | 0755, 2);
	ri->i_parent = cpu_to_le64(1);
	ri->i_size = cpu_to_le64(REFDAX_BLOCK_SIZE);
	add_ext(ri, 0, b_sub, 1);
	ri = new_inode(im, 5, S_IFLNK | 0777, 1);
	memset(&ri->i_root, 0, sizeof(ri->i_root));
	strcpy(ri->i_symlink, "target/path");
	ri->i_size = cpu_to_le64(strlen("target/path"));
	ri->i_flags = cpu_to_le32(REFDAX_IFL_INLINE);

	/* 6: a 200-byte symlink target in a block */
	b_link = alloc_blocks(im, 1);
	memset(block(im, b_link), 'x', 200);
	ri = new_inode(im, 6, S_IFLNK | 0777, 1);
	ri->i_size = cpu_to_le64(200);
	add_ext(ri, 0, b_link, 1);

	/* 7: depth-1 tree, one leaf node holding ten one-block extents */
	b_node = alloc_blocks(im, 1);
	bn = block(im, b_node);
	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
	bn->bn_hdr.bh_nr = cpu_to_le16(10);
	e = (void *)(bn + 1);
	for (i = 0; i < 10; i++) {
		e[i].e_lblk = cpu_to_le32(2 * i);
		e[i].e_len = cpu_to_le32(1);
		e[i].e_pblk = cpu_to_le64(alloc_blocks(im, 1));
	}
	refdax_bmap_node_set_csum(bn);
	ri = new_inode(im, 7, S_IFREG | 0644, 1);
	ri->i_size = cpu_to_le64(20 * REFDAX_BLOCK_SIZE);
	ri->i_blocks = cpu_to_le64(11);
	ri->i_root.br_hdr.bh_depth = cpu_to_le16(1);
	ri->i_root.br_hdr.bh_nr = cpu_to_le16(1);
	ri->i_root.br_idx[0].ei_lblk = 0;
	ri->i_root.br_idx[0].ei_child = cpu_to_le64(b_node);

	/* 8: fifo */
	new_inode(im, 8, S_IFIFO | 0644, 1);

	/* 9: unlinked but open: on the orphan list */
	b_orphan = alloc_blocks(im, 1);
	ri = new_inode(im, 9, S_IFREG | 0644, 0);
	ri->i_flags = cpu_to_le32(REFDAX_IFL_ORPHAN);
	ri->i_size = cpu_to_le64(10);
	add_ext(ri, 0, b_orphan, 1);
	im->sb->s_orphan_head = cpu_to_le64(9);
	add_xattrs(im);
	b_end = im->next_blk;
}

static __u32 file_crc(void)
{
	int fd = open(img, O_RDONLY);
	static __u8 buf[1 << 16];
	__u32 crc = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = refdax_crc32c(crc, buf, (size_t)n);
	close(fd);
	return crc;
}

static int build_populated(void)
{
	struct img im;

	if (mkfs_img("") || img_open(&im))
		return -1;
	populate(&im);
	finalize(&im);
	img_close(&im);
	return 0;
}

/* ---- corruptions ---- */

static void c_sb_magic(struct img *im)
{
	im->sb->s_magic ^= cpu_to_le64(1);
}

static void c_leaked_block(struct img *im)
{
	set_used(im, im->next_blk + 3, 1);
}

static void c_record_count(struct img *im)
{
	root_rec(im, 0)->rc_count = cpu_to_le32(3);
}

static void c_record_missing(struct img *im)
{
	memset(root_rec(im, 0), 0, sizeof(struct refdax_refc_rec));
	refc_root(im)->br_hdr.bh_nr = 0;
}

/* the first data block of inode 2 is not shared */
static void c_record_extra(struct img *im)
{
	share(im, le64_to_cpu(inode(im, 2)->i_root.br_ext[0].e_pblk), 1, 1);
}

/*
 * Inode 3 also maps inode 2's first two blocks, which end where b_shared
 * starts: one record of 3 blocks, count 2, stored split in two.
 */
static void c_record_split(struct img *im)
{
	struct refdax_inode *ri = inode(im, 3);
	__u64 a = le64_to_cpu(inode(im, 2)->i_root.br_ext[0].e_pblk);
	struct refdax_refc_rec *r0 = root_rec(im, 0), *r1 = root_rec(im, 1);

	add_ext(ri, 1, a, 2);
	ri->i_size = cpu_to_le64(3 * REFDAX_BLOCK_SIZE);
	share(im, a, 2, 1);
	*r1 = *r0;
	r0->rc_len = cpu_to_le32(2);
	r1->rc_start = cpu_to_le64(a + 2);
	r1->rc_len = cpu_to_le32(1);
	refc_root(im)->br_hdr.bh_nr = cpu_to_le16(2);
}

static void c_refc_node_csum(struct img *im)
{
	((__u8 *)block(im, refc_push_down(im)))[3000] ^= 1;
}

static void c_refc_node_magic(struct img *im)
{
	struct refdax_bmap_node *bn = block(im, refc_push_down(im));

	bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	refdax_bmap_node_set_csum(bn);
}

/* inode 2 maps the node block as its logical block 6 */
static void c_refc_node_as_data(struct img *im)
{
	add_ext(inode(im, 2), 6, refc_push_down(im), 1);
	inode(im, 2)->i_size = cpu_to_le64(7 * REFDAX_BLOCK_SIZE);
}

static void c_refc_root_magic(struct img *im)
{
	refc_root(im)->br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
}

/* after the checksum: the superblock checksum is wrong as well */
static void c_refc_root_nr(struct img *im)
{
	refc_root(im)->br_hdr.bh_nr = cpu_to_le16(9);
}

static void c_version1(struct img *im)
{
	im->sb->s_version = cpu_to_le32(1);
	refdax_super_set_csum(im->sb);
}

static void c_inode_csum(struct img *im)
{
	inode(im, 2)->i_uid ^= cpu_to_le32(0x100);
}

static void c_dirent_hash(struct img *im)
{
	find_dirent(block(im, b_root), "clone")->d_hash ^= cpu_to_le32(1);
}

static void c_dirent_type(struct img *im)
{
	find_dirent(block(im, b_root), "clone")->d_type = REFDAX_DT_DIR;
}

static void c_dirent_free_target(struct img *im)
{
	find_dirent(block(im, b_root), "clone")->d_ino = cpu_to_le64(30);
}

static void c_duplicate_name(struct img *im)
{
	struct refdax_dirent *de = find_dirent(block(im, b_root), "hard");

	memcpy(de->d_name, "file", 4);
	de->d_hash = cpu_to_le32(refdax_name_hash("file", 4));
}

static void c_nlink(struct img *im)
{
	inode(im, 2)->i_nlink = cpu_to_le32(1);
}

static void c_dir_nlink(struct img *im)
{
	inode(im, 1)->i_nlink = cpu_to_le32(2);
}

static void c_bitmap_clear(struct img *im)
{
	ibitmap(im)[0] &= (__u8)~(1U << 3);
}

static void c_bitmap_set_free(struct img *im)
{
	ibitmap(im)[2] |= 1;		/* inode 16, mode 0 */
}

static void c_node_csum(struct img *im)
{
	((__u8 *)block(im, b_node))[100] ^= 1;
}

static void c_orphan_flag(struct img *im)
{
	inode(im, 9)->i_flags = 0;
}

static void c_orphan_cycle(struct img *im)
{
	inode(im, 9)->i_next_orphan = cpu_to_le64(9);
}

static void c_orphan_head_lost(struct img *im)
{
	im->sb->s_orphan_head = 0;
}

static void c_xattr_csum(struct img *im)
{
	((__u8 *)block(im, b_xattr))[40] ^= 1;
}

static void c_xattr_remote_shared(struct img *im)
{
	struct refdax_xattr_entry *e = refdax_xattr_entry_at(block(im, b_xattr),
		REFDAX_XATTR_HDR_LEN + REFDAX_XATTR_ENTRY_LEN(5, 5));

	/* the remote value now lies over the root directory's block */
	e->xe_pblk = cpu_to_le64(b_root);
	e->xe_vallen = cpu_to_le32(100);
	refdax_xattr_set_csum(block(im, b_xattr));
}

static void c_i_blocks(struct img *im)
{
	inode(im, 3)->i_blocks = cpu_to_le64(2);
}

static void c_unreachable(struct img *im)
{
	new_inode(im, 10, S_IFREG | 0644, 1);
}

static void c_dir_hole(struct img *im)
{
	inode(im, 1)->i_size = cpu_to_le64(2 * REFDAX_BLOCK_SIZE);
}

static void c_dir_parent(struct img *im)
{
	inode(im, 4)->i_parent = cpu_to_le64(4);
}

static void c_index_key(struct img *im)
{
	inode(im, 7)->i_root.br_idx[0].ei_lblk = cpu_to_le32(1);
}

static void c_node_as_data(struct img *im)
{
	inode(im, 3)->i_root.br_ext[0].e_pblk = cpu_to_le64(b_node);
	share(im, b_shared, 1, -1);
	share(im, b_node, 1, 1);
}

static void c_inline_len(struct img *im)
{
	inode(im, 5)->i_size = cpu_to_le64(3);
}

static void c_block_symlink_nul(struct img *im)
{
	((__u8 *)block(im, b_link))[50] = 0;
}

static void c_extent_in_metadata(struct img *im)
{
	inode(im, 2)->i_root.br_ext[0].e_pblk = cpu_to_le64(3);
}

static void c_journal_magic(struct img *im)
{
	im->map[im->g.journal_start * REFDAX_BLOCK_SIZE] ^= 1;
}

static void c_root_free(struct img *im)
{
	ibitmap(im)[0] &= (__u8)~(1U << 1);
}

static void c_inode0(struct img *im)
{
	inode(im, 0)->i_mode = cpu_to_le16(S_IFREG);
}

static void c_hard_link_dir(struct img *im)
{
	struct refdax_dirent *de = find_dirent(block(im, b_root), "fifo");

	de->d_ino = cpu_to_le64(4);
	de->d_type = REFDAX_DT_DIR;
	inode(im, 8)->i_nlink = 0;
	ibitmap(im)[1] &= (__u8)~1;	/* free inode 8 */
	memset(inode(im, 8), 0, sizeof(struct refdax_inode));
	inode(im, 1)->i_nlink = cpu_to_le32(4);
}

static void c_root_extent_bad(struct img *im)
{
	inode(im, 1)->i_root.br_ext[0].e_pblk = cpu_to_le64(3);
}

static void c_dir_inner_hole(struct img *im)
{
	struct refdax_inode *ri = inode(im, 1);
	static const struct dent none[] = { { "gone", 8, REFDAX_DT_FIFO } };
	__u64 b = alloc_blocks(im, 1);

	fill_dirblock(block(im, b), none, 1);
	add_ext(ri, 2, b, 1);
	ri->i_size = cpu_to_le64(3 * REFDAX_BLOCK_SIZE);
}

static void c_dir_extent_long(struct img *im)
{
	inode(im, 4)->i_root.br_ext[0].e_len = cpu_to_le32(12);
}

static void c_root_fields(struct img *im)
{
	inode(im, 1)->i_mtime_ns = cpu_to_le32(2000000000U);
	inode(im, 1)->i_flags = cpu_to_le32(0x100);
}

static void c_symlink_no_block(struct img *im)
{
	inode(im, 6)->i_root.br_ext[0].e_lblk = cpu_to_le32(3);
}

static void c_used_block_free(struct img *im)
{
	set_used(im, b_root, 0);
}

static void c_node_csum_only(struct img *im)
{
	((__u8 *)block(im, b_node))[4000] ^= 1;	/* unused entry space */
}

static void c_dir_block_shared(struct img *im)
{
	inode(im, 3)->i_root.br_ext[0].e_pblk = cpu_to_le64(b_sub);
	share(im, b_shared, 1, -1);
	share(im, b_sub, 1, 1);
}

static void c_unreachable_dir(struct img *im)
{
	struct refdax_dirent *de = find_dirent(block(im, b_root), "sub");

	de->d_ino = 0;		/* "sub" (with "deep" inside) loses its name */
	inode(im, 1)->i_nlink = cpu_to_le32(2);
}

/* ---- checks made after a repair ---- */

static __u32 nlink(struct img *im, __u64 ino)
{
	return le32_to_cpu(inode(im, ino)->i_nlink);
}

static int ibit(struct img *im, __u64 ino)
{
	return (ibitmap(im)[ino / 8] >> (ino % 8)) & 1;
}

/* Inode named @name in directory @dir (extents in its root), or 0. */
static __u64 lookup(struct img *im, __u64 dir, const char *name)
{
	struct refdax_inode *ri = inode(im, dir);
	unsigned int nr = le16_to_cpu(ri->i_root.br_hdr.bh_nr), i, b;

	for (i = 0; i < nr; i++) {
		struct refdax_extent *e = &ri->i_root.br_ext[i];

		for (b = 0; b < le32_to_cpu(e->e_len); b++) {
			__u8 *blk = block(im, le64_to_cpu(e->e_pblk) + b);
			unsigned int off = 0;

			while (off < REFDAX_BLOCK_SIZE) {
				struct refdax_dirent *de = (void *)(blk + off);

				if (de->d_ino && de->d_namelen == strlen(name) &&
				    !memcmp(de->d_name, name, de->d_namelen))
					return le64_to_cpu(de->d_ino);
				if (!de->d_reclen)
					break;
				off += le16_to_cpu(de->d_reclen);
			}
		}
	}
	return 0;
}

static int inode_ok(struct img *im, __u64 ino)
{
	const char *why;

	return !refdax_check_inode(&im->g, ino, inode(im, ino), &why);
}

static void v_leaked_block(struct img *im)
{
	EXPECT(!used_bit(im, b_end + 3));
}

/* exactly one record: b_shared, count 2, in the root */
static void v_one_record(struct img *im)
{
	struct refdax_bmap_root *r = refc_root(im);

	EXPECT_EQ(le16_to_cpu(r->br_hdr.bh_depth), 0);
	EXPECT_EQ(le16_to_cpu(r->br_hdr.bh_nr), 1);
	EXPECT_EQ(le64_to_cpu(root_rec(im, 0)->rc_start), b_shared);
	EXPECT_EQ(le32_to_cpu(root_rec(im, 0)->rc_len), 1);
	EXPECT_EQ(le32_to_cpu(root_rec(im, 0)->rc_count), 2);
}

static void v_record_split(struct img *im)
{
	EXPECT_EQ(le16_to_cpu(refc_root(im)->br_hdr.bh_nr), 1);
	EXPECT_EQ(le64_to_cpu(root_rec(im, 0)->rc_start), b_shared - 2);
	EXPECT_EQ(le32_to_cpu(root_rec(im, 0)->rc_len), 3);
	EXPECT_EQ(le32_to_cpu(root_rec(im, 0)->rc_count), 2);
}

/* the tree is rebuilt without the bad node, whose block is free again */
static void v_refc_node_bad(struct img *im)
{
	v_one_record(im);
	EXPECT(!used_bit(im, b_end));
}

/* the node keeps its block; the file extent mapping it is detached */
static void v_refc_node_as_data(struct img *im)
{
	struct refdax_bmap_root *r = refc_root(im);

	EXPECT_EQ(le16_to_cpu(r->br_hdr.bh_depth), 1);
	EXPECT_EQ(le64_to_cpu(r->br_idx[0].ei_child), b_end);
	EXPECT_EQ(refs(im, b_end), 1);
	EXPECT_EQ(le16_to_cpu(inode(im, 2)->i_root.br_hdr.bh_nr), 2);
	EXPECT_EQ(le64_to_cpu(inode(im, 2)->i_blocks), 3 + 3);	/* + attributes */
	EXPECT_EQ(refs(im, b_shared), 2);
}

static void v_used_block_free(struct img *im)
{
	EXPECT(used_bit(im, b_root));
}

static void v_inode_csum(struct img *im)
{
	EXPECT(inode_ok(im, 2));
	EXPECT_EQ(le32_to_cpu(inode(im, 2)->i_uid), 0x100);
}

static void v_dirent_hash(struct img *im)
{
	EXPECT_EQ(le32_to_cpu(find_dirent(block(im, b_root), "clone")->d_hash),
		  refdax_name_hash("clone", 5));
}

static void v_dirent_type(struct img *im)
{
	EXPECT_EQ(find_dirent(block(im, b_root), "clone")->d_type,
		  REFDAX_DT_REG);
}

/* "clone" named a free inode: gone, and inode 3 is in /lost+found. */
static void v_dirent_free_target(struct img *im)
{
	__u64 lf = lookup(im, 1, "lost+found");

	EXPECT_EQ(lookup(im, 1, "clone"), 0);
	EXPECT(lf != 0);
	if (lf) {
		EXPECT_EQ(lookup(im, lf, "#3"), 3);
		EXPECT_EQ(le64_to_cpu(inode(im, lf)->i_parent), 1);
		EXPECT_EQ(nlink(im, lf), 2);
	}
	EXPECT_EQ(nlink(im, 1), 4);
	EXPECT_EQ(nlink(im, 3), 1);
	EXPECT_EQ(refs(im, b_shared), 2);
}

static void v_duplicate_name(struct img *im)
{
	EXPECT_EQ(lookup(im, 1, "file"), 2);
	EXPECT_EQ(lookup(im, 1, "hard"), 0);
	EXPECT_EQ(nlink(im, 2), 1);
}

static void v_nlink(struct img *im)
{
	EXPECT_EQ(nlink(im, 2), 2);
}

static void v_dir_nlink(struct img *im)
{
	EXPECT_EQ(nlink(im, 1), 3);
}

static void v_bitmap_clear(struct img *im)
{
	EXPECT(ibit(im, 3));
	EXPECT_EQ(lookup(im, 1, "clone"), 3);
}

static void v_bitmap_set_free(struct img *im)
{
	EXPECT(!ibit(im, 16));
}

/* an invalid node (a zero-length extent): the whole subtree goes */
static void v_node_bad(struct img *im)
{
	EXPECT_EQ(le16_to_cpu(inode(im, 7)->i_root.br_hdr.bh_nr), 0);
	EXPECT_EQ(le64_to_cpu(inode(im, 7)->i_blocks), 0);
	EXPECT_EQ(refs(im, b_node), 0);
}

static void v_node_csum_only(struct img *im)
{
	const char *why;

	EXPECT(!refdax_check_bmap_node(&im->g, block(im, b_node), 0, &why));
	EXPECT_EQ(le64_to_cpu(inode(im, 7)->i_blocks), 11);
}

static void v_orphan(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(im->sb->s_orphan_head), 9);
	EXPECT_EQ(le64_to_cpu(inode(im, 9)->i_next_orphan), 0);
	EXPECT(le32_to_cpu(inode(im, 9)->i_flags) & REFDAX_IFL_ORPHAN);
	EXPECT_EQ(nlink(im, 9), 0);
}

/* The attributes dropped, their blocks freed, i_blocks mended. */
static void v_xattr_dropped(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 2)->i_xattr), 0);
	EXPECT_EQ(le64_to_cpu(inode(im, 2)->i_blocks), 3);
	EXPECT(!used_bit(im, b_xattr));
	EXPECT(!used_bit(im, b_xremote));
	EXPECT(used_bit(im, b_root));
}

static void v_i_blocks(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 3)->i_blocks), 1);
}

static void v_unreachable(struct img *im)
{
	__u64 lf = lookup(im, 1, "lost+found");

	EXPECT(lf != 0);
	if (lf)
		EXPECT_EQ(lookup(im, lf, "#10"), 10);
	EXPECT_EQ(nlink(im, 1), 4);
	EXPECT_EQ(nlink(im, 10), 1);
}

static void v_unreachable_dir(struct img *im)
{
	__u64 lf = lookup(im, 1, "lost+found");

	EXPECT(lf != 0);
	if (!lf)
		return;
	EXPECT_EQ(lookup(im, lf, "#4"), 4);
	EXPECT_EQ(le64_to_cpu(inode(im, 4)->i_parent), lf);
	EXPECT_EQ(nlink(im, lf), 3);
	EXPECT_EQ(nlink(im, 1), 3);
	EXPECT_EQ(lookup(im, 4, "deep"), 5);
}

static void v_dir_hole(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 1)->i_size), REFDAX_BLOCK_SIZE);
}

static void v_dir_parent(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 4)->i_parent), 1);
}

/* the index key 1 cuts logical block 0 off the leaf */
static void v_index_key(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 7)->i_blocks), 10);
	EXPECT_EQ(le16_to_cpu(((struct refdax_bmap_node *)
			       block(im, b_node))->bn_hdr.bh_nr), 9);
}

/* the node keeps its block; the file extent mapping it is detached */
static void v_node_as_data(struct img *im)
{
	EXPECT_EQ(le16_to_cpu(inode(im, 3)->i_root.br_hdr.bh_nr), 0);
	EXPECT_EQ(le64_to_cpu(inode(im, 3)->i_blocks), 0);
	EXPECT_EQ(le64_to_cpu(inode(im, 7)->i_blocks), 11);
	EXPECT_EQ(refs(im, b_node), 1);
	EXPECT_EQ(refs(im, b_shared), 1);
}

static void v_dir_block_shared(struct img *im)
{
	EXPECT_EQ(le16_to_cpu(inode(im, 3)->i_root.br_hdr.bh_nr), 0);
	EXPECT_EQ(refs(im, b_sub), 1);
	EXPECT_EQ(lookup(im, 4, "deep"), 5);
}

static void v_inline_len(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 5)->i_size), 11);
}

static void v_block_symlink_nul(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 6)->i_size), 50);
}

/* the bad extent goes, the inode and its other extent stay */
static void v_extent_in_metadata(struct img *im)
{
	EXPECT(ibit(im, 2));
	EXPECT_EQ(lookup(im, 1, "file"), 2);
	EXPECT_EQ(le16_to_cpu(inode(im, 2)->i_root.br_hdr.bh_nr), 1);
	EXPECT_EQ(le64_to_cpu(inode(im, 2)->i_blocks), 1 + 3);	/* + attributes */
	EXPECT_EQ(refs(im, b_shared), 2);
}

/*
 * The root directory's only block is mapped into metadata: the extent is
 * dropped, the root shrinks to nothing and everything that hung below it
 * is reconnected into a new /lost+found.
 */
static void v_root_extent_bad(struct img *im)
{
	static const __u64 tops[] = { 2, 3, 4, 6, 7, 8 };
	__u64 lf = lookup(im, 1, "lost+found");
	char name[16];
	size_t i;

	if (!EXPECT(lf != 0))
		return;
	for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		snprintf(name, sizeof(name), "#%llu", (unsigned long long)tops[i]);
		EXPECT_EQ(lookup(im, lf, name), tops[i]);
	}
	EXPECT_EQ(lookup(im, 4, "deep"), 5);
	EXPECT_EQ(nlink(im, 2), 1);
	EXPECT_EQ(nlink(im, lf), 3);
	EXPECT_EQ(nlink(im, 1), 3);
}

/*
 * A directory's extent grew over other files' blocks: it claims only what
 * its size covers and is trimmed back; nobody else loses a block.
 */
static void v_dir_extent_long(struct img *im)
{
	EXPECT_EQ(le32_to_cpu(inode(im, 4)->i_root.br_ext[0].e_len), 1);
	EXPECT_EQ(le64_to_cpu(inode(im, 4)->i_blocks), 1);
	EXPECT_EQ(le64_to_cpu(inode(im, 6)->i_blocks), 1);
	EXPECT_EQ(le64_to_cpu(inode(im, 7)->i_blocks), 11);
	EXPECT_EQ(lookup(im, 4, "deep"), 5);
	EXPECT_EQ(((__u8 *)block(im, b_link))[0], 'x');
}

/* a block symlink without its target block is cleared, with its name */
static void v_symlink_no_block(struct img *im)
{
	EXPECT(!ibit(im, 6));
	EXPECT_EQ(lookup(im, 1, "longlink"), 0);
	EXPECT_EQ(refs(im, b_link), 0);
}

/* the root's bad fields are mended, not the root cleared */
static void v_root_fields(struct img *im)
{
	EXPECT(inode_ok(im, 1));
	EXPECT_EQ(le32_to_cpu(inode(im, 1)->i_mtime_ns), 0);
	EXPECT_EQ(le32_to_cpu(inode(im, 1)->i_flags), 0);
	EXPECT_EQ(lookup(im, 1, "file"), 2);
	EXPECT_EQ(lookup(im, 1, "lost+found"), 0);
}

/* blocks 0 and 2 mapped, 1 missing: the directory ends at block 1 */
static void v_dir_inner_hole(struct img *im)
{
	EXPECT_EQ(le64_to_cpu(inode(im, 1)->i_size), REFDAX_BLOCK_SIZE);
	EXPECT_EQ(le16_to_cpu(inode(im, 1)->i_root.br_hdr.bh_nr), 1);
	EXPECT_EQ(lookup(im, 1, "file"), 2);
}

static void v_journal_magic(struct img *im)
{
	struct refdax_journal_header *jh =
		block(im, im->g.journal_start);

	EXPECT_EQ(le64_to_cpu(jh->jh_magic), REFDAX_JOURNAL_MAGIC);
}

static void v_root_free(struct img *im)
{
	EXPECT(ibit(im, 1));
}

static void v_inode0(struct img *im)
{
	EXPECT_EQ(inode(im, 0)->i_mode, 0);
}

static void v_hard_link_dir(struct img *im)
{
	EXPECT_EQ(lookup(im, 1, "fifo"), 0);
	EXPECT_EQ(lookup(im, 1, "sub"), 4);
	EXPECT_EQ(nlink(im, 1), 3);
}

struct corruption {
	const char *name;
	void (*fn)(struct img *im);
	int after_csum;		/* applied after the checksums are set */
	const char *expect;	/* substring of fsck's output */
	int fix_rc;		/* exit status of fsck -y */
	void (*verify)(struct img *im);	/* after fsck -y */
};

static const struct corruption corruptions[] = {
	{ "superblock magic", c_sb_magic, 1, "magic", 4, NULL },
	{ "leaked block in the free-space bitmap", c_leaked_block, 0,
	  "used by nothing (leaked)", 1, v_leaked_block },
	{ "used block free in the free-space bitmap", c_used_block_free, 0,
	  "but free in the free-space bitmap", 1, v_used_block_free },
	{ "refcount record with a wrong count", c_record_count, 0,
	  "(count 3): block", 1, v_one_record },
	{ "missing refcount record", c_record_missing, 0,
	  "but no refcount record", 1, v_one_record },
	{ "extra refcount record", c_record_extra, 0, "not shared", 1,
	  v_one_record },
	{ "refcount records not merged", c_record_split, 0, "not merged", 1,
	  v_record_split },
	{ "refcount node checksum", c_refc_node_csum, 0,
	  "refcount node checksum mismatch", 1, v_refc_node_bad },
	{ "refcount node magic", c_refc_node_magic, 0,
	  "bad refcount node magic", 1, v_refc_node_bad },
	{ "refcount node also mapped as data", c_refc_node_as_data, 0,
	  "also used as a refcount-tree node", 1, v_refc_node_as_data },
	{ "refcount root magic", c_refc_root_magic, 0,
	  "superblock: bad refcount root magic", 1, v_one_record },
	{ "refcount root and superblock checksum", c_refc_root_nr, 1,
	  "superblock: too many entries in refcount root", 1, v_one_record },
	{ "superblock of format version 1", c_version1, 1,
	  "on-media format version 1; this fsck.refdax reads version 2 only",
	  4, NULL },
	{ "inode checksum", c_inode_csum, 1, "inode 2: inode checksum", 1,
	  v_inode_csum },
	{ "dirent hash", c_dirent_hash, 1, "hash", 1, v_dirent_hash },
	{ "dirent type", c_dirent_type, 0, "has type", 1, v_dirent_type },
	{ "dirent to a free inode", c_dirent_free_target, 0, "free inode", 1,
	  v_dirent_free_target },
	{ "duplicate name", c_duplicate_name, 0, "duplicate", 1,
	  v_duplicate_name },
	{ "file link count", c_nlink, 0, "link count", 1, v_nlink },
	{ "directory link count", c_dir_nlink, 0, "link count", 1,
	  v_dir_nlink },
	{ "in-use inode with bitmap bit clear", c_bitmap_clear, 0,
	  "not marked in use", 1, v_bitmap_clear },
	{ "bitmap bit set for a free slot", c_bitmap_set_free, 0, "mode is 0",
	  1, v_bitmap_set_free },
	{ "tree node checksum", c_node_csum, 1, "checksum", 1, v_node_bad },
	{ "tree node checksum only", c_node_csum_only, 1, "checksum", 1,
	  v_node_csum_only },
	{ "orphan flag missing", c_orphan_flag, 0, "orphan", 1, v_orphan },
	{ "orphan list cycle", c_orphan_cycle, 0, "cycle", 1, v_orphan },
	{ "orphan not on the list", c_orphan_head_lost, 0, "orphan", 1,
	  v_orphan },
	{ "i_blocks", c_i_blocks, 0, "i_blocks", 1, v_i_blocks },
	{ "xattr block checksum", c_xattr_csum, 0, "xattr block checksum", 1,
	  v_xattr_dropped },
	{ "remote xattr value over a directory block", c_xattr_remote_shared,
	  0, "remote value block", 1, v_xattr_dropped },
	{ "unreachable inode", c_unreachable, 0, "not reachable", 1,
	  v_unreachable },
	{ "unreachable directory", c_unreachable_dir, 0, "not reachable", 1,
	  v_unreachable_dir },
	{ "directory hole", c_dir_hole, 0, "hole", 1, v_dir_hole },
	{ "directory parent", c_dir_parent, 0, "i_parent", 1, v_dir_parent },
	{ "index key above its child's keys", c_index_key, 0, "key range", 1,
	  v_index_key },
	{ "tree node also mapped as data", c_node_as_data, 0, "node", 1,
	  v_node_as_data },
	{ "directory block also mapped as data", c_dir_block_shared, 0,
	  "also used as a directory", 1, v_dir_block_shared },
	{ "inline symlink length", c_inline_len, 0, "target length", 1,
	  v_inline_len },
	{ "NUL in a block symlink", c_block_symlink_nul, 0, "NUL", 1,
	  v_block_symlink_nul },
	{ "extent in metadata", c_extent_in_metadata, 0, "data area", 1,
	  v_extent_in_metadata },
	{ "root directory block in metadata", c_root_extent_bad, 0,
	  "data area", 1, v_root_extent_bad },
	{ "hole inside a directory", c_dir_inner_hole, 0, "hole", 1,
	  v_dir_inner_hole },
	{ "directory extent over other files", c_dir_extent_long, 0,
	  "beyond i_size", 1, v_dir_extent_long },
	{ "root inode fields", c_root_fields, 0, "inode 1: unknown inode flags",
	  1, v_root_fields },
	{ "block symlink without its block", c_symlink_no_block, 0,
	  "symlink 6", 1, v_symlink_no_block },
	{ "journal magic", c_journal_magic, 1, "journal", 1, v_journal_magic },
	{ "root not in use", c_root_free, 0, "root", 1, v_root_free },
	{ "reserved inode 0 used", c_inode0, 0, "inode 0", 1, v_inode0 },
	{ "directory with two entries", c_hard_link_dir, 0, "entries in both",
	  1, v_hard_link_dir },
};

static int build_corrupt(const struct corruption *c)
{
	struct img im;

	if (mkfs_img("") || img_open(&im))
		return -1;
	populate(&im);
	if (c->after_csum) {
		finalize(&im);
		c->fn(&im);
	} else {
		c->fn(&im);
		finalize(&im);
	}
	img_close(&im);
	return 0;
}

static void corruption_case(const struct corruption *c)
{
	__u32 before;
	int rc;

	rt_begin("fsck detects: %s", c->name);
	if (!EXPECT(build_corrupt(c) == 0)) {
		rt_end();
		return;
	}
	before = file_crc();
	rc = fsck_img();
	if (!EXPECT_EQ(rc, 4) || !EXPECT(strstr(outbuf, c->expect)))
		show_output();
	/* check mode changes nothing, not a byte */
	EXPECT_EQ(file_crc(), before);
	rt_end();
}

static void repair_case(const struct corruption *c)
{
	struct img im;

	rt_begin("fsck -y repairs: %s", c->name);
	if (!EXPECT(build_corrupt(c) == 0)) {
		rt_end();
		return;
	}
	EXPECT_RUN(c->fix_rc, "%s/fsck.refdax -y %s", bindir, img);
	if (c->fix_rc != 1) {
		EXPECT_RUN(c->fix_rc, "%s/fsck.refdax -n %s", bindir, img);
		rt_end();
		return;
	}
	/* a second run finds it clean and has nothing to do */
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax -y %s", bindir, img);
	if (c->verify && EXPECT(img_open(&im) == 0)) {
		c->verify(&im);
		img_close(&im);
	}
	rt_end();
}

/* ---- test cases ---- */

static void mkfs_then_fsck_clean(void)
{
	char want[256];

	EXPECT_RUN(0, "%s/mkfs.refdax -s 64M %s", bindir, img);
	EXPECT(strstr(outbuf, "inodes") != NULL);
	EXPECT(strstr(outbuf, "16384 blocks") != NULL);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	snprintf(want, sizeof(want),
		 "fsck.refdax: %s: clean, 1/4096 inodes, 0/15360 blocks, 0 shared\n",
		 img);
	if (!EXPECT(strcmp(outbuf, want) == 0))
		show_output();
	EXPECT_RUN(0, "%s/fsck.refdax -n -f -v %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax %s", bindir, img);
	EXPECT(strstr(outbuf, "no -p or -y given: checking only"));
	EXPECT_RUN(0, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax -p %s", bindir, img);
}

static void populated_clean(void)
{
	char want[64];

	if (!EXPECT(build_populated() == 0))
		return;
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	snprintf(want, sizeof(want), "clean, %d/", POPULATED_INODES);
	EXPECT(strstr(outbuf, want) != NULL);
	snprintf(want, sizeof(want), " %d/", POPULATED_BLOCKS);
	EXPECT(strstr(outbuf, want) != NULL);
	EXPECT(strstr(outbuf, "1 shared") != NULL);
}

/*
 * Found by fuzzing (tests/fuzz, fuzz-fsck): fsck -n reported every inode
 * of a lost tree twice, once as the top of the tree and again in the round
 * meant for what is left after reconnecting (directory cycles).
 */
static void unreachable_reported_once(void)
{
	struct img im;
	const char *p;
	int n = 0;

	if (!EXPECT(build_populated() == 0) || !EXPECT(img_open(&im) == 0))
		return;
	c_dirent_hash(&im);	/* -n cannot use the root block's names */
	img_close(&im);
	EXPECT_RUN(4, "%s/fsck.refdax -n %s", bindir, img);
	for (p = outbuf; (p = strstr(p, "inode 2 is not reachable")); p++)
		n++;
	if (!EXPECT_EQ(n, 1))
		show_output();
}

/* A refcount tree whose root is an index over a node is as good. */
static void refc_node_clean(void)
{
	struct img im;

	if (!EXPECT(build_populated() == 0) || !EXPECT(img_open(&im) == 0))
		return;
	im.next_blk = b_end;
	refc_push_down(&im);
	finalize(&im);
	img_close(&im);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, " 1 shared") != NULL);
}

/*
 * Eleven records, alternating counts 3 and 2 over inode 7's ten blocks
 * (inode 3 maps all ten, inode 2 every other one) plus b_shared: more than
 * the root holds, so the tree has nodes.  With the root emptied, fsck -y
 * must rebuild a tree of nodes it allocates itself, and free the old ones.
 */
static void refc_rebuild_with_nodes(void)
{
	struct refdax_bmap_root *r;
	struct img im;
	__u64 d = 0, k;

	if (!EXPECT(build_populated() == 0) || !EXPECT(img_open(&im) == 0))
		return;
	im.next_blk = b_end;
	d = b_node + 1;			/* inode 7's data blocks */
	add_ext(inode(&im, 3), 1, d, 10);
	inode(&im, 3)->i_size = cpu_to_le64(11 * REFDAX_BLOCK_SIZE);
	share(&im, d, 10, 1);
	for (k = 0; k < 5; k++) {
		add_ext(inode(&im, 2), (__u32)(6 + k), d + 2 * k, 1);
		share(&im, d + 2 * k, 1, 1);
	}
	inode(&im, 2)->i_size = cpu_to_le64(11 * REFDAX_BLOCK_SIZE);
	r = refc_root(&im);
	EXPECT(le16_to_cpu(r->br_hdr.bh_depth) >= 1);
	finalize(&im);
	img_close(&im);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, " 11 shared") != NULL);

	if (!EXPECT(img_open(&im) == 0))
		return;
	r = refc_root(&im);
	memset(r, 0, sizeof(*r));
	r->br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	r->br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	finalize(&im);
	img_close(&im);
	EXPECT_RUN(4, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, "but no refcount record") != NULL);
	EXPECT(strstr(outbuf, "leaked blocks") != NULL);
	EXPECT_RUN(1, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT(strstr(outbuf, "rebuilt the refcount tree") != NULL);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, " 11 shared") != NULL);
	if (!EXPECT(img_open(&im) == 0))
		return;
	EXPECT(le16_to_cpu(refc_root(&im)->br_hdr.bh_depth) >= 1);
	for (k = 0; k < 10; k++)
		EXPECT_EQ(refs(&im, d + k), k % 2 ? 2 : 3);
	EXPECT_EQ(refs(&im, b_shared), 2);
	img_close(&im);
}

/* A populated image, opened, with its journal opened over it in @pm. */
static int journal_on_image(struct img *im, struct refdax_pmem *pm,
			    struct refdax_journal *j)
{
	const char *why;

	if (!EXPECT(build_populated() == 0 && img_open(im) == 0))
		return -1;
	memset(pm, 0, sizeof(*pm));
	pm->base = im->map;
	pm->size = im->bytes;
	pm->flush = refdax_pmem_nop_flush;
	pm->fence = refdax_pmem_nop_fence;
	return EXPECT(refdax_jnl_open(j, pm, &im->g, &why) == 0) ? 0 : -1;
}

/*
 * Begin a transaction that logs inode 2 and changes its link count to 7,
 * and leave it uncommitted: what a crash in the middle of it leaves.
 */
static void interrupted_nlink_change(struct img *im, struct refdax_journal *j)
{
	refdax_jnl_begin(j);
	EXPECT(refdax_jnl_log(j, inode(im, 2), REFDAX_INODE_SIZE) == 0);
	inode(im, 2)->i_nlink = cpu_to_le32(7);
	refdax_inode_set_csum(inode(im, 2));
}

/* A crash in the middle of a transaction: fsck checks the undone state. */
static void journal_recovery(void)
{
	struct refdax_journal *j = malloc(sizeof(*j));
	struct refdax_pmem pm;
	struct img im;
	__u32 before;

	if (journal_on_image(&im, &pm, j))
		goto out;
	interrupted_nlink_change(&im, j);
	EXPECT(refdax_jnl_log(j, im.sb, sizeof(*im.sb)) == 0);
	root_rec(&im, 0)->rc_count = cpu_to_le32(9);
	refdax_super_set_csum(im.sb);
	img_close(&im);		/* no commit: the "crash" */

	before = file_crc();
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, "journal recovery needed (2 entries)") != NULL);
	EXPECT(strstr(outbuf, "clean") != NULL);
	/* check mode never writes, not even the recovery */
	EXPECT_EQ(file_crc(), before);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, "journal recovery needed") != NULL);
out:
	free(j);
}

/* fsck -y undoes an interrupted transaction on the image itself. */
static void journal_recovery_repair(void)
{
	struct refdax_journal *j = malloc(sizeof(*j));
	struct refdax_pmem pm;
	struct img im;

	if (journal_on_image(&im, &pm, j))
		goto out;
	interrupted_nlink_change(&im, j);
	img_close(&im);

	EXPECT_RUN(1, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT(strstr(outbuf, "journal recovery: undid") != NULL);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, "journal recovery") == NULL);
	if (EXPECT(img_open(&im) == 0)) {
		EXPECT_EQ(nlink(&im, 2), 2);
		img_close(&im);
	}
out:
	free(j);
}

/*
 * A superblock torn by a crash inside a transaction that logged it (its
 * contents changed, its checksum stale) is judged after journal recovery,
 * as the kernel's mount does: recovery restores the logged copy, so there
 * is nothing to report but the recovery itself, and check mode leaves the
 * image as it is.  A stale checksum with no logged copy is still an error
 * (journal_recovery_super_still_bad below).
 */
static void journal_recovery_bad_super_csum(void)
{
	struct refdax_journal *j = malloc(sizeof(*j));
	struct refdax_pmem pm;
	struct img im;
	__u32 before;

	if (journal_on_image(&im, &pm, j))
		goto out;
	refdax_jnl_begin(j);
	EXPECT(refdax_jnl_log(j, im.sb, sizeof(*im.sb)) == 0);
	im.sb->s_label[0] = 'X';	/* the checksum is left stale */
	img_close(&im);

	before = file_crc();
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, "superblock checksum mismatch") == NULL);
	EXPECT(strstr(outbuf, "journal recovery needed (1 entries)") != NULL);
	EXPECT_EQ(file_crc(), before);
	EXPECT_RUN(1, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT(strstr(outbuf, "journal recovery: undid") != NULL);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	if (EXPECT(img_open(&im) == 0)) {
		EXPECT(im.sb->s_label[0] != 'X');
		img_close(&im);
	}
out:
	free(j);
}

/* A superblock recovery does not restore stays an error after it. */
static void journal_recovery_super_still_bad(void)
{
	struct refdax_journal *j = malloc(sizeof(*j));
	struct refdax_pmem pm;
	struct img im;

	if (journal_on_image(&im, &pm, j))
		goto out;
	interrupted_nlink_change(&im, j);
	im.sb->s_label[0] = 'X';	/* not logged: recovery cannot help */
	img_close(&im);

	EXPECT_RUN(4, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT(strstr(outbuf, "journal recovery needed (1 entries)") != NULL);
	EXPECT(strstr(outbuf, "superblock checksum mismatch") != NULL);
	EXPECT_RUN(1, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	if (EXPECT(img_open(&im) == 0)) {
		EXPECT_EQ(nlink(&im, 2), 2);
		img_close(&im);
	}
out:
	free(j);
}

/*
 * Memory must not grow with the device: a 16 GiB sparse image is checked
 * and repaired with fsck's private memory (heap and private writable
 * mappings) capped at 8 MiB, below what a private mapping of the image or
 * 5 bytes per block (what older versions allocated) would need.
 */
static void fsck_large_image(void)
{
	unlink(img);
	if (!EXPECT_EQ(run("%s/mkfs.refdax -q -N 1024 -s 16G %s", bindir,
			   img), 0)) {
		show_output();
		return;
	}
	EXPECT_RUN(0, "ulimit -d 8192 && exec %s/fsck.refdax -n %s", bindir,
		   img);
	EXPECT(strstr(outbuf, "clean, 1/1024 inodes") != NULL);
	EXPECT_RUN(0, "ulimit -d 8192 && exec %s/fsck.refdax -y %s", bindir,
		   img);
	unlink(img);
}

/* -p applies the safe repairs and leaves the rest for -y (exit 4). */
static void preen(void)
{
	struct img im;

	if (!EXPECT(mkfs_img("") == 0 && img_open(&im) == 0))
		return;
	populate(&im);
	c_nlink(&im);
	c_record_count(&im);
	finalize(&im);
	img_close(&im);
	EXPECT_RUN(1, "%s/fsck.refdax -p %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);

	if (!EXPECT(img_open(&im) == 0))
		return;
	c_nlink(&im);
	c_unreachable(&im);
	finalize(&im);
	img_close(&im);
	EXPECT_RUN(4, "%s/fsck.refdax -p %s", bindir, img);
	EXPECT(strstr(outbuf, "not repaired in preen mode") != NULL);
	EXPECT(strstr(outbuf, "run fsck.refdax -y") != NULL);
	if (EXPECT(img_open(&im) == 0)) {
		EXPECT_EQ(nlink(&im, 2), 2);		/* the safe one */
		EXPECT_EQ(lookup(&im, 1, "lost+found"), 0);
		img_close(&im);
	}
	EXPECT_RUN(4, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT_RUN(1, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax -p %s", bindir, img);
}

/* Several kinds of damage at once, and a clean image is never written. */
static void repair_combined(void)
{
	struct img im;
	__u32 before;

	if (!EXPECT(build_populated() == 0))
		return;
	before = file_crc();
	EXPECT_RUN(0, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT_EQ(file_crc(), before);
	if (!EXPECT(img_open(&im) == 0))
		return;
	c_leaked_block(&im);
	c_nlink(&im);
	c_dir_parent(&im);
	c_i_blocks(&im);
	c_unreachable(&im);
	c_node_as_data(&im);
	c_bitmap_set_free(&im);
	finalize(&im);
	c_dirent_hash(&im);
	im.sb->s_state = cpu_to_le32(REFDAX_STATE_DIRTY | REFDAX_STATE_ERROR);
	refdax_super_set_csum(im.sb);
	img_close(&im);
	EXPECT_RUN(1, "%s/fsck.refdax -y %s", bindir, img);
	EXPECT(strstr(outbuf, "cleared the error state") != NULL);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);
	if (!EXPECT(img_open(&im) == 0))
		return;
	EXPECT_EQ(le32_to_cpu(im.sb->s_state), REFDAX_STATE_CLEAN);
	EXPECT_EQ(nlink(&im, 2), 2);
	EXPECT_EQ(le64_to_cpu(inode(&im, 4)->i_parent), 1);
	EXPECT_EQ(le64_to_cpu(inode(&im, 7)->i_blocks), 11);
	EXPECT(lookup(&im, 1, "lost+found") != 0);
	img_close(&im);
}

static void mkfs_usage(void)
{
	char label[80];

	memset(label, 'l', 70);
	label[70] = '\0';
	EXPECT_RUN(2, "%s/mkfs.refdax", bindir);
	EXPECT(strstr(errbuf, "Usage") != NULL);
	EXPECT_RUN(2, "%s/mkfs.refdax -x %s", bindir, img);
	EXPECT_RUN(2, "%s/mkfs.refdax %s %s.2", bindir, img, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -U nope %s", bindir, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -U 01234567-89ab-cdef-0123-456789abcdeg %s",
		   bindir, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -N many %s", bindir, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -J 1 %s", bindir, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -s 12Q %s", bindir, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -L %s %s", bindir, label, img);
	EXPECT_RUN(2, "%s/mkfs.refdax -N", bindir);
}

static void mkfs_operational_errors(void)
{
	unlink(img);
	EXPECT_RUN(1, "%s/mkfs.refdax %s", bindir, img);	/* missing */
	EXPECT_RUN(1, "%s/mkfs.refdax -s 8M %s", bindir, img);
	EXPECT(access(img, F_OK) != 0);		/* nothing left behind */
	EXPECT_RUN(1, "%s/mkfs.refdax /dev/null", bindir);
	EXPECT_RUN(0, "%s/mkfs.refdax -q -s 32M %s", bindir, img);
	EXPECT_RUN(1, "%s/mkfs.refdax -q -s 64M %s", bindir, img);
	EXPECT_RUN(1, "%s/mkfs.refdax -q -f -N 100000000 %s", bindir, img);
}

static int write_at(__u64 off, const void *buf, size_t len)
{
	int fd = open(img, O_RDWR);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, buf, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int blank_image(void)
{
	int fd;

	unlink(img);
	fd = open(img, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, 32 << 20)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void mkfs_refuses_signatures(void)
{
	static const __u8 ext_magic[2] = { 0x53, 0xef };

	EXPECT(blank_image() == 0 && write_at(1080, ext_magic, 2) == 0);
	EXPECT_RUN(1, "%s/mkfs.refdax %s", bindir, img);
	EXPECT(strstr(errbuf, "ext2/ext3/ext4") && strstr(errbuf, "-f"));
	EXPECT_RUN(0, "%s/mkfs.refdax -q -f %s", bindir, img);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);

	EXPECT(blank_image() == 0 && write_at(0, "XFSB", 4) == 0);
	EXPECT_RUN(1, "%s/mkfs.refdax %s", bindir, img);
	EXPECT(strstr(errbuf, "XFS") != NULL);

	/* an existing refdax filesystem */
	EXPECT(blank_image() == 0);
	EXPECT_RUN(0, "%s/mkfs.refdax -q %s", bindir, img);
	EXPECT_RUN(1, "%s/mkfs.refdax -q %s", bindir, img);
	EXPECT(strstr(errbuf, "refdax") && strstr(errbuf, "-f"));
	EXPECT_RUN(0, "%s/mkfs.refdax -q -f %s", bindir, img);
}

/* The first data block marked in use, or nblocks if none is. */
static __u64 fsmap_find_set(struct img *im)
{
	__u64 b;

	for (b = im->g.data_start; b < im->g.nblocks; b++)
		if (used_bit(im, b))
			return b;
	return im->g.nblocks;
}

static void mkfs_options(void)
{
	struct img im;
	static const __u8 want_uuid[16] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	struct refdax_inode *root;

	unlink(img);
	EXPECT_RUN(0, "%s/mkfs.refdax -q -s 48M -L my-label -U 01234567-89AB-cdef-fedc-ba9876543210 -N 1000 -J 64 %s",
		   bindir, img);
	EXPECT(outbuf[0] == '\0');
	if (!EXPECT(img_open(&im) == 0))
		return;
	EXPECT(strcmp(im.sb->s_label, "my-label") == 0);
	EXPECT(memcmp(im.sb->s_uuid, want_uuid, 16) == 0);
	EXPECT_EQ(im.g.ninodes, 1008);
	EXPECT_EQ(im.g.journal_start, 1);
	EXPECT_EQ(im.g.journal_blocks, 64);
	EXPECT_EQ(im.g.nblocks, 12288);
	EXPECT_EQ(im.g.data_start % 512, 0);
	EXPECT_EQ(im.g.root_ino, 1);
	EXPECT_EQ(le32_to_cpu(im.sb->s_state), REFDAX_STATE_CLEAN);
	EXPECT_EQ(le32_to_cpu(im.sb->s_errors), REFDAX_ERRORS_RO);
	EXPECT_EQ(le64_to_cpu(im.sb->s_feature_incompat),
		  REFDAX_FEAT_INCOMPAT_REFLINK | REFDAX_FEAT_INCOMPAT_XATTR);
	EXPECT_EQ(ibitmap(&im)[0], 3);
	/* format 2: an empty refcount tree, a clear free-space bitmap */
	EXPECT_EQ(le32_to_cpu(im.sb->s_version), 2);
	EXPECT_EQ(le16_to_cpu(refc_root(&im)->br_hdr.bh_magic),
		  REFDAX_REFC_MAGIC);
	EXPECT_EQ(le16_to_cpu(refc_root(&im)->br_hdr.bh_nr), 0);
	EXPECT_EQ(im.g.fsmap_start, im.g.itable_start + im.g.itable_blocks);
	EXPECT_EQ(im.g.fsmap_blocks, 1);
	EXPECT(used_bit(&im, im.g.data_start) == 0);
	EXPECT_EQ(fsmap_find_set(&im), im.g.nblocks);
	root = inode(&im, 1);
	EXPECT_EQ(le16_to_cpu(root->i_mode), S_IFDIR | 0755);
	EXPECT_EQ(le32_to_cpu(root->i_nlink), 2);
	EXPECT_EQ(le32_to_cpu(root->i_uid), getuid());
	EXPECT_EQ(le64_to_cpu(root->i_size), 0);
	EXPECT_EQ(le64_to_cpu(root->i_parent), 1);
	EXPECT_EQ(le16_to_cpu(root->i_root.br_hdr.bh_nr), 0);
	img_close(&im);
	EXPECT_RUN(0, "%s/fsck.refdax -n %s", bindir, img);

	/* default inode count: one per 16 KiB, at least 64 */
	EXPECT_RUN(0, "%s/mkfs.refdax -q -f %s", bindir, img);
	if (EXPECT(img_open(&im) == 0)) {
		EXPECT_EQ(im.g.ninodes, 3072);
		img_close(&im);
	}
	/* two mkfs runs give different UUIDs */
	EXPECT_RUN(0, "%s/mkfs.refdax -f %s", bindir, img);
	strcpy(errbuf, outbuf);
	EXPECT_RUN(0, "%s/mkfs.refdax -f %s", bindir, img);
	EXPECT(strcmp(errbuf, outbuf) != 0);
}

static void fsck_usage(void)
{
	EXPECT_RUN(16, "%s/fsck.refdax", bindir);
	EXPECT_RUN(16, "%s/fsck.refdax -x %s", bindir, img);
	EXPECT_RUN(16, "%s/fsck.refdax -n %s %s", bindir, img, img);
	EXPECT_RUN(8, "%s/fsck.refdax -n %s/does-not-exist", bindir, tmpdir);
	EXPECT_RUN(8, "%s/fsck.refdax -n /dev/null", bindir);
	EXPECT_RUN(16, "%s/fsck.refdax -n -y %s", bindir, img);
	EXPECT_RUN(16, "%s/fsck.refdax -p -y %s", bindir, img);
	EXPECT_RUN(16, "%s/fsck.refdax -a -n %s", bindir, img);
	EXPECT_RUN(8, "%s/fsck.refdax -y %s/does-not-exist", bindir, tmpdir);
	/* not a refdax filesystem at all: nothing to repair from */
	EXPECT(blank_image() == 0);
	EXPECT_RUN(4, "%s/fsck.refdax -n %s", bindir, img);
	EXPECT_RUN(4, "%s/fsck.refdax -y %s", bindir, img);
}

static const char *fsck_fuzz_bin;

/*
 * Random damage to the metadata and the used data blocks of a populated
 * image: fsck (built with the sanitizers when available) must always finish
 * with 0 or 4, never crash or fail operationally.
 */
static void fsck_fuzz(void)
{
	struct img im;
	__u8 *orig;
	__u64 span, i;
	__u64 seed = 0x243f6a8885a308d3ULL;
	int iter, rc, n4 = 0, iters = 150;

	if (getenv("RT_FUZZ_ITERS"))
		iters = atoi(getenv("RT_FUZZ_ITERS"));
	if (!EXPECT(build_populated() == 0 && img_open(&im) == 0))
		return;
	span = (im.g.data_start + 32) * REFDAX_BLOCK_SIZE;
	orig = malloc(span);
	memcpy(orig, im.map, span);
	for (iter = 0; iter < iters; iter++) {
		int flips = 1 + iter % 4;

		memcpy(im.map, orig, span);
		for (i = 0; i < (__u64)flips; i++) {
			__u64 at;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			/* mostly the superblock, inodes and data blocks */
			switch (seed % 4) {
			case 0:
				at = (seed >> 8) % 512;
				break;
			case 1:
				at = im.g.itable_start * REFDAX_BLOCK_SIZE +
				     (seed >> 8) % (12 * REFDAX_INODE_SIZE);
				break;
			case 2:
				at = im.g.data_start * REFDAX_BLOCK_SIZE +
				     (seed >> 8) % (32 * REFDAX_BLOCK_SIZE);
				break;
			default:
				at = (seed >> 8) % span;
			}
			im.map[at] ^= (__u8)(1U << ((seed >> 40) % 8));
		}
		/* half the time make checksums match so deeper checks run */
		if (iter % 2)
			finalize(&im);
		msync(im.map, span, MS_SYNC);
		rc = run("%s -n %s", fsck_fuzz_bin, img);
		if (rc == 4)
			n4++;
		if (!EXPECT(rc == 0 || rc == 4)) {
			rt_note("    iteration %d, exit %d", iter, rc);
			show_output();
			break;
		}
	}
	EXPECT(n4 > iters / 3);
	free(orig);
	img_close(&im);
}

/*
 * The same random damage, repaired: fsck -y must finish with 0, 1 or 4, and
 * whenever it says the result is clean (0 or 1), a check must agree.
 */
static void fsck_fuzz_repair(void)
{
	struct img im;
	__u8 *orig;
	__u64 span, i;
	__u64 seed = 0x13198a2e03707344ULL;
	int iter, rc, n1 = 0, iters = 100;

	if (getenv("RT_FUZZ_ITERS"))
		iters = atoi(getenv("RT_FUZZ_ITERS"));
	if (!EXPECT(build_populated() == 0 && img_open(&im) == 0))
		return;
	span = im.bytes;
	orig = malloc(span);
	memcpy(orig, im.map, span);
	for (iter = 0; iter < iters; iter++) {
		int flips = 1 + iter % 4;

		memcpy(im.map, orig, span);
		for (i = 0; i < (__u64)flips; i++) {
			__u64 at;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			switch (seed % 3) {
			case 0:
				at = im.g.itable_start * REFDAX_BLOCK_SIZE +
				     (seed >> 8) % (12 * REFDAX_INODE_SIZE);
				break;
			case 1:
				at = im.g.data_start * REFDAX_BLOCK_SIZE +
				     (seed >> 8) % (20 * REFDAX_BLOCK_SIZE);
				break;
			default:
				at = im.g.ibitmap_start * REFDAX_BLOCK_SIZE +
				     (seed >> 8) % 4;
				if (seed & (1ULL << 50))
					at = im.g.fsmap_start *
					     REFDAX_BLOCK_SIZE +
					     (seed >> 8) % 8;
			}
			im.map[at] ^= (__u8)(1U << ((seed >> 40) % 8));
		}
		if (iter % 2)
			finalize(&im);
		msync(im.map, span, MS_SYNC);
		rc = run("%s -y %s", fsck_fuzz_bin, img);
		if (!EXPECT(rc == 0 || rc == 1 || rc == 4)) {
			rt_note("    iteration %d, exit %d", iter, rc);
			show_output();
			break;
		}
		if (rc == 1)
			n1++;
		if (rc == 4)
			continue;
		rc = run("%s -n %s", fsck_fuzz_bin, img);
		if (!EXPECT_EQ(rc, 0)) {
			rt_note("    iteration %d: not clean after repair", iter);
			show_output();
			break;
		}
	}
	EXPECT(n1 > iters / 3);
	free(orig);
	img_close(&im);
}

void test_tools(const char *dir, const char *fsck_san)
{
	size_t i;

	bindir = dir;
	strcpy(tmpdir, "/tmp/refdax-unit-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		rt_begin("tools: temporary directory");
		EXPECT(0);
		rt_end();
		return;
	}
	snprintf(img, sizeof(img), "%s/img", tmpdir);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	snprintf(errf, sizeof(errf), "%s/err", tmpdir);

	rt_run("tools: mkfs then fsck is clean", mkfs_then_fsck_clean);
	rt_run("tools: populated image is clean", populated_clean);
	rt_run("tools: fsck checks the journal-recovered state",
	       journal_recovery);
	for (i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++)
		corruption_case(&corruptions[i]);
	for (i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++)
		repair_case(&corruptions[i]);
	rt_run("tools: fsck -y runs journal recovery for real",
	       journal_recovery_repair);
	rt_run("tools: a superblock torn mid-transaction is judged after recovery",
	       journal_recovery_bad_super_csum);
	rt_run("tools: a superblock recovery does not restore stays bad",
	       journal_recovery_super_still_bad);
	rt_run("tools: fsck memory does not grow with the device",
	       fsck_large_image);
	rt_run("tools: fsck reports each unreachable inode once",
	       unreachable_reported_once);
	rt_run("tools: a refcount tree with a node is clean", refc_node_clean);
	rt_run("tools: fsck -y rebuilds a refcount tree with nodes",
	       refc_rebuild_with_nodes);
	rt_run("tools: fsck -p repairs only what is safe", preen);
	rt_run("tools: fsck -y repairs combined damage", repair_combined);
	rt_run("tools: mkfs usage errors exit 2", mkfs_usage);
	rt_run("tools: mkfs operational errors exit 1",
	       mkfs_operational_errors);
	rt_run("tools: mkfs refuses existing signatures without -f",
	       mkfs_refuses_signatures);
	rt_run("tools: mkfs options", mkfs_options);
	rt_run("tools: fsck usage and operational errors", fsck_usage);
	if (fsck_san)
		fsck_fuzz_bin = fsck_san;
	else
		fsck_fuzz_bin = "../../build/fsck.refdax";
	rt_run("tools: fsck survives random damage", fsck_fuzz);
	rt_run("tools: fsck -y repairs random damage", fsck_fuzz_repair);

	unlink(img);
	unlink(out);
	unlink(errf);
	rmdir(tmpdir);
}
