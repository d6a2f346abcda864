// SPDX-License-Identifier: GPL-2.0
/*
 * Directory inode operations: lookup, create, link, unlink, mkdir, rmdir,
 * symlink, mknod and rename.
 *
 * Each operation is one transaction.  Media changes are made first; the VFS
 * inode fields that refdax_write_inode_txn() copies to media are changed
 * just before they are written.  If any step fails the transaction is
 * aborted, which restores the media, and the in-memory state is put back
 * from a snapshot (nlink, times, flags) and by refdax_dir_forget() (the
 * name index, a directory's size and block count).
 */
#include <linux/slab.h>
#include "refdax.h"

/* The fields of a VFS inode that an operation here may change. */
struct rdx_snap {
	struct inode *inode;
	unsigned int nlink;
	u32 flags;
	struct timespec64 mtime, ctime;
};

static void rdx_snap_take(struct rdx_snap *s, struct inode *inode)
{
	s->inode = inode;
	if (!inode)
		return;
	s->nlink = inode->i_nlink;
	s->flags = RDX_I(inode)->flags;
	s->mtime = rdx_get_mtime(inode);
	s->ctime = inode_get_ctime(inode);
}

static void rdx_snap_restore(struct rdx_snap *s)
{
	struct inode *inode = s->inode;

	if (!inode)
		return;
	set_nlink(inode, s->nlink);
	RDX_I(inode)->flags = s->flags;
	rdx_set_mtime(inode, s->mtime);
	inode_set_ctime_to_ts(inode, s->ctime);
}

/* Abort the running transaction and put memory back in line with media. */
static void rdx_abort(struct refdax_sb_info *sbi, struct rdx_snap *snaps,
		      int nr, struct inode *dir1, struct inode *dir2)
{
	int i;

	refdax_txn_abort(sbi);
	for (i = 0; i < nr; i++)
		rdx_snap_restore(&snaps[i]);
	refdax_dir_forget(dir1);
	if (dir2 && dir2 != dir1)
		refdax_dir_forget(dir2);
}

static struct timespec64 rdx_touch_dir(struct inode *dir)
{
	struct timespec64 now = inode_set_ctime_current(dir);

	rdx_set_mtime(dir, now);
	return now;
}

/* i_parent lives only on media; refdax_write_inode_txn() keeps it. */
static int rdx_set_parent(struct inode *inode, struct inode *parent)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	int err;

	err = refdax_txn_log(sbi, &pi->i_parent, sizeof(pi->i_parent));
	if (err)
		return err;
	pi->i_parent = cpu_to_le64(parent->i_ino);
	return 0;
}

static struct dentry *refdax_lookup(struct inode *dir, struct dentry *dentry,
				    unsigned int flags)
{
	struct inode *inode = NULL;
	u64 ino;
	int err;

	err = refdax_dir_find(dir, &dentry->d_name, &ino, NULL);
	if (!err)
		inode = refdax_iget(dir->i_sb, ino);
	else if (err != -ENOENT)
		return ERR_PTR(err);
	return d_splice_alias(inode, dentry);
}

/* Store a symlink target in a new inode: inline if short, else a block. */
static int rdx_write_symlink(struct inode *inode, const char *target,
			     unsigned int len)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	u64 pblk, n;
	void *p;
	int err;

	if (len < REFDAX_INLINE_SYMLINK) {
		err = refdax_txn_log(sbi, pi->i_symlink,
				     sizeof(pi->i_symlink));
		if (err)
			return err;
		memset(pi->i_symlink, 0, sizeof(pi->i_symlink));
		memcpy(pi->i_symlink, target, len);
		ri->flags |= REFDAX_IFL_INLINE;
	} else {
		down_write(&ri->bmap_sem);
		err = refdax_bmap_alloc_range(inode, 0, 1, &n);
		if (!err)
			err = refdax_bmap_lookup(inode, 0, &pblk, &n);
		up_write(&ri->bmap_sem);
		if (err)
			return err < 0 ? err : -EIO;
		/* A fresh zeroed block: no undo needed, only durability. */
		p = rdx_block(sbi, pblk);
		memcpy(p, target, len);
		refdax_persist(sbi, p, len);
	}
	i_size_write(inode, len);
	return refdax_write_inode_txn(inode);
}

