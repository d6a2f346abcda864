// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX ACLs, stored as attributes of their own namespaces with an empty
 * name (refdax_format.h), and the attributes a new inode is born with:
 * the ACLs inherited from its directory's default ACL and the labels of
 * the security modules.  Both are written inside the create transaction,
 * so a crash never leaves a file that exists without them.
 */
#include <linux/slab.h>
#include <linux/xattr.h>
#include <linux/posix_acl.h>
#include <linux/security.h>
#include "refdax.h"

static u8 acl_ns(int type)
{
	return type == ACL_TYPE_ACCESS ? REFDAX_XATTR_NS_ACL_ACCESS :
					 REFDAX_XATTR_NS_ACL_DEFAULT;
}

/* Decode one entry's id; false for an unknown tag. */
static bool acl_entry_from_media(struct posix_acl_entry *pa,
				 const struct refdax_acl_entry *e)
{
	pa->e_tag = le16_to_cpu(e->e_tag);
	pa->e_perm = le16_to_cpu(e->e_perm);
	switch (pa->e_tag) {
	case ACL_USER_OBJ:
	case ACL_GROUP_OBJ:
	case ACL_MASK:
	case ACL_OTHER:
		return true;
	case ACL_USER:
		pa->e_uid = make_kuid(&init_user_ns, le32_to_cpu(e->e_id));
		return uid_valid(pa->e_uid);
	case ACL_GROUP:
		pa->e_gid = make_kgid(&init_user_ns, le32_to_cpu(e->e_id));
		return gid_valid(pa->e_gid);
	}
	return false;
}

static struct posix_acl *acl_from_media(const void *value, size_t size)
{
	const struct refdax_acl_entry *e = (const void *)((const u8 *)value + 4);
	size_t count = (size - 4) / sizeof(*e), i;
	struct posix_acl *acl;
	int ret;

	/* @value is a kmalloc()ed buffer: aligned */
	if (size < 4 || (size - 4) % sizeof(*e) ||
	    le32_to_cpup(value) != REFDAX_ACL_VERSION)
		return ERR_PTR(-EUCLEAN);
	if (!count)
		return NULL;
	acl = posix_acl_alloc(count, GFP_NOFS);
	if (!acl)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < count; i++) {
		if (!acl_entry_from_media(&acl->a_entries[i], &e[i])) {
			posix_acl_release(acl);
			return ERR_PTR(-EUCLEAN);
		}
	}
	ret = posix_acl_valid(&init_user_ns, acl);
	if (ret) {
		posix_acl_release(acl);
		return ERR_PTR(-EUCLEAN);
	}
	return acl;
}

static void *acl_to_media(const struct posix_acl *acl, u32 *size)
{
	struct refdax_acl_entry *e;
	const struct posix_acl_entry *pa;
	u32 id, i;
	u8 *value;

	*size = 4 + acl->a_count * sizeof(*e);
	value = kmalloc(*size, GFP_NOFS);
	if (!value)
		return ERR_PTR(-ENOMEM);
	*(__le32 *)value = cpu_to_le32(REFDAX_ACL_VERSION);
	e = (struct refdax_acl_entry *)(value + 4);
	for (i = 0; i < acl->a_count; i++) {
		pa = &acl->a_entries[i];
		id = pa->e_tag == ACL_USER ?
			from_kuid(&init_user_ns, pa->e_uid) :
		     pa->e_tag == ACL_GROUP ?
			from_kgid(&init_user_ns, pa->e_gid) : ACL_UNDEFINED_ID;
		e[i].e_tag = cpu_to_le16(pa->e_tag);
		e[i].e_perm = cpu_to_le16(pa->e_perm);
		e[i].e_id = cpu_to_le32(id);
	}
	return value;
}

struct posix_acl *refdax_get_acl(struct inode *inode, int type, bool rcu)
{
	struct posix_acl *acl;
	void *value;
	int size;

	if (rcu)
		return ERR_PTR(-ECHILD);
	/* an ACL has at most a few dozen entries: one page holds any */
	value = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!value)
		return ERR_PTR(-ENOMEM);
	size = refdax_xattr_get(inode, acl_ns(type), "", value, PAGE_SIZE);
	if (size == -ENODATA)
		acl = NULL;
	else if (size < 0)
		acl = ERR_PTR(size);
	else
		acl = acl_from_media(value, size);
	kfree(value);
	return acl;
}

