// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files: read and write copy straight between user memory and pmem
 * (no page cache), fsync, fallocate.
 *
 * Writes fill holes first, in a transaction of their own that maps zeroed
 * blocks, and copy the user data afterwards with no filesystem lock but
 * i_rwsem held: the copy may fault on a refdax mapping, whose fault handler
 * takes invalidate_lock and bmap_sem but never i_rwsem.
 */
#include <linux/uio.h>
#include <linux/falloc.h>
#include <linux/libnvdimm.h>
#include <linux/writeback.h>
#include "refdax.h"

static int refdax_open(struct inode *inode, struct file *file)
{
	/* Every access is direct: O_DIRECT is just the normal path. */
	file->f_mode |= FMODE_CAN_ODIRECT;
	return generic_file_open(inode, file);
}

static ssize_t refdax_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	loff_t pos = iocb->ki_pos, size;
	ssize_t done = 0;
	int ret = 0;

	if (!iov_iter_count(to))
		return 0;
	if (iocb->ki_flags & IOCB_NOWAIT) {
		if (!inode_trylock_shared(inode))
			return -EAGAIN;
	} else {
		inode_lock_shared(inode);
	}
	size = i_size_read(inode);
	while (pos < size && iov_iter_count(to)) {
		u64 lblk = pos >> REFDAX_BLOCK_SHIFT, pblk, len;
		size_t off = pos & (REFDAX_BLOCK_SIZE - 1), n, got;

		ret = refdax_get_block(inode, lblk, 0, &pblk, &len);
		if (ret < 0)
			break;
		n = min_t(u64, (len << REFDAX_BLOCK_SHIFT) - off,
			  min_t(u64, iov_iter_count(to), size - pos));
		if (ret == 0 &&
		    refdax_block_bad(sbi, pblk, DIV_ROUND_UP(off + n,
							     REFDAX_BLOCK_SIZE))) {
			ret = -EIO;
			break;
		}
		if (ret == 1)
			got = iov_iter_zero(n, to);
		else
			got = _copy_mc_to_iter((u8 *)rdx_block(sbi, pblk) + off,
					       n, to);
		ret = 0;
		pos += got;
		done += got;
		if (got < n) {
			/*
			 * A short copy is a user fault or poisoned media: if
			 * the user buffer is writable, it was the media.
			 */
			ret = fault_in_iov_iter_writeable(to, n - got) ?
			      -EFAULT : -EIO;
			break;
		}
	}
	inode_unlock_shared(inode);
	iocb->ki_pos = pos;
	file_accessed(iocb->ki_filp);
	return done ? done : ret;
}

/* Copy one piece of a write into pmem; returns bytes copied or -errno. */
static ssize_t write_piece(struct inode *inode, loff_t pos, size_t count,
			   struct iov_iter *from)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u64 lblk = pos >> REFDAX_BLOCK_SHIFT, pblk, len, want;
	size_t off = pos & (REFDAX_BLOCK_SIZE - 1), n;
	void *p;
	int ret;

	want = DIV_ROUND_UP_ULL(off + count, REFDAX_BLOCK_SIZE);
	ret = refdax_get_block(inode, lblk, want, &pblk, &len);
	if (ret < 0)
		return ret;
	n = min_t(u64, (len << REFDAX_BLOCK_SHIFT) - off, count);
	p = (u8 *)rdx_block(sbi, pblk) + off;
	n = _copy_from_iter_flushcache(p, n, from);
	refdax_flushed(sbi, p, n);
	return n;
}

