// SPDX-License-Identifier: GPL-2.0
/*
 * mmap: refdax's own fault handler maps pmem pages straight into user page
 * tables.  It does not use fs/dax.c: the shared-mapping work (reflink) hands
 * out per-file shadow mappings of one physical page, which needs a handler
 * of our own.
 *
 * Pages are inserted as devmap ptes from the pfn_t dax_direct_access gave at
 * mount, so get_user_pages works on them and O_DIRECT from a refdax mapping
 * works.  Holes read as the zero page; a write to a hole allocates a zeroed
 * block first, and allocation removes zero-page ptes before the block is
 * visible (see refdax_get_block), so a zero-page pte is never made writable.
 *
 * Metadata reaching a block is committed before the block is mapped
 * writable, which is what MAP_SYNC asks for.  Stores through shared mappings
 * stay in CPU caches: the written range is tracked per inode and written
 * back by fsync/msync.
 */
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include "refdax.h"

void refdax_mark_mmap_dirty(struct inode *inode, pgoff_t pgoff)
{
	struct refdax_inode_info *ri = RDX_I(inode);

	spin_lock(&ri->dirty_lock);
	if (ri->dirty_lo > ri->dirty_hi) {
		ri->dirty_lo = pgoff;
		ri->dirty_hi = pgoff;
	} else {
		ri->dirty_lo = min(ri->dirty_lo, pgoff);
		ri->dirty_hi = max(ri->dirty_hi, pgoff);
	}
	spin_unlock(&ri->dirty_lock);
}

/*
 * Write back the CPU cache lines of every page stored to through a shared
 * mapping.  The ptes are zapped first, under invalidate_lock, so any later
 * store faults again and is tracked again; stores before the zap are in
 * the caches we flush afterwards.
 */
int refdax_flush_mmap_dirty(struct inode *inode)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	pgoff_t lo, hi;
	int ret = 0;

	if (READ_ONCE(ri->dirty_lo) > READ_ONCE(ri->dirty_hi))
		return 0;
	filemap_invalidate_lock(inode->i_mapping);
	spin_lock(&ri->dirty_lock);
	lo = ri->dirty_lo;
	hi = ri->dirty_hi;
	ri->dirty_lo = 1;
	ri->dirty_hi = 0;
	spin_unlock(&ri->dirty_lock);
	if (lo <= hi)
		unmap_mapping_pages(inode->i_mapping, lo, hi - lo + 1, false);
	while (lo <= hi) {
		u64 pblk, len;

		ret = refdax_get_block(inode, lo, 0, &pblk, &len);
		if (ret < 0)
			break;
		len = min_t(u64, len, hi - lo + 1);
		if (ret == 0)
			refdax_persist(sbi, rdx_block(sbi, pblk),
				       len << REFDAX_BLOCK_SHIFT);
		ret = 0;
		lo += len;
	}
	filemap_invalidate_unlock(inode->i_mapping);
	return ret;
}

static pfn_t block_pfn(struct refdax_sb_info *sbi, u64 pblk)
{
	return rdx_pfn_t(sbi->pfn0 + pblk, sbi->pfn_flags);
}

static bool beyond_eof(struct inode *inode, pgoff_t pgoff)
{
	return pgoff >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
}

static vm_fault_t refdax_fault_locked(struct vm_fault *vmf, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	u64 pblk, len;
	int ret;

	if (beyond_eof(inode, vmf->pgoff))
		return VM_FAULT_SIGBUS;
	ret = refdax_get_block(inode, vmf->pgoff, write ? 1 : 0, &pblk, &len);
	if (ret < 0)
		return ret == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	atomic64_inc(&sbi->stat_faults);
	if (ret == 0 && refdax_block_bad(sbi, pblk, 1))
		return VM_FAULT_HWPOISON;
	if (ret == 1)
		return vmf_insert_mixed(vma, vmf->address,
					pfn_to_pfn_t(my_zero_pfn(vmf->address)));
	if (refdax_refcount_get(sbi, pblk) > 1) {
		/* Shared: read-only from the master page, or copy-on-write. */
		if (!write)
			return refdax_map_shared(vmf, pblk);
		ret = refdax_cow_fault(inode, vmf->pgoff, pblk);
		if (ret)
			return ret == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		/* Map the private copy now rather than fault a second time. */
		ret = refdax_get_block(inode, vmf->pgoff, 0, &pblk, &len);
		if (ret || refdax_refcount_get(sbi, pblk) > 1)
			return VM_FAULT_NOPAGE;
	}
	refdax_owner_set(sbi, pblk, inode->i_ino, vmf->pgoff);
	if (write) {
		refdax_mark_mmap_dirty(inode, vmf->pgoff);
		return rdx_insert_pfn_write(vma, vmf->address,
					    block_pfn(sbi, pblk));
	}
	return vmf_insert_mixed(vma, vmf->address, block_pfn(sbi, pblk));
}

static vm_fault_t refdax_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	/*
	 * A write fault on a private mapping maps the page read-only; the
	 * retried write then copies it into an anonymous page (do_wp_page).
	 */
	bool write = (vmf->flags & FAULT_FLAG_WRITE) &&
		     (vma->vm_flags & VM_SHARED);
	vm_fault_t ret;

	if (write) {
		sb_start_pagefault(inode->i_sb);
		file_update_time(vma->vm_file);
	}
	filemap_invalidate_lock_shared(inode->i_mapping);
	ret = refdax_fault_locked(vmf, write);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	if (write)
		sb_end_pagefault(inode->i_sb);
	return ret;
}

/*
 * A store hit a read-only pte of a shared mapping.  If the page is a mapped
 * block, the core makes this same pte writable when we return 0.  A hole
 * means the pte is the zero page: allocate, which zaps that pte, and let the
 * fault retry.
 */
static vm_fault_t refdax_pfn_mkwrite(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	vm_fault_t ret = 0;
	u64 pblk, len;
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vmf->vma->vm_file);
	filemap_invalidate_lock_shared(inode->i_mapping);
	if (beyond_eof(inode, vmf->pgoff)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	err = refdax_get_block(inode, vmf->pgoff, 0, &pblk, &len);
	if (err == 1)
		err = refdax_get_block(inode, vmf->pgoff, 1, &pblk, &len) ?:
		      1;
	if (err == 0 && refdax_refcount_get(RDX_SB(inode->i_sb), pblk) > 1) {
		/* A shared page mapped read-only: copy it for this file. */
		err = refdax_cow_fault(inode, vmf->pgoff, pblk) ?: 1;
	} else if (err == 0) {
		/* The last owner keeps the page: it is no shadow any more. */
		refdax_shadow_drop(inode, vmf->pgoff);
	}
	if (err < 0)
		ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	else if (err == 1)
		ret = VM_FAULT_NOPAGE;
	else
		refdax_mark_mmap_dirty(inode, vmf->pgoff);
out:
	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

const struct vm_operations_struct refdax_vm_ops = {
	.fault		= refdax_fault,
	.pfn_mkwrite	= refdax_pfn_mkwrite,
};

int refdax_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);

	if (!daxdev_mapping_supported(vma, RDX_SB(inode->i_sb)->dax_dev))
		return -EOPNOTSUPP;
	file_accessed(file);
	vma->vm_ops = &refdax_vm_ops;
	return 0;
}
