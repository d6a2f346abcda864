// SPDX-License-Identifier: GPL-2.0
/*
 * refdax: a reflink-capable DAX filesystem for persistent memory.
 *
 * Superblock, mount (fs_context), statfs, error handling and module setup.
 * A mount maps the whole fsdax device once with dax_direct_access(); every
 * structure is then reached through that linear mapping.
 */
#include <linux/module.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/statfs.h>
#include <linux/seq_file.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/libnvdimm.h>
#include "refdax.h"

#define REFDAX_SUPER_MAGIC	0x52444158	/* "RDAX" for statfs */

static struct kmem_cache *refdax_inode_cache;

struct refdax_mount_opts {
	unsigned int errors;		/* 0: the superblock's default */
};

void refdax_fs_error(struct super_block *sb, const char *func,
		     const char *fmt, ...)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err_ratelimited("refdax (%pg): corruption in %s: %pV\n", sb->s_bdev,
			   func, &vaf);
	va_end(args);

	switch (sbi->errors) {
	case REFDAX_ERRORS_PANIC:
		panic("refdax (%pg): panic forced after error\n", sb->s_bdev);
	case REFDAX_ERRORS_CONTINUE:
		break;
	default:
		if (!sbi->shutdown)
			pr_crit("refdax (%pg): filesystem shut down, metadata is read-only; run fsck.refdax\n",
				sb->s_bdev);
		WRITE_ONCE(sbi->shutdown, true);
		break;
	}
}

/* Record mount state in the superblock, in a transaction. */
static int set_state(struct refdax_sb_info *sbi, u32 state, bool mounting)
{
	struct refdax_super *rsb = sbi->rsb;
	struct refdax_trans *tp;
	int ret;

	tp = refdax_trans_begin(sbi, refdax_resv_small());
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	ret = refdax_trans_log(tp, rsb, sizeof(*rsb));
	if (ret) {
		refdax_trans_cancel(tp);
		return ret;
	}
	rsb->s_state = cpu_to_le32(state);
	rsb->s_write_time = cpu_to_le64(ktime_get_real_seconds());
	if (mounting) {
		rsb->s_mount_time = rsb->s_write_time;
		le32_add_cpu(&rsb->s_mount_count, 1);
	}
	refdax_super_set_csum(rsb);
	refdax_trans_commit(tp);
	return 0;
}

int refdax_sync_super(struct refdax_sb_info *sbi)
{
	refdax_fence(sbi);
	return blkdev_issue_flush(sbi->sb->s_bdev);
}

static struct inode *refdax_alloc_inode(struct super_block *sb)
{
	struct refdax_inode_info *ri;

	ri = alloc_inode_sb(sb, refdax_inode_cache, GFP_KERNEL);
	if (!ri)
		return NULL;
	ri->dir = NULL;
	ri->flags = 0;
	ri->dirty_flags = 0;
	return &ri->vfs_inode;
}

static void refdax_free_inode(struct inode *inode)
{
	if (S_ISLNK(inode->i_mode))
		kfree(inode->i_link);
	kmem_cache_free(refdax_inode_cache, RDX_I(inode));
}

static void refdax_inode_init_once(void *p)
{
	struct refdax_inode_info *ri = p;

	init_rwsem(&ri->bmap_sem);
	xa_init(&ri->shadows);
	xa_init(&ri->huge_shadows);
	mutex_init(&ri->dir_lock);
	xa_init(&ri->dirty);
	inode_init_once(&ri->vfs_inode);
}

static int refdax_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct refdax_sb_info *sbi = RDX_SB(sb);
	u64 id = huge_encode_dev(sb->s_bdev->bd_dev);

	buf->f_type = REFDAX_SUPER_MAGIC;
	buf->f_bsize = REFDAX_BLOCK_SIZE;
	buf->f_frsize = REFDAX_BLOCK_SIZE;
	buf->f_blocks = sbi->data_blocks;
	buf->f_bfree = READ_ONCE(sbi->free_blocks);
	buf->f_bavail = buf->f_bfree;
	buf->f_files = sbi->geom.ninodes - REFDAX_ROOT_INO;
	buf->f_ffree = READ_ONCE(sbi->free_inodes);
	buf->f_namelen = REFDAX_NAME_LEN;
	buf->f_fsid = u64_to_fsid(id);
	return 0;
}

static int refdax_sync_fs(struct super_block *sb, int wait)
{
	if (!wait)
		return 0;
	return refdax_sync_super(RDX_SB(sb));
}

