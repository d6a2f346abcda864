// SPDX-License-Identifier: GPL-2.0
/*
 * Directory inode operations: lookup, create, O_TMPFILE, link, unlink,
 * mkdir, rmdir, symlink, mknod and rename (with RENAME_WHITEOUT).
 *
 * Each operation is one transaction.  Media changes are made first; the VFS
 * inode fields that refdax_write_inode_txn() copies to media are changed
 * just before they are written.  If any step fails the transaction is
 * cancelled, which restores the media and, for every inode that joined it,
 * the in-memory state (nlink, times, flags, size, blocks, a directory's name
 * index).
 */
#include <linux/slab.h>
#include "refdax.h"

/*
 * Begin an operation's transaction with the inodes it may change joined,
 * so an abort puts their in-memory state back (refdax_trans.c).
 */
static struct refdax_trans *rdx_begin_resv(struct super_block *sb, u64 resv,
					   struct inode *a, struct inode *b,
					   struct inode *c, struct inode *d)
{
	struct inode *inodes[] = { a, b, c, d };
	struct refdax_trans *tp;
	unsigned int i;

	tp = refdax_trans_begin(RDX_SB(sb), resv);
	if (IS_ERR(tp))
		return tp;
	for (i = 0; i < ARRAY_SIZE(inodes); i++)
		if (inodes[i])
			refdax_trans_ijoin(tp, inodes[i], NULL);
	return tp;
}

static struct refdax_trans *rdx_begin(struct super_block *sb,
				      struct inode *a, struct inode *b,
				      struct inode *c, struct inode *d)
{
	return rdx_begin_resv(sb, refdax_resv_small(), a, b, c, d);
}

static struct timespec64 rdx_touch_dir(struct inode *dir)
{
	struct timespec64 now = inode_set_ctime_current(dir);

	rdx_set_mtime(dir, now);
	return now;
}

/* i_parent lives only on media; refdax_write_inode_txn() keeps it. */
static int rdx_set_parent(struct refdax_trans *tp, struct inode *inode,
			  struct inode *parent)
{
	struct refdax_inode *pi = rdx_pinode(tp->sbi, inode->i_ino);
	int err;

	err = refdax_trans_log(tp, &pi->i_parent, sizeof(pi->i_parent));
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
static int rdx_write_symlink(struct refdax_trans *tp, struct inode *inode,
			     const char *target, unsigned int len)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	u64 pblk, n;
	void *p;
	int err;

	if (len < REFDAX_INLINE_SYMLINK) {
		err = refdax_trans_log(tp, pi->i_symlink,
				       sizeof(pi->i_symlink));
		if (err)
			return err;
		memset(pi->i_symlink, 0, sizeof(pi->i_symlink));
		memcpy(pi->i_symlink, target, len);
		ri->flags |= REFDAX_IFL_INLINE;
	} else {
		down_write(&ri->bmap_sem);
		err = refdax_bmap_alloc_range(tp, inode, 0, 1, NULL);
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
	return refdax_write_inode_txn(tp, inode);
}

/* Create an inode and its name: create, mknod, mkdir and symlink. */
static int rdx_new_entry(struct inode *dir, struct dentry *dentry,
			 umode_t mode, dev_t rdev, const char *target)
{
	unsigned int tlen = target ? strlen(target) : 0;
	struct refdax_new_attrs na = { };
	struct inode *inode = NULL;
	struct refdax_trans *tp;
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
	/* inherited ACLs may change @mode: settled before the transaction */
	err = refdax_new_attrs_prepare(dir, &mode, &na);
	if (err)
		goto out_free;
	tp = refdax_trans_begin(RDX_SB(dir->i_sb), refdax_resv_small() +
				refdax_resv_new_attrs());
	if (IS_ERR(tp)) {
		err = PTR_ERR(tp);
		goto out_free;
	}
	refdax_trans_ijoin(tp, dir, NULL);
	inode = refdax_new_inode(tp, dir, mode, rdev);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		inode = NULL;
		goto abort;
	}
	if (target) {
		err = rdx_write_symlink(tp, inode, target, tlen);
		if (err)
			goto abort;
	}
	err = refdax_new_attrs_init(tp, dir, inode, &dentry->d_name, &na);
	if (err)
		goto abort;
	err = refdax_dir_add(tp, dir, &dentry->d_name, inode->i_ino, mode);
	if (err)
		goto abort;
	if (S_ISDIR(mode))
		inc_nlink(dir);
	rdx_touch_dir(dir);
	err = refdax_write_inode_txn(tp, dir);
	if (err)
		goto abort;
	refdax_trans_commit(tp);
	if (link)
		inode->i_link = link;
	d_instantiate_new(dentry, inode);
	refdax_new_attrs_release(&na);
	return 0;

abort:
	refdax_trans_cancel(tp);
	if (inode) {
		/* The abort already released its inode number and blocks. */
		clear_nlink(inode);
		discard_new_inode(inode);
	}
out_free:
	refdax_new_attrs_release(&na);
	kfree(link);
	return err;
}

