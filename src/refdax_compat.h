/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels refdax builds for lives here, so the
 * rest of the module is written once.  Feature tests are preferred over
 * version numbers where a header tells us directly.
 *
 * Supported: Debian 12's 6.1, bookworm-backports' 6.12 and trixie-backports'
 * 7.3 (7.x: no pfn_t, no devmap ptes, fsdax pages refcounted from 0).
 */
#ifndef REFDAX_COMPAT_H
#define REFDAX_COMPAT_H

#include <linux/version.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/dax.h>
#include <linux/file.h>
#include <linux/cred.h>
/* 7.x removed pfn_t (and devmap ptes with it). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#include <linux/pfn_t.h>
#define RDX_HAVE_PFN_T		1
#endif
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

/*
 * 6.17 renamed struct fileattr (->fileattr_get/set) to struct file_kattr;
 * the idmap argument of ->fileattr_set follows rdx_idmap above.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
#define rdx_fileattr		file_kattr
#else
#define rdx_fileattr		fileattr
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

/* 6.15 made ->mkdir return the dentry it made (NULL: the one passed in). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define rdx_mkdir_result	struct dentry *
#define rdx_mkdir_return(err)	ERR_PTR(err)
#else
#define rdx_mkdir_result	int
#define rdx_mkdir_return(err)	(err)
#endif

/* 7.3 dropped ->create's O_EXCL flag, which refdax never needed. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0)
#define RDX_CREATE_OP(name) \
	int name(struct rdx_idmap *idmap, struct inode *dir, \
		 struct dentry *dentry, umode_t mode)
#else
#define RDX_CREATE_OP(name) \
	int name(struct rdx_idmap *idmap, struct inode *dir, \
		 struct dentry *dentry, umode_t mode, bool excl)
#endif

/* 7.x renamed system_unbound_wq (it warns on the old name) to system_dfl_wq. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define rdx_unbound_wq		system_dfl_wq
#else
#define rdx_unbound_wq		system_unbound_wq
#endif

/* 7.x hides inode->i_state behind accessors. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define rdx_inode_state(i)	inode_state_read_once(i)
#else
#define rdx_inode_state(i)	READ_ONCE((i)->i_state)
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
 * How a pmem page reaches a user page table.
 *
 * 6.1 and 6.12 map the pfn_t dax_direct_access() gave at mount, whose
 * PFN_DEV|PFN_MAP flags make devmap ptes and PMDs: get_user_pages works on
 * them and the pages' refcounts are not touched.  @flags are those flags.
 *
 * 7.x removed pfn_t and devmap.  A GUP-able 4 KiB pte must be a normal,
 * refcounted page mapping (vmf_insert_page_mkwrite); fsdax pages idle at
 * refcount 0, so a reference is held across the insert, as fs/dax.c does.
 * A PMD could only be a special entry in a VM_MIXEDMAP VMA (a module
 * cannot build the compound folio a refcounted PMD needs), and 7.x splits
 * a PMD of a DAX VMA (a partial munmap or mprotect, or a store refdax
 * answers with 4 KiB pages) as if it held such a folio: it drops a page
 * reference and 512 pages of RSS nobody took ("Bad rss-counter state").
 * So 7.x maps 4 KiB pages only (RDX_PMD_MAPPINGS).  @flags is unused there.
 */
#ifdef RDX_HAVE_PFN_T
static inline vm_fault_t rdx_insert_pfn_pmd(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags,
					    bool write)
{
	return vmf_insert_pfn_pmd(vmf, __pfn_to_pfn_t(pfn, flags), write);
}

static inline vm_fault_t rdx_insert_zero_page(struct vm_fault *vmf)
{
	return vmf_insert_mixed(vmf->vma, vmf->address,
				pfn_to_pfn_t(my_zero_pfn(vmf->address)));
}

static inline vm_fault_t rdx_insert_page_ro(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags)
{
	return vmf_insert_mixed(vmf->vma, vmf->address,
				__pfn_to_pfn_t(pfn, flags));
}

/* Extra VMA flags of a refdax mapping. */
#define RDX_VM_FLAGS		VM_HUGEPAGE
/* Whether huge_fault maps PMDs at all. */
#define RDX_PMD_MAPPINGS	1
/* A freed block's page is idle when nobody but its pgmap holds it. */
#define RDX_PAGE_IDLE_REFS	1
#else
static inline vm_fault_t rdx_insert_pfn_pmd(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags,
					    bool write)
{
	return vmf_insert_pfn_pmd(vmf, pfn, write);
}

static inline vm_fault_t rdx_insert_zero_page(struct vm_fault *vmf)
{
	return vmf_insert_mixed(vmf->vma, vmf->address,
				zero_pfn(vmf->address));
}

