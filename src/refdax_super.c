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
#include <linux/namei.h>
#include <linux/mount.h>
#include <linux/backing-dev.h>
#include "refdax.h"

#define REFDAX_SUPER_MAGIC	0x52444158	/* "RDAX" for statfs */

static struct kmem_cache *refdax_inode_cache;

struct refdax_mount_opts {
	unsigned int errors;		/* 0: the superblock's default */
	struct path dax_path;		/* a device-dax source, else empty */
	dev_t dax_chr;			/* its device number */
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
	pr_err_ratelimited("refdax (%s): corruption in %s: %pV\n", sb->s_id,
			   func, &vaf);
	va_end(args);

	switch (sbi->errors) {
	case REFDAX_ERRORS_PANIC:
		panic("refdax (%s): panic forced after error\n", sb->s_id);
	case REFDAX_ERRORS_CONTINUE:
		break;
	default:
		if (!sbi->shutdown)
			pr_crit("refdax (%s): filesystem shut down, metadata is read-only; run fsck.refdax\n",
				sb->s_id);
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

/*
 * Have the device drain what it has accepted (pmem: nvdimm_flush() for
 * REQ_PREFLUSH).  Device-dax has no block device and no such call: there
 * the fence that comes before is the end of it.
 */
int refdax_flush_device(struct refdax_sb_info *sbi)
{
	if (!sbi->sb->s_bdev)
		return 0;
	return blkdev_issue_flush(sbi->sb->s_bdev);
}

int refdax_sync_super(struct refdax_sb_info *sbi)
{
	refdax_fence(sbi);
	return refdax_flush_device(sbi);
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
	init_rwsem(&ri->xattr_sem);
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
	u64 id = huge_encode_dev(sb->s_bdev ? sb->s_bdev->bd_dev :
				 sbi->dax_chr);

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
	int ret = 0;

	if (!wait)
		return 0;
	/*
	 * freeze_super() syncs with writers and page faults already stopped
	 * and internal writes not yet (an iput here may still free an inode).
	 */
	if (sb->s_writers.frozen == SB_FREEZE_PAGEFAULT)
		ret = refdax_flush_mmap_dirty_sb(sb);
	return refdax_sync_super(RDX_SB(sb)) ?: ret;
}

/*
 * fsfreeze: the VFS has stopped every writer, page-fault writer and
 * internal writer (evict's freeing) before this, and every transaction is
 * committed, so the journal is empty.  Mark the image clean, as a clean
 * unmount would, so a snapshot or an fsck of the frozen device sees a
 * cleanly unmounted filesystem; thawing marks it in use again.
 */
static int refdax_freeze_fs(struct super_block *sb)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);
	int ret;

	if (sbi->shutdown)
		return 0;
	ret = set_state(sbi, REFDAX_STATE_CLEAN, false);
	return ret ?: refdax_sync_super(sbi);
}

static int refdax_unfreeze_fs(struct super_block *sb)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);

	if (sbi->shutdown)
		return 0;
	return set_state(sbi, REFDAX_STATE_DIRTY, false);
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
	kfree_rcu(sbi, rcu);	/* test_dax_super() may be looking at it */
}

static void refdax_put_super(struct super_block *sb)
{
	struct refdax_sb_info *sbi = RDX_SB(sb);

	if (!sb_rdonly(sb) && !sbi->shutdown)
		set_state(sbi, REFDAX_STATE_CLEAN, false);
	refdax_sync_super(sbi);
	refdax_sysfs_unregister(sbi);
	WRITE_ONCE(sb->s_fs_info, NULL);
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
	seq_puts(seq, ",dax=always");
	return 0;
}

static const struct super_operations refdax_sops = {
	.alloc_inode	= refdax_alloc_inode,
	.free_inode	= refdax_free_inode,
	.write_inode	= refdax_write_inode,
	.evict_inode	= refdax_evict_inode,
	.put_super	= refdax_put_super,
	.sync_fs	= refdax_sync_fs,
	.freeze_fs	= refdax_freeze_fs,
	.unfreeze_fs	= refdax_unfreeze_fs,
	.statfs		= refdax_statfs,
	.show_options	= refdax_show_options,
};