static RDX_CREATE_OP(refdax_create)
{
	return rdx_new_entry(dir, dentry, mode, 0, NULL);
}

static int refdax_mknod(struct rdx_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode, dev_t rdev)
{
	return rdx_new_entry(dir, dentry, mode, rdev, NULL);
}

static rdx_mkdir_result refdax_mkdir(struct rdx_idmap *idmap,
				     struct inode *dir, struct dentry *dentry,
				     umode_t mode)
{
	return rdx_mkdir_return(rdx_new_entry(dir, dentry, S_IFDIR | mode, 0,
					      NULL));
}

static int refdax_symlink(struct rdx_idmap *idmap, struct inode *dir,
			  struct dentry *dentry, const char *target)
{
	return rdx_new_entry(dir, dentry, S_IFLNK | 0777, 0, target);
}

/*
 * O_TMPFILE: a new inode with no name, on the orphan list from the start
 * (in the transaction that creates it), so a crash before linkat() frees
 * it at the next mount, and its last close frees it as for an unlinked
 * file.  linkat() takes it off the list in the transaction that names it.
 */
static int refdax_tmpfile(struct rdx_idmap *idmap, struct inode *dir,
			  struct file *file, umode_t mode)
{
	struct refdax_trans *tp;
	struct inode *inode;
	int err;

	tp = rdx_begin(dir->i_sb, dir, NULL, NULL, NULL);
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	inode = refdax_new_inode(tp, dir, mode, 0);
	if (IS_ERR(inode)) {
		refdax_trans_cancel(tp);
		return PTR_ERR(inode);
	}
	clear_nlink(inode);
	err = refdax_orphan_add(tp, inode);
	if (err) {
		refdax_trans_cancel(tp);
		discard_new_inode(inode);
		return err;
	}
	refdax_trans_commit(tp);
	set_nlink(inode, 1);	/* d_tmpfile() drops it to 0 */
	d_tmpfile(file, inode);
	unlock_new_inode(inode);
	return finish_open_simple(file, 0);
}

static int refdax_link(struct dentry *old_dentry, struct inode *dir,
		       struct dentry *dentry)
{
	struct inode *inode = d_inode(old_dentry);
	struct refdax_trans *tp;
	int err;

	if (dentry->d_name.len > REFDAX_NAME_LEN)
		return -ENAMETOOLONG;
	tp = rdx_begin(dir->i_sb, dir, inode, NULL, NULL);
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	err = refdax_dir_add(tp, dir, &dentry->d_name, inode->i_ino,
			     inode->i_mode);
	/* an O_TMPFILE inode (I_LINKABLE) gets its first name */
	if (!err && !inode->i_nlink)
		err = refdax_orphan_del(tp, inode);
	if (err)
		goto abort;
	inc_nlink(inode);
	inode_set_ctime_to_ts(inode, rdx_touch_dir(dir));
	err = refdax_write_inode_txn(tp, inode);
	if (!err)
		err = refdax_write_inode_txn(tp, dir);
	if (err)
		goto abort;
	refdax_trans_commit(tp);
	ihold(inode);
	d_instantiate(dentry, inode);
	return 0;

abort:
	refdax_trans_cancel(tp);
	return err;
}

/*
 * Write back an inode that lost a link; at nlink 0 it joins the orphan list
 * in the same transaction, so its space is reclaimed at evict or after a
 * crash.  refdax_orphan_add() rewrites the inode itself.
 */
static int rdx_write_unlinked(struct refdax_trans *tp, struct inode *inode)
{
	int err = refdax_write_inode_txn(tp, inode);

	if (!err && !inode->i_nlink)
		err = refdax_orphan_add(tp, inode);
	return err;
}

static int rdx_remove_entry(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	struct refdax_trans *tp;
	int err;

	tp = rdx_begin(dir->i_sb, dir, inode, NULL, NULL);
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	err = refdax_dir_remove(tp, dir, &dentry->d_name);
	if (err)
		goto abort;
	if (S_ISDIR(inode->i_mode)) {
		clear_nlink(inode);
		drop_nlink(dir);
	} else {
		drop_nlink(inode);
	}
	inode_set_ctime_to_ts(inode, rdx_touch_dir(dir));
	err = refdax_write_inode_txn(tp, dir);
	if (!err)
		err = rdx_write_unlinked(tp, inode);
	if (err)
		goto abort;
	refdax_trans_commit(tp);
	return 0;

abort:
	refdax_trans_cancel(tp);
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
	struct inode *whiteout;		/* RENAME_WHITEOUT: left at old */
};