static inline vm_fault_t rdx_insert_page(struct vm_fault *vmf,
					 unsigned long pfn, bool write)
{
	struct folio *folio = pfn_folio(pfn);
	vm_fault_t ret;

	folio_ref_inc(folio);
	ret = vmf_insert_page_mkwrite(vmf, pfn_to_page(pfn), write);
	folio_put(folio);
	return ret;
}

static inline vm_fault_t rdx_insert_page_ro(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags)
{
	return rdx_insert_page(vmf, pfn, false);
}

#define RDX_VM_FLAGS		0
#define RDX_PMD_MAPPINGS	0
#define RDX_PAGE_IDLE_REFS	0
#endif

/*
 * Installing a writable DAX pte in one fault.  6.1 exports
 * vmf_insert_mixed_mkwrite(); 6.6 to 6.x declare it but do not export it,
 * and their vm_page_prot of a write-notify mapping is read-only, so a
 * plain insert makes the store fault a second time (into ->pfn_mkwrite).
 * There the pte is inserted read-only and then upgraded in place, under
 * its page-table lock, exactly as the core's insert_pfn(mkwrite) does for
 * the unexported call: same pfn, young, writable, dirty.  A pte that
 * changed meanwhile is left alone; the store then faults again.  7.x
 * exports vmf_insert_page_mkwrite(), which does it in one step.
 */
#if !defined(RDX_HAVE_PFN_T)
static inline vm_fault_t rdx_insert_page_rw(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags)
{
	return rdx_insert_page(vmf, pfn, true);
}
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
static inline vm_fault_t rdx_insert_page_rw(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags)
{
	return vmf_insert_mixed_mkwrite(vmf->vma, vmf->address,
					__pfn_to_pfn_t(pfn, flags));
}
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

static inline vm_fault_t rdx_insert_page_rw(struct vm_fault *vmf,
					    unsigned long pfn, u64 flags)
{
	struct vm_area_struct *vma = vmf->vma;
	struct rdx_pte_upgrade up = { vma->vm_mm, pfn };
	vm_fault_t ret = rdx_insert_page_ro(vmf, pfn, flags);

	if (ret == VM_FAULT_NOPAGE && (vma->vm_flags & VM_WRITE))
		apply_to_existing_page_range(vma->vm_mm,
					     vmf->address & PAGE_MASK,
					     PAGE_SIZE, rdx_pte_mkwrite, &up);
	return ret;
}
#endif

/*
 * ->pfn_mkwrite/->page_mkwrite decided a read-only pte of block @pfn may
 * become writable.  For a special pte (->pfn_mkwrite, every pte before
 * 7.x) the core does it when we return 0.  A page pte of 7.x comes through
 * ->page_mkwrite, after which the core only retries the fault: upgrade it
 * here, unless it no longer maps @pfn (a copy-on-write is replacing it).
 */
static inline vm_fault_t rdx_finish_mkwrite(struct vm_fault *vmf,
					    unsigned long pfn)
{
#ifdef RDX_HAVE_PFN_T
	return 0;
#else
	if (!vmf->page)
		return 0;
	if (page_to_pfn(vmf->page) != pfn)
		return VM_FAULT_NOPAGE;
	return rdx_insert_page(vmf, pfn, true);
#endif
}

/*
 * The whole device mapped once at mount: its kernel address and first
 * pfn, and (before 7.x) the pfn_t flags every insert passes on.
 */
static inline long rdx_dax_map_all(struct dax_device *dax_dev, pgoff_t pgoff,
				   long nr, void **kaddr, unsigned long *pfn,
				   u64 *flags)
{
#ifdef RDX_HAVE_PFN_T
	pfn_t pt;
	long got = dax_direct_access(dax_dev, pgoff, nr, DAX_ACCESS, kaddr,
				     &pt);

	*pfn = pfn_t_to_pfn(pt);
	*flags = pt.val & PFN_FLAGS_MASK;
	return got;
#else
	*flags = 0;
	return dax_direct_access(dax_dev, pgoff, nr, DAX_ACCESS, kaddr, pfn);
#endif
}

/*
 * A device-dax instance (/dev/daxX.Y, a character device) as the mount
 * source: its dax_device held for @holder, or an ERR_PTR:
 *   -EOPNOTSUPP   this kernel cannot (before 7.x)
 *   -ENODEV       not a device-dax instance
 *   -ENXIO        a device-dax instance bound to no driver
 *   -EMEDIUMTYPE  bound to a driver other than fsdev_dax
 *   -EBUSY        held by another filesystem
 *
 * 7.x's fsdev_dax driver rebinds an instance as fsdax memory with real
 * dax_operations; dax_dev_get() finds its dax_device by number and
 * fs_dax_get() holds it.  Before 7.x a device-dax instance has no
 * dax_operations at all: the namespace must be fsdax (/dev/pmemN).
 *
 * dax_dev_get() of a number it does not know makes a blank dax inode whose
 * eviction frees that minor in the dax minor allocator, which may belong
 * to a live device: it must only be given the number of a live dax device.
 * So the major is compared with the dax major (learnt from a dax_device
 * made and freed for that) and the device is opened first, which fails
 * unless a driver has registered its cdev.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
/* exported by drivers/dax/super.c, declared in its private header only */
struct inode *dax_inode(struct dax_device *dax_dev);

