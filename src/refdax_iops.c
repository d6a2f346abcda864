// SPDX-License-Identifier: GPL-2.0
/*
 * Inode operations of regular files, symlinks and special inodes: size
 * changes, attributes, fiemap, and freeing an unlinked inode at eviction.
 * These sit above the data paths (refdax_iomap.c, refdax_reflink.c) they
 * drive; the media inode itself is refdax_inode.c's.
 */
#include <linux/fiemap.h>
#include "refdax.h"

/* Free every block at or beyond @newsize. */
int refdax_truncate_blocks(struct inode *inode, loff_t newsize)
{
	u64 first = DIV_ROUND_UP_ULL(newsize, REFDAX_BLOCK_SIZE);

	return refdax_remove_range(inode, first, REFDAX_MAX_LBLK + 1 - first);
}

static int refdax_setsize(struct inode *inode, loff_t newsize)
{
	loff_t oldsize = inode->i_size;
	int ret;

	ret = refdax_zero_tail(inode, min(oldsize, newsize));
	if (ret)
		return ret;
	i_size_write(inode, newsize);
	/* New size first: blocks past EOF are then invisible when freed. */
	inode_set_ctime_current(inode);
	rdx_set_mtime(inode, inode_get_ctime(inode));
	ret = refdax_update_inode(inode);
	if (ret) {
		i_size_write(inode, oldsize);
		return ret;
	}
	if (newsize < oldsize) {
		truncate_pagecache(inode, newsize);
		ret = refdax_truncate_blocks(inode, newsize);
	}
	return ret;
}

int refdax_setattr(struct rdx_idmap *idmap, struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	ret = setattr_prepare(idmap, dentry, attr);
	if (ret)
		return ret;
	if ((attr->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode) &&
	    attr->ia_size != inode->i_size) {
		ret = inode_newsize_ok(inode, attr->ia_size);
		if (ret)
			return ret;
		filemap_invalidate_lock(inode->i_mapping);
		ret = refdax_setsize(inode, attr->ia_size);
		filemap_invalidate_unlock(inode->i_mapping);
		if (ret)
			return ret;
	}
	setattr_copy(idmap, inode, attr);
	ret = refdax_update_inode(inode);
	if (!ret && (attr->ia_valid & ATTR_MODE))
		ret = rdx_posix_acl_chmod(idmap, dentry, inode->i_mode);
	return ret;
}

int refdax_getattr(struct rdx_idmap *idmap, const struct path *path, struct kstat *st,
		   u32 request_mask, unsigned int query_flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct refdax_inode *pi = rdx_pinode(RDX_SB(inode->i_sb),
					     (u64)inode->i_ino);
	u32 flags = RDX_I(inode)->flags;

	if (request_mask & STATX_BTIME) {
		st->result_mask |= STATX_BTIME;
		st->btime.tv_sec = (s64)le64_to_cpu(pi->i_crtime);
		st->btime.tv_nsec = le32_to_cpu(pi->i_crtime_ns);
	}
	if (flags & REFDAX_IFL_APPEND)
		st->attributes |= STATX_ATTR_APPEND;
	if (flags & REFDAX_IFL_IMMUTABLE)
		st->attributes |= STATX_ATTR_IMMUTABLE;
	st->attributes |= STATX_ATTR_DAX;
	st->attributes_mask |= STATX_ATTR_APPEND | STATX_ATTR_IMMUTABLE |
			       STATX_ATTR_DAX;
	rdx_fillattr(idmap, request_mask, inode, st);
	st->blksize = S_ISREG(inode->i_mode) ? PMD_SIZE : REFDAX_BLOCK_SIZE;
	return 0;
}

/*
 * Take an unlinked inode whose blocks are gone off media, with its
 * attribute block and remote values, in one txn.
 */
static int free_media_inode(struct refdax_sb_info *sbi, struct inode *inode)
{
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	struct refdax_trans *tp;
	int ret;

	tp = refdax_trans_begin(sbi, refdax_resv_small() + refdax_resv_xattr());
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	ret = refdax_xattr_free_all(tp, inode);
	if (!ret)
		ret = refdax_orphan_del(tp, inode);
	if (!ret)
		ret = refdax_free_ino(tp, inode->i_ino);
	if (!ret)
		ret = refdax_trans_log(tp, pi, REFDAX_INODE_SIZE);
	if (ret) {
		refdax_trans_cancel(tp);
		return ret;
	}
	memset(pi, 0, REFDAX_INODE_SIZE);
	refdax_trans_commit(tp);
	return 0;
}