/* Create an inode and its name: create, mknod, mkdir and symlink. */
static int rdx_new_entry(struct inode *dir, struct dentry *dentry,
			 umode_t mode, dev_t rdev, const char *target)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	unsigned int tlen = target ? strlen(target) : 0;
	struct inode *inode = NULL;
	struct rdx_snap snap;
	char *link = NULL;
	int err;

	if (dentry->d_name.len > REFDAX_NAME_LEN)
		return -ENAMETOOLONG;
	if (target) {
		if (tlen > REFDAX_SYMLINK_MAX)
			return -ENAMETOOLONG;
		link = kmemdup_nul(target, tlen, GFP_KERNEL);
		if (!link)
			return -ENOMEM;
	}
	err = refdax_txn_begin(sbi);
	if (err)
		goto out_free;
	rdx_snap_take(&snap, dir);
	inode = refdax_new_inode(dir, mode, rdev);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		inode = NULL;
		goto abort;
	}
	if (target) {
		err = rdx_write_symlink(inode, target, tlen);
		if (err)
			goto abort;
	}
	err = refdax_dir_add(dir, &dentry->d_name, inode->i_ino, mode);
	if (err)
		goto abort;
	if (S_ISDIR(mode))
		inc_nlink(dir);
	rdx_touch_dir(dir);
	err = refdax_write_inode_txn(dir);
	if (err)
		goto abort;
	refdax_txn_commit(sbi);
	if (link)
		inode->i_link = link;
	d_instantiate_new(dentry, inode);
	return 0;

abort:
	rdx_abort(sbi, &snap, 1, dir, NULL);
	if (inode) {
		/* The abort already released its inode number and blocks. */
		clear_nlink(inode);
		discard_new_inode(inode);
	}
out_free:
	kfree(link);
	return err;
}

static int refdax_create(struct rdx_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, umode_t mode, bool excl)
{
	return rdx_new_entry(dir, dentry, mode, 0, NULL);
}

static int refdax_mknod(struct rdx_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode, dev_t rdev)
{
	return rdx_new_entry(dir, dentry, mode, rdev, NULL);
}

static int refdax_mkdir(struct rdx_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode)
{
	return rdx_new_entry(dir, dentry, S_IFDIR | mode, 0, NULL);
}

static int refdax_symlink(struct rdx_idmap *idmap, struct inode *dir,
			  struct dentry *dentry, const char *target)
{
	return rdx_new_entry(dir, dentry, S_IFLNK | 0777, 0, target);
}

static int refdax_link(struct dentry *old_dentry, struct inode *dir,
		       struct dentry *dentry)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	struct inode *inode = d_inode(old_dentry);
	struct rdx_snap snaps[2];
	int err;

	if (dentry->d_name.len > REFDAX_NAME_LEN)
		return -ENAMETOOLONG;
	err = refdax_txn_begin(sbi);
	if (err)
		return err;
	rdx_snap_take(&snaps[0], dir);
	rdx_snap_take(&snaps[1], inode);
	err = refdax_dir_add(dir, &dentry->d_name, inode->i_ino,
			     inode->i_mode);
	if (err)
		goto abort;
	inc_nlink(inode);
	inode_set_ctime_to_ts(inode, rdx_touch_dir(dir));
	err = refdax_write_inode_txn(inode);
	if (!err)
		err = refdax_write_inode_txn(dir);
	if (err)
		goto abort;
	refdax_txn_commit(sbi);
	ihold(inode);
	d_instantiate(dentry, inode);
	return 0;

abort:
	rdx_abort(sbi, snaps, ARRAY_SIZE(snaps), dir, NULL);
	return err;
}

/*
 * Write back an inode that lost a link; at nlink 0 it joins the orphan list
 * in the same transaction, so its space is reclaimed at evict or after a
 * crash.  refdax_orphan_add() rewrites the inode itself.
 */
