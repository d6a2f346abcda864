// SPDX-License-Identifier: GPL-2.0
/*
 * Inodes: reading them from the inode table, creating, writing back inside
 * transactions, the orphan list (unlinked but still open), truncation and
 * eviction.
 *
 * There is no deferred inode writeback: every change to an inode is written
 * to its media slot inside the transaction that makes it, so the media inode
 * is always current and ->dirty_inode only has timestamps left to persist.
 */
#include <linux/slab.h>
#include <linux/random.h>
#include <linux/fiemap.h>
#include <linux/iversion.h>
#include <linux/pagemap.h>
#include "refdax.h"

static void ts_from_media(struct timespec64 *ts, __le64 sec, __le32 nsec)
{
	ts->tv_sec = (s64)le64_to_cpu(sec);
	ts->tv_nsec = le32_to_cpu(nsec);
}

static bool ino_in_bitmap(struct refdax_sb_info *sbi, u64 ino)
{
	const u8 *map = rdx_block(sbi, sbi->geom.ibitmap_start);

	return (map[ino >> 3] >> (ino & 7)) & 1;
}

static int load_symlink(struct inode *inode, struct refdax_inode *pi)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	loff_t size = inode->i_size;
	const char *src;
	u64 pblk, len;
	int ret;

	if (RDX_I(inode)->flags & REFDAX_IFL_INLINE) {
		src = pi->i_symlink;
	} else {
		ret = refdax_bmap_lookup(inode, 0, &pblk, &len);
		if (ret < 0)
			return ret;
		/* a long symlink always has its block: corrupt, so say so */
		if (ret) {
			refdax_error(inode->i_sb, "inode %llu: long symlink has no block",
				     (u64)inode->i_ino);
			return -EUCLEAN;
		}
		src = rdx_block(sbi, pblk);
	}
	inode->i_link = kmemdup_nul(src, size, GFP_KERNEL);
	return inode->i_link ? 0 : -ENOMEM;
}

/* The VFS inode flags that enforce the REFDAX_IFL_* user flags. */
void refdax_set_iflags(struct inode *inode)
{
	u32 fl = RDX_I(inode)->flags;
	unsigned int set = 0;

	if (fl & REFDAX_IFL_APPEND)
		set |= S_APPEND;
	if (fl & REFDAX_IFL_IMMUTABLE)
		set |= S_IMMUTABLE;
	if (fl & REFDAX_IFL_NOATIME)
		set |= S_NOATIME;
	inode_set_flags(inode, set, S_APPEND | S_IMMUTABLE | S_NOATIME);
}

/* Fill the VFS inode from its validated media slot. */
static int read_media_inode(struct inode *inode, struct refdax_inode *pi)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	struct timespec64 ts;

	inode->i_mode = le16_to_cpu(pi->i_mode);
	i_uid_write(inode, le32_to_cpu(pi->i_uid));
	i_gid_write(inode, le32_to_cpu(pi->i_gid));
	set_nlink(inode, le32_to_cpu(pi->i_nlink));
	inode->i_size = le64_to_cpu(pi->i_size);
	inode->i_blocks = le64_to_cpu(pi->i_blocks) << (REFDAX_BLOCK_SHIFT - 9);
	inode->i_generation = le32_to_cpu(pi->i_generation);
	ts_from_media(&ts, pi->i_atime, pi->i_atime_ns);
	rdx_set_atime(inode, ts);
	ts_from_media(&ts, pi->i_mtime, pi->i_mtime_ns);
	rdx_set_mtime(inode, ts);
	ts_from_media(&ts, pi->i_ctime, pi->i_ctime_ns);
	inode_set_ctime_to_ts(inode, ts);
	ri->flags = le32_to_cpu(pi->i_flags);
	refdax_set_iflags(inode);
	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode))
		inode->i_rdev = new_decode_dev(le32_to_cpu(pi->i_rdev));
	return 0;
}

/*
 * Why the slot of @ino cannot be a live inode named by a file handle, or
 * NULL if it may be: free, unlinked (an orphan), or reused (another
 * generation).  A handle comes from outside, so none of this is corruption.
 */