static inline struct dax_device *
rdx_devdax_get(const struct path *path, void *holder,
	       const struct dax_holder_operations *ops)
{
	dev_t devt = d_backing_inode(path->dentry)->i_rdev;
	struct dax_device *dax_dev;
	struct file *file;
	int ret;

	dax_dev = alloc_dax(NULL, NULL);
	if (IS_ERR(dax_dev))
		return dax_dev;
	ret = MAJOR(dax_inode(dax_dev)->i_rdev) == MAJOR(devt) ? 0 : -ENODEV;
	kill_dax(dax_dev);
	put_dax(dax_dev);
	if (ret)
		return ERR_PTR(ret);

	file = dentry_open(path, O_RDONLY, current_cred());
	if (IS_ERR(file))
		return ERR_CAST(file);
	dax_dev = dax_dev_get(devt);
	if (!dax_dev) {
		fput(file);
		return ERR_PTR(-ENOMEM);
	}
	ret = fs_dax_get(dax_dev, holder, ops);
	put_dax(dax_dev);		/* fs_dax_get() took its own */
	fput(file);
	if (ret == -EOPNOTSUPP)
		ret = -EMEDIUMTYPE;
	return ret ? ERR_PTR(ret) : dax_dev;
}
#else
static inline struct dax_device *
rdx_devdax_get(const struct path *path, void *holder,
	       const struct dax_holder_operations *ops)
{
	return ERR_PTR(-EOPNOTSUPP);
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

/*
 * Extended attributes and POSIX ACLs.
 *
 * 6.7 made the s_xattr array itself const.  6.1 routes system.posix_acl_*
 * through the generic ACL xattr handlers, which must be in s_xattr; from
 * 6.2 the VFS handles those names itself and calls ->set_acl and
 * ->get_acl/->get_inode_acl directly.  6.2 also moved the inode operation
 * that reads an ACL for permission checks from ->get_acl to
 * ->get_inode_acl, and passed ->set_acl (and posix_acl_chmod) the dentry
 * instead of the inode.
 */
#include <linux/posix_acl.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define RDX_XATTR_ARRAY_CONST	const
#else
#define RDX_XATTR_ARRAY_CONST
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define RDX_POSIX_ACL_HANDLERS
#define RDX_ACL_INODE_OPS(get, set) \
	.get_inode_acl = (get), .set_acl = (set)
#define rdx_acl_target		dentry	/* ->set_acl's object */
#define rdx_acl_inode(t)	d_inode(t)
#define rdx_posix_acl_chmod(idmap, dentry, mode) \
	posix_acl_chmod(idmap, dentry, mode)
#else
#include <linux/posix_acl_xattr.h>
#define RDX_POSIX_ACL_HANDLERS \
	&posix_acl_access_xattr_handler, &posix_acl_default_xattr_handler,
#define RDX_ACL_INODE_OPS(get, set) \
	.get_acl = (get), .set_acl = (set)
#define rdx_acl_target		inode
#define rdx_acl_inode(t)	(t)
#define rdx_posix_acl_chmod(idmap, dentry, mode) \
	posix_acl_chmod(idmap, d_inode(dentry), mode)
#endif

/*
 * The default file handle (inode number and generation, FILEID_INO32_GEN).
 * Before 6.7 a NULL ->encode_fh meant it; 6.7 made ->encode_fh mandatory
 * and exported the default as generic_encode_ino32_fh(), which overlayfs
 * recognises as 32-bit inode numbers (its xino bits).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define RDX_ENCODE_FH_DEFAULT	generic_encode_ino32_fh
#else
#define RDX_ENCODE_FH_DEFAULT	NULL
#endif

/*
 * The filesystem UUID.  6.8 added s_uuid_len (set by super_set_uuid()):
 * FS_IOC_GETFSUUID and the UUID-named sysfs entries read it, and a zero
 * length means "no UUID" to them.  Before 6.8 s_uuid alone was it.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define rdx_set_uuid(sb, uuid)	super_set_uuid(sb, uuid, sizeof((sb)->s_uuid))
#else
#define rdx_set_uuid(sb, uuid)	memcpy(&(sb)->s_uuid, uuid, sizeof((sb)->s_uuid))
#endif

#endif /* REFDAX_COMPAT_H */
