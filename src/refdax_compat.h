/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels refdax builds for lives here, so the
 * rest of the module is written once.  Feature tests are preferred over
 * version numbers where a header tells us directly.
 *
 * Supported: Debian 12's 6.1 and bookworm-backports' 6.12.
 */
#ifndef REFDAX_COMPAT_H
#define REFDAX_COMPAT_H

#include <linux/version.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/dax.h>
#include <linux/pfn_t.h>
#include <linux/mman.h>
#include <linux/pgtable.h>

/* 6.3 replaced the user_namespace argument of inode ops by mnt_idmap. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define rdx_idmap		mnt_idmap	/* struct rdx_idmap *idmap */
#define RDX_NOP_IDMAP		(&nop_mnt_idmap)
#define rdx_fillattr(idmap, mask, inode, st) \
	generic_fillattr(idmap, mask, inode, st)
#else
#define rdx_idmap		user_namespace
#define RDX_NOP_IDMAP		(&init_user_ns)
#define rdx_fillattr(idmap, mask, inode, st) \
	generic_fillattr(idmap, inode, st)
#endif

/* 6.7 hid i_atime/i_mtime behind accessors. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define rdx_get_atime(i)	inode_get_atime(i)
#define rdx_get_mtime(i)	inode_get_mtime(i)
#define rdx_set_atime(i, ts)	inode_set_atime_to_ts(i, ts)
#define rdx_set_mtime(i, ts)	inode_set_mtime_to_ts(i, ts)
#else
#define rdx_get_atime(i)	((i)->i_atime)
#define rdx_get_mtime(i)	((i)->i_mtime)
#define rdx_set_atime(i, ts)	((i)->i_atime = (ts))
#define rdx_set_mtime(i, ts)	((i)->i_mtime = (ts))
#endif

/* 6.3 made vma->vm_flags read-only behind vm_flags_set(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define rdx_vm_flags_set(vma, f)	vm_flags_set(vma, f)
#else
#define rdx_vm_flags_set(vma, f)	((vma)->vm_flags |= (f))
#endif

/* 6.11 moved MAP_SYNC support from mmap_supported_flags to fop_flags. */
#ifdef FOP_MMAP_SYNC
#define RDX_FOP_MMAP_SYNC	.fop_flags = FOP_MMAP_SYNC
#else
#define RDX_FOP_MMAP_SYNC	.mmap_supported_flags = MAP_SYNC
#endif

/*
 * Installing a writable DAX pte in one fault.  6.1 exports
 * vmf_insert_mixed_mkwrite(); later kernels declare it but do not export
 * it, and their vm_page_prot of a write-notify mapping is read-only, so a
 * plain insert makes the store fault a second time (into ->pfn_mkwrite).
 * There the pte is inserted read-only and then upgraded in place, under
 * its page-table lock, exactly as the core's insert_pfn(mkwrite) does for
 * the unexported call: same pfn, young, writable, dirty.  A pte that
 * changed meanwhile is left alone; the store then faults again.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
#define rdx_insert_pfn_write(vma, addr, pfn) \
	vmf_insert_mixed_mkwrite(vma, addr, pfn)
#else
struct rdx_pte_upgrade {
	struct mm_struct *mm;
	unsigned long pfn;
};

static inline int rdx_pte_mkwrite(pte_t *ptep, unsigned long addr,
				  void *data)
{
	struct rdx_pte_upgrade *up = data;
	pte_t pte = ptep_get(ptep);

	if (pte_present(pte) && pte_pfn(pte) == up->pfn && !pte_write(pte))
		set_pte_at(up->mm, addr, ptep,
			   pte_mkdirty(pte_mkwrite_novma(pte_mkyoung(pte))));
	return 0;
}

static inline vm_fault_t rdx_insert_pfn_write(struct vm_area_struct *vma,
					      unsigned long addr, pfn_t pfn)
{
	struct rdx_pte_upgrade up = { vma->vm_mm, pfn_t_to_pfn(pfn) };
	vm_fault_t ret = vmf_insert_mixed(vma, addr, pfn);

	if (ret == VM_FAULT_NOPAGE && (vma->vm_flags & VM_WRITE))
		apply_to_existing_page_range(vma->vm_mm, addr & PAGE_MASK,
					     PAGE_SIZE, rdx_pte_mkwrite, &up);
	return ret;
}
#endif

/* 6.6 passes ->huge_fault the mapping's order instead of an entry size. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define rdx_huge_fault_size	unsigned int
#define RDX_HUGE_FAULT_PMD	PMD_ORDER
#else
#define rdx_huge_fault_size	enum page_entry_size
#define RDX_HUGE_FAULT_PMD	PE_SIZE_PMD
#endif

/* 6.5 replaced generic_file_splice_read by copy_splice_read. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define rdx_splice_read		copy_splice_read
#else
#define rdx_splice_read		generic_file_splice_read
#endif

/* 6.7 tells a device's coming removal apart from a poisoned range. */
#ifdef MF_MEM_PRE_REMOVE
#define RDX_MF_PRE_REMOVE	MF_MEM_PRE_REMOVE
#else
#define RDX_MF_PRE_REMOVE	0
#endif

static inline pfn_t rdx_pfn_t(unsigned long pfn, u64 flags)
{
	return __pfn_to_pfn_t(pfn, flags);
}

#endif /* REFDAX_COMPAT_H */
