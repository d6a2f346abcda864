// SPDX-License-Identifier: GPL-2.0
/*
 * Directory contents: the media records, readdir and the in-memory index.
 *
 * A directory's blocks are tiled by struct refdax_dirent records that never
 * move, so a record's byte offset in the directory is a stable readdir
 * cookie.  Names are found through an rbtree keyed by (hash, position) that
 * is built on first use by one validated scan of every block; the name bytes
 * themselves are only kept on media and compared there.  Per block, the index
 * also caches the physical block, and a max-tree over the largest record
 * each block can still take finds room for an insert in O(log n).
 *
 * The index is changed together with the media, under dir_lock, inside the
 * caller's transaction, which the directory joins with dir_cancel(): an
 * abort drops the index, and it is rebuilt from the restored media.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include "refdax.h"

/*
 * Positions are kept in 8-byte units in 32 bits, which caps a directory at
 * 32 GiB (hundreds of millions of names); larger sizes are corrupt.
 */
#define RDX_DIR_MAX_BLOCKS	(1U << (32 + 3 - REFDAX_BLOCK_SHIFT))

/* One live name: where its record is, and the record's hash. */
struct rdx_dname {
	struct rb_node node;
	u32 hash;
	u32 pos8;		/* byte offset in the directory / 8 */
};

/*
 * room[] is a max-tree: room[cap + b] is the largest record block b can
 * take, room[i] the maximum of room[2i] and room[2i + 1].
 */
struct refdax_dir_index {
	struct rb_root names;
	u64 *pblk;		/* cached map: directory blocks never move */
	u16 *room;		/* 2 * cap entries */
	u32 nblocks;		/* blocks in the directory */
	u32 cap;		/* power of two, >= nblocks */
	u64 nr_live;		/* live records */
};

static_assert(REFDAX_DT_FIFO == DT_FIFO && REFDAX_DT_CHR == DT_CHR &&
	      REFDAX_DT_DIR == DT_DIR && REFDAX_DT_BLK == DT_BLK &&
	      REFDAX_DT_REG == DT_REG && REFDAX_DT_LNK == DT_LNK &&
	      REFDAX_DT_SOCK == DT_SOCK);
static_assert(REFDAX_BLOCK_SIZE <= U16_MAX);

static u8 rdx_dt_type(umode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return REFDAX_DT_REG;
	case S_IFDIR:
		return REFDAX_DT_DIR;
	case S_IFLNK:
		return REFDAX_DT_LNK;
	case S_IFCHR:
		return REFDAX_DT_CHR;
	case S_IFBLK:
		return REFDAX_DT_BLK;
	case S_IFIFO:
		return REFDAX_DT_FIFO;
	case S_IFSOCK:
		return REFDAX_DT_SOCK;
	}
	return REFDAX_DT_UNKNOWN;
}

static inline struct refdax_dirent *rdx_rec(void *base, unsigned int off)
{
	return (struct refdax_dirent *)((u8 *)base + off);
}

/* Bytes a new record could take from @de without moving anything. */
static unsigned int rdx_rec_room(const struct refdax_dirent *de)
{
	unsigned int reclen = le16_to_cpu(de->d_reclen);

	if (!de->d_ino)
		return reclen;
	return reclen - REFDAX_DIRENT_LEN(de->d_namelen);
}

/*
 * Length of the record at @off, or 0 if it is not a sane record.  Blocks are
 * validated when the index is built; these checks keep a later stray write
 * from turning into an out-of-block access.
 */
static unsigned int rdx_reclen(void *base, unsigned int off)
{
	struct refdax_dirent *de = rdx_rec(base, off);
	unsigned int reclen;

	if (off > REFDAX_BLOCK_SIZE - REFDAX_DIRENT_HDR)
		return 0;
	reclen = le16_to_cpu(de->d_reclen);
	if (reclen < REFDAX_DIRENT_LEN(de->d_namelen) ||
	    reclen % REFDAX_DIRENT_ALIGN || reclen > REFDAX_BLOCK_SIZE - off)
		return 0;
	return reclen;
}