static ssize_t refdax_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	loff_t pos, oldsize;
	ssize_t ret, done = 0;

	if (iocb->ki_flags & IOCB_NOWAIT) {
		if (!inode_trylock(inode))
			return -EAGAIN;
	} else {
		inode_lock(inode);
	}
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	ret = file_modified(file);
	if (ret)
		goto out;
	pos = iocb->ki_pos;
	oldsize = i_size_read(inode);
	if (pos > oldsize) {
		/* Stale bytes past the old EOF must read back as zeroes. */
		filemap_invalidate_lock(inode->i_mapping);
		ret = refdax_zero_tail(inode, oldsize);
		filemap_invalidate_unlock(inode->i_mapping);
		if (ret)
			goto out;
	}
	/* Blocks shared with other files get private copies first. */
	ret = refdax_unshare_for_write(inode, pos, iov_iter_count(from));
	if (ret)
		goto out;
	while (iov_iter_count(from)) {
		ret = write_piece(inode, pos, iov_iter_count(from), from);
		if (ret <= 0) {
			if (!ret)
				ret = -EFAULT;
			break;
		}
		pos += ret;
		done += ret;
	}
	/* Data stores are non-temporal: order them before the new size. */
	refdax_fence(RDX_SB(inode->i_sb));
	if (pos > oldsize) {
		i_size_write(inode, pos);
		ret = refdax_update_inode(inode);
		if (ret) {
			i_size_write(inode, oldsize);
			done = min_t(ssize_t, done, max(oldsize - iocb->ki_pos,
							(loff_t)0));
		}
	}
	iocb->ki_pos += done;
out:
	inode_unlock(inode);
	if (done > 0)
		done = generic_write_sync(iocb, done);
	return done ? done : ret;
}

static int refdax_fsync(struct file *file, loff_t start, loff_t end,
			int datasync)
{
	struct inode *inode = file_inode(file);
	int ret;

	/*
	 * Metadata is durable when its transaction commits and write() data
	 * is written non-temporally, so only stores made through shared
	 * mappings still sit in CPU caches.
	 */
	ret = refdax_flush_mmap_dirty(inode);
	if (!ret)
		ret = sync_inode_metadata(inode, 1);	/* timestamps */
	refdax_fence(RDX_SB(inode->i_sb));
	if (!ret)
		ret = refdax_flush_device(RDX_SB(inode->i_sb));
	return ret;
}

/* Zero [start, end) of the file in place where it is mapped. */
static int zero_mapped(struct inode *inode, loff_t start, loff_t end)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u64 first, last;
	int err;

	if (start >= end)
		return 0;
	first = start >> REFDAX_BLOCK_SHIFT;
	last = (end - 1) >> REFDAX_BLOCK_SHIFT;
	err = refdax_unshare_range_locked(inode, first, last - first + 1);
	if (err)
		return err;

	while (start < end) {
		u64 pblk, len;
		size_t off = start & (REFDAX_BLOCK_SIZE - 1), n;
		int ret = refdax_get_block(inode, start >> REFDAX_BLOCK_SHIFT,
					   0, &pblk, &len);

		if (ret < 0)
			return ret;
		n = min_t(u64, (len << REFDAX_BLOCK_SHIFT) - off, end - start);
		if (ret == 0) {
			void *p = (u8 *)rdx_block(sbi, pblk) + off;

			memset(p, 0, n);
			refdax_persist(sbi, p, n);
		}
		start += n;
	}
	return 0;
}

static int punch_hole(struct inode *inode, loff_t start, loff_t end)
{
	u64 first = DIV_ROUND_UP_ULL(start, REFDAX_BLOCK_SIZE);
	u64 last = end >> REFDAX_BLOCK_SHIFT;
	int ret;

	unmap_mapping_range(inode->i_mapping, start, end - start, 1);
	/* Partial blocks at either edge are zeroed, whole ones freed. */
	ret = zero_mapped(inode, start, min_t(loff_t, end,
					      first << REFDAX_BLOCK_SHIFT));
	if (!ret && last >= first)
		ret = zero_mapped(inode, max_t(loff_t, start,
					       last << REFDAX_BLOCK_SHIFT), end);
	refdax_fence(RDX_SB(inode->i_sb));
	if (!ret && last > first)
		ret = refdax_remove_range(inode, first, last - first);
	return ret;
}

/*
 * Unshare: the shared blocks of the range inside EOF get private copies
 * through the copy-on-write path (on ENOSPC, the runs already copied
 * stay private and the rest stays shared); holes are then allocated as by a plain
 * fallocate, as XFS does (xfs_reflink_unshare, then xfs_alloc_file_space).
 */
