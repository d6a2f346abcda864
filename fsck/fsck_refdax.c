// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax - check a refdax filesystem.
 *
 * Only check mode exists for now: the device is opened read-only and mapped
 * privately, so even journal recovery happens on a private copy.  Exit
 * status follows fsck(8): 0 clean, 4 errors left uncorrected, 8 operational
 * error, 16 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/fs.h>

#include "refdax_common.h"
#include "fsck_compiler.h"

#define PROG		"fsck.refdax"
#define EXIT_CLEAN	0
#define EXIT_UNCORRECTED 4
#define EXIT_OPERROR	8
#define EXIT_USAGE	16

#define MAX_REPORTED	100	/* errors printed without -v */
#define MAX_RC_REPORTED	10	/* refcount mismatches shown without -v */

/* per-inode state bits */
#define IS_INUSE	0x01	/* bitmap bit set */
#define IS_VALID	0x02	/* passed the validator and the tree walk */
#define IS_DIR		0x04
#define IS_ORPHANED	0x08	/* on the orphan list */
#define IS_REACHED	0x10	/* reachable from the root */
#define IS_TREE_OK	0x20	/* extent tree walked without errors */

struct ext_rec {
	__u64 lblk, pblk, len;
};

struct fsck {
	const char *path;
	int verbose;
	__u8 *map;
	__u64 dev_bytes;
	__u64 map_bytes;
	struct refdax_geom g;
	const struct refdax_super *sb;
	const __u8 *ibitmap;
	const struct refdax_inode *itable;
	const __le32 *rc_disk;
	__u64 data_blocks;
	__u32 *rc_calc;		/* computed references per data block */
	__u8 *is_node;		/* data block holds an extent-tree node */
	__u8 *istate;
	__u32 *refs;		/* directory entries naming each inode */
	__u32 *subdirs;		/* subdirectory entries in each dir */
	__u64 *dparent;		/* dir holding a directory's entry */
	__u64 (*edges)[2];	/* (directory, child) for every live entry */
	size_t nedges, edges_cap;
	unsigned long errors;
	unsigned long warnings;
};

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(EXIT_OPERROR);
	}
	return p;
}