static int rdx_corrupt(struct inode *dir, u64 lblk, const char *why)
{
	refdax_error(dir->i_sb, "directory %llu block %llu: %s", (u64)dir->i_ino,
		     lblk, why);
	return -EUCLEAN;
}

/* Largest insertable record of a block; 0 if the block is damaged. */
static u16 rdx_block_room(void *base)
{
	unsigned int off = 0, room = 0, reclen;

	while (off < REFDAX_BLOCK_SIZE) {
		reclen = rdx_reclen(base, off);
		if (!reclen)
			return 0;
		room = max(room, rdx_rec_room(rdx_rec(base, off)));
		off += reclen;
	}
	return room;
}

static void *rdx_iblock(struct refdax_sb_info *sbi,
			struct refdax_dir_index *idx, u32 lblk)
{
	return rdx_block(sbi, idx->pblk[lblk]);
}

/* ---- free space: the max-tree ---- */

static void rdx_room_update(struct refdax_dir_index *idx, u32 lblk, u16 room)
{
	u32 i = idx->cap + lblk;

	idx->room[i] = room;
	for (i /= 2; i; i /= 2)
		idx->room[i] = max(idx->room[2 * i], idx->room[2 * i + 1]);
}

static void rdx_set_room(struct refdax_sb_info *sbi,
			 struct refdax_dir_index *idx, u32 lblk)
{
	rdx_room_update(idx, lblk, rdx_block_room(rdx_iblock(sbi, idx, lblk)));
}

/* Lowest block with room for @need bytes, or -1. */
static s64 rdx_room_find(struct refdax_dir_index *idx, unsigned int need)
{
	u32 i = 1;

	if (!idx->cap || idx->room[1] < need)
		return -1;
	while (i < idx->cap)
		i = idx->room[2 * i] >= need ? 2 * i : 2 * i + 1;
	return i - idx->cap;
}

/* ---- the name tree ---- */

static bool rdx_key_less(u32 hash, u32 pos8, const struct rdx_dname *n)
{
	return hash < n->hash || (hash == n->hash && pos8 < n->pos8);
}

static void rdx_name_insert(struct refdax_dir_index *idx, struct rdx_dname *dn)
{
	struct rb_node **link = &idx->names.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (rdx_key_less(dn->hash, dn->pos8,
				 rb_entry(parent, struct rdx_dname, node)))
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&dn->node, parent, link);
	rb_insert_color(&dn->node, &idx->names);
	idx->nr_live++;
}

static struct refdax_dirent *rdx_pos_rec(struct refdax_sb_info *sbi,
					 struct refdax_dir_index *idx, u64 pos)
{
	u64 lblk = pos >> REFDAX_BLOCK_SHIFT;

	if (lblk >= idx->nblocks)
		return NULL;
	return rdx_rec(rdx_iblock(sbi, idx, lblk),
		       pos & (REFDAX_BLOCK_SIZE - 1));
}

static bool rdx_name_eq(struct refdax_dirent *de, u64 pos,
			const struct qstr *name)
{
	unsigned int off = pos & (REFDAX_BLOCK_SIZE - 1);

	return de && de->d_ino && de->d_namelen == name->len &&
	       off + REFDAX_DIRENT_HDR + name->len <= REFDAX_BLOCK_SIZE &&
	       !memcmp(de->d_name, name->name, name->len);
}

/* The index node of @name, or NULL.  Collisions are walked in order. */
static struct rdx_dname *rdx_name_find(struct refdax_sb_info *sbi,
				       struct refdax_dir_index *idx,
				       const struct qstr *name, u32 hash)
{
	struct rb_node *rb = idx->names.rb_node, *first = NULL;
	struct rdx_dname *dn;

	/* Leftmost node with this hash. */
	while (rb) {
		dn = rb_entry(rb, struct rdx_dname, node);
		if (hash <= dn->hash) {
			if (hash == dn->hash)
				first = rb;
			rb = rb->rb_left;
		} else {
			rb = rb->rb_right;
		}
	}
	for (rb = first; rb; rb = rb_next(rb)) {
		u64 pos;

		dn = rb_entry(rb, struct rdx_dname, node);
		if (dn->hash != hash)
			break;
		pos = (u64)dn->pos8 << 3;
		if (rdx_name_eq(rdx_pos_rec(sbi, idx, pos), pos, name))
			return dn;
	}
	return NULL;
}