static int unshare_range(struct inode *inode, loff_t start, loff_t end)
{
	u64 first = start >> REFDAX_BLOCK_SHIFT;

	if (start >= end)
		return 0;
	return refdax_unshare_range_locked(inode, first,
					   ((end - 1) >> REFDAX_BLOCK_SHIFT) -
					   first + 1);
}

/*
 * Before extents move: blocks past the EOF block would move with them
 * (into the file, or past the largest offset), so they are freed first,
 * as XFS trims its post-EOF blocks (xfs_prepare_shift); every page from
 * @pos on is unmapped and its shadow dropped, so faults find the new
 * offsets; pending stores to those pages are flushed by the next fsync.
 */
static int prepare_shift(struct inode *inode, loff_t pos)
{
	u64 eof = DIV_ROUND_UP_ULL(i_size_read(inode), REFDAX_BLOCK_SIZE);
	int ret;

	unmap_mapping_range(inode->i_mapping, pos, 0, 1);
	refdax_shadow_drop_range(inode, pos >> PAGE_SHIFT, ULONG_MAX);
	refdax_dirty_moved(inode, pos >> PAGE_SHIFT);
	ret = refdax_remove_range(inode, eof, REFDAX_MAX_LBLK + 1 - eof);
	refdax_fence(RDX_SB(inode->i_sb));
	return ret;
}

/* Block-aligned offset and length, as XFS demands (xfs_is_falloc_aligned). */
static bool shift_aligned(loff_t offset, loff_t len)
{
	return !((offset | len) & (REFDAX_BLOCK_SIZE - 1));
}

/*
 * FALLOC_FL_COLLAPSE_RANGE: the range goes, what follows moves down, the
 * file shrinks by @len.  A range reaching EOF is a truncate: EINVAL.
 * i_size shrinks last, so a crash midway leaves zeroes at the tail, never
 * data past EOF (docs/format.md).
 */
static int collapse_range(struct inode *inode, loff_t offset, loff_t len)
{
	loff_t size = i_size_read(inode);
	int ret;

	if (!shift_aligned(offset, len) || offset + len >= size)
		return -EINVAL;
	ret = prepare_shift(inode, offset);
	if (!ret)
		ret = refdax_collapse_blocks(inode, offset >> REFDAX_BLOCK_SHIFT,
					     len >> REFDAX_BLOCK_SHIFT);
	if (ret)
		return ret;
	i_size_write(inode, size - len);
	ret = refdax_update_inode(inode);
	if (ret)
		i_size_write(inode, size);
	return ret;
}

/*
 * FALLOC_FL_INSERT_RANGE: a hole of @len at @offset, what followed moves
 * up.  i_size grows before any extent moves, so none is ever past EOF.
 */
static int insert_range(struct inode *inode, loff_t offset, loff_t len)
{
	loff_t size = i_size_read(inode);
	u64 lblk = offset >> REFDAX_BLOCK_SHIFT;
	int ret;

	if (!shift_aligned(offset, len))
		return -EINVAL;
	if (inode->i_sb->s_maxbytes - size < len)
		return -EFBIG;
	if (offset >= size)
		return -EINVAL;
	ret = inode_newsize_ok(inode, size + len);	/* RLIMIT_FSIZE */
	if (!ret)
		ret = prepare_shift(inode, offset);
	if (!ret)
		ret = refdax_split_blocks(inode, lblk);
	if (ret)
		return ret;
	i_size_write(inode, size + len);
	ret = refdax_update_inode(inode);
	if (ret) {
		i_size_write(inode, size);
		return ret;
	}
	return refdax_insert_blocks(inode, lblk, len >> REFDAX_BLOCK_SHIFT);
}

#define RDX_FALLOC_MODES (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | \
			  FALLOC_FL_ZERO_RANGE | FALLOC_FL_UNSHARE_RANGE | \
			  FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)

