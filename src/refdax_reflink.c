// SPDX-License-Identifier: GPL-2.0
/*
 * Reflink: sharing blocks between files (FICLONE, FICLONERANGE,
 * copy_file_range, FIDEDUPERANGE) and copy-on-write when a file changes a
 * block it shares.
 *
 * Sharing is recorded on media only as extent references plus the
 * refcount records of the blocks (refdax_refcount.c), which cost per
 * record, not per block.  A remap moves at most RDX_STEP_REMAP blocks per
 * transaction, each transaction leaving both files and every count
 * consistent, as XFS remaps extent by extent.
 *
 * Copy-on-write replaces, for one file only, a shared block by a private
 * copy: allocate, copy, and swap the extent in one transaction, then drop
 * that file's ptes and shadow for the range, never another file's.  Fault
 * CoW runs under the block's master entry lock (refdax_master.c), so files
 * racing to write one shared page are serialised on the page itself;
 * write(), truncate and punch CoW under the file's invalidate_lock held
 * exclusively, which already keeps every fault of that file out.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/libnvdimm.h>
#include "refdax.h"

/*
 * Replace the mapping of [lblk, lblk+len), currently the shared run at
 * @old, by fresh copies.  Every block is copied, even one a write() is
 * about to cover: that write may still stop short (a fault in the user
 * buffer, ENOSPC in a later run) and must then leave the old contents.
 * Caller holds bmap_sem for write.
 */
static int cow_run(struct inode *inode, u64 lblk, u64 old, u64 len,
		   u64 *done)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_trans *tp;
	u64 new, got, i, reserve;
	int ret;

	/*
	 * The new blocks' free-space bits are logged, the old blocks' refcount
	 * records change, and the tree changes twice (remove, insert): on a
	 * small journal the run shrinks to fit, and the caller's loop takes
	 * the rest.
	 */
	reserve = 2 * refdax_bmap_txn_reserve(inode);
	tp = refdax_trans_begin(sbi, refdax_resv_data());
	if (IS_ERR(tp))
		return PTR_ERR(tp);
	refdax_trans_ijoin(tp, inode, NULL);
	len = min(len, refdax_resv_fit_blocks(tp, reserve +
					      refdax_refcount_reserve(sbi), 1));
	len = min(len, refdax_refcount_fit(tp, old, len, reserve));
	/* the private copy is file data: placed for huge pages too */
	ret = refdax_alloc_data(tp, lblk, len, 0, &new, &got);
	if (ret)
		goto cancel;
	for (i = 0; i < got; i++)
		refdax_copy_flushcache(sbi, rdx_block(sbi, new + i),
				       rdx_block(sbi, old + i),
				       REFDAX_BLOCK_SIZE);
	ret = refdax_bmap_remove(tp, inode, lblk, got);
	if (ret > 0)
		ret = -ENOSPC;	/* cannot happen: one extent, one step */
	if (!ret)
		ret = refdax_bmap_insert(tp, inode, lblk, new, got);
	if (!ret)
		ret = refdax_write_inode_txn(tp, inode);
	if (ret)
		goto cancel;
	refdax_trans_commit(tp);
	atomic64_inc(&sbi->stat_cow_ops);
	atomic64_add(got << REFDAX_BLOCK_SHIFT, &sbi->stat_cow_bytes);
	*done = got;
	return 0;
cancel:
	refdax_trans_cancel(tp);
	return ret;
}

/*
 * Make every block of file range [lblk, lblk+len) private to @inode.
 * Caller holds i_rwsem and invalidate_lock exclusively.
 */