/* ---- building and dropping the index ---- */

static void rdx_index_destroy(struct refdax_dir_index *idx)
{
	struct rdx_dname *dn, *tmp;

	if (!idx)
		return;
	rbtree_postorder_for_each_entry_safe(dn, tmp, &idx->names, node)
		kfree(dn);
	kvfree(idx->pblk);
	kvfree(idx->room);
	kfree(idx);
}

/*
 * Size the per-block arrays for @want blocks (capacity doubles, so growth
 * is amortised O(1)); done before any media change, so it cannot fail after.
 */
static int rdx_index_reserve(struct refdax_dir_index *idx, u32 want)
{
	u32 cap = 8, i;
	u16 *room;
	u64 *pblk;

	if (want <= idx->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	pblk = kvmalloc_array(cap, sizeof(*pblk), GFP_NOFS);
	room = kvcalloc(2 * cap, sizeof(*room), GFP_NOFS);
	if (!pblk || !room) {
		kvfree(pblk);
		kvfree(room);
		return -ENOMEM;
	}
	if (idx->nblocks) {
		memcpy(pblk, idx->pblk, idx->nblocks * sizeof(*pblk));
		memcpy(room + cap, idx->room + idx->cap,
		       idx->nblocks * sizeof(*room));
	}
	for (i = cap - 1; i; i--)
		room[i] = max(room[2 * i], room[2 * i + 1]);
	kvfree(idx->pblk);
	kvfree(idx->room);
	idx->pblk = pblk;
	idx->room = room;
	idx->cap = cap;
	return 0;
}

/* Index every live record of one validated block. */
static int rdx_index_block(struct refdax_dir_index *idx, void *base, u32 lblk)
{
	unsigned int off = 0, reclen;
	struct refdax_dirent *de;
	struct rdx_dname *dn;

	for (; off < REFDAX_BLOCK_SIZE; off += reclen) {
		de = rdx_rec(base, off);
		reclen = le16_to_cpu(de->d_reclen);
		if (!de->d_ino)
			continue;
		dn = kmalloc(sizeof(*dn), GFP_NOFS);
		if (!dn)
			return -ENOMEM;
		dn->hash = le32_to_cpu(de->d_hash);
		dn->pos8 = (((u64)lblk << REFDAX_BLOCK_SHIFT) + off) >> 3;
		rdx_name_insert(idx, dn);
	}
	return 0;
}

/* Map, validate and index blocks [lblk, lblk + run) starting at @pblk. */
static int rdx_index_run(struct inode *dir, struct refdax_dir_index *idx,
			 u32 lblk, u64 pblk, u32 run)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	const char *why = "bad block";
	u32 i;
	int err;

	if (!refdax_data_block_ok(&sbi->geom, pblk, run))
		return rdx_corrupt(dir, lblk, "block outside the data area");
	for (i = 0; i < run; i++, lblk++, pblk++) {
		void *base = rdx_block(sbi, pblk);

		if (refdax_check_dirblock(&sbi->geom, base, &why))
			return rdx_corrupt(dir, lblk, why);
		idx->pblk[lblk] = pblk;
		rdx_room_update(idx, lblk, rdx_block_room(base));
		idx->nblocks = lblk + 1;
		err = rdx_index_block(idx, base, lblk);
		if (err)
			return err;
		cond_resched();
	}
	return 0;
}

