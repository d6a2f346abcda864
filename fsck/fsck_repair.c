// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax repair helpers: directory records, /lost+found, block and
 * inode allocation.  They run after the tree walk, so f->bm holds every
 * reference and claim the filesystem has, and they keep it and the
 * per-inode counts in step with what they change.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "fsck.h"

__u64 fsck_bmap(struct fsck *f, const struct refdax_inode *ri, __u64 lblk)
{
	const struct refdax_bmap_hdr *h = &ri->i_root.br_hdr;
	const void *ents = ri->i_root.br_ext;
	unsigned int depth = le16_to_cpu(h->bh_depth), lvl, i, nr;

	for (lvl = 0; lvl <= REFDAX_BMAP_MAX_DEPTH; lvl++) {
		const struct refdax_bmap_index *idx = ents;
		const struct refdax_bmap_node *bn;
		__u64 child;

		nr = le16_to_cpu(h->bh_nr);
		if (depth == 0) {
			const struct refdax_extent *e = ents;

			for (i = 0; i < nr; i++) {
				__u64 s = le32_to_cpu(e[i].e_lblk);
				__u64 n = le32_to_cpu(e[i].e_len);

				if (lblk >= s && lblk < s + n)
					return le64_to_cpu(e[i].e_pblk) +
					       lblk - s;
			}
			return 0;
		}
		for (i = nr; i > 0; i--)
			if (le32_to_cpu(idx[i - 1].ei_lblk) <= lblk)
				break;
		if (!i)
			return 0;
		child = le64_to_cpu(idx[i - 1].ei_child);
		if (!refdax_data_block_ok(&f->g, child, 1) ||
		    bm_kind(&f->bm, child) != BK_NODE)
			return 0;
		bn = block_ptr(f, child);
		h = &bn->bn_hdr;
		ents = bn + 1;
		depth--;
		if (le16_to_cpu(h->bh_depth) != depth)
			return 0;
	}
	return 0;
}

/* Free the live record at @off, merging it into the one before it. */
void fsck_kill_dirent(__u8 *blk, unsigned int off)
{
	struct refdax_dirent *de = (void *)(blk + off), *pde;
	unsigned int cur = 0, prev = 0;

	while (cur < off) {
		prev = cur;
		pde = (void *)(blk + cur);
		cur += le16_to_cpu(pde->d_reclen);
	}
	if (off == 0 || cur != off) {
		de->d_ino = 0;
		return;
	}
	pde = (void *)(blk + prev);
	pde->d_reclen = cpu_to_le16(le16_to_cpu(pde->d_reclen) +
				    le16_to_cpu(de->d_reclen));
}

static bool dt_known(unsigned int dt)
{
	switch (dt) {
	case REFDAX_DT_UNKNOWN:
	case REFDAX_DT_FIFO:
	case REFDAX_DT_CHR:
	case REFDAX_DT_DIR:
	case REFDAX_DT_BLK:
	case REFDAX_DT_REG:
	case REFDAX_DT_LNK:
	case REFDAX_DT_SOCK:
		return true;
	}
	return false;
}