int refdax_unshare_range_locked(struct inode *inode, u64 lblk, u64 len)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	u64 end = lblk + len, start = lblk;
	int ret = 0;

	if (ri->flags & REFDAX_IFL_INLINE)
		return 0;
	down_write(&ri->bmap_sem);
	while (lblk < end) {
		u64 pblk, run, n, done;

		ret = refdax_bmap_lookup(inode, lblk, &pblk, &run);
		if (ret < 0)
			break;
		run = min(run, end - lblk);
		if (ret == 1) {
			lblk += run;
			ret = 0;
			continue;
		}
		n = refdax_refcount_run(sbi, pblk, run, false);
		if (n) {
			lblk += n;
			continue;
		}
		n = min_t(u64, refdax_refcount_run(sbi, pblk, run, true),
			  RDX_STEP_COW);
		/* another file's remap or removal changed the count: look again */
		if (!n)
			continue;
		ret = cow_run(inode, lblk, pblk, n, &done);
		if (ret)
			break;
		lblk += done;
	}
	up_write(&ri->bmap_sem);
	if (lblk > start) {
		unmap_mapping_pages(inode->i_mapping, start, lblk - start,
				    false);
		refdax_shadow_drop_range(inode, start, lblk - 1);
	}
	refdax_fence(sbi);
	return ret;
}

/* Zero the bytes of the block holding @pos from @pos to the block's end. */
int refdax_zero_tail(struct inode *inode, loff_t pos)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	unsigned int off = pos & (REFDAX_BLOCK_SIZE - 1);
	u64 pblk, len;
	int ret;

	if (!off)
		return 0;
	ret = refdax_unshare_range_locked(inode, pos >> REFDAX_BLOCK_SHIFT, 1);
	if (ret)
		return ret;
	ret = refdax_get_block(inode, pos >> REFDAX_BLOCK_SHIFT, 0, &pblk,
			       &len);
	if (ret)
		return ret < 0 ? ret : 0;
	memset((u8 *)rdx_block(sbi, pblk) + off, 0, REFDAX_BLOCK_SIZE - off);
	refdax_persist(sbi, (u8 *)rdx_block(sbi, pblk) + off,
		       REFDAX_BLOCK_SIZE - off);
	return 0;
}

/* write() path: unshare what [pos, pos+count) touches, if anything. */
int refdax_unshare_for_write(struct inode *inode, loff_t pos, size_t count)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u64 lblk = pos >> REFDAX_BLOCK_SHIFT;
	u64 last = (pos + count - 1) >> REFDAX_BLOCK_SHIFT;
	u64 l = lblk;
	int ret;

	/* Cheap check first: most writes touch no shared block. */
	while (l <= last) {
		u64 pblk, run;

		ret = refdax_get_block(inode, l, 0, &pblk, &run);
		if (ret < 0)
			return ret;
		run = min(run, last - l + 1);
		if (ret == 0 && refdax_refcount_any_shared(sbi, pblk, run))
			break;
		l += run;
	}
	if (l > last)
		return 0;
	filemap_invalidate_lock(inode->i_mapping);
	ret = refdax_unshare_range_locked(inode, lblk, last - lblk + 1);
	filemap_invalidate_unlock(inode->i_mapping);
	return ret;
}

/*
 * Fault path: give this file a private copy of shared block @old at
 * @pgoff, serialised on the block's master entry.  Returns 0 when the
 * caller must retry the fault (the mapping changed), or -errno.
 * Caller holds invalidate_lock shared.
 */
int refdax_cow_fault(struct inode *inode, pgoff_t pgoff, u64 old)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_master *m;
	u64 pblk, len, done;
	int ret;

	m = refdax_master_get(sbi, old, false);
	if (IS_ERR(m))
		return PTR_ERR(m);
	refdax_master_lock(m);
	down_write(&ri->bmap_sem);
	ret = refdax_bmap_lookup(inode, pgoff, &pblk, &len);
	if (ret == 0 && pblk == old) {
		if (refdax_refcount_get(sbi, old) > 1) {
			ret = cow_run(inode, pgoff, old, 1, &done);
			atomic64_inc(&sbi->stat_cow_faults);
		}
		/* else: the last owner keeps the block, no copy needed */
	} else if (ret > 0) {
		ret = 0;	/* punched meanwhile: just refault */
	}
	up_write(&ri->bmap_sem);
	if (!ret) {
		unmap_mapping_pages(inode->i_mapping, pgoff, 1, false);
		refdax_shadow_drop(inode, pgoff, false);
	}
	refdax_master_unlock(m);
	refdax_master_put(sbi, m);
	return ret;
}