static int rdx_index_scan(struct inode *dir, struct refdax_dir_index *idx)
{
	loff_t size = i_size_read(dir);
	u64 nblocks = (u64)size >> REFDAX_BLOCK_SHIFT;
	u64 pblk, len;
	u32 lblk = 0;
	int err;

	if (size < 0 || size & (REFDAX_BLOCK_SIZE - 1) ||
	    nblocks > RDX_DIR_MAX_BLOCKS)
		return rdx_corrupt(dir, 0, "bad directory size");
	err = rdx_index_reserve(idx, nblocks);
	if (err)
		return err;
	while (lblk < nblocks) {
		down_read(&RDX_I(dir)->bmap_sem);
		err = refdax_bmap_lookup(dir, lblk, &pblk, &len);
		up_read(&RDX_I(dir)->bmap_sem);
		if (err < 0)
			return err;
		if (err)
			return rdx_corrupt(dir, lblk, "hole in directory");
		len = min_t(u64, len, nblocks - lblk);
		err = rdx_index_run(dir, idx, lblk, pblk, len);
		if (err)
			return err;
		lblk += len;
	}
	return 0;
}

/* The directory's index, built on first use.  Called with dir_lock held. */
static struct refdax_dir_index *rdx_index(struct inode *dir)
{
	struct refdax_inode_info *ri = RDX_I(dir);
	struct refdax_dir_index *idx = ri->dir;
	int err;

	lockdep_assert_held(&ri->dir_lock);
	if (idx)
		return idx;
	idx = kzalloc(sizeof(*idx), GFP_NOFS);
	if (!idx)
		return ERR_PTR(-ENOMEM);
	idx->names = RB_ROOT;
	err = rdx_index_scan(dir, idx);
	if (err) {
		rdx_index_destroy(idx);
		return ERR_PTR(err);
	}
	ri->dir = idx;
	return idx;
}

void refdax_dir_index_free(struct refdax_inode_info *ri)
{
	rdx_index_destroy(ri->dir);
	ri->dir = NULL;
}

/*
 * A transaction the directory took part in was aborted: the media records
 * are back as they were, so the index built over the changed ones goes.
 * (The transaction itself put back the directory's size and block count.)
 */
static void dir_cancel(struct inode *dir)
{
	struct refdax_inode_info *ri = RDX_I(dir);

	mutex_lock(&ri->dir_lock);
	refdax_dir_index_free(ri);
	mutex_unlock(&ri->dir_lock);
}

/* ---- lookups ---- */

/* With dir_lock held: the index entry of @name, or ERR_PTR (-ENOENT...). */
static struct rdx_dname *rdx_lookup(struct inode *dir, const struct qstr *name,
				    struct refdax_dir_index **idxp)
{
	struct refdax_dir_index *idx = rdx_index(dir);
	struct rdx_dname *dn;

	if (IS_ERR(idx))
		return ERR_CAST(idx);
	dn = rdx_name_find(RDX_SB(dir->i_sb), idx, name,
			   refdax_name_hash(name->name, name->len));
	*idxp = idx;
	return dn ? dn : ERR_PTR(-ENOENT);
}

int refdax_dir_find(struct inode *dir, const struct qstr *name, u64 *ino,
		    u64 *pos)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	struct refdax_inode_info *ri = RDX_I(dir);
	struct refdax_dir_index *idx;
	struct rdx_dname *dn;
	int err = 0;

	if (name->len > REFDAX_NAME_LEN)
		return -ENAMETOOLONG;
	mutex_lock(&ri->dir_lock);
	dn = rdx_lookup(dir, name, &idx);
	if (IS_ERR(dn)) {
		err = PTR_ERR(dn);
	} else {
		u64 p = (u64)dn->pos8 << 3;

		*ino = le64_to_cpu(rdx_pos_rec(sbi, idx, p)->d_ino);
		if (pos)
			*pos = p;
	}
	mutex_unlock(&ri->dir_lock);
	return err;
}

bool refdax_dir_empty(struct inode *dir)
{
	struct refdax_inode_info *ri = RDX_I(dir);
	struct refdax_dir_index *idx;
	bool empty;

	mutex_lock(&ri->dir_lock);
	idx = rdx_index(dir);
	/* A directory we cannot read is never "empty": rmdir must fail. */
	empty = !IS_ERR(idx) && !idx->nr_live;
	mutex_unlock(&ri->dir_lock);
	return empty;
}

/* ---- changes, inside the caller's transaction ---- */