static const char *handle_slot_stale(struct refdax_sb_info *sbi, u64 ino,
				     u32 gen)
{
	const struct refdax_inode *pi = rdx_pinode(sbi, ino);

	if (!ino_in_bitmap(sbi, ino) || !READ_ONCE(pi->i_mode))
		return "free";
	if (!READ_ONCE(pi->i_nlink))
		return "unlinked";
	if (le32_to_cpu(READ_ONCE(pi->i_generation)) != gen)
		return "reused";
	return NULL;
}

/*
 * Read inode @ino.  @gen is NULL for a number the filesystem itself holds
 * (a directory entry, i_parent, the orphan list): a bad one is corruption.
 * With @gen the number comes from a file handle: anything but the live
 * inode of that generation is -ESTALE and reports nothing.  A handle's
 * slot that fails its checksum is -ESTALE too: a create that is reusing the
 * number may be rewriting it right now; a lookup by name reports a slot
 * that is really damaged.
 */
static struct inode *rdx_iget(struct super_block *sb, u64 ino, const u32 *gen)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);
	struct refdax_inode *pi;
	struct inode *inode;
	const char *why = NULL;
	int ret = -EUCLEAN;

	if (ino < REFDAX_ROOT_INO || ino >= sbi->geom.ninodes) {
		if (gen)
			return ERR_PTR(-ESTALE);
		refdax_error(sb, "inode number %llu out of range", ino);
		return ERR_PTR(-EUCLEAN);
	}
	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(rdx_inode_state(inode) & I_NEW)) {
		if (gen && inode->i_generation != *gen) {
			iput(inode);
			return ERR_PTR(-ESTALE);
		}
		return inode;
	}

	pi = rdx_pinode(sbi, ino);
	if (gen) {
		ret = -ESTALE;
		if (handle_slot_stale(sbi, ino, *gen) ||
		    refdax_check_inode(&sbi->geom, ino, pi, &why))
			goto fail;
	}
	if (!ino_in_bitmap(sbi, ino) || !pi->i_mode) {
		refdax_error(sb, "inode %llu is referenced but free", ino);
		goto fail;
	}
	if (refdax_check_inode(&sbi->geom, ino, pi, &why)) {
		refdax_error(sb, "inode %llu: %s", ino, why);
		goto fail;
	}
	read_media_inode(inode, pi);
	if (!inode->i_nlink && !(RDX_I(inode)->flags & REFDAX_IFL_ORPHAN)) {
		refdax_error(sb, "inode %llu has no links", ino);
		goto fail;
	}
	refdax_set_inode_ops(inode);
	if (S_ISLNK(inode->i_mode)) {
		ret = load_symlink(inode, pi);
		if (ret)
			goto fail;
	}
	unlock_new_inode(inode);
	return inode;
fail:
	iget_failed(inode);
	return ERR_PTR(ret);
}

struct inode *refdax_iget(struct super_block *sb, u64 ino)
{
	return rdx_iget(sb, ino, NULL);
}

struct inode *refdax_iget_handle(struct super_block *sb, u64 ino, u32 gen)
{
	return rdx_iget(sb, ino, &gen);
}

static void ts_to_media(struct timespec64 ts, __le64 *sec, __le32 *nsec)
{
	*sec = cpu_to_le64(ts.tv_sec);
	*nsec = cpu_to_le32(ts.tv_nsec);
}

int refdax_write_inode_txn(struct refdax_trans *tp, struct inode *inode)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	int ret;

	ret = refdax_trans_log(tp, pi, REFDAX_INODE_SIZE);
	if (ret)
		return ret;
	pi->i_mode = cpu_to_le16(inode->i_mode);
	pi->i_nlink = cpu_to_le32(inode->i_nlink);
	pi->i_uid = cpu_to_le32(i_uid_read(inode));
	pi->i_gid = cpu_to_le32(i_gid_read(inode));
	pi->i_flags = cpu_to_le32(RDX_I(inode)->flags);
	pi->i_generation = cpu_to_le32(inode->i_generation);
	pi->i_size = cpu_to_le64(inode->i_size);
	pi->i_blocks = cpu_to_le64(inode->i_blocks >>
				   (REFDAX_BLOCK_SHIFT - 9));
	ts_to_media(rdx_get_atime(inode), &pi->i_atime, &pi->i_atime_ns);
	ts_to_media(rdx_get_mtime(inode), &pi->i_mtime, &pi->i_mtime_ns);
	ts_to_media(inode_get_ctime(inode), &pi->i_ctime, &pi->i_ctime_ns);
	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode))
		pi->i_rdev = cpu_to_le32(new_encode_dev(inode->i_rdev));
	refdax_inode_set_csum(pi);
	return 0;
}