/*
 * Fault path: map shared block @pblk read-only at @pgoff, recording the
 * shadow; the master lock orders this against a CoW of the same page.
 * Returns the VM_FAULT code, or VM_FAULT_RETRY-free NOPAGE to refault.
 */
vm_fault_t refdax_map_shared(struct vm_fault *vmf, u64 pblk)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_master *m;
	u64 cur, len;
	vm_fault_t ret;
	int err;

	m = refdax_master_get(sbi, pblk, false);
	if (IS_ERR(m))
		return VM_FAULT_OOM;
	refdax_master_lock(m);
	err = refdax_get_block(inode, vmf->pgoff, 0, &cur, &len);
	if (err || cur != pblk) {
		ret = err < 0 ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE;
		goto out;
	}
	err = refdax_shadow_add(inode, vmf->pgoff, m);
	if (err) {
		ret = VM_FAULT_OOM;
		goto out;
	}
	ret = rdx_insert_page_ro(vmf, sbi->pfn0 + pblk, sbi->pfn_flags);
out:
	refdax_master_unlock(m);
	refdax_master_put(sbi, m);
	return ret;
}

/*
 * Fault path: map the shared 2 MiB chunk starting at block @pblk read-only
 * as one PMD at @pgoff, from the chunk's master entry.  bmap_sem is held
 * across the check and the insert: a copy-on-write fault on one page of
 * the chunk (serialised on that block's own entry, not this one) changes
 * the extent tree under bmap_sem and zaps the page afterwards, so either
 * this sees the change and falls back, or the zap removes this PMD.
 */
vm_fault_t refdax_map_shared_huge(struct vm_fault *vmf, pgoff_t pgoff,
				  u64 pblk)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_master *m;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	u64 cur, len;

	m = refdax_master_get(sbi, pblk, true);
	if (IS_ERR(m))
		return VM_FAULT_OOM;
	refdax_master_lock(m);
	down_read(&ri->bmap_sem);
	if (refdax_bmap_lookup(inode, pgoff, &cur, &len) == 0 && cur == pblk &&
	    len >= REFDAX_HUGE_BLOCKS) {
		if (refdax_shadow_add(inode, pgoff, m))
			ret = VM_FAULT_OOM;
		else
			ret = rdx_insert_pfn_pmd(vmf, sbi->pfn0 + pblk,
						 sbi->pfn_flags, false);
	}
	up_read(&ri->bmap_sem);
	refdax_master_unlock(m);
	refdax_master_put(sbi, m);
	return ret;
}

/* ---- remap_file_range ---- */

/* Both extent trees, in a fixed order so two remaps cannot deadlock. */
static void lock_two_bmaps(struct inode *a, struct inode *b)
{
	if (a == b) {
		down_write(&RDX_I(a)->bmap_sem);
		return;
	}
	if (a > b)
		swap(a, b);
	down_write(&RDX_I(a)->bmap_sem);
	down_write_nested(&RDX_I(b)->bmap_sem, SINGLE_DEPTH_NESTING);
}

static void unlock_two_bmaps(struct inode *a, struct inode *b)
{
	up_write(&RDX_I(a)->bmap_sem);
	if (a != b)
		up_write(&RDX_I(b)->bmap_sem);
}