/* Append one block holding a single free record; returns its number. */
static int rdx_grow(struct refdax_trans *tp, struct inode *dir,
		    struct refdax_dir_index *idx, u32 *lblkp)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	struct refdax_inode_info *ri = RDX_I(dir);
	u32 lblk = idx->nblocks;
	struct refdax_dirent *de;
	u64 pblk, len;
	int err;

	if (lblk + 1 > RDX_DIR_MAX_BLOCKS)
		return -ENOSPC;
	err = rdx_index_reserve(idx, lblk + 1);
	if (err)
		return err;
	down_write(&ri->bmap_sem);
	err = refdax_bmap_alloc_range(tp, dir, lblk, 1, NULL);
	if (!err)
		err = refdax_bmap_lookup(dir, lblk, &pblk, &len);
	up_write(&ri->bmap_sem);
	if (err)
		return err < 0 ? err : -EIO;

	/* The block arrives zeroed and flushed: only the header changes. */
	de = rdx_block(sbi, pblk);
	err = refdax_trans_log(tp, de, REFDAX_DIRENT_HDR);
	if (err)
		return err;
	de->d_ino = 0;
	de->d_reclen = cpu_to_le16(REFDAX_BLOCK_SIZE);
	de->d_namelen = 0;
	de->d_type = REFDAX_DT_UNKNOWN;
	de->d_hash = 0;

	idx->pblk[lblk] = pblk;
	rdx_room_update(idx, lblk, REFDAX_BLOCK_SIZE);
	idx->nblocks = lblk + 1;
	i_size_write(dir, (loff_t)idx->nblocks << REFDAX_BLOCK_SHIFT);
	*lblkp = lblk;
	return 0;
}

/* First block with room for a @need byte record, growing if none has. */
static int rdx_find_room(struct refdax_trans *tp, struct inode *dir,
			 struct refdax_dir_index *idx, unsigned int need,
			 u32 *lblkp)
{
	s64 b = rdx_room_find(idx, need);

	if (b < 0)
		return rdx_grow(tp, dir, idx, lblkp);
	*lblkp = b;
	return 0;
}

static void rdx_fill_rec(struct refdax_dirent *de, const struct qstr *name,
			 u32 hash, u64 ino, umode_t mode)
{
	unsigned int len = REFDAX_DIRENT_LEN(name->len);

	de->d_ino = cpu_to_le64(ino);
	de->d_namelen = name->len;
	de->d_type = rdx_dt_type(mode);
	de->d_hash = cpu_to_le32(hash);
	memcpy(de->d_name, name->name, name->len);
	memset(de->d_name + name->len, 0,
	       len - REFDAX_DIRENT_HDR - name->len);
}

/*
 * Write a record for @name into block @lblk, which has room for it: reuse
 * a free record whole, or split the slack off a live one.  Returns the
 * record's offset in the block.
 */
static int rdx_place(struct refdax_trans *tp, struct inode *dir,
		     struct refdax_dir_index *idx, u32 lblk,
		     const struct qstr *name, u32 hash, u64 ino, umode_t mode)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	unsigned int need = REFDAX_DIRENT_LEN(name->len);
	void *base = rdx_iblock(sbi, idx, lblk);
	unsigned int off = 0, reclen, keep;
	struct refdax_dirent *de, *nde;
	int err;

	for (; off < REFDAX_BLOCK_SIZE; off += reclen) {
		reclen = rdx_reclen(base, off);
		if (!reclen)
			return rdx_corrupt(dir, lblk, "bad record length");
		if (rdx_rec_room(rdx_rec(base, off)) >= need)
			break;
	}
	if (off >= REFDAX_BLOCK_SIZE)
		return rdx_corrupt(dir, lblk, "free space index is stale");

	de = rdx_rec(base, off);
	if (!de->d_ino) {
		err = refdax_trans_log(tp, de, need);
		if (err)
			return err;
		rdx_fill_rec(de, name, hash, ino, mode);
		return off;
	}
	keep = REFDAX_DIRENT_LEN(de->d_namelen);
	nde = rdx_rec(base, off + keep);
	err = refdax_trans_log(tp, &de->d_reclen, sizeof(de->d_reclen));
	if (!err)
		err = refdax_trans_log(tp, nde, need);
	if (err)
		return err;
	de->d_reclen = cpu_to_le16(keep);
	nde->d_reclen = cpu_to_le16(reclen - keep);
	rdx_fill_rec(nde, name, hash, ino, mode);
	return off + keep;
}