/* Store (or, for NULL, remove) an ACL inside a running transaction. */
static int set_acl_txn(struct refdax_trans *tp, struct inode *inode,
		       struct posix_acl *acl, int type)
{
	struct refdax_xattr_req rq = { .ns = acl_ns(type), .name = "" };
	void *value = NULL;
	int ret;

	if (acl) {
		value = acl_to_media(acl, &rq.size);
		if (IS_ERR(value))
			return PTR_ERR(value);
		rq.value = value;
	}
	ret = refdax_xattr_set_txn(tp, inode, &rq);
	kfree(value);
	/* removing an ACL that is not there is no error */
	return ret == -ENODATA && !acl ? 0 : ret;
}

int refdax_set_acl(struct rdx_idmap *idmap, struct rdx_acl_target *target,
		   struct posix_acl *acl, int type)
{
	struct inode *inode = rdx_acl_inode(target);
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	umode_t mode = inode->i_mode, old_mode = inode->i_mode;
	struct refdax_trans *tp;
	int ret;

	if (type == ACL_TYPE_DEFAULT && !S_ISDIR(inode->i_mode))
		return acl ? -EACCES : 0;
	if (type == ACL_TYPE_ACCESS && acl) {
		/* an ACL the mode says in full is not stored */
		ret = posix_acl_update_mode(idmap, inode, &mode, &acl);
		if (ret)
			return ret;
	}
	down_write(&RDX_I(inode)->xattr_sem);
	tp = refdax_trans_begin(sbi, refdax_resv_xattr());
	if (IS_ERR(tp)) {
		ret = PTR_ERR(tp);
		goto out;
	}
	refdax_trans_ijoin(tp, inode, NULL);
	inode->i_mode = mode;
	ret = set_acl_txn(tp, inode, acl, type);
	/* the ACL may have gone into the mode alone: write that too */
	if (!ret && mode != old_mode) {
		inode_set_ctime_current(inode);
		ret = refdax_write_inode_txn(tp, inode);
	}
	if (ret) {
		refdax_trans_cancel(tp);
		inode->i_mode = old_mode;
	} else {
		refdax_trans_commit(tp);
		set_cached_acl(inode, type, acl);
	}
out:
	up_write(&RDX_I(inode)->xattr_sem);
	return ret;
}

int refdax_new_attrs_prepare(struct inode *dir, umode_t *mode,
			     struct refdax_new_attrs *na)
{
	na->default_acl = NULL;
	na->acl = NULL;
	return posix_acl_create(dir, mode, &na->default_acl, &na->acl);
}

static int init_xattrs(struct inode *inode, const struct xattr *xa,
		       void *fs_info)
{
	struct refdax_xattr_req rq = { .ns = REFDAX_XATTR_NS_SECURITY };
	int ret = 0;

	for (; !ret && xa->name; xa++) {
		rq.name = xa->name;
		rq.namelen = strlen(xa->name);
		rq.value = xa->value;
		rq.size = xa->value_len;
		if (rq.namelen > REFDAX_XATTR_NAME_MAX ||
		    rq.size > REFDAX_XATTR_SIZE_MAX)
			return -EINVAL;
		ret = refdax_xattr_set_txn(fs_info, inode, &rq);
	}
	return ret;
}

int refdax_new_attrs_init(struct refdax_trans *tp, struct inode *dir,
			  struct inode *inode, const struct qstr *qstr,
			  const struct refdax_new_attrs *na)
{
	int ret = 0;

	if (na->default_acl)
		ret = set_acl_txn(tp, inode, na->default_acl,
				  ACL_TYPE_DEFAULT);
	if (!ret && na->acl)
		ret = set_acl_txn(tp, inode, na->acl, ACL_TYPE_ACCESS);
	if (ret)
		return ret;
	set_cached_acl(inode, ACL_TYPE_DEFAULT, na->default_acl);
	set_cached_acl(inode, ACL_TYPE_ACCESS, na->acl);
	return security_inode_init_security(inode, dir, qstr, init_xattrs,
					    tp);
}

void refdax_new_attrs_release(struct refdax_new_attrs *na)
{
	if (na->default_acl)
		posix_acl_release(na->default_acl);
	if (na->acl)
		posix_acl_release(na->acl);
}
