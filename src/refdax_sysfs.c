// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/fs/refdax/<dev>/: counters of the master-page table and of
 * copy-on-write, for tests and for users who want to see sharing at work.
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/slab.h>
#include "refdax.h"

static struct kset *refdax_kset;

static struct refdax_sb_info *to_sbi(struct kobject *kobj)
{
	return container_of(kobj, struct refdax_sb_info, kobj);
}

#define RDX_COUNTER(name, expr)						\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	struct refdax_sb_info *sbi = to_sbi(kobj);			\
									\
	return sysfs_emit(buf, "%lld\n", (long long)(expr));		\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

RDX_COUNTER(master_entries, atomic64_read(&sbi->stat_masters));

/* 1 where mappings use 2 MiB PMDs (not on 7.x: see refdax_compat.h) */
static ssize_t pmd_mappings_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", RDX_PMD_MAPPINGS);
}

static struct kobj_attribute pmd_mappings_attr = __ATTR_RO(pmd_mappings);

RDX_COUNTER(shadows, atomic64_read(&sbi->stat_shadows));
RDX_COUNTER(cow_faults, atomic64_read(&sbi->stat_cow_faults));
RDX_COUNTER(cow_copies, atomic64_read(&sbi->stat_cow_ops));
RDX_COUNTER(cow_bytes, atomic64_read(&sbi->stat_cow_bytes));
RDX_COUNTER(transactions, atomic64_read(&sbi->stat_txns));
RDX_COUNTER(faults, atomic64_read(&sbi->stat_faults));
RDX_COUNTER(pmd_faults, atomic64_read(&sbi->stat_pmd_faults));
RDX_COUNTER(free_blocks, READ_ONCE(sbi->free_blocks));
RDX_COUNTER(memory_failures, atomic64_read(&sbi->stat_mem_failures));
RDX_COUNTER(master_bytes, atomic64_read(&sbi->stat_masters) *
	    refdax_master_entry_bytes() + atomic64_read(&sbi->stat_shadows) *
	    refdax_shadow_entry_bytes());

/* Blocks with more than one reference, counted from the media records. */
static ssize_t shared_blocks_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	u64 records;

	return sysfs_emit(buf, "%llu\n",
			  refdax_refcount_shared(to_sbi(kobj), &records));
}

static struct kobj_attribute shared_blocks_attr = __ATTR_RO(shared_blocks);

/* Refcount records on media: one per run of blocks sharing a count. */
static ssize_t refcount_records_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	u64 records;

	refdax_refcount_shared(to_sbi(kobj), &records);
	return sysfs_emit(buf, "%llu\n", records);
}

static struct kobj_attribute refcount_records_attr =
	__ATTR_RO(refcount_records);

static struct attribute *refdax_attrs[] = {
	&master_entries_attr.attr,
	&shadows_attr.attr,
	&shared_blocks_attr.attr,
	&refcount_records_attr.attr,
	&cow_faults_attr.attr,
	&cow_copies_attr.attr,
	&cow_bytes_attr.attr,
	&master_bytes_attr.attr,
	&transactions_attr.attr,
	&faults_attr.attr,
	&pmd_faults_attr.attr,
	&pmd_mappings_attr.attr,
	&free_blocks_attr.attr,
	&memory_failures_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(refdax);

static void refdax_kobj_release(struct kobject *kobj)
{
	complete(&to_sbi(kobj)->kobj_done);
}

static const struct kobj_type refdax_ktype = {
	.default_groups	= refdax_groups,
	.sysfs_ops	= &kobj_sysfs_ops,
	.release	= refdax_kobj_release,
};

int refdax_sysfs_register(struct refdax_sb_info *sbi)
{
	int ret;

	init_completion(&sbi->kobj_done);
	sbi->kobj.kset = refdax_kset;
	ret = kobject_init_and_add(&sbi->kobj, &refdax_ktype, NULL, "%s",
				   sbi->sb->s_id);
	if (ret) {
		kobject_put(&sbi->kobj);
		wait_for_completion(&sbi->kobj_done);
	}
	return ret;
}

void refdax_sysfs_unregister(struct refdax_sb_info *sbi)
{
	kobject_del(&sbi->kobj);
	kobject_put(&sbi->kobj);
	wait_for_completion(&sbi->kobj_done);
}

int refdax_sysfs_init(void)
{
	refdax_kset = kset_create_and_add("refdax", NULL, fs_kobj);
	return refdax_kset ? 0 : -ENOMEM;
}

void refdax_sysfs_exit(void)
{
	kset_unregister(refdax_kset);
}