int refdax_dir_add(struct refdax_trans *tp, struct inode *dir,
		   const struct qstr *name, u64 ino, umode_t mode)
{
	struct refdax_inode_info *ri = RDX_I(dir);
	u32 hash = refdax_name_hash(name->name, name->len);
	struct refdax_dir_index *idx;
	struct rdx_dname *dn;
	u32 lblk;
	int off;

	if (name->len > REFDAX_NAME_LEN)
		return -ENAMETOOLONG;
	if (!name->len)
		return -EINVAL;
	/* Allocated first so nothing can fail after the media changed. */
	dn = kmalloc(sizeof(*dn), GFP_NOFS);
	if (!dn)
		return -ENOMEM;
	refdax_trans_ijoin(tp, dir, dir_cancel);
	mutex_lock(&ri->dir_lock);
	idx = rdx_index(dir);
	if (IS_ERR(idx)) {
		off = PTR_ERR(idx);
		goto fail;
	}
	off = rdx_find_room(tp, dir, idx, REFDAX_DIRENT_LEN(name->len), &lblk);
	if (off)
		goto fail;
	off = rdx_place(tp, dir, idx, lblk, name, hash, ino, mode);
	if (off < 0)
		goto fail;
	dn->hash = hash;
	dn->pos8 = (((u64)lblk << REFDAX_BLOCK_SHIFT) + off) >> 3;
	rdx_name_insert(idx, dn);
	rdx_set_room(RDX_SB(dir->i_sb), idx, lblk);
	mutex_unlock(&ri->dir_lock);
	return 0;
fail:
	mutex_unlock(&ri->dir_lock);
	kfree(dn);
	return off;
}

/* Free the record at @off of block @lblk, merging it into its predecessor. */
static int rdx_kill_rec(struct refdax_trans *tp, struct inode *dir,
			struct refdax_dir_index *idx, u32 lblk,
			unsigned int off)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	void *base = rdx_iblock(sbi, idx, lblk);
	unsigned int prev = 0, cur = 0, reclen;
	struct refdax_dirent *de = rdx_rec(base, off), *pde;
	int err;

	while (cur < off) {
		reclen = rdx_reclen(base, cur);
		if (!reclen)
			return rdx_corrupt(dir, lblk, "bad record length");
		prev = cur;
		cur += reclen;
	}
	reclen = rdx_reclen(base, off);
	if (cur != off || !reclen)
		return rdx_corrupt(dir, lblk, "record not on the chain");

	if (off == 0) {
		err = refdax_trans_log(tp, &de->d_ino, sizeof(de->d_ino));
		if (err)
			return err;
		de->d_ino = 0;
		return 0;
	}
	pde = rdx_rec(base, prev);
	err = refdax_trans_log(tp, &pde->d_reclen, sizeof(pde->d_reclen));
	if (err)
		return err;
	pde->d_reclen = cpu_to_le16(le16_to_cpu(pde->d_reclen) + reclen);
	return 0;
}

int refdax_dir_remove(struct refdax_trans *tp, struct inode *dir,
		      const struct qstr *name)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	struct refdax_inode_info *ri = RDX_I(dir);
	struct refdax_dir_index *idx;
	struct rdx_dname *dn;
	u64 pos;
	int err;

	refdax_trans_ijoin(tp, dir, dir_cancel);
	mutex_lock(&ri->dir_lock);
	dn = rdx_lookup(dir, name, &idx);
	if (IS_ERR(dn)) {
		err = PTR_ERR(dn);
		goto out;
	}
	pos = (u64)dn->pos8 << 3;
	err = rdx_kill_rec(tp, dir, idx, pos >> REFDAX_BLOCK_SHIFT,
			   pos & (REFDAX_BLOCK_SIZE - 1));
	if (err)
		goto out;
	rb_erase(&dn->node, &idx->names);
	kfree(dn);
	idx->nr_live--;
	rdx_set_room(sbi, idx, pos >> REFDAX_BLOCK_SHIFT);