static int rdx_write_unlinked(struct inode *inode)
{
	int err = refdax_write_inode_txn(inode);

	if (!err && !inode->i_nlink)
		err = refdax_orphan_add(inode);
	return err;
}

static int rdx_remove_entry(struct inode *dir, struct dentry *dentry)
{
	struct refdax_sb_info *sbi = RDX_SB(dir->i_sb);
	struct inode *inode = d_inode(dentry);
	struct rdx_snap snaps[2];
	int err;

	err = refdax_txn_begin(sbi);
	if (err)
		return err;
	rdx_snap_take(&snaps[0], dir);
	rdx_snap_take(&snaps[1], inode);
	err = refdax_dir_remove(dir, &dentry->d_name);
	if (err)
		goto abort;
	if (S_ISDIR(inode->i_mode)) {
		clear_nlink(inode);
		drop_nlink(dir);
	} else {
		drop_nlink(inode);
	}
	inode_set_ctime_to_ts(inode, rdx_touch_dir(dir));
	err = refdax_write_inode_txn(dir);
	if (!err)
		err = rdx_write_unlinked(inode);
	if (err)
		goto abort;
	refdax_txn_commit(sbi);
	return 0;

abort:
	rdx_abort(sbi, snaps, ARRAY_SIZE(snaps), dir, NULL);
	return err;
}

static int refdax_unlink(struct inode *dir, struct dentry *dentry)
{
	return rdx_remove_entry(dir, dentry);
}

static int refdax_rmdir(struct inode *dir, struct dentry *dentry)
{
	/* The VFS holds the victim's i_rwsem: nothing can be added now. */
	if (!refdax_dir_empty(d_inode(dentry)))
		return -ENOTEMPTY;
	return rdx_remove_entry(dir, dentry);
}

struct rdx_rename {
	struct inode *old_dir, *new_dir;
	struct dentry *old_dentry, *new_dentry;
	struct inode *old, *new;	/* new is NULL for a plain move */
};

/* Media changes of a move, possibly over an existing name. */
static int rdx_rename_media(struct rdx_rename *r)
{
	int err;

	if (r->new)
		err = refdax_dir_retarget(r->new_dir, &r->new_dentry->d_name,
					  r->old->i_ino, r->old->i_mode);
	else
		err = refdax_dir_add(r->new_dir, &r->new_dentry->d_name,
				     r->old->i_ino, r->old->i_mode);
	if (!err)
		err = refdax_dir_remove(r->old_dir, &r->old_dentry->d_name);
	if (!err && S_ISDIR(r->old->i_mode) && r->old_dir != r->new_dir)
		err = rdx_set_parent(r->old, r->new_dir);
	return err;
}

/* Link counts after a move: the target loses its name, a dir moves. */
static void rdx_rename_nlink(struct rdx_rename *r)
{
	if (r->new) {
		if (S_ISDIR(r->new->i_mode)) {
			clear_nlink(r->new);
			drop_nlink(r->new_dir);
		} else {
			drop_nlink(r->new);
		}
	}
	if (S_ISDIR(r->old->i_mode)) {
		drop_nlink(r->old_dir);
		inc_nlink(r->new_dir);
	}
}

/* Media changes of RENAME_EXCHANGE: swap the two names' targets. */
static int rdx_exchange_media(struct rdx_rename *r)
{
	int err;

	err = refdax_dir_retarget(r->old_dir, &r->old_dentry->d_name,
				  r->new->i_ino, r->new->i_mode);
	if (!err)
		err = refdax_dir_retarget(r->new_dir, &r->new_dentry->d_name,
					  r->old->i_ino, r->old->i_mode);
	if (err || r->old_dir == r->new_dir)
		return err;
	if (S_ISDIR(r->old->i_mode))
		err = rdx_set_parent(r->old, r->new_dir);
	if (!err && S_ISDIR(r->new->i_mode))
		err = rdx_set_parent(r->new, r->old_dir);
	return err;
}

