// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax - check and repair a refdax filesystem.
 *
 * -n only checks: the device is opened and mapped read-only; journal
 * recovery goes to private copies of the pages it writes (fsck_map.c).  -y repairs everything it
 * can; -p (or -a) repairs only what needs no human judgement and leaves the
 * rest (exit 4).  Both open the device read-write, refuse a mounted one, map
 * it shared, run journal recovery for real and write their repairs through
 * the mapping (msync; on device-dax, cache-line flushes: refdax_dev.c).
 * Repairs are made as problems are found; a pass that
 * repaired something is followed by a fresh one, until a pass finds nothing
 * or can repair nothing more.  Exit status follows fsck(8): 0 clean, 1
 * errors corrected, 4 errors left uncorrected, 8 operational error, 16
 * usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/fs.h>

#include "fsck.h"
#include "refdax_tools.h"

#define MAX_REPORTED	100	/* errors printed without -v */
#define MAX_PASSES	5

struct ext_rec {
	__u64 lblk, pblk, len;
};

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(EXIT_OPERROR);
	}
	return p;
}

void *xrealloc(void *p, size_t n, size_t sz)
{
	p = realloc(p, (n ? n : 1) * sz);
	if (!p) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(EXIT_OPERROR);
	}
	return p;
}

void err(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->errors++;
	f->shown = 0;
	if (f->errors > MAX_REPORTED && !f->verbose) {
		if (f->errors == MAX_REPORTED + 1)
			printf("%s: more errors not shown (use -v)\n", f->path);
		return;
	}
	f->shown = 1;
	printf("%s: ", f->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void warn(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->warnings++;
	f->shown = 1;
	printf("%s: warning: ", f->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void info(struct fsck *f, const char *fmt, ...)
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

/*
 * Whether to repair the problem just reported: never with -n, always with
 * -y, with -p only when @safe (the repair loses nothing and needs no
 * judgement).  The caller makes the change and then calls fixed().
 */
bool fixing(struct fsck *f, bool safe)
{
	if (f->mode == MODE_CHECK)
		return false;
	if (f->mode == MODE_PREEN && !safe) {
		f->manual++;
		if (f->shown)
			printf("%s:   not repaired in preen mode (run " PROG " -y)\n",
			       f->path);
		return false;
	}
	return true;
}

void fixed(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->fixes++;
	if (!f->shown && !f->verbose)
		return;
	printf("%s:   repaired: ", f->path);
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
		"Usage: " PROG " [-n | -p | -a | -y] [-f] [-v] device-or-image\n"
		"  -n   check only, change nothing\n"
		"  -p   repair what is safe without asking (-a is the same)\n"
		"  -y   repair everything that can be repaired\n"
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

/* Repairs write through a shared mapping: msync, or cache-line flushes. */
static void pm_flush(struct refdax_pmem *pm, const void *addr, size_t len)
{
	struct fsck *f = pm->priv;

	if (f->mode == MODE_CHECK || !len)
		return;
	if (refdax_dev_sync(&f->dev, (void *)addr, len)) {
		fprintf(stderr, PROG ": %s: cannot write back: %s\n", f->path,
			strerror(errno));
		exit(EXIT_OPERROR);
	}
}

static void pm_fence(struct refdax_pmem *pm)
{
	(void)pm;
}

static void set_region_pointers(struct fsck *f)
{
	f->ibitmap = f->map + f->g.ibitmap_start * REFDAX_BLOCK_SIZE;
	f->itable = (struct refdax_inode *)
		(f->map + f->g.itable_start * REFDAX_BLOCK_SIZE);
	f->fsmap = f->map + f->g.fsmap_start * REFDAX_BLOCK_SIZE;
	f->data_blocks = f->g.nblocks - f->g.data_start;
}

/* ---- superblock and journal ---- */

/*
 * A superblock of another on-media format version is not damage: there is
 * nothing to check or repair with this fsck (main() says so).
 */
static bool other_version(struct fsck *f, const char *why)
{
	if (strcmp(why, REFDAX_VERSION_WHY))
		return false;
	f->other_version = le32_to_cpu(f->sb->s_version);
	return true;
}

/*
 * How the superblock can be mended, if the rest of it is valid: its
 * checksum recomputed, and (SB_EMPTY_REFC) the refcount tree root emptied,
 * which the refcount check then rebuilds like any wrong tree: the records
 * are derived data.  -1 if it cannot; *@why_root says what the root had.
 */
#define SB_CSUM		1
#define SB_EMPTY_REFC	2

static int sb_mend_level(struct fsck *f, const char **why_root)
{
	struct refdax_super copy;
	const char *why;

	memcpy(&copy, f->sb, sizeof(copy));
	refdax_super_set_csum(&copy);
	if (!refdax_check_super(&copy, f->dev_bytes, &f->g, &why))
		return SB_CSUM;
	if (other_version(f, why))
		return -1;
	*why_root = why;
	fsck_refc_empty_root(&copy.s_refc_root);
	refdax_super_set_csum(&copy);
	if (refdax_check_super(&copy, f->dev_bytes, &f->g, &why))
		return -1;
	return SB_EMPTY_REFC;
}

static void sb_mend(struct refdax_super *sb, int level)
{
	if (level == SB_EMPTY_REFC)
		fsck_refc_empty_root(&sb->s_refc_root);
	refdax_super_set_csum(sb);
}

static int check_super(struct fsck *f)
{
	const char *why, *why_root = NULL;
	int level;

	if (!refdax_check_super(f->sb, f->dev_bytes, &f->g, &why)) {
		set_region_pointers(f);
		return 0;
	}
	if (other_version(f, why))
		return -1;
	/*
	 * A crash inside a transaction that changed the superblock leaves it
	 * torn (checksum, refcount root) until recovery copies the logged one
	 * back, as the kernel's mount does: with sane fields, judge it after.
	 */
	if (!f->sb_deferred &&
	    !refdax_check_super_fields(f->sb, f->dev_bytes, &f->g, &why_root)) {
		f->sb_deferred = true;
		set_region_pointers(f);
		return 0;
	}
	err(f, "superblock: %s", why);
	/* Only the checksum or the refcount root wrong?  Then go on. */
	level = sb_mend_level(f, &why_root);
	if (level < 0)
		return -1;
	if (level == SB_EMPTY_REFC && strcmp(why, why_root))
		err(f, "superblock: %s", why_root);
	if (fixing(f, FIX_ASK)) {
		sb_mend(f->sb, level);
		fixed(f, level == SB_CSUM ?
		      "recomputed the superblock checksum" :
		      "emptied the refcount tree root, to be rebuilt");
	} else if (f->mode == MODE_CHECK) {
		/* a private copy of the page only, so that checking goes on */
		fsck_make_private(f, f->sb, sizeof(*f->sb));
		sb_mend(f->sb, level);
	} else {
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
	pm.priv = f;
	if (refdax_jnl_open(&j, &pm, &f->g, &why)) {
		err(f, "journal: %s", why);
		if (fixing(f, FIX_ASK)) {
			refdax_jnl_format(&pm, &f->g);
			fixed(f, "formatted a new, empty journal");
		}
		return f->sb_deferred ? check_super(f) : 0;
	}
	/* checking recovers into private copies of the pages it writes */
	if (f->mode == MODE_CHECK)
		fsck_private_journal(f, &j);
	n = refdax_jnl_recover(&j);
	if (n < 0) {
		fprintf(stderr, PROG ": journal recovery failed: %s\n",
			strerror(-n));
		exit(EXIT_OPERROR);
	}
	if (n > 0 && f->mode == MODE_CHECK)
		printf("%s: journal recovery needed (%d entries), checking the recovered state\n",
		       f->path, n);
	else if (n > 0)
		printf("%s: journal recovery: undid an interrupted transaction (%d entries)\n",
		       f->path, n);
	if (n > 0 || f->sb_deferred) {
		if (n > 0 && f->mode != MODE_CHECK)
			f->fixes++;
		/* The superblock itself may have been restored. */
		if (check_super(f))
			return -1;
	} else {
		info(f, "journal clean (generation %llu)",
		     (unsigned long long)j.gen);
	}
	return 0;
}

/* ---- inodes ---- */

/* Inode @ino would be valid with a correct checksum. */
static bool inode_csum_only(struct fsck *f, __u64 ino)
{
	struct refdax_inode copy = f->itable[ino];
	const char *why;

	refdax_inode_set_csum(&copy);
	return !refdax_check_inode(&f->g, ino, &copy, &why);
}

/* Drop the entries of extent root @r that the validator rejects. */
static unsigned int filter_root(struct fsck *f, struct refdax_bmap_root *r)
{
	unsigned int nr = le16_to_cpu(r->br_hdr.bh_nr), i, kept = 0;
	unsigned int depth = le16_to_cpu(r->br_hdr.bh_depth);
	__u64 next = 0;
	const char *why;

	if (nr > REFDAX_BMAP_ROOT_MAX)
		nr = REFDAX_BMAP_ROOT_MAX;
	for (i = 0; i < nr; i++) {
		__u64 lblk = le32_to_cpu(r->br_ext[i].e_lblk);
		bool ok;

		if (depth == 0) {
			ok = !refdax_check_extent(&f->g, &r->br_ext[i], &why) &&
			     lblk >= next;
			if (ok)
				next = lblk + le32_to_cpu(r->br_ext[i].e_len);
		} else {
			ok = refdax_data_block_ok(&f->g,
						  le64_to_cpu(r->br_idx[i].ei_child),
						  1) && (!kept || lblk >= next);
			if (ok)
				next = lblk + 1;
		}
		if (ok)
			r->br_ext[kept++] = r->br_ext[i];
	}
	for (i = kept; i < REFDAX_BMAP_ROOT_MAX; i++)
		memset(&r->br_ext[i], 0, sizeof(r->br_ext[i]));
	r->br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	r->br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	r->br_hdr.bh_nr = cpu_to_le16(kept);
	r->br_hdr.bh_depth = cpu_to_le16(kept ? depth : 0);
	return kept;
}

/* Logical end of what a root holding extents maps. */
static __u64 root_end(const struct refdax_bmap_root *r)
{
	unsigned int nr = le16_to_cpu(r->br_hdr.bh_nr);

	if (!nr)
		return 0;
	return le32_to_cpu(r->br_ext[nr - 1].e_lblk) +
	       (__u64)le32_to_cpu(r->br_ext[nr - 1].e_len);
}

/*
 * Inode @ino fails validation for more than its checksum: a copy in @copy
 * with the rejected fields mended (unknown flags cleared, nanoseconds and
 * links out of range zeroed, bad extent-root entries dropped, sizes
 * derived from the extents).  True if that copy is valid.
 */
static bool salvage_inode(struct fsck *f, __u64 ino, struct refdax_inode *copy)
{
	__u16 mode = le16_to_cpu(f->itable[ino].i_mode);
	__u32 flags = le32_to_cpu(f->itable[ino].i_flags) & REFDAX_IFL_SUPP;
	__le32 *ns[] = { &copy->i_atime_ns, &copy->i_mtime_ns,
			 &copy->i_ctime_ns, &copy->i_crtime_ns };
	__u64 size, max = (REFDAX_MAX_LBLK + 1) << REFDAX_BLOCK_SHIFT;
	const char *why;
	unsigned int i;

	*copy = f->itable[ino];
	if (!S_ISLNK(mode))
		flags &= ~REFDAX_IFL_INLINE;
	copy->i_flags = cpu_to_le32(flags);
	for (i = 0; i < ARRAY_SIZE(ns); i++)
		if (le32_to_cpu(*ns[i]) >= 1000000000U)
			*ns[i] = 0;
	if (le64_to_cpu(copy->i_next_orphan) >= f->g.ninodes)
		copy->i_next_orphan = 0;
	if (copy->i_xattr &&
	    !refdax_data_block_ok(&f->g, le64_to_cpu(copy->i_xattr), 1))
		copy->i_xattr = 0;
	size = le64_to_cpu(copy->i_size);
	switch (mode & S_IFMT) {
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		memset(&copy->i_root, 0, sizeof(copy->i_root));
		filter_root(f, &copy->i_root);
		copy->i_size = 0;
		copy->i_blocks = 0;
		break;
	case S_IFDIR:
		if (!le64_to_cpu(copy->i_parent) ||
		    le64_to_cpu(copy->i_parent) >= f->g.ninodes)
			copy->i_parent = cpu_to_le64(f->g.root_ino);
		filter_root(f, &copy->i_root);
		if (size % REFDAX_BLOCK_SIZE || size > max) {
			if (copy->i_root.br_hdr.bh_depth)
				return false;
			copy->i_size = cpu_to_le64(root_end(&copy->i_root) *
						   REFDAX_BLOCK_SIZE);
		}
		break;
	case S_IFREG:
		filter_root(f, &copy->i_root);
		if (size > max)
			copy->i_size = cpu_to_le64(max);
		break;
	case S_IFLNK:
		if (!(flags & REFDAX_IFL_INLINE))
			filter_root(f, &copy->i_root);
		break;
	default:
		return false;
	}
	refdax_inode_set_csum(copy);
	return !refdax_check_inode(&f->g, ino, copy, &why);
}

/* Clear the bitmap from bit @ino on, storing only bytes that change. */
static void clear_bitmap_tail(struct fsck *f, __u64 ino)
{
	__u64 i, bytes = f->g.ibitmap_blocks * REFDAX_BLOCK_SIZE;

	for (; ino % 8; ino++)
		if (bit_set(f->ibitmap, ino))
			clear_bit_le(f->ibitmap, ino);
	for (i = ino / 8; i < bytes; i++)
		if (f->ibitmap[i])
			f->ibitmap[i] = 0;
}

static void check_inodes(struct fsck *f)
{
	struct refdax_inode copy;
	struct refdax_inode *ri;
	static const struct refdax_inode zero;
	__u64 ino, used = 0, root = f->g.root_ino;
	const void *done = f->itable;
	const char *why;

	if (!bit_set(f->ibitmap, 0)) {
		err(f, "inode 0 (reserved) not marked in use in the bitmap");
		if (fixing(f, FIX_SAFE)) {
			set_bit_le(f->ibitmap, 0);
			fixed(f, "marked inode 0 in use");
		}
	}
	if (memcmp(&f->itable[0], &zero, sizeof(zero))) {
		err(f, "inode 0 (reserved) slot is not zeroed");
		if (fixing(f, FIX_SAFE)) {
			memset(&f->itable[0], 0, sizeof(zero));
			fixed(f, "zeroed the slot of inode 0");
		}
	}

	for (ino = 1; ino < f->g.ninodes; ino++) {
		int inuse = bit_set(f->ibitmap, ino);
		__u16 mode;

		ri = &f->itable[ino];
		fsck_stream(f, &done, ri);
		mode = le16_to_cpu(ri->i_mode);
		if (!inuse) {
			if (!mode)
				continue;
			err(f, "inode %llu: mode 0%o but not marked in use in the bitmap",
			    (unsigned long long)ino, mode);
			if (inode_csum_only(f, ino)) {
				if (!fixing(f, FIX_SAFE))
					continue;
				set_bit_le(f->ibitmap, ino);
				fixed(f, "marked inode %llu in use",
				      (unsigned long long)ino);
			} else {
				if (fixing(f, FIX_ASK)) {
					memset(ri, 0, sizeof(*ri));
					fixed(f, "zeroed the slot of free inode %llu",
					      (unsigned long long)ino);
				}
				continue;
			}
		}
		used++;
		f->istate[ino] |= IS_INUSE;
		if (!mode) {
			err(f, "inode %llu: marked in use but mode is 0",
			    (unsigned long long)ino);
			if (ino != root && fixing(f, FIX_SAFE)) {
				fsck_free_inode(f, ino);
				used--;
				fixed(f, "marked inode %llu free",
				      (unsigned long long)ino);
			}
			continue;
		}
		if (refdax_check_inode(&f->g, ino, ri, &why)) {
			err(f, "inode %llu: %s", (unsigned long long)ino, why);
			if (inode_csum_only(f, ino)) {
				if (!fixing(f, FIX_SAFE))
					continue;
				refdax_inode_set_csum(ri);
				fixed(f, "recomputed the checksum of inode %llu",
				      (unsigned long long)ino);
			} else if (salvage_inode(f, ino, &copy)) {
				if (!fixing(f, FIX_ASK))
					continue;
				*ri = copy;
				fixed(f, "mended the rejected fields of inode %llu",
				      (unsigned long long)ino);
			} else {
				if (ino != root && fixing(f, FIX_ASK)) {
					fsck_free_inode(f, ino);
					used--;
					fixed(f, "cleared inode %llu",
					      (unsigned long long)ino);
				}
				continue;
			}
		}
		f->istate[ino] |= IS_VALID;
		if (S_ISDIR(mode))
			f->istate[ino] |= IS_DIR;
	}
	/* later phases map again only the inodes they look at */
	fsck_release(f, done, (__u64)((const __u8 *)&f->itable[f->g.ninodes] -
				      (const __u8 *)done));
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
			if (fixing(f, FIX_SAFE)) {
				clear_bitmap_tail(f, ino);
				fixed(f, "cleared them");
			}
			break;
		}
	}
}

/* ---- extent trees ---- */

struct walk {
	struct fsck *f;
	__u64 ino;
	int phase;		/* 0: claim tree nodes, 1: walk extents */
	__u8 kind;		/* BK_DATA or BK_EXCL for this inode's extents */
	__u64 limit;		/* logical blocks a directory or symlink uses */
	__u64 mapped, nodes;
	int bad;		/* problems left in place */
	int changed;		/* the extent root was rewritten */
	int collect;
	struct ext_rec *ext;
	size_t next, ext_cap;
};

enum { NODE_DESCEND, NODE_SKIP, NODE_DROPPED };

static void collect(struct walk *w, __u64 lblk, __u64 pblk, __u64 len)
{
	if (!w->collect)
		return;
	if (w->next == w->ext_cap) {
		w->ext_cap = w->ext_cap ? w->ext_cap * 2 : 16;
		w->ext = xrealloc(w->ext, w->ext_cap, sizeof(*w->ext));
	}
	w->ext[w->next].lblk = lblk;
	w->ext[w->next].pblk = pblk;
	w->ext[w->next].len = len;
	w->next++;
}

/* Remove entry @i of a root or node; returns the entries left. */
static unsigned int drop_entry(struct refdax_bmap_hdr *h, void *ents,
			       unsigned int i)
{
	unsigned int nr = le16_to_cpu(h->bh_nr);
	const size_t sz = sizeof(struct refdax_extent);
	__u8 *e = ents;

	memmove(e + i * sz, e + (i + 1) * sz, (nr - i - 1) * sz);
	memset(e + (nr - 1) * sz, 0, sz);
	h->bh_nr = cpu_to_le16(nr - 1);
	return nr - 1;
}

/*
 * Whether a reference to [pblk, pblk + len) is a double use: only
 * regular-file data may be shared (reflink); a tree node, a directory block
 * or a symlink block has exactly one user.  *at gets the first such block,
 * *kind its use.  Claims hold only the one-user kinds: all of them are made
 * (phase 0) before any file data is walked (phase 1), so file data finds
 * every block it may not share, and never needs a claim of its own.
 */
static bool clash(const struct fsck *f, __u64 pblk, __u64 len, __u64 *at,
		  __u8 *kind)
{
	const struct blk_claim *c = bm_claimed(&f->bm, pblk, len);

	if (!c)
		return false;
	*at = c->start > pblk ? c->start : pblk;
	*kind = c->kind;
	return true;
}

static void claim(struct fsck *f, __u64 pblk, __u64 len, __u8 kind)
{
	if (kind != BK_DATA)
		bm_claim(&f->bm, pblk, len, kind);
}

static unsigned int walk_entries(struct walk *w, struct refdax_bmap_hdr *h,
				 void *ents, unsigned int depth, __u64 lo,
				 __u64 hi);

/* The root or node holding @h was changed in place. */
static void touched(struct walk *w, struct refdax_bmap_hdr *h)
{
	const __u8 *data = block_ptr(w->f, w->f->g.data_start);

	if ((const __u8 *)h >= data)
		refdax_bmap_node_set_csum((struct refdax_bmap_node *)h);
	else
		w->changed = 1;
}

/*
 * Extents whose logical blocks must lie in [lo, hi).  Directory and symlink
 * blocks are claimed in phase 0 with the tree nodes, so that file data
 * sharing one of them is what gets detached; file data in phase 1.  A
 * directory claims only the blocks below its size (a block symlink only
 * its first block): what it maps beyond is trimmed off, not trusted.
 */
static unsigned int walk_extents(struct walk *w, struct refdax_bmap_hdr *h,
				 struct refdax_extent *e, __u64 lo, __u64 hi)
{
	struct fsck *f = w->f;
	unsigned int i = 0, nr = le16_to_cpu(h->bh_nr);
	bool claiming = !w->phase == (w->kind == BK_EXCL);

	while (i < nr) {
		__u64 lblk = le32_to_cpu(e[i].e_lblk);
		__u64 len = le32_to_cpu(e[i].e_len);
		__u64 pblk = le64_to_cpu(e[i].e_pblk);
		__u64 use = lblk >= w->limit ? 0 :
			    lblk + len > w->limit ? w->limit - lblk : len;
		bool problem = false, range_bad = false;
		__u64 at;
		__u8 used_as;

		if (w->phase && (lblk < lo || lblk + len > hi)) {
			err(f,
			    "inode %llu: extent at block %llu outside its key range [%llu, %llu)",
			    (unsigned long long)w->ino,
			    (unsigned long long)lblk,
			    (unsigned long long)lo,
			    (unsigned long long)hi);
			problem = true;
			range_bad = true;
		} else if (w->phase && use < len) {
			err(f, "%s %llu: blocks mapped beyond %s (logical %llu-%llu)",
			    w->collect == 1 ? "directory" : "symlink",
			    (unsigned long long)w->ino,
			    w->collect == 1 ? "i_size" : "its target block",
			    (unsigned long long)(lblk + use),
			    (unsigned long long)(lblk + len - 1));
			if (use && fixing(f, FIX_ASK)) {
				e[i].e_len = cpu_to_le32((__u32)use);
				touched(w, h);
				fixed(f, "trimmed the extent to %llu blocks",
				      (unsigned long long)use);
				len = use;
			} else if (!use) {
				problem = true;
			}
		} else if (claiming && clash(f, pblk, use, &at, &used_as)) {
			err(f, "inode %llu: block %llu (logical %llu) is also used as %s",
			    (unsigned long long)w->ino,
			    (unsigned long long)at,
			    (unsigned long long)(lblk + at - pblk),
			    bm_kind_name(used_as));
			problem = true;
		}
		if (problem && fixing(f, FIX_ASK)) {
			nr = drop_entry(h, e, i);
			touched(w, h);
			fixed(f, "removed the extent: logical %llu-%llu, physical %llu-%llu",
			      (unsigned long long)lblk,
			      (unsigned long long)(lblk + len - 1),
			      (unsigned long long)pblk,
			      (unsigned long long)(pblk + len - 1));
			continue;
		}
		if (range_bad)
			w->bad = 1;
		if (claiming)
			claim(f, pblk, use, w->kind);
		if (w->phase) {
			bm_add_ref(&f->bm, pblk, len, w->kind, w->ino, false);
			w->mapped += len;
			collect(w, lblk, pblk, len);
		}
		i++;
	}
	return nr;
}

/* Node @bn would be valid at @depth with a correct checksum. */
static bool node_csum_only(struct fsck *f, const struct refdax_bmap_node *bn,
			   unsigned int depth)
{
	static union {
		struct refdax_bmap_node bn;
		__u8 b[REFDAX_BLOCK_SIZE];
	} copy;
	const char *why;

	memcpy(copy.b, bn, REFDAX_BLOCK_SIZE);
	refdax_bmap_node_set_csum(&copy.bn);
	return !refdax_check_bmap_node(&f->g, &copy.bn, depth, &why);
}

/*
 * Phase 0: claim the node @child that index entry @i points to, at @depth.
 * A node with a bad key, used twice or invalid is detached (the entry
 * dropped) when repairing.
 */
static int claim_node(struct walk *w, struct refdax_bmap_hdr *h,
		      struct refdax_bmap_index *idx, unsigned int i,
		      unsigned int depth, __u64 lo, __u64 hi)
{
	struct fsck *f = w->f;
	__u64 key = le32_to_cpu(idx[i].ei_lblk);
	__u64 child = le64_to_cpu(idx[i].ei_child);
	struct refdax_bmap_node *bn = block_ptr(f, child);
	int problem = 0;
	const char *why;

	if (key < lo || key >= hi) {
		err(f, "inode %llu: index key %llu outside its parent's range [%llu, %llu)",
		    (unsigned long long)w->ino, (unsigned long long)key,
		    (unsigned long long)lo, (unsigned long long)hi);
		problem = 1;
	} else if (bm_kind(&f->bm, child) != BK_FREE) {
		err(f, "inode %llu: extent-tree node block %llu referenced more than once",
		    (unsigned long long)w->ino, (unsigned long long)child);
		problem = 2;
	} else if (refdax_check_bmap_node(&f->g, bn, depth - 1, &why)) {
		err(f, "inode %llu: extent-tree node at block %llu (depth %u): %s",
		    (unsigned long long)w->ino, (unsigned long long)child,
		    depth - 1, why);
		problem = 3;
		if (node_csum_only(f, bn, depth - 1) && fixing(f, FIX_SAFE)) {
			refdax_bmap_node_set_csum(bn);
			fixed(f, "recomputed the checksum of the node");
			problem = 0;
		}
	}
	if (problem && fixing(f, FIX_ASK)) {
		drop_entry(h, idx, i);
		w->changed = 1;
		fixed(f, "detached the subtree at block %llu (logical blocks from %llu)",
		      (unsigned long long)child, (unsigned long long)key);
		return NODE_DROPPED;
	}
	if (problem)
		w->bad = 1;
	bm_add_ref(&f->bm, child, 1, BK_NODE, w->ino, false);
	if (problem == 2)
		return NODE_SKIP;
	if (problem == 3) {
		bm_claim(&f->bm, child, 1, BK_BADNODE);
		return NODE_SKIP;
	}
	bm_claim(&f->bm, child, 1, BK_NODE);
	return NODE_DESCEND;
}

/* Index entries at @depth whose keys must lie in [lo, hi). */
static unsigned int walk_index(struct walk *w, struct refdax_bmap_hdr *h,
			       struct refdax_bmap_index *idx,
			       unsigned int depth, __u64 lo, __u64 hi)
{
	struct fsck *f = w->f;
	unsigned int i = 0, nr = le16_to_cpu(h->bh_nr);

	while (i < nr) {
		__u64 key = le32_to_cpu(idx[i].ei_lblk);
		__u64 child = le64_to_cpu(idx[i].ei_child);
		__u64 end = i + 1 < nr ? le32_to_cpu(idx[i + 1].ei_lblk) : hi;
		struct refdax_bmap_node *bn = block_ptr(f, child);
		unsigned int onr, cnr;

		if (w->phase == 0) {
			int r = claim_node(w, h, idx, i, depth, lo, hi);

			if (r == NODE_DROPPED) {
				nr--;
				continue;
			}
			if (r == NODE_SKIP ||
			    (depth == 1 && w->kind != BK_EXCL)) {
				i++;
				continue;
			}
		} else {
			if (bm_kind(&f->bm, child) != BK_NODE) {
				i++;	/* left in place by phase 0 */
				continue;
			}
			w->nodes++;
		}
		onr = le16_to_cpu(bn->bn_hdr.bh_nr);
		cnr = walk_entries(w, &bn->bn_hdr, bn + 1, depth - 1, key,
				   end < hi ? end : hi);
		if (cnr) {
			if (cnr != onr)
				refdax_bmap_node_set_csum(bn);
			i++;
			continue;
		}
		/* every entry of the child was removed: free it as well */
		bm_unclaim(&f->bm, child);
		bm_add_ref(&f->bm, child, 1, BK_NODE, w->ino, true);
		if (w->phase)
			w->nodes--;
		nr = drop_entry(h, idx, i);
		w->changed = 1;
		fixed(f, "freed the emptied tree node at block %llu of inode %llu",
		      (unsigned long long)child, (unsigned long long)w->ino);
	}
	return nr;
}

/* Walk a root or node at @depth; returns the entries it has left. */
static unsigned int walk_entries(struct walk *w, struct refdax_bmap_hdr *h,
				 void *ents, unsigned int depth, __u64 lo,
				 __u64 hi)
{
	if (depth)
		return walk_index(w, h, ents, depth, lo, hi);
	if (w->phase || w->kind == BK_EXCL)
		return walk_extents(w, h, ents, lo, hi);
	return le16_to_cpu(h->bh_nr);
}

static void walk_inode(struct walk *w, struct refdax_inode *ri)
{
	struct refdax_bmap_root *r = &ri->i_root;
	unsigned int depth = le16_to_cpu(r->br_hdr.bh_depth);

	if (!walk_entries(w, &r->br_hdr, r->br_ext, depth, 0,
			  REFDAX_MAX_LBLK + 1) && depth) {
		r->br_hdr.bh_depth = 0;
		w->changed = 1;
	}
	if (w->changed)
		refdax_inode_set_csum(ri);
}

static int cmp_ext(const void *a, const void *b)
{
	const struct ext_rec *x = a, *y = b;

	return x->lblk < y->lblk ? -1 : x->lblk > y->lblk;
}

/* ---- directories ---- */

/* What check_dirent() did with an entry. */
enum { DE_NONE, DE_LINK, DE_SUBDIR, DE_KILL };

struct name_rec {
	__u32 hash;
	__u8 len;
	__u8 how;		/* DE_* */
	const char *name;
	__u8 *blk;
	unsigned int off;
	__u64 ino;
	size_t seq;
};

static int same_name(const struct name_rec *x, const struct name_rec *y)
{
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

static int cmp_name(const void *a, const void *b)
{
	const struct name_rec *x = a, *y = b;
	int c = same_name(x, y);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_edge(struct fsck *f, __u64 dir, __u64 child)
{
	if (f->nedges == f->edges_cap) {
		f->edges_cap = f->edges_cap ? f->edges_cap * 2 : 1024;
		f->edges = xrealloc(f->edges, f->edges_cap, sizeof(*f->edges));
	}
	f->edges[f->nedges][0] = dir;
	f->edges[f->nedges][1] = child;
	f->nedges++;
}

static void drop_edge(struct fsck *f, __u64 dir, __u64 child)
{
	size_t e = f->nedges;

	while (e--) {
		if (f->edges[e][0] != dir || f->edges[e][1] != child)
			continue;
		f->nedges--;
		f->edges[e][0] = f->edges[f->nedges][0];
		f->edges[e][1] = f->edges[f->nedges][1];
		return;
	}
}

/* Check the live entry @de (name @nm) of directory @dir and count it. */
static int check_dirent(struct fsck *f, __u64 dir, struct refdax_dirent *de,
			const char *nm)
{
	__u64 t = le64_to_cpu(de->d_ino);
	__u16 tmode;

	if (!(f->istate[t] & IS_INUSE)) {
		err(f, "directory %llu: entry '%s' points to free inode %llu",
		    (unsigned long long)dir, show_name(nm, de->d_namelen),
		    (unsigned long long)t);
		if (fixing(f, FIX_SAFE)) {
			fixed(f, "removed the entry");
			return DE_KILL;
		}
		return DE_NONE;
	}
	if (t == f->g.root_ino) {
		err(f, "directory %llu: entry '%s' points to the root directory",
		    (unsigned long long)dir, show_name(nm, de->d_namelen));
		if (fixing(f, FIX_ASK)) {
			fixed(f, "removed the entry");
			return DE_KILL;
		}
		return DE_NONE;
	}
	tmode = le16_to_cpu(f->itable[t].i_mode);
	if (f->istate[t] & IS_VALID && de->d_type != mode_to_dt(tmode)) {
		err(f, "directory %llu: entry '%s' has type %u but inode %llu has mode 0%o",
		    (unsigned long long)dir, show_name(nm, de->d_namelen),
		    de->d_type, (unsigned long long)t, tmode);
		if (fixing(f, FIX_SAFE)) {
			de->d_type = (__u8)mode_to_dt(tmode);
			fixed(f, "set the entry's type to %u", de->d_type);
		}
	}
	if (f->istate[t] & IS_DIR && f->dparent[t]) {
		err(f, "directory %llu has entries in both directory %llu and %llu",
		    (unsigned long long)t,
		    (unsigned long long)f->dparent[t],
		    (unsigned long long)dir);
		if (fixing(f, FIX_ASK)) {
			fixed(f, "removed the entry '%s' from directory %llu",
			      show_name(nm, de->d_namelen),
			      (unsigned long long)dir);
			return DE_KILL;
		}
	}
	f->refs[t]++;
	add_edge(f, dir, t);
	if (!(f->istate[t] & IS_DIR) || f->dparent[t])
		return DE_LINK;
	f->subdirs[dir]++;
	f->dparent[t] = dir;
	return DE_SUBDIR;
}

/* Unmap logical blocks from @cut on, in a root holding extents. */
static void truncate_root(struct refdax_bmap_root *r, __u64 cut)
{
	unsigned int i = 0;

	while (i < le16_to_cpu(r->br_hdr.bh_nr)) {
		struct refdax_extent *e = &r->br_ext[i];
		__u64 lblk = le32_to_cpu(e->e_lblk);

		if (lblk >= cut) {
			drop_entry(&r->br_hdr, r->br_ext, i);
			continue;
		}
		if (lblk + le32_to_cpu(e->e_len) > cut)
			e->e_len = cpu_to_le32((__u32)(cut - lblk));
		i++;
	}
}

/*
 * Holes: the extents in @w are sorted, and what they map beyond the size
 * was reported by the walk.
 */
static void check_dir_size(struct fsck *f, __u64 dir, struct walk *w)
{
	struct refdax_inode *ri = &f->itable[dir];
	__u64 nblk = le64_to_cpu(ri->i_size) / REFDAX_BLOCK_SIZE;
	__u64 expect = 0, cut = 0;
	bool gap = false;
	size_t i;

	for (i = 0; i < w->next && w->ext[i].lblk < nblk; i++) {
		const struct ext_rec *e = &w->ext[i];

		if (e->lblk > expect) {
			err(f, "directory %llu: hole at blocks %llu-%llu",
			    (unsigned long long)dir,
			    (unsigned long long)expect,
			    (unsigned long long)e->lblk - 1);
			if (!gap)
				cut = expect;
			gap = true;
		}
		expect = e->lblk + e->len;
	}
	if (expect < nblk) {
		err(f, "directory %llu: hole at blocks %llu-%llu",
		    (unsigned long long)dir, (unsigned long long)expect,
		    (unsigned long long)nblk - 1);
		/* a hole at the end only: the size can shrink onto the blocks */
		if (!gap && fixing(f, FIX_SAFE)) {
			ri->i_size = cpu_to_le64(expect * REFDAX_BLOCK_SIZE);
			refdax_inode_set_csum(ri);
			fixed(f, "set the size of directory %llu to %llu blocks",
			      (unsigned long long)dir,
			      (unsigned long long)expect);
		}
	}
	/* Otherwise the directory ends at its first hole (extents in the root). */
	if (!gap || le16_to_cpu(ri->i_root.br_hdr.bh_depth) ||
	    !fixing(f, FIX_ASK))
		return;
	truncate_root(&ri->i_root, cut);
	ri->i_size = cpu_to_le64(cut * REFDAX_BLOCK_SIZE);
	refdax_inode_set_csum(ri);
	fixed(f, "truncated directory %llu at its first hole (%llu blocks left)",
	      (unsigned long long)dir, (unsigned long long)cut);
}

/* A damaged directory block: mend it if allowed; 0 if it is valid now. */
static int mend_dirblock(struct fsck *f, __u8 *blk)
{
	static const char * const what[] = {
		[SALVAGE_HASHES] = "recomputed the name hashes",
		[SALVAGE_ENTRIES] = "removed the damaged entries",
		[SALVAGE_BLOCK] = "cut the record chain at the damage",
	};
	int lvl = fsck_salvage_dirblock(f, blk, false);
	const char *why;

	if (!lvl || !fixing(f, lvl == SALVAGE_HASHES))
		return -1;
	lvl = fsck_salvage_dirblock(f, blk, true);
	if (refdax_check_dirblock(&f->g, blk, &why))
		return -1;
	fixed(f, "%s", what[lvl]);
	return 0;
}

static void check_dir(struct fsck *f, __u64 dir, struct walk *w)
{
	const struct refdax_inode *ri = &f->itable[dir];
	__u64 nblk;
	struct name_rec *names = NULL;
	size_t nnames = 0, names_cap = 0, i;
	const char *why;

	check_dir_size(f, dir, w);
	nblk = le64_to_cpu(ri->i_size) / REFDAX_BLOCK_SIZE;
	for (i = 0; i < w->next; i++) {
		const struct ext_rec *e = &w->ext[i];
		__u64 b;

		for (b = 0; b < e->len && e->lblk + b < nblk; b++) {
			__u8 *blk = block_ptr(f, e->pblk + b);
			unsigned int off = 0;

			if (refdax_check_dirblock(&f->g, blk, &why)) {
				err(f, "directory %llu: block %llu (physical %llu): %s",
				    (unsigned long long)dir,
				    (unsigned long long)(e->lblk + b),
				    (unsigned long long)(e->pblk + b), why);
				if (mend_dirblock(f, blk))
					continue;
			}
			while (off < REFDAX_BLOCK_SIZE) {
				struct refdax_dirent *de = (void *)(blk + off);
				__u64 t = le64_to_cpu(de->d_ino);
				const char *nm = (const char *)blk + off +
						 REFDAX_DIRENT_HDR;
				unsigned int here = off;
				int how;

				off += le16_to_cpu(de->d_reclen);
				if (!t)
					continue;
				how = check_dirent(f, dir, de, nm);
				if (how == DE_KILL) {
					fsck_kill_dirent(blk, here);
					continue;
				}
				if (nnames == names_cap) {
					names_cap = names_cap ?
						    names_cap * 2 : 64;
					names = xrealloc(names, names_cap,
							 sizeof(*names));
				}
				names[nnames].hash = le32_to_cpu(de->d_hash);
				names[nnames].len = de->d_namelen;
				names[nnames].how = (__u8)how;
				names[nnames].name = nm;
				names[nnames].blk = blk;
				names[nnames].off = here;
				names[nnames].ino = t;
				names[nnames].seq = nnames;
				nnames++;
			}
		}
	}

	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), cmp_name);
	for (i = 1; i < nnames; i++) {
		struct name_rec *n = &names[i];

		if (same_name(&names[i - 1], n))
			continue;
		err(f, "directory %llu: duplicate name '%s'",
		    (unsigned long long)dir, show_name(n->name, n->len));
		if (!fixing(f, FIX_ASK))
			continue;
		/* the later entry goes; undo what counting it did */
		fsck_kill_dirent(n->blk, n->off);
		if (n->how != DE_NONE) {
			f->refs[n->ino]--;
			drop_edge(f, dir, n->ino);
		}
		if (n->how == DE_SUBDIR) {
			f->subdirs[dir]--;
			f->dparent[n->ino] = 0;
		}
		fixed(f, "removed the later entry (inode %llu)",
		      (unsigned long long)n->ino);
	}
	free(names);
}

static void check_symlink(struct fsck *f, __u64 ino, struct walk *w)
{
	struct refdax_inode *ri = &f->itable[ino];
	__u64 size = le64_to_cpu(ri->i_size);
	const char *tgt;
	__u64 i;

	if (le32_to_cpu(ri->i_flags) & REFDAX_IFL_INLINE) {
		for (i = 0; i < sizeof(ri->i_symlink); i++)
			if (!ri->i_symlink[i])
				break;
		if (i != size) {
			err(f, "symlink %llu: inline target length %llu, i_size %llu",
			    (unsigned long long)ino, (unsigned long long)i,
			    (unsigned long long)size);
			if (i && i < sizeof(ri->i_symlink) &&
			    fixing(f, FIX_ASK)) {
				ri->i_size = cpu_to_le64(i);
				refdax_inode_set_csum(ri);
				fixed(f, "set i_size to %llu",
				      (unsigned long long)i);
			}
		}
		/* only attribute blocks (fsck_xattr.c) count */
		if (le64_to_cpu(ri->i_blocks) != f->xblocks[ino]) {
			err(f, "symlink %llu: inline target but i_blocks %llu",
			    (unsigned long long)ino,
			    (unsigned long long)le64_to_cpu(ri->i_blocks));
			if (fixing(f, FIX_SAFE)) {
				ri->i_blocks = cpu_to_le64(f->xblocks[ino]);
				refdax_inode_set_csum(ri);
				fixed(f, "set i_blocks to %llu",
				      (unsigned long long)f->xblocks[ino]);
			}
		}
		return;
	}
	if (w->next != 1 || w->ext[0].lblk != 0 || w->ext[0].len != 1) {
		err(f, "symlink %llu: target must be exactly one block at logical block 0",
		    (unsigned long long)ino);
		/* the blocks and the names go in the next pass */
		if (fixing(f, FIX_ASK)) {
			fsck_free_inode(f, ino);
			fixed(f, "cleared the symlink");
		}
		return;
	}
	tgt = block_ptr(f, w->ext[0].pblk);
	for (i = 0; i < size; i++)
		if (!tgt[i])
			break;
	if (i != size) {
		err(f, "symlink %llu: NUL at byte %llu of a %llu-byte target",
		    (unsigned long long)ino, (unsigned long long)i,
		    (unsigned long long)size);
		if (i && fixing(f, FIX_ASK)) {
			ri->i_size = cpu_to_le64(i);
			refdax_inode_set_csum(ri);
			fixed(f, "set i_size to %llu", (unsigned long long)i);
		}
	}
}

static void check_trees(struct fsck *f)
{
	struct walk w;
	__u64 ino;

	memset(&w, 0, sizeof(w));
	w.f = f;
	/*
	 * Tree nodes, directory blocks and symlink blocks are claimed for all
	 * inodes first, so a block used both that way and as file data keeps
	 * its exclusive owner and the file extent is what gets detached.
	 */
	for (w.phase = 0; w.phase < 2; w.phase++) {
		/*
		 * Attribute blocks between the two: a tree node or directory
		 * block keeps its claim, file data sharing one is detached.
		 */
		if (w.phase == 1)
			fsck_check_xattrs(f);
		for (ino = 1; ino < f->g.ninodes; ino++) {
			struct refdax_inode *ri = &f->itable[ino];
			__u16 mode;
			__u64 blocks;

			if (!(f->istate[ino] & IS_VALID))
				continue;
			mode = le16_to_cpu(ri->i_mode);
			if (S_ISLNK(mode) &&
			    (le32_to_cpu(ri->i_flags) & REFDAX_IFL_INLINE)) {
				if (!w.phase)
					continue;
				f->istate[ino] |= IS_TREE_OK;
				check_symlink(f, ino, NULL);
				continue;
			}
			w.ino = ino;
			w.kind = S_ISREG(mode) ? BK_DATA : BK_EXCL;
			w.mapped = 0;
			w.nodes = 0;
			w.bad = 0;
			w.changed = 0;
			w.next = 0;
			/* collect: 1 for a directory, 2 for a symlink */
			w.collect = !w.phase ? 0 : S_ISDIR(mode) ? 1 :
				    S_ISLNK(mode) ? 2 : 0;
			w.limit = S_ISDIR(mode) ? le64_to_cpu(ri->i_size) /
						  REFDAX_BLOCK_SIZE :
				  S_ISLNK(mode) ? 1 : REFDAX_MAX_LBLK + 1;
			walk_inode(&w, ri);
			if (!w.phase) {
				if (w.bad)
					f->istate[ino] |= IS_TREE_BAD;
				continue;
			}
			blocks = le64_to_cpu(ri->i_blocks);
			/* attribute blocks count too (fsck_xattr.c) */
			w.nodes += f->xblocks[ino];
			if (blocks != w.mapped + w.nodes) {
				err(f,
				    "inode %llu: i_blocks %llu, but maps %llu blocks and %llu tree nodes and attribute blocks",
				    (unsigned long long)ino,
				    (unsigned long long)blocks,
				    (unsigned long long)w.mapped,
				    (unsigned long long)w.nodes);
				if (fixing(f, FIX_SAFE)) {
					ri->i_blocks = cpu_to_le64(w.mapped +
								   w.nodes);
					refdax_inode_set_csum(ri);
					fixed(f, "set i_blocks to %llu",
					      (unsigned long long)(w.mapped +
								   w.nodes));
				}
			}
			if (w.bad || f->istate[ino] & IS_TREE_BAD)
				continue;
			f->istate[ino] |= IS_TREE_OK;
			if (w.collect && w.next > 1)
				qsort(w.ext, w.next, sizeof(*w.ext), cmp_ext);
			if (S_ISDIR(mode))
				check_dir(f, ino, &w);
			else if (S_ISLNK(mode))
				check_symlink(f, ino, &w);
		}
	}
	free(w.ext);
}

/* ---- orphans, reachability, link counts ---- */

/*
 * Relink the orphan list from scratch: every valid inode that is on it or
 * carries the orphan flag, and has no directory entry, in inode order.
 */
static void rebuild_orphans(struct fsck *f)
{
	__u64 ino, head = 0, n = 0;

	for (ino = f->g.ninodes; --ino > 0;) {
		struct refdax_inode *ri = &f->itable[ino];
		__u8 st = f->istate[ino];
		__u32 flags = le32_to_cpu(ri->i_flags);
		struct refdax_inode old = *ri;
		bool want;

		f->istate[ino] &= ~IS_ORPHANED;
		if (!(st & IS_VALID))
			continue;
		want = ino != f->g.root_ino && !f->refs[ino] &&
		       (st & IS_ORPHANED || flags & REFDAX_IFL_ORPHAN);
		if (want) {
			ri->i_flags = cpu_to_le32(flags | REFDAX_IFL_ORPHAN);
			ri->i_nlink = 0;
			ri->i_next_orphan = cpu_to_le64(head);
			f->istate[ino] |= IS_ORPHANED;
			head = ino;
			n++;
		} else {
			ri->i_flags = cpu_to_le32(flags & ~REFDAX_IFL_ORPHAN);
			ri->i_next_orphan = 0;
		}
		if (memcmp(&old, ri, sizeof(old)))
			refdax_inode_set_csum(ri);
	}
	f->sb->s_orphan_head = cpu_to_le64(head);
	refdax_super_set_csum(f->sb);
	fixed(f, "rebuilt the orphan list (%llu inodes)", (unsigned long long)n);
}

static void check_orphans(struct fsck *f)
{
	__u64 ino = le64_to_cpu(f->sb->s_orphan_head), n = 0;
	bool bad = false;

	while (ino) {
		const struct refdax_inode *ri = &f->itable[ino];

		if (f->istate[ino] & IS_ORPHANED) {
			err(f, "orphan list has a cycle at inode %llu",
			    (unsigned long long)ino);
			bad = true;
			break;
		}
		f->istate[ino] |= IS_ORPHANED;
		n++;
		if (!(f->istate[ino] & IS_INUSE)) {
			err(f, "orphan list: inode %llu is not in use",
			    (unsigned long long)ino);
			bad = true;
			break;
		}
		if (!(f->istate[ino] & IS_VALID))
			break;
		if (le32_to_cpu(ri->i_nlink)) {
			err(f, "orphan list: inode %llu has link count %u",
			    (unsigned long long)ino,
			    le32_to_cpu(ri->i_nlink));
			bad = true;
		}
		if (!(le32_to_cpu(ri->i_flags) & REFDAX_IFL_ORPHAN)) {
			err(f, "orphan list: inode %llu lacks the orphan flag",
			    (unsigned long long)ino);
			bad = true;
		}
		if (f->refs[ino] || ino == f->g.root_ino) {
			err(f, "orphan inode %llu still has %u directory entries",
			    (unsigned long long)ino, f->refs[ino]);
			bad = true;
		}
		ino = le64_to_cpu(ri->i_next_orphan);
	}
	info(f, "%llu inodes on the orphan list", (unsigned long long)n);

	for (ino = 1; ino < f->g.ninodes; ino++) {
		if ((f->istate[ino] & (IS_VALID | IS_ORPHANED)) != IS_VALID ||
		    !(le32_to_cpu(f->itable[ino].i_flags) & REFDAX_IFL_ORPHAN))
			continue;
		err(f, "inode %llu has the orphan flag but is not on the orphan list",
		    (unsigned long long)ino);
		bad = true;
	}
	if (bad && fixing(f, FIX_SAFE))
		rebuild_orphans(f);
}

/* Directory entries grouped by directory, for the reachability walks. */
static void build_adjacency(struct fsck *f)
{
	__u64 n = f->g.ninodes, i, *start;
	size_t e;

	start = xcalloc(n + 1, sizeof(*start));
	f->adj = xcalloc(f->nedges, sizeof(*f->adj));
	f->queue = xcalloc(n, sizeof(*f->queue));
	for (e = 0; e < f->nedges; e++)
		start[f->edges[e][0] + 1]++;
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	for (e = 0; e < f->nedges; e++) {
		__u64 d = f->edges[e][0];

		f->adj[start[d]++] = f->edges[e][1];
	}
	/* start[d] now holds the end of d's run; shift back. */
	for (i = n; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	f->adj_start = start;
}

/* Mark @from and everything below it reachable. */
static void reach_from(struct fsck *f, __u64 from)
{
	__u64 head = 0, tail = 0;

	f->istate[from] |= IS_REACHED;
	if (!(f->istate[from] & IS_DIR))
		return;
	f->queue[tail++] = from;
	while (head < tail) {
		__u64 d = f->queue[head++], k;

		for (k = f->adj_start[d]; k < f->adj_start[d + 1]; k++) {
			__u64 c = f->adj[k];

			if (f->istate[c] & IS_REACHED)
				continue;
			f->istate[c] |= IS_REACHED;
			if (f->istate[c] & IS_DIR)
				f->queue[tail++] = c;
		}
	}
}

/*
 * Every in-use inode must be reachable from the root or be an orphan.  The
 * tops of unreachable trees (no entry anywhere) go to /lost+found, which
 * makes what hangs below them reachable again; the rest (cycles of
 * directories) are only reported.  Nothing is moved while the root itself
 * is damaged.
 */
static void check_reach(struct fsck *f)
{
	__u64 root = f->g.root_ino, ino;
	const __u8 usable = IS_VALID | IS_DIR | IS_TREE_OK;
	bool root_ok = (f->istate[root] & usable) == usable;
	int round;

	build_adjacency(f);
	if (f->istate[root] & IS_VALID && f->istate[root] & IS_DIR)
		reach_from(f, root);
	for (round = 0; round < 2; round++) {
		for (ino = 1; ino < f->g.ninodes; ino++) {
			__u8 st = f->istate[ino];
			bool top;

			if (!(st & IS_VALID) || st & (IS_REACHED | IS_ORPHANED) ||
			    ino == root)
				continue;
			top = st & IS_DIR ? !f->dparent[ino] : !f->refs[ino];
			/* tops in round 0, what is still unreached in round 1 */
			if (!round != top)
				continue;
			err(f,
			    "inode %llu is not reachable from the root and not on the orphan list",
			    (unsigned long long)ino);
			/* without a sound root everything looks unreachable */
			if (round || !root_ok || !fixing(f, FIX_ASK))
				continue;
			if (!fsck_reconnect(f, ino)) {
				reach_from(f, ino);
				fixed(f, "reconnected it to /lost+found");
				continue;
			}
			/* nothing is lost by freeing an inode without blocks */
			if (le64_to_cpu(f->itable[ino].i_blocks)) {
				if (f->shown)
					printf("%s:   cannot reconnect it: left in place\n",
					       f->path);
				continue;
			}
			fsck_free_inode(f, ino);
			fixed(f, "cannot reconnect it to /lost+found: freed the empty inode %llu",
			      (unsigned long long)ino);
		}
	}
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
		struct refdax_inode *ri = &f->itable[ino];
		__u8 st = f->istate[ino];
		__u32 nlink;
		__u64 want, parent;

		if (!(st & IS_VALID) || st & IS_ORPHANED)
			continue;
		if (!(st & IS_REACHED) && ino != root)
			continue;	/* reported by check_reach() */
		nlink = le32_to_cpu(ri->i_nlink);
		parent = le64_to_cpu(ri->i_parent);
		if (st & IS_DIR) {
			__u64 wantp = ino == root ? root : f->dparent[ino];

			want = 2 + (__u64)f->subdirs[ino];
			if (ino == root && parent != root) {
				err(f, "root directory: parent %llu, should be itself",
				    (unsigned long long)parent);
			} else if (ino != root && wantp && parent != wantp) {
				err(f, "directory %llu: i_parent %llu, but its entry is in %llu",
				    (unsigned long long)ino,
				    (unsigned long long)parent,
				    (unsigned long long)wantp);
			} else {
				wantp = 0;
			}
			if (wantp && fixing(f, FIX_SAFE)) {
				ri->i_parent = cpu_to_le64(wantp);
				refdax_inode_set_csum(ri);
				fixed(f, "set the parent to %llu",
				      (unsigned long long)wantp);
			}
			if (!(st & IS_TREE_OK))
				continue;	/* entries unknown */
		} else {
			want = f->refs[ino];
		}
		if (nlink != want) {
			err(f, "inode %llu: link count %u, should be %llu",
			    (unsigned long long)ino, nlink,
			    (unsigned long long)want);
			if (fixing(f, FIX_SAFE)) {
				ri->i_nlink = cpu_to_le32((__u32)want);
				refdax_inode_set_csum(ri);
				fixed(f, "set the link count to %llu",
				      (unsigned long long)want);
			}
		}
	}
}

/* ---- reference counts ---- */

/* ---- driver ---- */

struct totals {
	__u64 used, shared, inodes;
};

/* One full check (and repair) of everything; -1 if it cannot even start. */
static int run_pass(struct fsck *f, int pass, struct totals *t)
{
	__u64 ino;

	f->errors = 0;
	f->warnings = 0;
	f->fixes = 0;
	f->manual = 0;
	f->shown = 0;
	f->lost_found = 0;
	if (check_super(f) || check_journal(f))
		return -1;
	if (pass == 1) {
		info(f, "%llu blocks, %llu inodes, journal %llu+%llu, inode bitmap %llu+%llu",
		     (unsigned long long)f->g.nblocks,
		     (unsigned long long)f->g.ninodes,
		     (unsigned long long)f->g.journal_start,
		     (unsigned long long)f->g.journal_blocks,
		     (unsigned long long)f->g.ibitmap_start,
		     (unsigned long long)f->g.ibitmap_blocks);
		info(f, "inode table %llu+%llu, free-space bitmap %llu+%llu, data from %llu",
		     (unsigned long long)f->g.itable_start,
		     (unsigned long long)f->g.itable_blocks,
		     (unsigned long long)f->g.fsmap_start,
		     (unsigned long long)f->g.fsmap_blocks,
		     (unsigned long long)f->g.data_start);
		switch (le32_to_cpu(f->sb->s_state)) {
		case REFDAX_STATE_CLEAN:
			break;
		case REFDAX_STATE_DIRTY:
			warn(f, "filesystem was not cleanly unmounted");
			break;
		default:
			warn(f, "the kernel recorded a filesystem error (state %u)",
			     le32_to_cpu(f->sb->s_state));
		}
	}

	bm_init(&f->bm);
	f->istate = xcalloc(f->g.ninodes, 1);
	f->refs = xcalloc(f->g.ninodes, sizeof(*f->refs));
	f->subdirs = xcalloc(f->g.ninodes, sizeof(*f->subdirs));
	f->dparent = xcalloc(f->g.ninodes, sizeof(*f->dparent));
	f->xblocks = xcalloc(f->g.ninodes, sizeof(*f->xblocks));
	f->nedges = 0;
	f->alloc_hint = 0;

	check_inodes(f);
	/* refcount-tree nodes are claimed before any extent tree is walked */
	fsck_refc_walk(f);
	check_trees(f);
	check_orphans(f);
	check_reach(f);
	check_links(f);
	fsck_check_space(f, &t->used, &t->shared);

	t->inodes = 0;
	for (ino = 1; ino < f->g.ninodes; ino++)
		if (f->istate[ino] & IS_INUSE)
			t->inodes++;
	info(f, "%llu data blocks used, %llu shared, %llu free",
	     (unsigned long long)t->used, (unsigned long long)t->shared,
	     (unsigned long long)(f->data_blocks - t->used));

	bm_release(&f->bm);
	fsck_refc_release(f);
	free(f->istate);
	free(f->refs);
	free(f->subdirs);
	free(f->dparent);
	free(f->xblocks);
	f->xblocks = NULL;
	free(f->adj_start);
	free(f->adj);
	free(f->queue);
	f->adj_start = NULL;
	f->adj = NULL;
	f->queue = NULL;
	return 0;
}

/* After a repair run that left no error, the filesystem is clean. */
static unsigned long mark_clean(struct fsck *f)
{
	__u32 state = le32_to_cpu(f->sb->s_state);

	if (state == REFDAX_STATE_CLEAN)
		return 0;
	f->sb->s_state = cpu_to_le32(REFDAX_STATE_CLEAN);
	refdax_super_set_csum(f->sb);
	if (!(state & REFDAX_STATE_ERROR))
		return 0;
	printf("%s: cleared the error state the kernel recorded\n", f->path);
	return 1;
}

static enum fsck_mode parse_args(int argc, char **argv, struct fsck *f)
{
	int c, modes = 0;
	enum fsck_mode mode = MODE_CHECK;
	bool given = false;

	opterr = 0;
	while ((c = getopt(argc, argv, "nfvypah")) != -1) {
		switch (c) {
		case 'n':
			modes |= 1;
			break;
		case 'p':
		case 'a':
			modes |= 2;
			mode = MODE_PREEN;
			break;
		case 'y':
			modes |= 4;
			mode = MODE_YES;
			break;
		case 'f':
			break;
		case 'v':
			f->verbose = 1;
			break;
		case 'h':
			usage(NULL);
			break;
		default:
			usage("unknown option");
		}
	}
	given = modes != 0;
	if (modes & (modes - 1))
		usage("only one of -n, -p/-a and -y may be given");
	if (optind != argc - 1)
		usage(optind >= argc ? "no device given" : "too many arguments");
	f->path = argv[optind];
	if (!given)
		printf("%s: no -p or -y given: checking only, nothing is changed\n",
		       f->path);
	return mode;
}

static int open_device(struct fsck *f)
{
	struct stat st;
	char why[512];
	int fd, rc, flags = O_CLOEXEC;

	if (f->mode == MODE_CHECK)
		flags |= O_RDONLY;
	else
		flags |= O_RDWR;
	fd = open(f->path, flags);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, PROG ": cannot open %s: %s\n", f->path,
			strerror(errno));
		exit(EXIT_OPERROR);
	}
	if (refdax_dev_probe(&f->dev, f->path, fd, &st, why, sizeof(why))) {
		fprintf(stderr, PROG ": %s\n", why);
		exit(EXIT_OPERROR);
	}
	f->dev_bytes = f->dev.bytes;
	if (f->dev_bytes < REFDAX_BLOCK_SIZE) {
		fprintf(stderr, PROG ": %s is too small to hold a refdax filesystem\n",
			f->path);
		exit(EXIT_OPERROR);
	}
	if (refdax_is_mounted(f->path, &st)) {
		if (f->mode != MODE_CHECK) {
			fprintf(stderr, PROG ": %s is mounted: refusing to repair it\n",
				f->path);
			exit(EXIT_OPERROR);
		}
		warn(f, "%s is mounted; results may be inaccurate", f->path);
	}
	/* An exclusive open also fails if the kernel holds the device. */
	if (f->mode != MODE_CHECK && S_ISBLK(st.st_mode)) {
		int xfd = open(f->path, O_RDWR | O_EXCL | O_CLOEXEC);

		if (xfd < 0) {
			fprintf(stderr, PROG ": %s is in use: will not repair it: %s\n",
				f->path, strerror(errno));
			exit(EXIT_OPERROR);
		}
		close(fd);
		fd = xfd;
		f->dev.fd = fd;
	}

	/* read-only when checking, see fsck_map.c */
	f->fd = fd;
	rc = fsck_map_device(f);
	if (rc) {
		fprintf(stderr, PROG ": cannot map %s: %s\n", f->path,
			strerror(-rc));
		exit(EXIT_OPERROR);
	}
	return fd;
}

/* One line naming both versions: there is nothing this fsck can do. */
static void say_other_version(const struct fsck *f)
{
	printf("%s: %s: on-media format version %u; this %s reads version %u only",
	       PROG, f->path, f->other_version, PROG, REFDAX_VERSION);
	printf(" (no converter: re-create with mkfs.refdax)\n");
}

int main(int argc, char **argv)
{
	struct fsck f;
	struct totals t;
	unsigned long total = 0;
	int fd, pass, rc;

	memset(&f, 0, sizeof(f));
	memset(&t, 0, sizeof(t));
	f.mode = parse_args(argc, argv, &f);
	fd = open_device(&f);

	for (pass = 1; ; pass++) {
		rc = run_pass(&f, pass, &t);
		total += f.fixes;
		if (rc || !f.errors || !f.fixes || pass == MAX_PASSES)
			break;
		printf("%s: checking again after %lu repairs\n", f.path,
		       f.fixes);
	}
	if (!rc && !f.errors && f.mode != MODE_CHECK)
		total += mark_clean(&f);

	if (f.mode != MODE_CHECK &&
	    refdax_dev_sync_all(&f.dev, f.map, f.map_bytes)) {
		fprintf(stderr, PROG ": %s: cannot write back the repairs: %s\n",
			f.path, strerror(errno));
		return EXIT_OPERROR;
	}
	fsck_unmap_device(&f);
	close(fd);
	free(f.edges);

	if (rc && f.other_version) {
		say_other_version(&f);
		return EXIT_UNCORRECTED;
	}
	if (rc) {
		printf("%s: superblock unusable, cannot check further\n",
		       f.path);
		printf(PROG ": %s: %lu errors found, not repaired\n", f.path,
		       f.errors);
		return EXIT_UNCORRECTED;
	}
	if (f.errors && f.manual)
		printf("%s: some repairs need a human: run " PROG " -y\n",
		       f.path);
	if (f.errors && f.mode == MODE_CHECK)
		printf(PROG ": %s: %lu errors found, not repaired; ", f.path,
		       f.errors);
	else if (f.errors)
		printf(PROG ": %s: %lu errors left uncorrected; ", f.path,
		       f.errors);
	else if (total)
		printf(PROG ": %s: %lu repairs made, now clean, ", f.path,
		       total);
	else
		printf(PROG ": %s: clean, ", f.path);
	printf("%llu/%llu inodes, %llu/%llu blocks, %llu shared\n",
	       (unsigned long long)t.inodes,
	       (unsigned long long)f.g.ninodes, (unsigned long long)t.used,
	       (unsigned long long)f.data_blocks,
	       (unsigned long long)t.shared);
	if (f.errors)
		return EXIT_UNCORRECTED;
	return total ? EXIT_FIXED : EXIT_CLEAN;
}