int refdax_update_inode(struct inode *inode)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_trans *tp = refdax_trans_current(sbi);
	int ret;

	if (tp)
		return refdax_write_inode_txn(tp, inode);
	tp = refdax_trans_begin(sbi, refdax_resv_inode());
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	ret = refdax_write_inode_txn(tp, inode);
	if (ret) {
		refdax_trans_cancel(tp);
		return ret;
	}
	refdax_trans_commit(tp);
	return 0;
}

/*
 * Every change but timestamps is written in the transaction that makes it,
 * so an inode is only ever dirty for its timestamps (file_update_time,
 * touch_atime).  Those need not be durable before fsync: writeback, fsync
 * and sync persist them here, saving a transaction per write().
 */
int refdax_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	int ret;

	if (!inode->i_nlink && !(RDX_I(inode)->flags & REFDAX_IFL_ORPHAN))
		return 0;
	ret = refdax_update_inode(inode);
	if (ret && ret != -EROFS)
		pr_warn_ratelimited("refdax: inode %llu: update failed (%d)\n",
				    (u64)inode->i_ino, ret);
	return ret == -EROFS ? 0 : ret;
}

struct inode *refdax_new_inode(struct refdax_trans *tp, struct inode *dir,
			       umode_t mode, dev_t rdev)
{
	struct super_block *sb = dir->i_sb;
	struct refdax_sb_info *sbi = RDX_SB(sb);
	struct refdax_inode *pi;
	struct inode *inode;
	struct timespec64 now;
	u64 ino;
	int ret;

	ret = refdax_alloc_ino(tp, &ino);
	if (ret)
		return ERR_PTR(ret);
	inode = new_inode(sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	inode->i_ino = ino;
	inode_init_owner(RDX_NOP_IDMAP, inode, dir, mode);
	now = inode_set_ctime_current(inode);
	rdx_set_atime(inode, now);
	rdx_set_mtime(inode, now);
	inode->i_generation = get_random_u32();
	inode->i_rdev = rdev;
	set_nlink(inode, S_ISDIR(mode) ? 2 : 1);
	RDX_I(inode)->flags = RDX_I(dir)->flags &
			      (REFDAX_IFL_NOATIME | REFDAX_IFL_APPEND |
			       REFDAX_IFL_NODUMP) &
			      (S_ISDIR(mode) ? ~0U : REFDAX_IFL_NOATIME |
			       REFDAX_IFL_NODUMP);
	refdax_set_iflags(inode);

	pi = rdx_pinode(sbi, ino);
	ret = refdax_trans_log(tp, pi, REFDAX_INODE_SIZE);
	if (ret)
		goto fail;
	memset(pi, 0, REFDAX_INODE_SIZE);
	refdax_bmap_init_root(&pi->i_root);
	if (S_ISDIR(mode))
		pi->i_parent = cpu_to_le64(dir->i_ino);
	pi->i_crtime = cpu_to_le64(now.tv_sec);
	pi->i_crtime_ns = cpu_to_le32(now.tv_nsec);
	ret = refdax_write_inode_txn(tp, inode);
	if (ret)
		goto fail;
	if (insert_inode_locked(inode) < 0) {
		ret = -EIO;
		goto fail;
	}
	refdax_set_inode_ops(inode);
	return inode;
fail:
	make_bad_inode(inode);
	iput(inode);
	return ERR_PTR(ret);
}

static struct refdax_super *log_super(struct refdax_trans *tp, int *ret)
{
	*ret = refdax_trans_log(tp, tp->sbi->rsb, sizeof(*tp->sbi->rsb));
	return tp->sbi->rsb;
}

int refdax_orphan_add(struct refdax_trans *tp, struct inode *inode)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	struct refdax_super *rsb;
	int ret;

	if (RDX_I(inode)->flags & REFDAX_IFL_ORPHAN)
		return 0;
	rsb = log_super(tp, &ret);
	if (ret)
		return ret;
	ret = refdax_trans_log(tp, pi, REFDAX_INODE_SIZE);
	if (ret)
		return ret;
	pi->i_next_orphan = rsb->s_orphan_head;
	rsb->s_orphan_head = cpu_to_le64(inode->i_ino);
	refdax_super_set_csum(rsb);
	refdax_trans_ijoin(tp, inode, NULL);
	RDX_I(inode)->flags |= REFDAX_IFL_ORPHAN;
	return refdax_write_inode_txn(tp, inode);
}

