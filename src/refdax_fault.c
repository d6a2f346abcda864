// SPDX-License-Identifier: GPL-2.0
/*
 * mmap: refdax's own fault handler maps pmem pages straight into user page
 * tables.  It does not use fs/dax.c: the shared-mapping work (reflink) hands
 * out per-file shadow mappings of one physical page, which needs a handler
 * of our own.
 *
 * Pages are inserted so that get_user_pages works on them and O_DIRECT from
 * a refdax mapping works: devmap ptes before 7.x, refcounted page ptes on
 * 7.x (refdax_compat.h).  Holes read as the zero page; a write to a hole
 * allocates a zeroed block first, and allocation removes zero-page ptes
 * before the block is visible (see refdax_get_block), so a zero-page pte is
 * never made writable.
 *
 * Files of 2 MiB and more map with PMDs where they can (huge_fault; not on
 * 7.x, see RDX_PMD_MAPPINGS in refdax_compat.h): a
 * 2 MiB-aligned page range within EOF whose blocks form one 2 MiB-aligned
 * physical run maps as one PMD, read and write, when none of its blocks is
 * shared; read-only from the chunk's master entry when all of them are.
 * A store into a shared PMD, and any range that does not fit, falls back
 * to 4 KiB pages: copy-on-write is per 4 KiB page, so a store into a
 * shared 2 MiB extent copies 4 KiB, not 2 MiB (a random-store workload on
 * a fresh clone would otherwise copy 512 times what it writes).
 *
 * Metadata reaching a block is committed before the block is mapped
 * writable, which is what MAP_SYNC asks for: a PMD is only mapped over
 * blocks that are already allocated, whose metadata is durable.  Stores
 * through shared mappings stay in CPU caches: the pages mapped writable
 * are remembered (refdax_dirty.c) and written back by fsync/msync.
 */
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/huge_mm.h>
#include "refdax.h"

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

	if (beyond_eof(inode, vmf->pgoff) || (write && IS_IMMUTABLE(inode)))
		return VM_FAULT_SIGBUS;
	ret = refdax_get_block(inode, vmf->pgoff, write ? 1 : 0, &pblk, &len);
	if (ret < 0)
		return ret == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	atomic64_inc(&sbi->stat_faults);
	if (ret == 0 && refdax_block_bad(sbi, pblk, 1))
		return VM_FAULT_HWPOISON;
	if (ret == 1)
		return rdx_insert_zero_page(vmf);
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
		refdax_mark_mmap_dirty(inode, vmf->pgoff, 1);
		return rdx_insert_page_rw(vmf, sbi->pfn0 + pblk,
					  sbi->pfn_flags);
	}
	return rdx_insert_page_ro(vmf, sbi->pfn0 + pblk, sbi->pfn_flags);
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
 * The first page of the file range a PMD at the fault address would map,
 * if a PMD fits there: the VMA covers the whole 2 MiB, the file offset is
 * 2 MiB-aligned too, and EOF is not inside it.
 */
static bool pmd_range(struct vm_fault *vmf, struct inode *inode,
		      pgoff_t *first)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PMD_MASK;
	pgoff_t pgoff;

	if (addr < vma->vm_start || addr + PMD_SIZE > vma->vm_end)
		return false;
	pgoff = linear_page_index(vma, addr);
	if (pgoff % REFDAX_HUGE_BLOCKS ||
	    pgoff + REFDAX_HUGE_BLOCKS >
	    DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE))
		return false;
	*first = pgoff;
	return true;
}

/* Whether [pblk, pblk + 512) is one chunk a PMD can map. */
static bool pmd_chunk(struct refdax_sb_info *sbi, u64 pblk, u64 len)
{
	return len >= REFDAX_HUGE_BLOCKS &&
	       IS_ALIGNED(sbi->pfn0 + pblk, REFDAX_HUGE_BLOCKS) &&
	       !refdax_block_bad(sbi, pblk, REFDAX_HUGE_BLOCKS);
}