/* Does @dax_dev give its first @n pages as one run? */
static bool dax_whole(struct dax_device *dax_dev, long n)
{
	return dax_direct_access(dax_dev, 0, n, DAX_ACCESS, NULL, NULL) == n;
}

/*
 * The pages of a device-dax instance, as one linear run from its start.
 * fsdev_dax fails a request past its end (or past its first range) rather
 * than giving a short count, so the run is found by bisection.
 */
static long devdax_pages(struct dax_device *dax_dev)
{
	const long max = 1L << 40;	/* 4 PiB */
	long lo = 0, hi = 1;
	int id = dax_read_lock();

	while (hi < max && dax_whole(dax_dev, hi)) {
		lo = hi;
		hi <<= 1;
	}
	while (hi - lo > 1) {
		long mid = lo + (hi - lo) / 2;

		if (dax_whole(dax_dev, mid))
			lo = mid;
		else
			hi = mid;
	}
	dax_read_unlock(id);
	return lo;
}

#define DAX_DRIVERS	"/sys/bus/dax/drivers/"

/* Hold a device-dax source (fsdev_dax, 7.x); say what to do if we cannot. */
static int get_devdax(struct fs_context *fc, struct refdax_sb_info *sbi)
{
	struct refdax_mount_opts *opts = fc->fs_private;
	const char *id = sbi->sb->s_id;
	struct dax_device *dax_dev;

	dax_dev = rdx_devdax_get(&opts->dax_path, sbi, &refdax_dax_holder_ops);
	if (!IS_ERR(dax_dev)) {
		sbi->dax_dev = dax_dev;
		sbi->size = (u64)devdax_pages(dax_dev) << PAGE_SHIFT;
		return 0;
	}
	switch (PTR_ERR(dax_dev)) {
	case -EOPNOTSUPP:
		return invalf(fc, "refdax (%s): cannot mount: %s: %s", id,
			      "device-dax needs Linux 7.x (fsdev_dax); make the namespace fsdax",
			      "ndctl create-namespace -f -e NAMESPACE -m fsdax");
	case -ENODEV:
		return invalf(fc, "refdax (%s): cannot mount: %s", id,
			      "neither a block device nor a device-dax instance");
	case -ENXIO:
		return invalf(fc, "refdax (%s): cannot mount: %s: echo %s > %s",
			      id, "device-dax bound to no driver", id,
			      DAX_DRIVERS "fsdev_dax/new_id");
	case -EMEDIUMTYPE:
		return invalf(fc, "refdax (%s): cannot mount: %s: echo %s > %s; echo %s > %s",
			      id, "device-dax not bound to fsdev_dax", id,
			      DAX_DRIVERS "device_dax/unbind", id,
			      DAX_DRIVERS "fsdev_dax/new_id");
	case -EBUSY:
		errorf(fc, "refdax (%s): cannot mount: device-dax held by another user",
		       id);
		return -EBUSY;
	default:
		errorf(fc, "refdax (%s): cannot mount: device-dax: error %ld",
		       id, PTR_ERR(dax_dev));
		return PTR_ERR(dax_dev);
	}
}