static bool name_ok(const char *name, unsigned int len)
{
	unsigned int i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return false;
	return !(name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')));
}

int fsck_salvage_dirblock(struct fsck *f, __u8 *blk, bool apply)
{
	unsigned int off = 0, prev = 0, reclen;
	int level = 0;

	/* The chain of records first: cut it at the first bad record. */
	while (off < REFDAX_BLOCK_SIZE) {
		struct refdax_dirent *de = (void *)(blk + off);

		reclen = REFDAX_BLOCK_SIZE - off < REFDAX_DIRENT_HDR ? 0 :
			 le16_to_cpu(de->d_reclen);
		if (reclen && reclen % REFDAX_DIRENT_ALIGN == 0 &&
		    reclen >= REFDAX_DIRENT_LEN(de->d_namelen) &&
		    reclen <= REFDAX_BLOCK_SIZE - off) {
			prev = off;
			off += reclen;
			continue;
		}
		if (!apply)
			return SALVAGE_BLOCK;
		level = SALVAGE_BLOCK;
		if (off == 0) {
			memset(blk, 0, REFDAX_BLOCK_SIZE);
			de->d_reclen = cpu_to_le16(REFDAX_BLOCK_SIZE);
		} else {
			de = (void *)(blk + prev);
			de->d_reclen = cpu_to_le16(REFDAX_BLOCK_SIZE - prev);
		}
		break;
	}

	for (off = 0; off < REFDAX_BLOCK_SIZE; off += reclen) {
		struct refdax_dirent *de = (void *)(blk + off);
		const char *name = (const char *)blk + off + REFDAX_DIRENT_HDR;
		__u32 hash;

		reclen = le16_to_cpu(de->d_reclen);
		if (!de->d_ino)
			continue;
		if (!name_ok(name, de->d_namelen) || !dt_known(de->d_type) ||
		    le64_to_cpu(de->d_ino) >= f->g.ninodes) {
			if (level < SALVAGE_ENTRIES)
				level = SALVAGE_ENTRIES;
			if (apply)
				fsck_kill_dirent(blk, off);
			continue;
		}
		hash = refdax_name_hash(name, de->d_namelen);
		if (le32_to_cpu(de->d_hash) != hash) {
			if (level < SALVAGE_HASHES)
				level = SALVAGE_HASHES;
			if (apply)
				de->d_hash = cpu_to_le32(hash);
		}
	}
	return level;
}

static void touch(struct refdax_inode *ri)
{
	__u64 now = (__u64)time(NULL);

	ri->i_mtime = cpu_to_le64(now);
	ri->i_ctime = cpu_to_le64(now);
	ri->i_mtime_ns = 0;
	ri->i_ctime_ns = 0;
}

__u64 fsck_dir_lookup(struct fsck *f, __u64 dir, const char *name)
{
	const struct refdax_inode *ri = &f->itable[dir];
	__u64 nblk = le64_to_cpu(ri->i_size) / REFDAX_BLOCK_SIZE, l;
	size_t len = strlen(name);
	const char *why;

	for (l = 0; l < nblk; l++) {
		__u64 pblk = fsck_bmap(f, ri, l);
		const __u8 *blk;
		unsigned int off;

		if (!pblk)
			continue;
		blk = block_ptr(f, pblk);
		if (refdax_check_dirblock(&f->g, blk, &why))
			continue;
		for (off = 0; off < REFDAX_BLOCK_SIZE;) {
			const struct refdax_dirent *de = (const void *)(blk + off);

			if (de->d_ino && de->d_namelen == len &&
			    !memcmp(blk + off + REFDAX_DIRENT_HDR, name, len))
				return le64_to_cpu(de->d_ino);
			off += le16_to_cpu(de->d_reclen);
		}
	}
	return 0;
}

/* Put a record in @blk if it has room: a free record or a live one's slack. */
static int place(__u8 *blk, const char *name, unsigned int len, __u64 ino,
		 unsigned int dt)
{
	unsigned int need = REFDAX_DIRENT_LEN(len), off = 0, reclen, keep;

	while (off < REFDAX_BLOCK_SIZE) {
		struct refdax_dirent *de = (void *)(blk + off);

		reclen = le16_to_cpu(de->d_reclen);
		keep = de->d_ino ? REFDAX_DIRENT_LEN(de->d_namelen) : 0;
		if (reclen - keep < need) {
			off += reclen;
			continue;
		}
		if (keep) {
			de->d_reclen = cpu_to_le16(keep);
			de = (void *)(blk + off + keep);
			de->d_reclen = cpu_to_le16(reclen - keep);
		}
		de->d_ino = cpu_to_le64(ino);
		de->d_namelen = (__u8)len;
		de->d_type = (__u8)dt;
		de->d_hash = cpu_to_le32(refdax_name_hash(name, len));
		memcpy(de->d_name, name, len);
		memset(de->d_name + len, 0, need - REFDAX_DIRENT_HDR - len);
		return 0;
	}
	return -1;
}

/* A free data block, searching on from the last one taken; 0 if none. */
__u64 fsck_find_free_block(struct fsck *f)
{
	__u64 b;

	if (!bm_find_free(&f->bm, f->g.data_start, f->g.nblocks,
			  f->g.data_start + f->alloc_hint, &b))
		return 0;
	f->alloc_hint = b - f->g.data_start + 1;
	return b;
}

/* Free block @b, zeroed, becomes a block of directory @dir. */
static void take_block(struct fsck *f, __u64 b, __u64 dir)
{
	bm_take(&f->bm, b, BK_EXCL, dir);
	refdax_fsmap_set(f->fsmap, b - f->g.data_start);
	memset(block_ptr(f, b), 0, REFDAX_BLOCK_SIZE);
}

/* Map one more (empty) block at the end of directory @dir. */
static __u64 grow_dir(struct fsck *f, __u64 dir)
{
	struct refdax_inode *ri = &f->itable[dir];
	struct refdax_bmap_root *root = &ri->i_root;
	unsigned int nr = le16_to_cpu(root->br_hdr.bh_nr);
	__u64 lblk = le64_to_cpu(ri->i_size) / REFDAX_BLOCK_SIZE, b, end = 0;
	struct refdax_extent *last = nr ? &root->br_ext[nr - 1] : NULL;
	struct refdax_dirent *de;
	bool grow, contiguous;

	if (le16_to_cpu(root->br_hdr.bh_depth) || lblk >= REFDAX_MAX_LBLK)
		return 0;
	if (last)
		end = le32_to_cpu(last->e_lblk) + le32_to_cpu(last->e_len);
	if (end > lblk)
		return 0;
	grow = last && end == lblk &&
	       le32_to_cpu(last->e_len) < REFDAX_EXT_MAX_LEN;
	if (!grow && nr >= REFDAX_BMAP_ROOT_MAX)
		return 0;
	b = fsck_find_free_block(f);
	if (!b)
		return 0;
	contiguous = grow &&
		     le64_to_cpu(last->e_pblk) + le32_to_cpu(last->e_len) == b;
	/* a full root can only grow its last extent */
	if (!contiguous && nr >= REFDAX_BMAP_ROOT_MAX)
		return 0;
	take_block(f, b, dir);
	if (contiguous) {
		last->e_len = cpu_to_le32(le32_to_cpu(last->e_len) + 1);
	} else {
		root->br_ext[nr].e_lblk = cpu_to_le32((__u32)lblk);
		root->br_ext[nr].e_len = cpu_to_le32(1);
		root->br_ext[nr].e_pblk = cpu_to_le64(b);
		root->br_hdr.bh_nr = cpu_to_le16(nr + 1);
	}
	de = block_ptr(f, b);
	de->d_reclen = cpu_to_le16(REFDAX_BLOCK_SIZE);
	ri->i_size = cpu_to_le64((lblk + 1) * REFDAX_BLOCK_SIZE);
	ri->i_blocks = cpu_to_le64(le64_to_cpu(ri->i_blocks) + 1);
	return b;
}

int fsck_dir_add(struct fsck *f, __u64 dir, const char *name, __u64 ino,
		 unsigned int dt)
{
	struct refdax_inode *ri = &f->itable[dir];
	__u64 nblk = le64_to_cpu(ri->i_size) / REFDAX_BLOCK_SIZE, l, pblk;
	unsigned int len = (unsigned int)strlen(name);
	const char *why;

	for (l = 0; l < nblk; l++) {
		pblk = fsck_bmap(f, ri, l);
		if (!pblk || refdax_check_dirblock(&f->g, block_ptr(f, pblk),
						   &why))
			continue;
		if (!place(block_ptr(f, pblk), name, len, ino, dt))
			goto done;
	}
	pblk = grow_dir(f, dir);
	if (!pblk || place(block_ptr(f, pblk), name, len, ino, dt))
		return -1;
done:
	touch(ri);
	refdax_inode_set_csum(ri);
	return 0;
}

static __u64 alloc_inode(struct fsck *f)
{
	__u64 ino;

	for (ino = 2; ino < f->g.ninodes; ino++)
		if (!bit_set(f->ibitmap, ino) && !f->istate[ino] &&
		    !f->itable[ino].i_mode)
			return ino;
	return 0;
}

void fsck_free_inode(struct fsck *f, __u64 ino)
{
	memset(&f->itable[ino], 0, sizeof(f->itable[ino]));
	clear_bit_le(f->ibitmap, ino);
	f->istate[ino] = 0;
}

/* The inode of /lost+found, created if missing; 0 if there is none. */
static __u64 lost_found(struct fsck *f)
{
	__u64 root = f->g.root_ino, ino;
	struct refdax_inode *ri;
	const __u8 need = IS_DIR | IS_TREE_OK | IS_REACHED;

	if (f->lost_found)
		return f->lost_found == ~0ULL ? 0 : f->lost_found;
	f->lost_found = ~0ULL;
	if ((f->istate[root] & need) != need)
		return 0;
	ino = fsck_dir_lookup(f, root, "lost+found");
	if (ino) {
		if ((f->istate[ino] & need) != need ||
		    f->istate[ino] & IS_ORPHANED) {
			printf("%s:   /lost+found is not a usable directory\n",
			       f->path);
			return 0;
		}
		f->lost_found = ino;
		return ino;
	}
	ino = alloc_inode(f);
	if (!ino) {
		printf("%s:   no free inode for /lost+found\n", f->path);
		return 0;
	}
	ri = &f->itable[ino];
	memset(ri, 0, sizeof(*ri));
	ri->i_mode = cpu_to_le16(S_IFDIR | 0700);
	ri->i_nlink = cpu_to_le32(2);
	ri->i_generation = cpu_to_le32((__u32)time(NULL));
	touch(ri);
	ri->i_atime = ri->i_mtime;
	ri->i_crtime = ri->i_mtime;
	ri->i_parent = cpu_to_le64(root);
	ri->i_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	ri->i_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	refdax_inode_set_csum(ri);
	set_bit_le(f->ibitmap, ino);
	if (fsck_dir_add(f, root, "lost+found", ino, REFDAX_DT_DIR)) {
		printf("%s:   no room in the root directory for lost+found\n",
		       f->path);
		fsck_free_inode(f, ino);
		return 0;
	}
	f->istate[ino] = IS_INUSE | IS_VALID | IS_DIR | IS_TREE_OK |
			 IS_REACHED;
	f->refs[ino] = 1;
	f->dparent[ino] = root;
	f->subdirs[root]++;
	ri = &f->itable[root];
	ri->i_nlink = cpu_to_le32(le32_to_cpu(ri->i_nlink) + 1);
	refdax_inode_set_csum(ri);
	printf("%s:   created /lost+found (inode %llu)\n", f->path,
	       (unsigned long long)ino);
	f->lost_found = ino;
	return ino;
}

/*
 * Give inode @ino a name in /lost+found: "#ino".  Its link count is left to
 * the link-count check; a directory's parent and its new parent's link
 * count are set here.
 */
int fsck_reconnect(struct fsck *f, __u64 ino)
{
	__u64 lf = lost_found(f);
	struct refdax_inode *ri = &f->itable[ino];
	char name[40];
	unsigned int i;

	if (!lf)
		return -1;
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino);
	for (i = 1; fsck_dir_lookup(f, lf, name) && i < 100; i++)
		snprintf(name, sizeof(name), "#%llu.%u",
			 (unsigned long long)ino, i);
	if (fsck_dir_add(f, lf, name, ino,
			 mode_to_dt(le16_to_cpu(ri->i_mode))))
		return -1;
	f->refs[ino]++;
	if (f->istate[ino] & IS_DIR) {
		struct refdax_inode *lri = &f->itable[lf];

		f->subdirs[lf]++;
		f->dparent[ino] = lf;
		ri->i_parent = cpu_to_le64(lf);
		refdax_inode_set_csum(ri);
		lri->i_nlink = cpu_to_le32(le32_to_cpu(lri->i_nlink) + 1);
		refdax_inode_set_csum(lri);
	}
	return 0;
}