out:
	mutex_unlock(&ri->dir_lock);
	return err;
}

int refdax_dir_retarget(struct refdax_trans *tp, struct inode *dir,
			const struct qstr *name, u64 ino, umode_t mode)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	struct refdax_inode_info *ri = RDX_I(dir);
	struct refdax_dir_index *idx;
	struct refdax_dirent *de;
	struct rdx_dname *dn;
	int err;

	refdax_trans_ijoin(tp, dir, dir_cancel);
	mutex_lock(&ri->dir_lock);
	dn = rdx_lookup(dir, name, &idx);
	if (IS_ERR(dn)) {
		err = PTR_ERR(dn);
		goto out;
	}
	de = rdx_pos_rec(sbi, idx, (u64)dn->pos8 << 3);
	/* d_ino through d_type: one small range. */
	err = refdax_trans_log(tp, de, offsetof(struct refdax_dirent, d_hash));
	if (err)
		goto out;
	de->d_ino = cpu_to_le64(ino);
	de->d_type = rdx_dt_type(mode);
out:
	mutex_unlock(&ri->dir_lock);
	return err;
}

/* ---- readdir ---- */

/* Block @lblk of @dir, validated.  Records are stable under i_rwsem. */
static int rdx_readdir_block(struct inode *dir, u64 lblk, void **base)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	const char *why = "bad block";
	u64 pblk, len;
	int err;

	down_read(&RDX_I(dir)->bmap_sem);
	err = refdax_bmap_lookup(dir, lblk, &pblk, &len);
	up_read(&RDX_I(dir)->bmap_sem);
	if (err < 0)
		return err;
	if (err)
		return rdx_corrupt(dir, lblk, "hole in directory");
	if (!refdax_data_block_ok(&sbi->geom, pblk, 1))
		return rdx_corrupt(dir, lblk, "block outside the data area");
	*base = rdx_block(sbi, pblk);
	if (refdax_check_dirblock(&sbi->geom, *base, &why))
		return rdx_corrupt(dir, lblk, why);
	return 0;
}

/*
 * ".." comes from the media inode, the authority on a directory's parent
 * (dir_emit_dots would use the dcache parent, which need not be connected).
 */
static bool rdx_emit_dots(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct refdax_inode *pi = rdx_pinode(RDX_SB(dir->i_sb), dir->i_ino);
	u64 parent = le64_to_cpu(READ_ONCE(pi->i_parent));

	if (ctx->pos == 0) {
		if (!dir_emit_dot(file, ctx))
			return false;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		if (!dir_emit(ctx, "..", 2, parent, DT_DIR))
			return false;
		ctx->pos = 2;
	}
	return true;
}

static int refdax_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	loff_t size = i_size_read(dir);
	int err;

	if (!rdx_emit_dots(file, ctx))
		return 0;
	while (ctx->pos - 2 < size) {
		u64 off = ctx->pos - 2;
		u64 lblk = off >> REFDAX_BLOCK_SHIFT;
		unsigned int boff = off & (REFDAX_BLOCK_SIZE - 1);
		unsigned int o, reclen;
		void *base;

		err = rdx_readdir_block(dir, lblk, &base);
		if (err)
			return err;
		/* Walk from the block start: @boff may sit inside a record. */
		for (o = 0; o < REFDAX_BLOCK_SIZE; o += reclen) {
			struct refdax_dirent *de = rdx_rec(base, o);

			reclen = le16_to_cpu(de->d_reclen);
			if (o < boff || !de->d_ino)
				continue;
			ctx->pos = 2 + (lblk << REFDAX_BLOCK_SHIFT) + o;
			if (!dir_emit(ctx, de->d_name, de->d_namelen,
				      le64_to_cpu(de->d_ino), de->d_type))
				return 0;
		}
		ctx->pos = 2 + ((lblk + 1) << REFDAX_BLOCK_SHIFT);
		cond_resched();
	}
	return 0;
}

const struct file_operations refdax_dir_ops = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= refdax_readdir,
	.fsync		= noop_fsync,
};