int refdax_orphan_del(struct refdax_trans *tp, struct inode *inode)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	__le64 *link;
	u64 cur, steps = 0;
	int ret;

	/* Singly linked on media; the list is short-lived and short. */
	link = &sbi->rsb->s_orphan_head;
	while ((cur = le64_to_cpu(*link)) != inode->i_ino) {
		if (!cur || cur >= sbi->geom.ninodes ||
		    ++steps > sbi->geom.ninodes) {
			refdax_error(inode->i_sb, "inode %llu missing from orphan list",
				     (u64)inode->i_ino);
			return -EUCLEAN;
		}
		link = &rdx_pinode(sbi, cur)->i_next_orphan;
	}
	ret = refdax_trans_log(tp, link, sizeof(*link));
	if (ret)
		return ret;
	*link = pi->i_next_orphan;
	if (link == &sbi->rsb->s_orphan_head) {
		ret = refdax_trans_log(tp, sbi->rsb, sizeof(*sbi->rsb));
		if (ret)
			return ret;
		refdax_super_set_csum(sbi->rsb);
	} else {
		struct refdax_inode *prev = container_of(link,
				struct refdax_inode, i_next_orphan);

		ret = refdax_trans_log(tp, prev, REFDAX_INODE_SIZE);
		if (ret)
			return ret;
		refdax_inode_set_csum(prev);
	}
	ret = refdax_trans_log(tp, pi, REFDAX_INODE_SIZE);
	if (ret)
		return ret;
	pi->i_next_orphan = 0;
	refdax_trans_ijoin(tp, inode, NULL);
	RDX_I(inode)->flags &= ~REFDAX_IFL_ORPHAN;
	return refdax_write_inode_txn(tp, inode);
}

/* Inodes left on the orphan list by a crash are freed at mount. */
int refdax_orphan_recover(struct super_block *sb)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);
	u64 ino, n = 0;

	while ((ino = le64_to_cpu(sbi->rsb->s_orphan_head)) != 0) {
		struct inode *inode = refdax_iget(sb, ino);

		if (IS_ERR(inode))
			return PTR_ERR(inode);
		if (inode->i_nlink) {
			iput(inode);
			refdax_error(sb, "orphan inode %llu has links", ino);
			return -EUCLEAN;
		}
		iput(inode);	/* evict frees it and unlinks it */
		if (le64_to_cpu(sbi->rsb->s_orphan_head) == ino)
			return -EIO;	/* eviction failed: stop looping */
		if (++n > sbi->geom.ninodes)
			return -EUCLEAN;
	}
	if (n)
		pr_info("refdax: %s: freed %llu orphan inodes\n", sb->s_id,
			n);
	return 0;
}

static struct lock_class_key refdax_dir_bmap_key;

static const struct address_space_operations refdax_aops = {
	.dirty_folio	= noop_dirty_folio,
};

void refdax_set_inode_ops(struct inode *inode)
{
	inode->i_mapping->a_ops = &refdax_aops;
	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &refdax_file_inode_ops;
		inode->i_fop = &refdax_file_ops;
		inode->i_flags |= S_DAX;
		break;
	case S_IFDIR:
		lockdep_set_class(&RDX_I(inode)->bmap_sem, &refdax_dir_bmap_key);
		inode->i_op = &refdax_dir_inode_ops;
		inode->i_fop = &refdax_dir_ops;
		break;
	case S_IFLNK:
		inode->i_op = &refdax_symlink_inode_ops;
		break;
	default:
		inode->i_op = &refdax_special_inode_ops;
		init_special_inode(inode, inode->i_mode, inode->i_rdev);
		break;
	}
}
