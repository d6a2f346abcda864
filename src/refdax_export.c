// SPDX-License-Identifier: GPL-2.0
/*
 * File handles (export_operations): name_to_handle_at/open_by_handle_at,
 * NFS export, and overlayfs, whose index=on, nfs_export and copy-up
 * origins store the handles of lower and upper files and decode them later.
 *
 * A handle is the kernel's default FILEID_INO32_GEN(_PARENT) pair of inode
 * number and generation: refdax inode numbers are below 2^32 (mkfs makes at
 * most 2^32 inodes and the superblock verifier refuses more), and a new
 * inode takes a random generation, so a handle of an unlinked file does not
 * decode to a later file that reuses its number.  Decoding goes through
 * refdax_iget_handle(), which answers anything but the live inode of that
 * generation with -ESTALE instead of a corruption report.
 */
#include <linux/exportfs.h>
#include "refdax.h"

static struct inode *rdx_nfs_get_inode(struct super_block *sb, u64 ino,
				       u32 gen)
{
	return refdax_iget_handle(sb, ino, gen);
}

static struct dentry *rdx_fh_to_dentry(struct super_block *sb,
				       struct fid *fid, int fh_len,
				       int fh_type)
{
	return generic_fh_to_dentry(sb, fid, fh_len, fh_type,
				    rdx_nfs_get_inode);
}

static struct dentry *rdx_fh_to_parent(struct super_block *sb,
				       struct fid *fid, int fh_len,
				       int fh_type)
{
	return generic_fh_to_parent(sb, fid, fh_len, fh_type,
				    rdx_nfs_get_inode);
}

/*
 * A directory's parent is on media (i_parent, kept by mkdir and rename), so
 * a directory decoded from a handle is connected without a name search.
 * The caller holds the child's i_rwsem, which a rename of it excludes.
 */
static struct dentry *rdx_get_parent(struct dentry *child)
{
	struct inode *dir = d_inode(child);
	struct refdax_inode *pi = rdx_pinode(RDX_SB(dir->i_sb), dir->i_ino);
	struct inode *parent;

	parent = refdax_iget(dir->i_sb, le64_to_cpu(READ_ONCE(pi->i_parent)));
	if (IS_ERR(parent))
		return ERR_CAST(parent);
	if (!S_ISDIR(parent->i_mode)) {
		refdax_error(dir->i_sb, "directory %llu: parent %llu is not a directory",
			     (u64)dir->i_ino, (u64)parent->i_ino);
		iput(parent);
		return ERR_PTR(-EUCLEAN);
	}
	return d_obtain_alias(parent);
}

const struct export_operations refdax_export_ops = {
	.encode_fh	= RDX_ENCODE_FH_DEFAULT,
	.fh_to_dentry	= rdx_fh_to_dentry,
	.fh_to_parent	= rdx_fh_to_parent,
	.get_parent	= rdx_get_parent,
};