static long refdax_fallocate(struct file *file, int mode, loff_t offset,
			     loff_t len)
{
	struct inode *inode = file_inode(file);
	loff_t end = offset + len, size;
	long ret;

	if (mode & ~RDX_FALLOC_MODES)
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) &&
	    (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & FALLOC_FL_ZERO_RANGE)))
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode))
		return -ENODEV;

	inode_lock(inode);
	ret = inode_newsize_ok(inode, end);
	if (ret)
		goto out;
	ret = file_modified(file);
	if (ret)
		goto out;
	filemap_invalidate_lock(inode->i_mapping);
	size = i_size_read(inode);
	if (mode & FALLOC_FL_COLLAPSE_RANGE) {
		ret = collapse_range(inode, offset, len);
		goto unlock;
	}
	if (mode & FALLOC_FL_INSERT_RANGE) {
		ret = insert_range(inode, offset, len);
		goto unlock;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		ret = punch_hole(inode, offset, min(end, size));
		goto unlock;
	}
	if (mode & FALLOC_FL_UNSHARE_RANGE) {
		ret = unshare_range(inode, offset, min(end, size));
		if (ret)
			goto unlock;
	}
	if (mode & FALLOC_FL_ZERO_RANGE) {
		ret = punch_hole(inode, offset, min(end, size));
		if (ret)
			goto unlock;
	}
	if (offset > size) {
		ret = refdax_zero_tail(inode, size);
		if (ret)
			goto unlock;
	}
	ret = refdax_alloc_file_range(inode, offset >> REFDAX_BLOCK_SHIFT,
				      DIV_ROUND_UP_ULL(end, REFDAX_BLOCK_SIZE));
	if (!ret && !(mode & FALLOC_FL_KEEP_SIZE) && end > size) {
		i_size_write(inode, end);
		ret = refdax_update_inode(inode);
		if (ret)
			i_size_write(inode, size);
	}
unlock:
	filemap_invalidate_unlock(inode->i_mapping);
out:
	inode_unlock(inode);
	return ret;
}

/* SEEK_DATA / SEEK_HOLE from the extent map: holes are unmapped blocks. */
static loff_t seek_data_hole(struct inode *inode, loff_t offset, int whence)
{
	loff_t size = i_size_read(inode);
	bool want_data = whence == SEEK_DATA;
	u64 lblk, pblk, len;
	int ret;

	if (offset < 0 || offset >= size)
		return -ENXIO;
	lblk = offset >> REFDAX_BLOCK_SHIFT;
	while ((loff_t)lblk << REFDAX_BLOCK_SHIFT < size) {
		ret = refdax_get_block(inode, lblk, 0, &pblk, &len);
		if (ret < 0)
			return ret;
		if (!ret == want_data)
			return max_t(loff_t, offset,
				     (loff_t)lblk << REFDAX_BLOCK_SHIFT);
		lblk += len;
	}
	/* No more data: ENXIO; the implicit hole at EOF: size. */
	return want_data ? -ENXIO : size;
}

static loff_t refdax_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	loff_t pos;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return generic_file_llseek_size(file, offset, whence,
						inode->i_sb->s_maxbytes,
						i_size_read(inode));
	inode_lock_shared(inode);
	pos = seek_data_hole(inode, offset, whence);
	inode_unlock_shared(inode);
	if (pos < 0)
		return pos;
	return vfs_setpos(file, pos, inode->i_sb->s_maxbytes);
}

const struct file_operations refdax_file_ops = {
	.llseek		= refdax_llseek,
	.read_iter	= refdax_read_iter,
	.write_iter	= refdax_write_iter,
	.open		= refdax_open,
	.mmap		= refdax_file_mmap,
	.fsync		= refdax_fsync,
	.fallocate	= refdax_fallocate,
	.remap_file_range = refdax_remap_file_range,
	.get_unmapped_area = thp_get_unmapped_area,
	.splice_read	= rdx_splice_read,
	.splice_write	= iter_file_splice_write,
	RDX_FOP_MMAP_SYNC,
};