/* Share [src_lblk, +len) of @src into @dst at @dst_lblk (a hole). */
static int remap_blocks(struct inode *src, u64 src_lblk, struct inode *dst,
			u64 dst_lblk, u64 len)
{
	struct refdax_sb_info *sbi = RDX_SB(src->i_sb);
	u64 end = src_lblk + len;
	int ret = 0;

	while (src_lblk < end) {
		struct refdax_trans *tp;
		u64 pblk, run, moved = 0, resv;

		lock_two_bmaps(src, dst);
		tp = refdax_trans_begin(sbi, refdax_resv_data());
		if (IS_ERR(tp)) {
			unlock_two_bmaps(src, dst);
			return PTR_ERR(tp);
		}
		refdax_trans_ijoin(tp, dst, NULL);
		/*
		 * One transaction moves up to RDX_STEP_REMAP blocks, each run
		 * sized to the room left; its first run always goes, so a
		 * small journal cannot stall the loop.
		 */
		while (src_lblk < end && moved < RDX_STEP_REMAP) {
			resv = refdax_bmap_txn_reserve(dst);
			if (moved && !refdax_resv_room_for_run(tp, resv +
					refdax_refcount_reserve(sbi)))
				break;
			ret = refdax_bmap_lookup(src, src_lblk, &pblk, &run);
			if (ret < 0)
				break;
			run = min3(run, end - src_lblk,
				   (u64)RDX_STEP_REMAP - moved);
			if (ret == 0) {
				run = min(run, refdax_refcount_fit(tp, pblk, run,
								   resv));
				ret = refdax_refcount_inc(tp, pblk, run);
				if (!ret)
					ret = refdax_bmap_insert(tp, dst, dst_lblk,
								 pblk, run);
				if (ret)
					break;
				moved += run;
			}
			ret = 0;
			src_lblk += run;
			dst_lblk += run;
		}
		if (!ret)
			ret = refdax_write_inode_txn(tp, dst);
		if (ret) {
			refdax_trans_cancel(tp);
			unlock_two_bmaps(src, dst);
			return ret;
		}
		refdax_trans_commit(tp);
		unlock_two_bmaps(src, dst);
		cond_resched();
	}
	return 0;
}

/* Byte-compare two ranges for dedupe; holes read as zeroes. */
static int range_same(struct inode *a, loff_t apos, struct inode *b,
		      loff_t bpos, loff_t len, bool *same)
{
	struct refdax_sb_info *sbi = RDX_SB(a->i_sb);

	*same = true;
	while (len > 0 && *same) {
		u64 pa, pb, ra, rb;
		int ea, eb;
		size_t n;
		const void *ka, *kb;

		ea = refdax_get_block(a, apos >> REFDAX_BLOCK_SHIFT, 0, &pa, &ra);
		eb = refdax_get_block(b, bpos >> REFDAX_BLOCK_SHIFT, 0, &pb, &rb);
		if (ea < 0 || eb < 0)
			return ea < 0 ? ea : eb;
		n = min_t(loff_t, len, REFDAX_BLOCK_SIZE);
		/* Offsets are block aligned: each step is one whole block. */
		ka = ea ? page_address(ZERO_PAGE(0)) : rdx_block(sbi, pa);
		kb = eb ? page_address(ZERO_PAGE(0)) : rdx_block(sbi, pb);
		if (ka != kb && memcmp(ka, kb, n))
			*same = false;
		apos += n;
		bpos += n;
		len -= n;
		cond_resched();
	}
	return 0;
}

/*
 * Dedupe argument checks, as generic_remap_file_range_prep() makes them:
 * that helper cannot compare DAX files without fs/dax.c read ops, so
 * refdax checks here and compares pmem directly.
 */