static void refdax_free_sbi(struct refdax_sb_info *sbi)
{
	refdax_master_exit(sbi);
	refdax_alloc_exit(sbi);
	refdax_owner_exit(sbi);
	refdax_trans_exit(sbi);
	refdax_journal_exit(sbi);
	refdax_trace_detach(sbi);
	if (sbi->dax_dev)
		fs_put_dax(sbi->dax_dev, sbi);
	kfree(sbi);
}

static void refdax_put_super(struct super_block *sb)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);

	if (!sb_rdonly(sb) && !sbi->shutdown)
		set_state(sbi, REFDAX_STATE_CLEAN, false);
	refdax_sync_super(sbi);
	refdax_sysfs_unregister(sbi);
	sb->s_fs_info = NULL;
	refdax_free_sbi(sbi);
}

static const char *errors_name(unsigned int e)
{
	switch (e) {
	case REFDAX_ERRORS_CONTINUE:
		return "continue";
	case REFDAX_ERRORS_PANIC:
		return "panic";
	default:
		return "remount-ro";
	}
}

static int refdax_show_options(struct seq_file *seq, struct dentry *root)
{
	struct refdax_sb_info *sbi = RDX_SB(root->d_sb);

	seq_printf(seq, ",errors=%s", errors_name(sbi->errors));
	return 0;
}

static const struct super_operations refdax_sops = {
	.alloc_inode	= refdax_alloc_inode,
	.free_inode	= refdax_free_inode,
	.write_inode	= refdax_write_inode,
	.evict_inode	= refdax_evict_inode,
	.put_super	= refdax_put_super,
	.sync_fs	= refdax_sync_fs,
	.statfs		= refdax_statfs,
	.show_options	= refdax_show_options,
};

/* Map the whole device; every block is then sbi->virt + blk * 4096. */
static int map_device(struct fs_context *fc, struct refdax_sb_info *sbi)
{
	struct super_block *sb = sbi->sb;
	long want, got;
	int id;

	sbi->dax_dev = fs_dax_get_by_bdev(sb->s_bdev, &sbi->dax_part_off,
					  sbi, &refdax_dax_holder_ops);
	if (!sbi->dax_dev)
		return invalf(fc, "refdax (%pg): cannot mount: device does not support DAX",
			      sb->s_bdev);
	sbi->size = bdev_nr_bytes(sb->s_bdev);
	want = sbi->size >> PAGE_SHIFT;
	if (want < 2)
		return invalf(fc, "refdax (%pg): cannot mount: device too small", sb->s_bdev);
	id = dax_read_lock();
	got = rdx_dax_map_all(sbi->dax_dev, sbi->dax_part_off >> PAGE_SHIFT,
			      want, &sbi->virt, &sbi->pfn0, &sbi->pfn_flags);
	dax_read_unlock(id);
	if (got < want)
		return invalf(fc, "refdax (%pg): cannot mount: mapped %ld of %ld pages (%ld)",
			      sb->s_bdev, got < 0 ? 0 : got, want,
			      got < 0 ? got : 0);
	return 0;
}

/*
 * Refuse a superblock, naming both versions when that is the reason (the
 * image's, then the one this module reads; mkfs.refdax makes the latter).
 */
static int refuse_super(struct fs_context *fc, struct refdax_sb_info *sbi,
			const struct refdax_super *copy, const char *why)
{
	if (!strcmp(why, REFDAX_VERSION_WHY))
		return invalf(fc, "refdax (%pg): cannot mount: format version %u, refdax reads %u",
			      sbi->sb->s_bdev, le32_to_cpu(copy->s_version),
			      REFDAX_VERSION);
	return invalf(fc, "refdax (%pg): cannot mount: %s", sbi->sb->s_bdev,
		      why);
}

/* A poisoned superblock must fail the mount, not the machine. */
static int read_super(struct fs_context *fc, struct refdax_sb_info *sbi,
		      struct refdax_super *copy)
{
	if (copy_mc_to_kernel(copy, sbi->virt, sizeof(*copy)))
		return invalf(fc, "refdax (%pg): cannot mount: media error reading the superblock",
			      sbi->sb->s_bdev);
	return 0;
}

/*
 * First look at the superblock, before journal recovery.  A crash inside
 * a transaction that changed it leaves it torn (its checksum, the refcount
 * root) until recovery puts the logged copy back: if only that is wrong,
 * the geometry is taken as it is, and check_super_recovered() decides.
 */
