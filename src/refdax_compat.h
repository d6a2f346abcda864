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
 * Installing a writable DAX pte.  6.1 exports vmf_insert_mixed_mkwrite();
 * from 6.12 it is not exported, so the fault inserts read-only and the core
 * upgrades the pte through ->pfn_mkwrite on the retried write.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
#define rdx_insert_pfn_write(vma, addr, pfn) \
	vmf_insert_mixed_mkwrite(vma, addr, pfn)
#else
#define rdx_insert_pfn_write(vma, addr, pfn) \
	vmf_insert_mixed(vma, addr, pfn)
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
