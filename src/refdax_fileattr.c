// SPDX-License-Identifier: GPL-2.0
/*
 * File flags: FS_IOC_GETFLAGS/SETFLAGS and FS_IOC_FSGETXATTR/FSSETXATTR,
 * through the VFS fileattr inode operations.  The VFS checks permission and
 * CAP_LINUX_IMMUTABLE (fileattr_set_prepare) and holds i_rwsem; this file
 * maps the flags to REFDAX_IFL_* and writes them in a transaction.
 *
 * Every refdax file is DAX, so the DAX flag always reads as set.  Clearing
 * it is accepted and changes nothing, as on an XFS or ext4 dax=always
 * mount, where the per-inode flag has no effect; refdax stores no per-inode
 * DAX bit, so the flag reads as set again afterwards.
 */
#include "refdax.h"
#include <linux/fileattr.h>

/* The FS_*_FL flags refdax stores, and their media bits. */
static const struct {
	u32 fs_fl;
	u32 ifl;
} refdax_fl_map[] = {
	{ FS_APPEND_FL,		REFDAX_IFL_APPEND },
	{ FS_IMMUTABLE_FL,	REFDAX_IFL_IMMUTABLE },
	{ FS_NOATIME_FL,	REFDAX_IFL_NOATIME },
	{ FS_NODUMP_FL,		REFDAX_IFL_NODUMP },
};

#define REFDAX_FS_FL_USER	(FS_APPEND_FL | FS_IMMUTABLE_FL | \
				 FS_NOATIME_FL | FS_NODUMP_FL | FS_DAX_FL)
#define REFDAX_XFLAG_USER	(FS_XFLAG_APPEND | FS_XFLAG_IMMUTABLE | \
				 FS_XFLAG_NOATIME | FS_XFLAG_NODUMP | \
				 FS_XFLAG_DAX)
#define REFDAX_IFL_USER		(REFDAX_IFL_APPEND | REFDAX_IFL_IMMUTABLE | \
				 REFDAX_IFL_NOATIME | REFDAX_IFL_NODUMP)

static u32 ifl_to_fs_fl(u32 ifl)
{
	u32 fl = FS_DAX_FL;
	int i;

	for (i = 0; i < ARRAY_SIZE(refdax_fl_map); i++)
		if (ifl & refdax_fl_map[i].ifl)
			fl |= refdax_fl_map[i].fs_fl;
	return fl;
}

static u32 fs_fl_to_ifl(u32 fl)
{
	u32 ifl = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(refdax_fl_map); i++)
		if (fl & refdax_fl_map[i].fs_fl)
			ifl |= refdax_fl_map[i].ifl;
	return ifl;
}

int refdax_fileattr_get(struct dentry *dentry, struct rdx_fileattr *fa)
{
	struct inode *inode = d_inode(dentry);

	fileattr_fill_flags(fa, ifl_to_fs_fl(READ_ONCE(RDX_I(inode)->flags)));
	return 0;
}

/* Only what refdax has: no extent size hints, project ids, or other flags. */
static int check_request(const struct rdx_fileattr *fa)
{
	if (fileattr_has_fsx(fa))
		return (fa->fsx_xflags & ~REFDAX_XFLAG_USER) ||
		       fa->fsx_extsize || fa->fsx_projid ||
		       fa->fsx_cowextsize ? -EOPNOTSUPP : 0;
	return fa->flags & ~REFDAX_FS_FL_USER ? -EOPNOTSUPP : 0;
}

/*
 * Becoming immutable: the file's writable mappings go, so a store through
 * a mapping made before has to fault again and is refused there
 * (refdax_fault.c), as ext4 refuses it in page_mkwrite.
 */
static void drop_writable_mappings(struct inode *inode)
{
	if (S_ISREG(inode->i_mode) && IS_IMMUTABLE(inode))
		unmap_mapping_range(inode->i_mapping, 0, 0, 0);
}

int refdax_fileattr_set(struct rdx_idmap *idmap, struct dentry *dentry,
			struct rdx_fileattr *fa)
{
	struct inode *inode = d_inode(dentry);
	struct refdax_inode_info *ri = RDX_I(inode);
	u32 old = ri->flags;
	int ret;

	ret = check_request(fa);
	if (ret)
		return ret;
	ri->flags = (old & ~REFDAX_IFL_USER) | fs_fl_to_ifl(fa->flags);
	if (ri->flags == old)
		return 0;
	inode_set_ctime_current(inode);
	ret = refdax_update_inode(inode);
	if (ret) {
		ri->flags = old;
		return ret;
	}
	/* a fault checks IS_IMMUTABLE under the invalidate lock */
	filemap_invalidate_lock(inode->i_mapping);
	refdax_set_iflags(inode);
	drop_writable_mappings(inode);
	filemap_invalidate_unlock(inode->i_mapping);
	return 0;
}