static int dedupe_prep(struct inode *in, loff_t pos_in, struct inode *out,
		       loff_t pos_out, loff_t *len, unsigned int flags)
{
	loff_t size_in = i_size_read(in), size_out = i_size_read(out);
	loff_t count = *len, bcount;
	bool same;
	int ret;

	if (IS_IMMUTABLE(out))
		return -EPERM;
	if (IS_SWAPFILE(in) || IS_SWAPFILE(out))
		return -ETXTBSY;
	if (S_ISDIR(in->i_mode) || S_ISDIR(out->i_mode))
		return -EISDIR;
	if (!S_ISREG(in->i_mode) || !S_ISREG(out->i_mode))
		return -EINVAL;
	if (!count)
		return 0;
	if (!IS_ALIGNED(pos_in, REFDAX_BLOCK_SIZE) ||
	    !IS_ALIGNED(pos_out, REFDAX_BLOCK_SIZE) ||
	    pos_in + count < pos_in || pos_out + count < pos_out)
		return -EINVAL;
	if (pos_in >= size_in || pos_in + count > size_in ||
	    pos_out >= size_out || pos_out + count > size_out)
		return -EINVAL;
	/* A partial EOF block may only be shared at both files' EOF. */
	if (pos_in + count == size_in && pos_out + count == size_out) {
		bcount = ALIGN(size_in, REFDAX_BLOCK_SIZE) - pos_in;
	} else {
		count = ALIGN_DOWN(count, REFDAX_BLOCK_SIZE);
		bcount = count;
	}
	if (in == out && pos_out + bcount > pos_in && pos_out < pos_in + bcount)
		return -EINVAL;
	if (count != *len && !(flags & REMAP_FILE_CAN_SHORTEN))
		return -EINVAL;
	*len = count;
	if (!count)
		return 0;
	ret = range_same(in, pos_in, out, pos_out, count, &same);
	if (ret)
		return ret;
	return same ? 0 : -EBADE;
}

static loff_t do_remap(struct inode *in, loff_t pos_in, struct inode *out,
		       loff_t pos_out, loff_t len)
{
	u64 src = pos_in >> REFDAX_BLOCK_SHIFT;
	u64 dst = pos_out >> REFDAX_BLOCK_SHIFT;
	u64 nblk = DIV_ROUND_UP_ULL(len, REFDAX_BLOCK_SIZE);
	loff_t new_size = pos_out + len;
	int ret;

	/* Bytes between the old EOF and the clone must read as zeroes. */
	if (pos_out > i_size_read(out)) {
		ret = refdax_zero_tail(out, i_size_read(out));
		if (ret)
			return ret;
	}
	/* Later stores through either file's mappings must fault (CoW). */
	unmap_mapping_pages(in->i_mapping, src, nblk, false);
	unmap_mapping_pages(out->i_mapping, dst, nblk, true);
	refdax_shadow_drop_range(out, dst, dst + nblk - 1);

	ret = refdax_remove_range(out, dst, nblk);
	if (!ret)
		ret = remap_blocks(in, src, out, dst, nblk);
	if (ret)
		return ret;
	if (new_size > i_size_read(out)) {
		i_size_write(out, new_size);
		ret = refdax_update_inode(out);
	}
	return ret ? ret : len;
}

loff_t refdax_remap_file_range(struct file *file_in, loff_t pos_in,
			       struct file *file_out, loff_t pos_out,
			       loff_t len, unsigned int flags)
{
	struct inode *in = file_inode(file_in), *out = file_inode(file_out);
	struct refdax_sb_info *sbi = RDX_SB(out->i_sb);
	bool dedupe = flags & REMAP_FILE_DEDUP;
	loff_t ret;

	if (flags & ~(REMAP_FILE_DEDUP | REMAP_FILE_ADVISORY))
		return -EINVAL;
	if (sbi->shutdown)
		return -EROFS;

	lock_two_nondirectories(in, out);
	filemap_invalidate_lock_two(in->i_mapping, out->i_mapping);
	if (dedupe)
		ret = dedupe_prep(in, pos_in, out, pos_out, &len, flags);
	else
		ret = generic_remap_file_range_prep(file_in, pos_in, file_out,
						    pos_out, &len, flags);
	if (ret || !len)
		goto out;
	/* (generic_remap_file_range_prep already did file_modified.) */
	ret = do_remap(in, pos_in, out, pos_out, len);
out:
	filemap_invalidate_unlock_two(in->i_mapping, out->i_mapping);
	unlock_two_nondirectories(in, out);
	return ret < 0 ? ret : len;
}