void refdax_evict_inode(struct inode *inode)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	bool free_it = !inode->i_nlink && !is_bad_inode(inode) &&
		       (ri->flags & REFDAX_IFL_ORPHAN);
	int ret = 0;

	truncate_inode_pages_final(&inode->i_data);
	if (free_it && !sb_rdonly(inode->i_sb)) {
		/* a last close while frozen waits for the thaw */
		sb_start_intwrite(inode->i_sb);
		ret = refdax_truncate_blocks(inode, 0);
		if (!ret)
			ret = free_media_inode(sbi, inode);
		sb_end_intwrite(inode->i_sb);
		if (ret && ret != -EROFS)
			pr_warn("refdax: inode %llu: freeing failed (%d), fsck will reclaim it\n",
				(u64)inode->i_ino, ret);
	}
	refdax_shadow_drop_range(inode, 0, ULONG_MAX);
	refdax_dirty_forget(inode);
	refdax_dir_index_free(ri);
	clear_inode(inode);
}

static int refdax_fiemap(struct inode *inode, struct fiemap_extent_info *fi,
			 u64 start, u64 len)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u64 lblk, end, pblk, run, phys, next;
	int ret;

	ret = fiemap_prep(inode, fi, start, &len, 0);
	if (ret)
		return ret;
	if (RDX_I(inode)->flags & REFDAX_IFL_INLINE)
		return 0;
	lblk = start >> REFDAX_BLOCK_SHIFT;
	end = min_t(u64, DIV_ROUND_UP_ULL(start + len, REFDAX_BLOCK_SIZE),
		    REFDAX_MAX_LBLK + 1);
	down_read(&RDX_I(inode)->bmap_sem);
	while (lblk < end) {
		u32 flags = 0;
		bool shared;
		u64 i;

		ret = refdax_bmap_lookup(inode, lblk, &pblk, &run);
		if (ret < 0)
			break;
		if (ret == 1) {
			lblk += run;
			ret = 0;
			continue;
		}
		run = min(run, end - lblk);
		/* Report a run of uniformly shared or private blocks. */
		shared = refdax_refcount_run(sbi, pblk, run, false) == 0;
		run = refdax_refcount_run(sbi, pblk, run, shared);
		if (shared)
			flags |= FIEMAP_EXTENT_SHARED;
		if (lblk + run >= end ||
		    refdax_bmap_lookup(inode, lblk + run, &next, &i) != 0)
			flags |= FIEMAP_EXTENT_LAST;
		phys = (pblk << REFDAX_BLOCK_SHIFT) + sbi->dax_part_off;
		ret = fiemap_fill_next_extent(fi, lblk << REFDAX_BLOCK_SHIFT,
					      phys, run << REFDAX_BLOCK_SHIFT,
					      flags);
		if (ret)
			break;
		lblk += run;
	}
	up_read(&RDX_I(inode)->bmap_sem);
	return ret < 0 ? ret : 0;
}

const struct inode_operations refdax_file_inode_ops = {
	.setattr	= refdax_setattr,
	.getattr	= refdax_getattr,
	.fiemap		= refdax_fiemap,
	.listxattr	= refdax_listxattr,
	RDX_ACL_INODE_OPS(refdax_get_acl, refdax_set_acl),
	.fileattr_get	= refdax_fileattr_get,
	.fileattr_set	= refdax_fileattr_set,
};

const struct inode_operations refdax_special_inode_ops = {
	.setattr	= refdax_setattr,
	.getattr	= refdax_getattr,
	.listxattr	= refdax_listxattr,
	RDX_ACL_INODE_OPS(refdax_get_acl, refdax_set_acl),
};

const struct inode_operations refdax_symlink_inode_ops = {
	.get_link	= simple_get_link,
	.setattr	= refdax_setattr,
	.getattr	= refdax_getattr,
	.listxattr	= refdax_listxattr,
};