static int check_super(struct fs_context *fc, struct refdax_sb_info *sbi)
{
	struct super_block *sb = sbi->sb;
	struct refdax_super copy;
	const char *why = NULL;

	if (read_super(fc, sbi, &copy))
		return -EINVAL;
	if (refdax_check_super(&copy, sbi->size, &sbi->geom, &why)) {
		const char *first = why;

		if (bdev_read_only(sb->s_bdev) ||
		    refdax_check_super_fields(&copy, sbi->size, &sbi->geom,
					      &why))
			return refuse_super(fc, sbi, &copy, why);
		sbi->sb_why = first;
	}
	sbi->rsb = sbi->virt;
	return 0;
}

/* After recovery: the superblock in full, and what it says about mounting. */
static int check_super_recovered(struct fs_context *fc,
				 struct refdax_sb_info *sbi)
{
	struct super_block *sb = sbi->sb;
	struct refdax_super copy;
	const char *why = NULL;

	if (read_super(fc, sbi, &copy))
		return -EINVAL;
	if (sbi->sb_why &&
	    refdax_check_super(&copy, sbi->size, &sbi->geom, &why))
		return refuse_super(fc, sbi, &copy, sbi->sb_why);
	if (le64_to_cpu(copy.s_feature_ro_compat) &
	    ~REFDAX_FEAT_RO_COMPAT_SUPP && !sb_rdonly(sb))
		return invalf(fc, "refdax (%pg): cannot mount: unknown ro_compat features",
			      sb->s_bdev);
	if (!sbi->errors)
		sbi->errors = le32_to_cpu(copy.s_errors);
	if (le32_to_cpu(copy.s_state) & REFDAX_STATE_ERROR)
		pr_warn("refdax: %pg: filesystem has errors, run fsck.refdax\n",
			sb->s_bdev);
	return 0;
}

static int refdax_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct refdax_mount_opts *opts = fc->fs_private;
	struct refdax_sb_info *sbi;
	struct inode *root;
	int ret;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sbi->sb = sb;
	sbi->errors = opts->errors;
	refdax_master_init(sbi);
	refdax_owner_init(sbi);
	sb->s_fs_info = sbi;

	if (!sb_set_blocksize(sb, REFDAX_BLOCK_SIZE)) {
		ret = invalf(fc, "refdax (%pg): cannot mount: cannot use 4096-byte blocks",
			     sb->s_bdev);
		goto fail;
	}
	ret = map_device(fc, sbi);
	if (!ret)
		ret = check_super(fc, sbi);
	if (!ret) {
		refdax_trace_attach(sbi);
		ret = refdax_journal_init(sbi);
	}
	if (!ret)
		ret = check_super_recovered(fc, sbi);
	if (!ret)
		ret = refdax_trans_init(sbi);
	if (!ret) {
		refdax_refcount_init(sbi);
		ret = refdax_alloc_init(sbi);
	}
	if (ret)
		goto fail;

	sb->s_magic = REFDAX_SUPER_MAGIC;
	sb->s_op = &refdax_sops;
	sb->s_maxbytes = (REFDAX_MAX_LBLK + 1) << REFDAX_BLOCK_SHIFT;
	sb->s_time_gran = 1;
	sb->s_max_links = U32_MAX;
	sb->s_flags |= SB_NOSEC;
	memcpy(&sb->s_uuid, sbi->rsb->s_uuid, sizeof(sb->s_uuid));

	root = refdax_iget(sb, sbi->geom.root_ino);
	if (IS_ERR(root)) {
		ret = PTR_ERR(root);
		errorf(fc, "refdax (%pg): cannot mount: cannot read the root directory",
		       sb->s_bdev);
		goto fail;
	}
	if (!S_ISDIR(root->i_mode)) {
		iput(root);
		ret = invalf(fc, "refdax (%pg): cannot mount: root inode is not a directory",
			     sb->s_bdev);
		goto fail;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root) {
		ret = -ENOMEM;
		goto fail;
	}
	if (!sb_rdonly(sb)) {
		ret = set_state(sbi, REFDAX_STATE_DIRTY, true);
		if (!ret)
			ret = refdax_orphan_recover(sb);
		if (ret) {
			errorf(fc, "refdax (%pg): cannot mount: recovery failed (%d)",
			       sb->s_bdev, ret);
			goto fail_root;
		}
	}
	ret = refdax_sysfs_register(sbi);
	if (ret)
		goto fail_root;
	return 0;