__printf(2, 3)
static void err(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->errors++;
	if (f->errors > MAX_REPORTED && !f->verbose) {
		if (f->errors == MAX_REPORTED + 1)
			printf("%s: more errors not shown (use -v)\n", f->path);
		return;
	}
	printf("%s: ", f->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

__printf(2, 3)
static void warn(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->warnings++;
	printf("%s: warning: ", f->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

__printf(2, 3)
static void info(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->verbose)
		return;
	printf("%s: ", f->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, PROG ": %s\n", msg);
	fprintf(stderr,
		"Usage: " PROG " [-n] [-f] [-v] device-or-image\n"
		"  -n   check only, change nothing (the only mode so far)\n"
		"  -f   check even if the filesystem seems clean (always done)\n"
		"  -v   verbose\n");
	exit(EXIT_USAGE);
}

/* A printable copy of a directory entry name. */
static const char *show_name(const char *name, unsigned int len)
{
	static char buf[REFDAX_NAME_LEN * 4 + 1];
	unsigned int i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else {
			snprintf(buf + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	buf[o] = '\0';
	return buf;
}

static int is_mounted(const char *path, const struct stat *st)
{
	char real[PATH_MAX], mreal[PATH_MAX];
	char dev[PATH_MAX], dir[PATH_MAX];
	int have_real = !!realpath(path, real);
	FILE *mf = fopen("/proc/self/mounts", "r");
	char line[3 * PATH_MAX];
	int found = 0;

	if (!mf)
		return 0;
	while (!found && fgets(line, sizeof(line), mf)) {
		struct stat mst;

		if (sscanf(line, "%4095s %4095s", dev, dir) != 2)
			continue;
		if (S_ISBLK(st->st_mode) && dev[0] == '/' &&
		    stat(dev, &mst) == 0 && S_ISBLK(mst.st_mode) &&
		    mst.st_rdev == st->st_rdev)
			found = 1;
		else if (have_real && realpath(dev, mreal) &&
			 strcmp(real, mreal) == 0)
			found = 1;
	}
	fclose(mf);
	return found;
}

static void pm_flush(struct refdax_pmem *pm, const void *addr, size_t len)
{
	(void)pm;
	(void)addr;
	(void)len;
}

static void pm_fence(struct refdax_pmem *pm)
{
	(void)pm;
}

static void set_region_pointers(struct fsck *f)
{
	f->sb = (const struct refdax_super *)f->map;
	f->ibitmap = f->map + f->g.ibitmap_start * REFDAX_BLOCK_SIZE;
	f->itable = (const struct refdax_inode *)
		(f->map + f->g.itable_start * REFDAX_BLOCK_SIZE);
	f->rc_disk = (const __le32 *)
		(f->map + f->g.refcount_start * REFDAX_BLOCK_SIZE);
	f->data_blocks = f->g.nblocks - f->g.data_start;
}

static int bit_set(const __u8 *bm, __u64 nr)
{
	return (bm[nr / 8] >> (nr % 8)) & 1;
}

static const void *block_ptr(const struct fsck *f, __u64 pblk)
{
	return f->map + pblk * REFDAX_BLOCK_SIZE;
}

/* ---- superblock and journal ---- */

static int check_super(struct fsck *f)
{
	const char *why;

	if (refdax_check_super((const struct refdax_super *)f->map,
			       f->dev_bytes, &f->g, &why)) {
		err(f, "superblock: %s", why);
		return -1;
	}
	set_region_pointers(f);
	return 0;
}

static int check_journal(struct fsck *f)
{
	static struct refdax_journal j;
	struct refdax_pmem pm;
	const char *why;
	int n;

	memset(&pm, 0, sizeof(pm));
	pm.base = f->map;
	pm.size = f->g.nblocks * REFDAX_BLOCK_SIZE;
	pm.flush = pm_flush;
	pm.fence = pm_fence;
	if (refdax_jnl_open(&j, &pm, &f->g, &why)) {
		err(f, "journal: %s", why);
		return 0;
	}
	n = refdax_jnl_recover(&j);
	if (n < 0) {
		fprintf(stderr, PROG ": journal recovery failed: %s\n",
			strerror(-n));
		exit(EXIT_OPERROR);
	}
	if (n > 0) {
		printf("%s: journal recovery needed (%d entries), checking the recovered state\n",
		       f->path, n);
		/* The superblock itself may have been restored. */
		if (check_super(f))
			return -1;
	} else {
		info(f, "journal clean (generation %llu)",
		     (unsigned long long)j.gen);
	}
	return 0;
}

/* ---- extent trees ---- */

struct walk {
	struct fsck *f;
	__u64 ino;
	__u64 mapped, nodes;
	int bad;
	int collect;
	struct ext_rec *ext;
	size_t next, ext_cap;
};

static void add_refs(struct walk *w, __u64 pblk, __u64 len)
{
	__u32 *rc = w->f->rc_calc + (pblk - w->f->g.data_start);
	__u64 i;

	for (i = 0; i < len; i++)
		if (rc[i] != ~0U)
			rc[i]++;
}

static void collect(struct walk *w, __u64 lblk, __u64 pblk, __u64 len)
{
	if (!w->collect)
		return;
	if (w->next == w->ext_cap) {
		w->ext_cap = w->ext_cap ? w->ext_cap * 2 : 16;
		w->ext = realloc(w->ext, w->ext_cap * sizeof(*w->ext));
		if (!w->ext) {
			fprintf(stderr, PROG ": out of memory\n");
			exit(EXIT_OPERROR);
		}
	}
	w->ext[w->next].lblk = lblk;
	w->ext[w->next].pblk = pblk;
	w->ext[w->next].len = len;
	w->next++;
}

static void walk_entries(struct walk *w, const void *ents, unsigned int nr,
			 unsigned int depth, __u64 lo, __u64 hi);

/*
 * Walk @nr validated extents whose logical blocks must lie in [lo, hi).
 * Extents were already range-checked by the validators.
 */
static void walk_extents(struct walk *w, const struct refdax_extent *e,
			 unsigned int nr, __u64 lo, __u64 hi)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		__u64 lblk = le32_to_cpu(e[i].e_lblk);
		__u64 len = le32_to_cpu(e[i].e_len);
		__u64 pblk = le64_to_cpu(e[i].e_pblk);

		if (lblk < lo || lblk + len > hi) {
			err(w->f,
			    "inode %llu: extent at block %llu outside its key range [%llu, %llu)",
			    (unsigned long long)w->ino,
			    (unsigned long long)lblk,
			    (unsigned long long)lo,
			    (unsigned long long)hi);
			w->bad = 1;
		}
		add_refs(w, pblk, len);
		w->mapped += len;
		collect(w, lblk, pblk, len);
	}
}

/* Walk @nr validated index entries at @depth whose keys lie in [lo, hi). */
static void walk_index(struct walk *w, const struct refdax_bmap_index *idx,
		       unsigned int nr, unsigned int depth, __u64 lo, __u64 hi)
{
	struct fsck *f = w->f;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		__u64 key = le32_to_cpu(idx[i].ei_lblk);
		__u64 child = le64_to_cpu(idx[i].ei_child);
		__u64 end = i + 1 < nr ? le32_to_cpu(idx[i + 1].ei_lblk) : hi;
		const struct refdax_bmap_node *bn;
		const char *why;
		__u64 di = child - f->g.data_start;

		if (key < lo || key >= hi) {
			err(f, "inode %llu: index key %llu outside its parent's range [%llu, %llu)",
			    (unsigned long long)w->ino,
			    (unsigned long long)key,
			    (unsigned long long)lo,
			    (unsigned long long)hi);
			w->bad = 1;
		}
		add_refs(w, child, 1);
		w->nodes++;
		if (f->is_node[di]) {
			err(f, "inode %llu: extent-tree node block %llu referenced more than once",
			    (unsigned long long)w->ino,
			    (unsigned long long)child);
			w->bad = 1;
			continue;
		}
		f->is_node[di] = 1;
		bn = block_ptr(f, child);
		if (refdax_check_bmap_node(&f->g, bn, depth - 1, &why)) {
			err(f, "inode %llu: extent-tree node at block %llu (depth %u): %s",
			    (unsigned long long)w->ino,
			    (unsigned long long)child, depth - 1, why);
			w->bad = 1;
			continue;
		}
		walk_entries(w, bn + 1, le16_to_cpu(bn->bn_hdr.bh_nr),
			     depth - 1, key, end < hi ? end : hi);
	}
}

/* Walk @nr validated entries at @depth whose keys must lie in [lo, hi). */
static void walk_entries(struct walk *w, const void *ents, unsigned int nr,
			 unsigned int depth, __u64 lo, __u64 hi)
{
	if (depth == 0)
		walk_extents(w, ents, nr, lo, hi);
	else
		walk_index(w, ents, nr, depth, lo, hi);
}

static void walk_inode(struct walk *w, const struct refdax_inode *ri)
{
	const struct refdax_bmap_root *r = &ri->i_root;

	walk_entries(w, r->br_ext, le16_to_cpu(r->br_hdr.bh_nr),
		     le16_to_cpu(r->br_hdr.bh_depth), 0, REFDAX_MAX_LBLK + 1);
}

/* ---- inodes ---- */

static void check_inodes(struct fsck *f)
{
	const struct refdax_inode *ri;
	static const struct refdax_inode zero;
	__u64 ino, used = 0;
	const char *why;

	if (!bit_set(f->ibitmap, 0))
		err(f, "inode 0 (reserved) not marked in use in the bitmap");
	if (memcmp(&f->itable[0], &zero, sizeof(zero)))
		err(f, "inode 0 (reserved) slot is not zeroed");

	for (ino = 1; ino < f->g.ninodes; ino++) {
		int inuse = bit_set(f->ibitmap, ino);
		__u16 mode;

		ri = &f->itable[ino];
		mode = le16_to_cpu(ri->i_mode);
		if (!inuse) {
			if (mode)
				err(f, "inode %llu: mode 0%o but not marked in use in the bitmap",
				    (unsigned long long)ino, mode);
			continue;
		}
		used++;
		f->istate[ino] |= IS_INUSE;
		if (!mode) {
			err(f, "inode %llu: marked in use but mode is 0",
			    (unsigned long long)ino);
			continue;
		}
		if (refdax_check_inode(&f->g, ino, ri, &why)) {
			err(f, "inode %llu: %s", (unsigned long long)ino, why);
			continue;
		}
		f->istate[ino] |= IS_VALID;
		if (S_ISDIR(mode))
			f->istate[ino] |= IS_DIR;
	}
	info(f, "%llu inodes in use", (unsigned long long)used);

	/* Padding bits past the last inode should be clear. */
	for (ino = f->g.ninodes;
	     ino < f->g.ibitmap_blocks * REFDAX_BLOCK_SIZE * 8; ino++) {
		if (ino % 8 == 0 && !f->ibitmap[ino / 8]) {
			ino += 7;
			continue;
		}
		if (bit_set(f->ibitmap, ino)) {
			warn(f, "inode bitmap has bits set past the last inode (%llu)",
			     (unsigned long long)ino);
			break;
		}
	}
}

static int cmp_ext(const void *a, const void *b)
{
	const struct ext_rec *x = a, *y = b;

	return x->lblk < y->lblk ? -1 : x->lblk > y->lblk;
}

/* ---- directories ---- */

struct name_rec {
	__u32 hash;
	__u8 len;
	const char *name;
};

static int cmp_name(const void *a, const void *b)
{
	const struct name_rec *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

static void add_edge(struct fsck *f, __u64 dir, __u64 child)
{
	if (f->nedges == f->edges_cap) {
		f->edges_cap = f->edges_cap ? f->edges_cap * 2 : 1024;
		f->edges = realloc(f->edges, f->edges_cap * sizeof(*f->edges));
		if (!f->edges) {
			fprintf(stderr, PROG ": out of memory\n");
			exit(EXIT_OPERROR);
		}
	}
	f->edges[f->nedges][0] = dir;
	f->edges[f->nedges][1] = child;
	f->nedges++;
}

static unsigned int mode_to_dt(__u16 mode)
{
	return (mode >> 12) & 15;
}

/* Check the live entry @de (name @nm) of directory @dir and count it. */
static void check_dirent(struct fsck *f, __u64 dir,
			 const struct refdax_dirent *de, const char *nm)
{
	__u64 t = le64_to_cpu(de->d_ino);
	__u16 tmode;

	if (!(f->istate[t] & IS_INUSE)) {
		err(f, "directory %llu: entry '%s' points to free inode %llu",
		    (unsigned long long)dir, show_name(nm, de->d_namelen),
		    (unsigned long long)t);
		return;
	}
	if (t == f->g.root_ino) {
		err(f, "directory %llu: entry '%s' points to the root directory",
		    (unsigned long long)dir, show_name(nm, de->d_namelen));
		return;
	}
	f->refs[t]++;
	add_edge(f, dir, t);
	tmode = le16_to_cpu(f->itable[t].i_mode);
	if (f->istate[t] & IS_VALID && de->d_type != mode_to_dt(tmode))
		err(f, "directory %llu: entry '%s' has type %u but inode %llu has mode 0%o",
		    (unsigned long long)dir, show_name(nm, de->d_namelen),
		    de->d_type, (unsigned long long)t, tmode);
	if (!(f->istate[t] & IS_DIR))
		return;
	f->subdirs[dir]++;
	if (f->dparent[t])
		err(f, "directory %llu has entries in both directory %llu and %llu",
		    (unsigned long long)t,
		    (unsigned long long)f->dparent[t],
		    (unsigned long long)dir);
	else
		f->dparent[t] = dir;
}

static void check_dir(struct fsck *f, __u64 dir, struct walk *w)
{
	const struct refdax_inode *ri = &f->itable[dir];
	__u64 nblk = le64_to_cpu(ri->i_size) / REFDAX_BLOCK_SIZE;
	__u64 expect = 0;
	struct name_rec *names = NULL;
	size_t nnames = 0, names_cap = 0, i;
	const char *why;

	for (i = 0; i < w->next; i++) {
		const struct ext_rec *e = &w->ext[i];
		__u64 b;

		if (e->lblk > expect && expect < nblk)
			err(f, "directory %llu: hole at blocks %llu-%llu",
			    (unsigned long long)dir,
			    (unsigned long long)expect,
			    (unsigned long long)(e->lblk < nblk ?
						 e->lblk : nblk) - 1);
		if (e->lblk + e->len > nblk)
			err(f, "directory %llu: blocks mapped beyond i_size (logical %llu-%llu)",
			    (unsigned long long)dir,
			    (unsigned long long)e->lblk,
			    (unsigned long long)(e->lblk + e->len - 1));
		expect = e->lblk + e->len;

		for (b = 0; b < e->len && e->lblk + b < nblk; b++) {
			const __u8 *blk = block_ptr(f, e->pblk + b);
			unsigned int off = 0;

			if (refdax_check_dirblock(&f->g, blk, &why)) {
				err(f, "directory %llu: block %llu (physical %llu): %s",
				    (unsigned long long)dir,
				    (unsigned long long)(e->lblk + b),
				    (unsigned long long)(e->pblk + b), why);
				continue;
			}
			while (off < REFDAX_BLOCK_SIZE) {
				const struct refdax_dirent *de =
					(const void *)(blk + off);
				__u64 t = le64_to_cpu(de->d_ino);
				const char *nm = (const char *)blk + off +
						 REFDAX_DIRENT_HDR;

				off += le16_to_cpu(de->d_reclen);
				if (!t)
					continue;
				if (nnames == names_cap) {
					names_cap = names_cap ?
						    names_cap * 2 : 64;
					names = realloc(names, names_cap *
							sizeof(*names));
					if (!names) {
						fprintf(stderr, PROG ": out of memory\n");
						exit(EXIT_OPERROR);
					}
				}
				names[nnames].hash = le32_to_cpu(de->d_hash);
				names[nnames].len = de->d_namelen;
				names[nnames].name = nm;
				nnames++;
				check_dirent(f, dir, de, nm);
			}
		}
	}
	if (expect < nblk)
		err(f, "directory %llu: hole at blocks %llu-%llu",
		    (unsigned long long)dir, (unsigned long long)expect,
		    (unsigned long long)nblk - 1);

	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), cmp_name);
	for (i = 1; i < nnames; i++)
		if (!cmp_name(&names[i - 1], &names[i]))
			err(f, "directory %llu: duplicate name '%s'",
			    (unsigned long long)dir,
			    show_name(names[i].name, names[i].len));
	free(names);
}

static void check_symlink(struct fsck *f, __u64 ino, struct walk *w)
{
	const struct refdax_inode *ri = &f->itable[ino];
	__u64 size = le64_to_cpu(ri->i_size);
	const char *tgt;
	__u64 i;

	if (le32_to_cpu(ri->i_flags) & REFDAX_IFL_INLINE) {
		for (i = 0; i < sizeof(ri->i_symlink); i++)
			if (!ri->i_symlink[i])
				break;
		if (i != size)
			err(f, "symlink %llu: inline target length %llu, i_size %llu",
			    (unsigned long long)ino, (unsigned long long)i,
			    (unsigned long long)size);
		if (le64_to_cpu(ri->i_blocks))
			err(f, "symlink %llu: inline target but i_blocks %llu",
			    (unsigned long long)ino,
			    (unsigned long long)le64_to_cpu(ri->i_blocks));
		return;
	}
	if (w->next != 1 || w->ext[0].lblk != 0 || w->ext[0].len != 1) {
		err(f, "symlink %llu: target must be exactly one block at logical block 0",
		    (unsigned long long)ino);
		return;
	}
	tgt = block_ptr(f, w->ext[0].pblk);
	for (i = 0; i < size; i++)
		if (!tgt[i])
			break;
	if (i != size)
		err(f, "symlink %llu: NUL at byte %llu of a %llu-byte target",
		    (unsigned long long)ino, (unsigned long long)i,
		    (unsigned long long)size);
}

static void check_trees(struct fsck *f)
{
	struct walk w;
	__u64 ino;

	memset(&w, 0, sizeof(w));
	w.f = f;
	for (ino = 1; ino < f->g.ninodes; ino++) {
		const struct refdax_inode *ri = &f->itable[ino];
		__u16 mode = le16_to_cpu(ri->i_mode);
		__u64 blocks;

		if (!(f->istate[ino] & IS_VALID))
			continue;
		if (S_ISLNK(mode) &&
		    (le32_to_cpu(ri->i_flags) & REFDAX_IFL_INLINE)) {
			f->istate[ino] |= IS_TREE_OK;
			check_symlink(f, ino, NULL);
			continue;
		}
		w.ino = ino;
		w.mapped = 0;
		w.nodes = 0;
		w.bad = 0;
		w.next = 0;
		w.collect = S_ISDIR(mode) || S_ISLNK(mode);
		walk_inode(&w, ri);
		blocks = le64_to_cpu(ri->i_blocks);
		if (blocks != w.mapped + w.nodes)
			err(f,
			    "inode %llu: i_blocks %llu, but maps %llu blocks and %llu tree nodes",
			    (unsigned long long)ino,
			    (unsigned long long)blocks,
			    (unsigned long long)w.mapped,
			    (unsigned long long)w.nodes);
		if (w.bad)
			continue;
		f->istate[ino] |= IS_TREE_OK;
		if (w.collect && w.next > 1)
			qsort(w.ext, w.next, sizeof(*w.ext), cmp_ext);
		if (S_ISDIR(mode))
			check_dir(f, ino, &w);
		else if (S_ISLNK(mode))
			check_symlink(f, ino, &w);
	}
	free(w.ext);
}

/* ---- orphans, link counts, reachability ---- */

static void check_orphans(struct fsck *f)
{
	__u64 ino = le64_to_cpu(f->sb->s_orphan_head), n = 0;

	while (ino) {
		const struct refdax_inode *ri = &f->itable[ino];

		if (f->istate[ino] & IS_ORPHANED) {
			err(f, "orphan list has a cycle at inode %llu",
			    (unsigned long long)ino);
			break;
		}
		f->istate[ino] |= IS_ORPHANED;
		n++;
		if (!(f->istate[ino] & IS_INUSE)) {
			err(f, "orphan list: inode %llu is not in use",
			    (unsigned long long)ino);
			break;
		}
		if (!(f->istate[ino] & IS_VALID))
			break;
		if (le32_to_cpu(ri->i_nlink))
			err(f, "orphan list: inode %llu has link count %u",
			    (unsigned long long)ino,
			    le32_to_cpu(ri->i_nlink));
		if (!(le32_to_cpu(ri->i_flags) & REFDAX_IFL_ORPHAN))
			err(f, "orphan list: inode %llu lacks the orphan flag",
			    (unsigned long long)ino);
		ino = le64_to_cpu(ri->i_next_orphan);
	}
	info(f, "%llu inodes on the orphan list", (unsigned long long)n);
}

static void mark_reachable(struct fsck *f)
{
	__u64 root = f->g.root_ino, n = f->g.ninodes, i;
	__u64 *start = xcalloc(n + 1, sizeof(*start));
	__u64 *adj = xcalloc(f->nedges, sizeof(*adj));
	__u64 *queue = xcalloc(n, sizeof(*queue));
	__u64 head = 0, tail = 0;
	size_t e;

	for (e = 0; e < f->nedges; e++)
		start[f->edges[e][0] + 1]++;
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	for (e = 0; e < f->nedges; e++) {
		__u64 d = f->edges[e][0];

		adj[start[d]++] = f->edges[e][1];
	}
	/* start[d] now holds the end of d's run; shift back. */
	for (i = n; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;

	if (f->istate[root] & IS_VALID && f->istate[root] & IS_DIR) {
		f->istate[root] |= IS_REACHED;
		queue[tail++] = root;
	}
	while (head < tail) {
		__u64 d = queue[head++], k;

		for (k = start[d]; k < start[d + 1]; k++) {
			__u64 c = adj[k];

			if (f->istate[c] & IS_REACHED)
				continue;
			f->istate[c] |= IS_REACHED;
			if (f->istate[c] & IS_DIR)
				queue[tail++] = c;
		}
	}
	free(start);
	free(adj);
	free(queue);
}

static void check_links(struct fsck *f)
{
	__u64 ino, root = f->g.root_ino;

	if (!(f->istate[root] & IS_INUSE))
		err(f, "root inode %llu is not in use",
		    (unsigned long long)root);
	else if ((f->istate[root] & IS_VALID) && !(f->istate[root] & IS_DIR))
		err(f, "root inode %llu is not a directory",
		    (unsigned long long)root);

	for (ino = 1; ino < f->g.ninodes; ino++) {
		const struct refdax_inode *ri = &f->itable[ino];
		__u8 st = f->istate[ino];
		__u32 nlink = le32_to_cpu(ri->i_nlink);
		__u64 want;

		if (!(st & IS_VALID))
			continue;
		if ((le32_to_cpu(ri->i_flags) & REFDAX_IFL_ORPHAN) &&
		    !(st & IS_ORPHANED))
			err(f, "inode %llu has the orphan flag but is not on the orphan list",
			    (unsigned long long)ino);
		if (st & IS_ORPHANED) {
			if (f->refs[ino])
				err(f, "orphan inode %llu still has %u directory entries",
				    (unsigned long long)ino, f->refs[ino]);
			continue;
		}
		if (!(st & IS_REACHED) && ino != root) {
			err(f,
			    "inode %llu is not reachable from the root and not on the orphan list",
			    (unsigned long long)ino);
			continue;
		}
		if (st & IS_DIR) {
			__u64 parent = le64_to_cpu(ri->i_parent);

			want = 2 + (__u64)f->subdirs[ino];
			if (ino == root) {
				if (parent != root)
					err(f, "root directory: parent %llu, should be itself",
					    (unsigned long long)parent);
			} else if (f->dparent[ino] &&
				   parent != f->dparent[ino]) {
				err(f, "directory %llu: i_parent %llu, but its entry is in %llu",
				    (unsigned long long)ino,
				    (unsigned long long)parent,
				    (unsigned long long)f->dparent[ino]);
			}
			if (!(st & IS_TREE_OK))
				continue;	/* entries unknown */
		} else {
			want = f->refs[ino];
		}
		if (nlink != want)
			err(f, "inode %llu: link count %u, should be %llu",
			    (unsigned long long)ino, nlink,
			    (unsigned long long)want);
	}
}

/* ---- reference counts ---- */

static void check_refcounts(struct fsck *f, __u64 *used, __u64 *shared)
{
	__u64 i, mism = 0, shown = 0, u = 0, s = 0, nodes_bad = 0;
	__u64 ds = f->g.data_start;

	for (i = 0; i < f->data_blocks; i++) {
		__u32 d = le32_to_cpu(f->rc_disk[i]);
		__u32 c = f->rc_calc[i];

		if (d)
			u++;
		if (d > 1)
			s++;
		if (f->is_node[i] && c != 1) {
			nodes_bad++;
			err(f, "block %llu: extent-tree node also referenced elsewhere (%u refs)",
			    (unsigned long long)(ds + i), c);
		}
		if (d > REFDAX_REFCOUNT_MAX) {
			err(f, "block %llu: refcount %u exceeds the maximum",
			    (unsigned long long)(ds + i), d);
			continue;
		}
		if (d == c)
			continue;
		mism++;
		if (shown < MAX_RC_REPORTED || f->verbose) {
			shown++;
			printf("%s: block %llu: refcount %u, found %u references\n",
			       f->path, (unsigned long long)(ds + i), d, c);
		}
	}
	if (mism)
		err(f, "%llu refcount mismatches in the data area",
		    (unsigned long long)mism);
	/* The tail of the last refcount block covers no block. */
	for (i = f->data_blocks;
	     i < f->g.refcount_blocks * REFDAX_REFCOUNTS_PER_BLOCK; i++)
		if (f->rc_disk[i]) {
			warn(f, "refcount table has entries past the end of the data area");
			break;
		}
	*used = u;
	*shared = s;
}

/* ---- driver ---- */

int main(int argc, char **argv)
{
	struct fsck f;
	struct stat st;
	int c, check_only = 0, fd;
	__u64 used = 0, shared = 0, ino, inodes_used = 0;

	memset(&f, 0, sizeof(f));
	opterr = 0;
	while ((c = getopt(argc, argv, "nfvypah")) != -1) {
		switch (c) {
		case 'n':
			check_only = 1;
			break;
		case 'f':
			break;
		case 'v':
			f.verbose = 1;
			break;
		case 'y':
		case 'p':
		case 'a':
			break;
		case 'h':
			usage(NULL);
			break;
		default:
			usage("unknown option");
		}
	}
	if (optind != argc - 1)
		usage(optind >= argc ? "no device given" : "too many arguments");
	f.path = argv[optind];
	if (!check_only)
		printf("%s: repair not implemented yet, checking only\n",
		       f.path);

	fd = open(f.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot open %s: %s\n", f.path,
			strerror(errno));
		return EXIT_OPERROR;
	}
	if (fstat(fd, &st)) {
		fprintf(stderr, PROG ": cannot stat %s: %s\n", f.path,
			strerror(errno));
		return EXIT_OPERROR;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &f.dev_bytes)) {
			fprintf(stderr, PROG ": cannot get the size of %s: %s\n",
				f.path, strerror(errno));
			return EXIT_OPERROR;
		}
	} else if (S_ISREG(st.st_mode)) {
		f.dev_bytes = (__u64)st.st_size;
	} else {
		fprintf(stderr, PROG ": %s is not a block device or a regular file\n",
			f.path);
		return EXIT_OPERROR;
	}
	if (f.dev_bytes < REFDAX_BLOCK_SIZE) {
		fprintf(stderr, PROG ": %s is too small to hold a refdax filesystem\n",
			f.path);
		return EXIT_OPERROR;
	}
	if (is_mounted(f.path, &st))
		warn(&f, "%s is mounted; results may be inaccurate", f.path);

	/* Private and writable, so journal recovery never reaches media. */
	f.map_bytes = f.dev_bytes & ~(__u64)(REFDAX_BLOCK_SIZE - 1);
	f.map = mmap(NULL, f.map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		     fd, 0);
	if (f.map == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot map %s: %s\n", f.path,
			strerror(errno));
		return EXIT_OPERROR;
	}

	if (check_super(&f) || check_journal(&f)) {
		printf("%s: superblock unusable, cannot check further\n",
		       f.path);
		printf(PROG ": %s: %lu errors found, not repaired\n", f.path,
		       f.errors);
		return EXIT_UNCORRECTED;
	}
	info(&f, "%llu blocks, %llu inodes, journal %llu+%llu, inode bitmap %llu+%llu",
	     (unsigned long long)f.g.nblocks,
	     (unsigned long long)f.g.ninodes,
	     (unsigned long long)f.g.journal_start,
	     (unsigned long long)f.g.journal_blocks,
	     (unsigned long long)f.g.ibitmap_start,
	     (unsigned long long)f.g.ibitmap_blocks);
	info(&f, "inode table %llu+%llu, refcounts %llu+%llu, data from %llu",
	     (unsigned long long)f.g.itable_start,
	     (unsigned long long)f.g.itable_blocks,
	     (unsigned long long)f.g.refcount_start,
	     (unsigned long long)f.g.refcount_blocks,
	     (unsigned long long)f.g.data_start);
	switch (le32_to_cpu(f.sb->s_state)) {
	case REFDAX_STATE_CLEAN:
		break;
	case REFDAX_STATE_DIRTY:
		warn(&f, "filesystem was not cleanly unmounted");
		break;
	default:
		warn(&f, "the kernel recorded a filesystem error (state %u)",
		     le32_to_cpu(f.sb->s_state));
	}

	f.rc_calc = xcalloc(f.data_blocks, sizeof(*f.rc_calc));
	f.is_node = xcalloc(f.data_blocks, 1);
	f.istate = xcalloc(f.g.ninodes, 1);
	f.refs = xcalloc(f.g.ninodes, sizeof(*f.refs));
	f.subdirs = xcalloc(f.g.ninodes, sizeof(*f.subdirs));
	f.dparent = xcalloc(f.g.ninodes, sizeof(*f.dparent));

	check_inodes(&f);
	check_trees(&f);
	check_orphans(&f);
	mark_reachable(&f);
	check_links(&f);
	check_refcounts(&f, &used, &shared);

	for (ino = 1; ino < f.g.ninodes; ino++)
		if (f.istate[ino] & IS_INUSE)
			inodes_used++;
	info(&f, "%llu data blocks used, %llu shared, %llu free",
	     (unsigned long long)used, (unsigned long long)shared,
	     (unsigned long long)(f.data_blocks - used));

	free(f.rc_calc);
	free(f.is_node);
	free(f.istate);
	free(f.refs);
	free(f.subdirs);
	free(f.dparent);
	free(f.edges);
	munmap(f.map, f.map_bytes);
	close(fd);

	if (f.errors)
		printf(PROG ": %s: %lu errors found, not repaired; ", f.path,
		       f.errors);
	else
		printf(PROG ": %s: clean, ", f.path);
	printf("%llu/%llu inodes, %llu/%llu blocks, %llu shared\n",
	       (unsigned long long)inodes_used,
	       (unsigned long long)f.g.ninodes, (unsigned long long)used,
	       (unsigned long long)f.data_blocks,
	       (unsigned long long)shared);
	return f.errors ? EXIT_UNCORRECTED : EXIT_CLEAN;
}