/* Media changes of a move, possibly over an existing name. */
static int rdx_rename_media(struct refdax_trans *tp, struct rdx_rename *r)
{
	int err;

	if (r->new)
		err = refdax_dir_retarget(tp, r->new_dir,
					  &r->new_dentry->d_name,
					  r->old->i_ino, r->old->i_mode);
	else
		err = refdax_dir_add(tp, r->new_dir, &r->new_dentry->d_name,
				     r->old->i_ino, r->old->i_mode);
	if (!err && r->whiteout)
		err = refdax_dir_retarget(tp, r->old_dir,
					  &r->old_dentry->d_name,
					  r->whiteout->i_ino,
					  r->whiteout->i_mode);
	else if (!err)
		err = refdax_dir_remove(tp, r->old_dir,
					&r->old_dentry->d_name);
	if (!err && S_ISDIR(r->old->i_mode) && r->old_dir != r->new_dir)
		err = rdx_set_parent(tp, r->old, r->new_dir);
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
static int rdx_exchange_media(struct refdax_trans *tp, struct rdx_rename *r)
{
	int err;

	err = refdax_dir_retarget(tp, r->old_dir, &r->old_dentry->d_name,
				  r->new->i_ino, r->new->i_mode);
	if (!err)
		err = refdax_dir_retarget(tp, r->new_dir,
					  &r->new_dentry->d_name,
					  r->old->i_ino, r->old->i_mode);
	if (err || r->old_dir == r->new_dir)
		return err;
	if (S_ISDIR(r->old->i_mode))
		err = rdx_set_parent(tp, r->old, r->new_dir);
	if (!err && S_ISDIR(r->new->i_mode))
		err = rdx_set_parent(tp, r->new, r->old_dir);
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

/*
 * The whiteout RENAME_WHITEOUT leaves at the old name (overlayfs): a char
 * device 0:0, made in the rename's transaction so the old name is never
 * missing.
 */
static struct inode *rdx_new_whiteout(struct refdax_trans *tp,
				      struct inode *dir)
{
	return refdax_new_inode(tp, dir, S_IFCHR | WHITEOUT_MODE,
				WHITEOUT_DEV);
}

/* Checks that need no transaction: types and emptiness of the target. */
static int rdx_rename_check(struct rdx_rename *r, unsigned int flags)
{
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
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

static int rdx_rename_write(struct refdax_trans *tp, struct rdx_rename *r)
{
	int err;

	err = refdax_write_inode_txn(tp, r->old);
	if (!err)
		err = refdax_write_inode_txn(tp, r->old_dir);
	if (!err && r->new_dir != r->old_dir)
		err = refdax_write_inode_txn(tp, r->new_dir);
	if (!err && r->new)
		err = rdx_write_unlinked(tp, r->new);
	return err;
}

static int refdax_rename(struct rdx_idmap *idmap, struct inode *old_dir,
			 struct dentry *old_dentry, struct inode *new_dir,
			 struct dentry *new_dentry, unsigned int flags)
{
	struct rdx_rename r = {
		.old_dir = old_dir, .new_dir = new_dir,
		.old_dentry = old_dentry, .new_dentry = new_dentry,
		.old = d_inode(old_dentry), .new = d_inode(new_dentry),
	};
	bool exchange = flags & RENAME_EXCHANGE;
	struct refdax_trans *tp;
	struct timespec64 now;
	int err;

	err = rdx_rename_check(&r, flags);
	if (err)
		return err;
	/* room for the whiteout's inode beside the four */
	tp = rdx_begin_resv(old_dir->i_sb,
			    refdax_resv_small() + refdax_resv_inode(),
			    old_dir, new_dir, r.old, r.new);
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	if (flags & RENAME_WHITEOUT) {
		r.whiteout = rdx_new_whiteout(tp, old_dir);
		if (IS_ERR(r.whiteout)) {
			err = PTR_ERR(r.whiteout);
			r.whiteout = NULL;
			goto abort;
		}
	}

	err = exchange ? rdx_exchange_media(tp, &r) : rdx_rename_media(tp, &r);
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
	err = rdx_rename_write(tp, &r);
	if (err)
		goto abort;
	refdax_trans_commit(tp);
	if (r.whiteout) {
		/* the VFS looks the whiteout up afresh; drop our reference */
		unlock_new_inode(r.whiteout);
		iput(r.whiteout);
	}
	return 0;

abort:
	refdax_trans_cancel(tp);
	if (r.whiteout) {
		/* the abort released its inode number */
		clear_nlink(r.whiteout);
		discard_new_inode(r.whiteout);
	}
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
	.tmpfile	= refdax_tmpfile,
	.setattr	= refdax_setattr,
	.getattr	= refdax_getattr,
	.listxattr	= refdax_listxattr,
	RDX_ACL_INODE_OPS(refdax_get_acl, refdax_set_acl),
	.fileattr_get	= refdax_fileattr_get,
	.fileattr_set	= refdax_fileattr_set,
};