fail_root:
	dput(sb->s_root);
	sb->s_root = NULL;
fail:
	sb->s_fs_info = NULL;
	refdax_free_sbi(sbi);
	return ret;
}

enum { OPT_ERRORS };

static const struct constant_table refdax_param_errors[] = {
	{ "continue",	REFDAX_ERRORS_CONTINUE },
	{ "remount-ro",	REFDAX_ERRORS_RO },
	{ "panic",	REFDAX_ERRORS_PANIC },
	{}
};

static const struct fs_parameter_spec refdax_param_spec[] = {
	fsparam_enum("errors", OPT_ERRORS, refdax_param_errors),
	{}
};

static int refdax_parse_param(struct fs_context *fc,
			      struct fs_parameter *param)
{
	struct refdax_mount_opts *opts = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, refdax_param_spec, param, &result);
	if (opt < 0)
		return opt;
	if (opt == OPT_ERRORS)
		opts->errors = result.uint_32;
	return 0;
}

static int refdax_get_tree(struct fs_context *fc)
{
	return get_tree_bdev(fc, refdax_fill_super);
}

static int refdax_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct refdax_sb_info *sbi = RDX_SB(sb);
	struct refdax_mount_opts *opts = fc->fs_private;
	bool to_ro = fc->sb_flags & SB_RDONLY;
	int ret = 0;

	sync_filesystem(sb);
	if (opts->errors)
		sbi->errors = opts->errors;
	if (to_ro && !sb_rdonly(sb) && !sbi->shutdown)
		ret = set_state(sbi, REFDAX_STATE_CLEAN, false);
	if (!to_ro && sb_rdonly(sb)) {
		if (sbi->shutdown)
			return -EROFS;
		/* Leaving read-only: the journal may hold a dead txn. */
		ret = refdax_jnl_recover(sbi->jnl);
		if (ret >= 0) {
			sb->s_flags &= ~SB_RDONLY;
			ret = set_state(sbi, REFDAX_STATE_DIRTY, true);
			sb->s_flags |= SB_RDONLY;
		}
	}
	return ret < 0 ? ret : 0;
}

static void refdax_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations refdax_context_ops = {
	.parse_param	= refdax_parse_param,
	.get_tree	= refdax_get_tree,
	.reconfigure	= refdax_reconfigure,
	.free		= refdax_free_fc,
};

static int refdax_init_fs_context(struct fs_context *fc)
{
	struct refdax_mount_opts *opts;

	opts = kzalloc(sizeof(*opts), GFP_KERNEL);
	if (!opts)
		return -ENOMEM;
	fc->fs_private = opts;
	fc->ops = &refdax_context_ops;
	return 0;
}

static struct file_system_type refdax_fs_type = {
	.owner			= THIS_MODULE,
	.name			= REFDAX_FSNAME,
	.init_fs_context	= refdax_init_fs_context,
	.parameters		= refdax_param_spec,
	.kill_sb		= kill_block_super,
	.fs_flags		= FS_REQUIRES_DEV,
};
MODULE_ALIAS_FS(REFDAX_FSNAME);

static int __init refdax_init(void)
{
	int ret;

	refdax_inode_cache = kmem_cache_create("refdax_inode_cache",
					       sizeof(struct refdax_inode_info),
					       0, SLAB_RECLAIM_ACCOUNT |
					       SLAB_ACCOUNT,
					       refdax_inode_init_once);
	if (!refdax_inode_cache)
		return -ENOMEM;
	ret = refdax_master_cache_init();
	if (ret)
		goto fail_cache;
	ret = refdax_sysfs_init();
	if (ret)
		goto fail_master;
	ret = register_filesystem(&refdax_fs_type);
	if (ret)
		goto fail_sysfs;
	refdax_trace_init();
	return 0;
fail_sysfs:
	refdax_sysfs_exit();
fail_master:
	refdax_master_cache_exit();
fail_cache:
	kmem_cache_destroy(refdax_inode_cache);
	return ret;
}

static void __exit refdax_exit(void)
{
	unregister_filesystem(&refdax_fs_type);
	refdax_trace_exit();
	refdax_sysfs_exit();
	rcu_barrier();
	refdax_master_cache_exit();
	kmem_cache_destroy(refdax_inode_cache);
}

module_init(refdax_init);
module_exit(refdax_exit);
MODULE_DESCRIPTION("refdax: reflink-capable DAX filesystem for persistent memory");
MODULE_AUTHOR("The refdax developers");
MODULE_LICENSE("GPL");