static vm_fault_t refdax_pmd_fault_locked(struct vm_fault *vmf, bool write)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	pgoff_t pgoff;
	u64 pblk, len;

	if ((write && IS_IMMUTABLE(inode)) || !pmd_range(vmf, inode, &pgoff) ||
	    refdax_get_block(inode, pgoff, 0, &pblk, &len) != 0 ||
	    !pmd_chunk(sbi, pblk, len))
		return VM_FAULT_FALLBACK;
	if (refdax_refcount_run(sbi, pblk, REFDAX_HUGE_BLOCKS, false) ==
	    REFDAX_HUGE_BLOCKS) {
		/* Private: its metadata is durable, map it as it is asked. */
		atomic64_inc(&sbi->stat_pmd_faults);
		refdax_owner_set(sbi, pblk, inode->i_ino, pgoff);
		if (write)
			refdax_mark_mmap_dirty(inode, pgoff,
					       REFDAX_HUGE_BLOCKS);
		return rdx_insert_pfn_pmd(vmf, sbi->pfn0 + pblk,
					  sbi->pfn_flags, write);
	}
	/* A store copies 4 KiB (see the top); partly shared: 4 KiB too. */
	if (write || refdax_refcount_run(sbi, pblk, REFDAX_HUGE_BLOCKS,
					 true) != REFDAX_HUGE_BLOCKS)
		return VM_FAULT_FALLBACK;
	atomic64_inc(&sbi->stat_pmd_faults);
	return refdax_map_shared_huge(vmf, pgoff, pblk);
}

/* Only PMDs are ever tried: anything else falls back to 4 KiB pages. */
static vm_fault_t refdax_huge_fault(struct vm_fault *vmf,
				    rdx_huge_fault_size size)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	vm_fault_t ret;

	if (size != RDX_HUGE_FAULT_PMD || !RDX_PMD_MAPPINGS)
		return VM_FAULT_FALLBACK;
	/*
	 * A store to a private mapping copies into anonymous memory: let the
	 * core split the PMD and copy 4 KiB (6.1 asks us first).
	 */
	if (write && !(vma->vm_flags & VM_SHARED))
		return VM_FAULT_FALLBACK;
	if (write) {
		sb_start_pagefault(inode->i_sb);
		file_update_time(vma->vm_file);
	}
	filemap_invalidate_lock_shared(inode->i_mapping);
	ret = refdax_pmd_fault_locked(vmf, write);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	if (write)
		sb_end_pagefault(inode->i_sb);
	return ret;
}

/*
 * A store hit a read-only pte of a shared mapping.  If the page is a mapped
 * block, that same pte is made writable (by the core for a special pte,
 * here for a page pte of 7.x: see rdx_finish_mkwrite).  A hole means the
 * pte is the zero page: allocate, which zaps that pte, and let the fault
 * retry.  ->pfn_mkwrite and ->page_mkwrite both come here.
 */
static vm_fault_t refdax_mkwrite(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	vm_fault_t ret = 0;
	u64 pblk, len;
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vmf->vma->vm_file);
	filemap_invalidate_lock_shared(inode->i_mapping);
	/* immutable since the mapping was made (refdax_fileattr.c) */
	if (beyond_eof(inode, vmf->pgoff) || IS_IMMUTABLE(inode)) {
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
		refdax_shadow_drop(inode, vmf->pgoff, false);
	}
	if (err < 0) {
		ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	} else if (err == 1) {
		ret = VM_FAULT_NOPAGE;
	} else {
		refdax_mark_mmap_dirty(inode, vmf->pgoff, 1);
		ret = rdx_finish_mkwrite(vmf, RDX_SB(inode->i_sb)->pfn0 + pblk);
	}
out:
	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

const struct vm_operations_struct refdax_vm_ops = {
	.fault		= refdax_fault,
	.huge_fault	= refdax_huge_fault,
	.pfn_mkwrite	= refdax_mkwrite,
	.page_mkwrite	= refdax_mkwrite,
};

int refdax_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);

	/*
	 * MAP_SYNC promises stores are durable once they reach the device
	 * without an fsync: only a synchronous device keeps it.  (The core's
	 * daxdev_mapping_supported() does the same, with a prototype that
	 * changed in 7.x.)
	 */
	if ((vma->vm_flags & VM_SYNC) &&
	    !dax_synchronous(RDX_SB(inode->i_sb)->dax_dev))
		return -EOPNOTSUPP;
	file_accessed(file);
	vma->vm_ops = &refdax_vm_ops;
	rdx_vm_flags_set(vma, RDX_VM_FLAGS);
	return 0;
}