/* A directory swapped with a non-directory moves a subdir count. */
static void rdx_exchange_nlink(struct rdx_rename *r)
{
	bool old_is_dir = S_ISDIR(r->old->i_mode);

	if (r->old_dir == r->new_dir || old_is_dir == S_ISDIR(r->new->i_mode))
		return;
	if (old_is_dir) {
		drop_nlink(r->old_dir);
		inc_nlink(r->new_dir);
	} else {
		drop_nlink(r->new_dir);
		inc_nlink(r->old_dir);
	}
}

/* Checks that need no transaction: types and emptiness of the target. */
static int rdx_rename_check(struct rdx_rename *r, unsigned int flags)
{
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (r->new_dentry->d_name.len > REFDAX_NAME_LEN)
		return -ENAMETOOLONG;
	if (!r->new || (flags & RENAME_EXCHANGE))
		return 0;
	if (S_ISDIR(r->old->i_mode)) {
		if (!S_ISDIR(r->new->i_mode))
			return -ENOTDIR;
		if (!refdax_dir_empty(r->new))
			return -ENOTEMPTY;
	} else if (S_ISDIR(r->new->i_mode)) {
		return -EISDIR;
	}
	return 0;
}

static int rdx_rename_write(struct rdx_rename *r)
{
	int err;

	err = refdax_write_inode_txn(r->old);
	if (!err)
		err = refdax_write_inode_txn(r->old_dir);
	if (!err && r->new_dir != r->old_dir)
		err = refdax_write_inode_txn(r->new_dir);
	if (!err && r->new)
		err = rdx_write_unlinked(r->new);
	return err;
}

static int refdax_rename(struct rdx_idmap *idmap, struct inode *old_dir,
			 struct dentry *old_dentry, struct inode *new_dir,
			 struct dentry *new_dentry, unsigned int flags)
{
	struct refdax_sb_info *sbi = RDX_SB(old_dir->i_sb);
	struct rdx_rename r = {
		.old_dir = old_dir, .new_dir = new_dir,
		.old_dentry = old_dentry, .new_dentry = new_dentry,
		.old = d_inode(old_dentry), .new = d_inode(new_dentry),
	};
	bool exchange = flags & RENAME_EXCHANGE;
	struct rdx_snap snaps[4];
	struct timespec64 now;
	int err;

	err = rdx_rename_check(&r, flags);
	if (err)
		return err;
	err = refdax_txn_begin(sbi);
	if (err)
		return err;
	rdx_snap_take(&snaps[0], old_dir);
	rdx_snap_take(&snaps[1], new_dir != old_dir ? new_dir : NULL);
	rdx_snap_take(&snaps[2], r.old);
	rdx_snap_take(&snaps[3], r.new);

	err = exchange ? rdx_exchange_media(&r) : rdx_rename_media(&r);
	if (err)
		goto abort;
	if (exchange)
		rdx_exchange_nlink(&r);
	else
		rdx_rename_nlink(&r);
	now = rdx_touch_dir(old_dir);
	inode_set_ctime_to_ts(new_dir, now);
	rdx_set_mtime(new_dir, now);
	inode_set_ctime_to_ts(r.old, now);
	if (r.new)
		inode_set_ctime_to_ts(r.new, now);
	err = rdx_rename_write(&r);
	if (err)
		goto abort;
	refdax_txn_commit(sbi);
	return 0;

abort:
	rdx_abort(sbi, snaps, ARRAY_SIZE(snaps), old_dir, new_dir);
	return err;
}

const struct inode_operations refdax_dir_inode_ops = {
	.lookup		= refdax_lookup,
	.create		= refdax_create,
	.link		= refdax_link,
	.unlink		= refdax_unlink,
	.symlink	= refdax_symlink,
	.mkdir		= refdax_mkdir,
	.rmdir		= refdax_rmdir,
	.mknod		= refdax_mknod,
	.rename		= refdax_rename,
	.setattr	= refdax_setattr,
	.getattr	= refdax_getattr,
};