/* Map the whole device; every block is then sbi->virt + blk * 4096. */
static int map_device(struct fs_context *fc, struct refdax_sb_info *sbi)
{
	struct super_block *sb = sbi->sb;
	long want, got;
	int id, ret;

	if (sb->s_bdev) {
		sbi->dax_dev = fs_dax_get_by_bdev(sb->s_bdev,
						  &sbi->dax_part_off, sbi,
						  &refdax_dax_holder_ops);
		if (!sbi->dax_dev)
			return invalf(fc, "refdax (%s): cannot mount: device does not support DAX",
				      sb->s_id);
		sbi->size = bdev_nr_bytes(sb->s_bdev);
		sbi->dev_ro = bdev_read_only(sb->s_bdev);
	} else {
		ret = get_devdax(fc, sbi);
		if (ret)
			return ret;
	}
	want = sbi->size >> PAGE_SHIFT;
	if (want < 2)
		return invalf(fc, "refdax (%s): cannot mount: device too small", sb->s_id);
	id = dax_read_lock();
	got = rdx_dax_map_all(sbi->dax_dev, sbi->dax_part_off >> PAGE_SHIFT,
			      want, &sbi->virt, &sbi->pfn0, &sbi->pfn_flags);
	dax_read_unlock(id);
	if (got < want)
		return invalf(fc, "refdax (%s): cannot mount: mapped %ld of %ld pages (%ld)",
			      sb->s_id, got < 0 ? 0 : got, want,
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
		return invalf(fc, "refdax (%s): cannot mount: format version %u, refdax reads %u",
			      sbi->sb->s_id, le32_to_cpu(copy->s_version),
			      REFDAX_VERSION);
	return invalf(fc, "refdax (%s): cannot mount: %s", sbi->sb->s_id,
		      why);
}

/* A poisoned superblock must fail the mount, not the machine. */
static int read_super(struct fs_context *fc, struct refdax_sb_info *sbi,
		      struct refdax_super *copy)
{
	if (copy_mc_to_kernel(copy, sbi->virt, sizeof(*copy)))
		return invalf(fc, "refdax (%s): cannot mount: media error reading the superblock",
			      sbi->sb->s_id);
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
	struct refdax_super copy;
	const char *why = NULL;

	if (read_super(fc, sbi, &copy))
		return -EINVAL;
	if (refdax_check_super(&copy, sbi->size, &sbi->geom, &why)) {
		const char *first = why;

		if (sbi->dev_ro ||
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
		return invalf(fc, "refdax (%s): cannot mount: unknown ro_compat features",
			      sb->s_id);
	if (!sbi->errors)
		sbi->errors = le32_to_cpu(copy.s_errors);
	if (le32_to_cpu(copy.s_state) & REFDAX_STATE_ERROR)
		pr_warn("refdax: %s: filesystem has errors, run fsck.refdax\n",
			sb->s_id);
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
	sbi->dax_chr = opts->dax_chr;
	refdax_master_init(sbi);
	refdax_owner_init(sbi);
	/* published whole: test_dax_super() reads it without s_umount */
	smp_store_release(&sb->s_fs_info, sbi);

	if (sb->s_bdev && !sb_set_blocksize(sb, REFDAX_BLOCK_SIZE)) {
		ret = invalf(fc, "refdax (%s): cannot mount: cannot use 4096-byte blocks",
			     sb->s_id);
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
	sb->s_xattr = refdax_xattr_handlers;
	sb->s_flags |= SB_POSIXACL;
	sb->s_maxbytes = (REFDAX_MAX_LBLK + 1) << REFDAX_BLOCK_SHIFT;
	sb->s_time_gran = 1;
	sb->s_max_links = U32_MAX;
	sb->s_flags |= SB_NOSEC;
	sb->s_export_op = &refdax_export_ops;
	/* overlayfs needs a UUID to tie stored handles to this filesystem */
	rdx_set_uuid(sb, sbi->rsb->s_uuid);

	root = refdax_iget(sb, sbi->geom.root_ino);
	if (IS_ERR(root)) {
		ret = PTR_ERR(root);
		errorf(fc, "refdax (%s): cannot mount: cannot read the root directory",
		       sb->s_id);
		goto fail;
	}
	if (!S_ISDIR(root->i_mode)) {
		iput(root);
		ret = invalf(fc, "refdax (%s): cannot mount: root inode is not a directory",
			     sb->s_id);
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
			errorf(fc, "refdax (%s): cannot mount: recovery failed (%d)",
			       sb->s_id, ret);
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
	WRITE_ONCE(sb->s_fs_info, NULL);
	refdax_free_sbi(sbi);
	return ret;
}

enum { OPT_ERRORS, OPT_DAX, OPT_DAX_MODE };

/* The dax= modes other filesystems take; refdax is DAX always. */
enum { DAX_ALWAYS, DAX_NEVER, DAX_INODE };

static const struct constant_table refdax_param_dax[] = {
	{ "always",	DAX_ALWAYS },
	{ "never",	DAX_NEVER },
	{ "inode",	DAX_INODE },
	{}
};

static const struct constant_table refdax_param_errors[] = {
	{ "continue",	REFDAX_ERRORS_CONTINUE },
	{ "remount-ro",	REFDAX_ERRORS_RO },
	{ "panic",	REFDAX_ERRORS_PANIC },
	{}
};

static const struct fs_parameter_spec refdax_param_spec[] = {
	fsparam_enum("errors", OPT_ERRORS, refdax_param_errors),
	fsparam_flag("dax", OPT_DAX),
	fsparam_enum("dax", OPT_DAX_MODE, refdax_param_dax),
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
	/*
	 * "dax" and "dax=always" are what refdax does anyway; scripts and
	 * test suites pass them.  Every file is DAX: nothing else can be had.
	 */
	if (opt == OPT_DAX_MODE && result.uint_32 != DAX_ALWAYS)
		return invalf(fc, "refdax: dax=%s not supported: every file is DAX (dax=always)",
			      param->string);
	return 0;
}

/*
 * sget_fc() test of a device-dax mount: a superblock of the same char
 * device.  put_super may be freeing the sbi meanwhile: it is freed after
 * a grace period, and s_fs_info cleared first.
 */
static int test_dax_super(struct super_block *sb, struct fs_context *fc)
{
	struct refdax_mount_opts *opts = fc->fs_private;
	struct refdax_sb_info *sbi;
	bool same;

	rcu_read_lock();
	/* pairs with the release in refdax_fill_super() */
	sbi = smp_load_acquire(&sb->s_fs_info);
	same = sbi && sbi->dax_chr == opts->dax_chr;
	rcu_read_unlock();
	return same;
}

/*
 * A device-dax source has no block device: the superblock gets an
 * anonymous s_dev (a char device's number may equal a block device's),
 * its own bdi and 4 KiB blocks here; two mounts of one device share it,
 * as get_tree_bdev() does for a block device.
 */
static int get_tree_dax(struct fs_context *fc)
{
	struct refdax_mount_opts *opts = fc->fs_private;
	const struct path *path = &opts->dax_path;
	struct super_block *sb;
	int ret;

	if ((path->mnt->mnt_flags & MNT_NODEV) ||
	    (path->mnt->mnt_sb->s_iflags & SB_I_NODEV))
		return -EACCES;
	opts->dax_chr = d_backing_inode(path->dentry)->i_rdev;
	sb = sget_fc(fc, test_dax_super, set_anon_super_fc);
	if (IS_ERR(sb))
		return PTR_ERR(sb);
	if (sb->s_root) {
		if ((fc->sb_flags ^ sb->s_flags) & SB_RDONLY) {
			warnf(fc, "refdax (%s): cannot mount: would change RO state",
			      sb->s_id);
			deactivate_locked_super(sb);
			return -EBUSY;
		}
	} else {
		snprintf(sb->s_id, sizeof(sb->s_id), "%pd", path->dentry);
		sb->s_blocksize = REFDAX_BLOCK_SIZE;
		sb->s_blocksize_bits = REFDAX_BLOCK_SHIFT;
		ret = super_setup_bdi(sb);
		if (!ret)
			ret = refdax_fill_super(sb, fc);
		if (ret) {
			deactivate_locked_super(sb);
			return ret;
		}
		sb->s_flags |= SB_ACTIVE;
	}
	fc->root = dget(sb->s_root);
	return 0;
}

/* A block device (fsdax pmem), or a device-dax char device on 7.x. */
static int refdax_get_tree(struct fs_context *fc)
{
	struct refdax_mount_opts *opts = fc->fs_private;

	if (fc->source && !kern_path(fc->source, LOOKUP_FOLLOW,
				     &opts->dax_path)) {
		if (S_ISCHR(d_backing_inode(opts->dax_path.dentry)->i_mode))
			return get_tree_dax(fc);
		path_put(&opts->dax_path);
		opts->dax_path.dentry = NULL;
	}
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
	struct refdax_mount_opts *opts = fc->fs_private;

	if (opts && opts->dax_path.dentry)
		path_put(&opts->dax_path);
	kfree(opts);
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

/* Block devices never have major 0; anonymous s_devs (device-dax) do. */
static void refdax_kill_sb(struct super_block *sb)
{
	if (MAJOR(sb->s_dev))
		kill_block_super(sb);
	else
		kill_anon_super(sb);
}

static struct file_system_type refdax_fs_type = {
	.owner			= THIS_MODULE,
	.name			= REFDAX_FSNAME,
	.init_fs_context	= refdax_init_fs_context,
	.parameters		= refdax_param_spec,
	.kill_sb		= refdax_kill_sb,
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
