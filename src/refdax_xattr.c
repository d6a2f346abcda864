// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes: one attribute block per inode (i_xattr), values
 * inline in it or, when large, in a remote run of contiguous blocks
 * (refdax_format.h).  The VFS prefixes map to namespaces through the
 * handlers below; POSIX ACLs (refdax_acl.c) are entries of their own
 * namespaces with an empty name.
 *
 * An update builds the block's new image in memory and then, in one
 * transaction: allocates and writes (non-temporal, so flushed) a new
 * remote value, logs the block and copies the image over it, or writes a
 * fresh block whole if the inode had none, frees the replaced value's run
 * and an emptied block through the deferred-free path, and writes the
 * inode (i_blocks, ctime, i_xattr).  The commit's fence orders the remote
 * value before the commit word, so a committed entry never points at a
 * value that is not durable, and an aborted or torn one leaves the old
 * block and the old value (whose blocks were only freed in the bitmap,
 * which recovery puts back).  docs/format.md has the crash analysis.
 */
#include <linux/slab.h>
#include <linux/xattr.h>
#include "refdax.h"
#include "refdax_xattr.h"

/*
 * The inode's attribute block, verified; NULL if it has none, or an
 * ERR_PTR if it is corrupt.  Verified at every use: the block is small
 * and a check costs less than the trust it would otherwise take.
 */
static void *xattr_block(struct inode *inode, u64 *blk)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode *pi = rdx_pinode(sbi, inode->i_ino);
	const char *why;
	void *b;

	*blk = le64_to_cpu(READ_ONCE(pi->i_xattr));
	if (!*blk)
		return NULL;
	b = rdx_block(sbi, *blk);
	if (refdax_check_xattr_block(&sbi->geom, inode->i_ino, *blk, b,
				     &why)) {
		refdax_error(inode->i_sb, "inode %llu: xattr block %llu: %s",
			     (u64)inode->i_ino, *blk, why);
		return ERR_PTR(-EUCLEAN);
	}
	return b;
}

static const void *entry_value(struct refdax_sb_info *sbi,
			       const struct refdax_xattr_entry *e)
{
	if (e->xe_pblk)
		return rdx_block(sbi, le64_to_cpu(e->xe_pblk));
	return refdax_xattr_inline_value(e);
}

int refdax_xattr_get(struct inode *inode, u8 ns, const char *name,
		     void *buf, size_t size)
{
	struct refdax_inode_info *ri = RDX_I(inode);
	size_t namelen = strlen(name);
	struct refdax_xattr_entry *e;
	u32 off, len;
	void *b;
	u64 blk;
	int ret;

	if (namelen > REFDAX_XATTR_NAME_MAX)
		return -ERANGE;
	down_read(&ri->xattr_sem);
	b = xattr_block(inode, &blk);
	ret = IS_ERR(b) ? PTR_ERR(b) : -ENODATA;
	off = IS_ERR_OR_NULL(b) ? 0 : refdax_xattr_find(b, ns, name, namelen);
	if (off) {
		e = refdax_xattr_entry_at(b, off);
		len = le32_to_cpu(e->xe_vallen);
		ret = len;
		if (buf && len > size)
			ret = -ERANGE;
		else if (buf)
			memcpy(buf, entry_value(RDX_SB(inode->i_sb), e), len);
	}
	up_read(&ri->xattr_sem);
	return ret;
}

/* The listed name of an entry's namespace, or NULL if the caller may not
 * see it (trusted.* without CAP_SYS_ADMIN, ACLs where they are off).
 */
static const char *ns_prefix(struct inode *inode, u8 ns)
{
	switch (ns) {
	case REFDAX_XATTR_NS_USER:
		return XATTR_USER_PREFIX;
	case REFDAX_XATTR_NS_TRUSTED:
		return capable(CAP_SYS_ADMIN) ? XATTR_TRUSTED_PREFIX : NULL;
	case REFDAX_XATTR_NS_SECURITY:
		return XATTR_SECURITY_PREFIX;
	case REFDAX_XATTR_NS_ACL_ACCESS:
		return IS_POSIXACL(inode) ? XATTR_NAME_POSIX_ACL_ACCESS : NULL;
	case REFDAX_XATTR_NS_ACL_DEFAULT:
		return IS_POSIXACL(inode) ? XATTR_NAME_POSIX_ACL_DEFAULT : NULL;
	}
	return NULL;
}

/* Append "prefix" "name" NUL at *@pos; -ERANGE if @buf is too small. */
static int list_one(char *buf, size_t size, size_t *pos, const char *prefix,
		    const struct refdax_xattr_entry *e)
{
	size_t plen = strlen(prefix), n = plen + e->xe_namelen + 1;

	if (buf) {
		if (*pos + n > size)
			return -ERANGE;
		memcpy(buf + *pos, prefix, plen);
		memcpy(buf + *pos + plen, refdax_xattr_name(e), e->xe_namelen);
		buf[*pos + n - 1] = '\0';
	}
	*pos += n;
	return 0;
}

ssize_t refdax_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	struct refdax_inode_info *ri = RDX_I(inode);
	const struct refdax_xattr_hdr *h;
	struct refdax_xattr_entry *e;
	const char *prefix;
	size_t pos = 0;
	u32 off, i;
	int ret = 0;
	void *b;
	u64 blk;

	down_read(&ri->xattr_sem);
	b = xattr_block(inode, &blk);
	if (IS_ERR(b))
		ret = PTR_ERR(b);
	h = IS_ERR_OR_NULL(b) ? NULL : b;
	off = REFDAX_XATTR_HDR_LEN;
	for (i = 0; h && !ret && i < le16_to_cpu(h->xh_count); i++) {
		e = refdax_xattr_entry_at(b, off);
		off += refdax_xattr_entry_len(e);
		prefix = ns_prefix(inode, e->xe_ns);
		if (prefix)
			ret = list_one(buf, size, &pos, prefix, e);
	}
	up_read(&ri->xattr_sem);
	return ret ? ret : pos;
}

/*
 * Copy the entries of @old (may be NULL) but the one at @skip into @img;
 * returns the bytes used.
 */
static u32 copy_entries(void *img, const void *old, u32 skip, u16 *count)
{
	const struct refdax_xattr_hdr *h = old;
	u32 off = REFDAX_XATTR_HDR_LEN, used = REFDAX_XATTR_HDR_LEN, len, i;
	struct refdax_xattr_entry *e;

	*count = 0;
	for (i = 0; old && i < le16_to_cpu(h->xh_count); i++, off += len) {
		e = refdax_xattr_entry_at(old, off);
		len = refdax_xattr_entry_len(e);
		if (off == skip)
			continue;
		memcpy((u8 *)img + used, e, len);
		used += len;
		(*count)++;
	}
	return used;
}

/* Allocate a remote run for @rq's value and make the value durable. */
static int write_remote(struct refdax_trans *tp,
			const struct refdax_xattr_req *rq, u64 *pblk)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u64 want = REFDAX_XATTR_REMOTE_BLOCKS(rq->size), got;
	u8 *dst;
	int ret;

	ret = refdax_alloc_blocks(tp, want, 1, pblk, &got);
	if (ret)
		return ret;
	/* a run shorter than asked stays allocated until the cancel */
	if (got < want)
		return -ENOSPC;
	dst = rdx_block(sbi, *pblk);
	refdax_copy_flushcache(sbi, dst, rq->value, rq->size);
	if (rq->size < want * REFDAX_BLOCK_SIZE) {
		memset(dst + rq->size, 0, want * REFDAX_BLOCK_SIZE - rq->size);
		refdax_persist(sbi, dst + rq->size,
			       want * REFDAX_BLOCK_SIZE - rq->size);
	}
	return 0;
}

/* Append @rq's entry to @img (@used bytes so far); returns new @used. */
static int add_entry(struct refdax_trans *tp, void *img, u32 used,
		     const struct refdax_xattr_req *rq, u64 *remote)
{
	bool inl = rq->size <= REFDAX_XATTR_INLINE_MAX;
	u32 len = REFDAX_XATTR_ENTRY_LEN(rq->namelen, inl ? rq->size : 0);
	struct refdax_xattr_entry *e;
	int ret;

	if (len > REFDAX_BLOCK_SIZE - used)
		return -ENOSPC;
	*remote = 0;
	if (!inl) {
		ret = write_remote(tp, rq, remote);
		if (ret)
			return ret;
	}
	e = refdax_xattr_entry_at(img, used);
	e->xe_ns = rq->ns;
	e->xe_namelen = rq->namelen;
	e->xe_vallen = cpu_to_le32(rq->size);
	e->xe_pblk = cpu_to_le64(*remote);
	memcpy(e + 1, rq->name, rq->namelen);
	if (inl)
		memcpy((u8 *)(e + 1) + rq->namelen, rq->value, rq->size);
	return used + len;
}

/* The first attribute of an image without the feature: set it. */
static int set_feature(struct refdax_trans *tp)
{
	struct refdax_super *rsb = tp->sbi->rsb;
	int ret;

	if (le64_to_cpu(rsb->s_feature_incompat) & REFDAX_FEAT_INCOMPAT_XATTR)
		return 0;
	ret = refdax_trans_log(tp, rsb, sizeof(*rsb));
	if (ret)
		return ret;
	rsb->s_feature_incompat |= cpu_to_le64(REFDAX_FEAT_INCOMPAT_XATTR);
	refdax_super_set_csum(rsb);
	return 0;
}

/*
 * Put @img (@count entries, @used bytes) in place of block @blk (0: none)
 * and return the inode's new attribute block in *@newblk; *@delta counts
 * blocks gained (+1) or given up (-1).
 */
static int store_image(struct refdax_trans *tp, struct inode *inode,
		       void *img, u16 count, u32 used, u64 blk, u64 *newblk,
		       s64 *delta)
{
	struct refdax_sb_info *sbi = tp->sbi;
	struct refdax_xattr_hdr *h = img;
	u64 got;
	int ret;

	*newblk = blk;
	*delta = 0;
	if (!count) {
		*newblk = 0;
		*delta = blk ? -1 : 0;
		return blk ? refdax_free_blocks(tp, blk, 1) : 0;
	}
	h->xh_magic = cpu_to_le32(REFDAX_XATTR_MAGIC);
	h->xh_ino = cpu_to_le64(inode->i_ino);
	h->xh_count = cpu_to_le16(count);
	h->xh_used = cpu_to_le16(used);
	refdax_xattr_set_csum(img);
	if (blk && refdax_trans_allocated(tp, blk)) {
		/* allocated by this transaction (a create's attributes) */
		refdax_copy_flushcache(sbi, rdx_block(sbi, blk), img,
				       REFDAX_BLOCK_SIZE);
		return 0;
	}
	if (blk) {
		ret = refdax_trans_log(tp, rdx_block(sbi, blk),
				       REFDAX_BLOCK_SIZE);
		if (!ret)
			memcpy(rdx_block(sbi, blk), img, REFDAX_BLOCK_SIZE);
		return ret;
	}
	ret = refdax_alloc_blocks(tp, 1, 1, newblk, &got);
	if (ret)
		return ret;
	/* a fresh block: nothing to undo, only to make durable */
	refdax_copy_flushcache(sbi, rdx_block(sbi, *newblk), img,
			       REFDAX_BLOCK_SIZE);
	*delta = 1;
	return 0;
}

/* Write the inode with its new block count and attribute block. */
static int finish_inode(struct refdax_trans *tp, struct inode *inode,
			s64 delta, u64 newblk)
{
	struct refdax_inode *pi = rdx_pinode(tp->sbi, inode->i_ino);
	int ret;

	refdax_trans_ijoin(tp, inode, NULL);
	inode->i_blocks += delta * (REFDAX_BLOCK_SIZE >> 9);
	inode_set_ctime_current(inode);
	ret = refdax_write_inode_txn(tp, inode);
	if (ret)
		return ret;
	/* logged just above; i_xattr lives only on media */
	pi->i_xattr = cpu_to_le64(newblk);
	refdax_inode_set_csum(pi);
	return 0;
}

static int check_flags(u32 off, const struct refdax_xattr_req *rq)
{
	if ((rq->flags & XATTR_CREATE) && off)
		return -EEXIST;
	if (((rq->flags & XATTR_REPLACE) || !rq->value) && !off)
		return -ENODATA;
	return 0;
}

int refdax_xattr_set_txn(struct refdax_trans *tp, struct inode *inode,
			 const struct refdax_xattr_req *rq)
{
	struct refdax_xattr_entry *old = NULL;
	u64 blk, remote = 0, newblk;
	s64 added = 0, freed = 0, bdelta;
	u32 off = 0, used;
	void *b, *img;
	u16 count;
	int ret;

	b = xattr_block(inode, &blk);
	if (IS_ERR(b))
		return PTR_ERR(b);
	if (b)
		off = refdax_xattr_find(b, rq->ns, rq->name, rq->namelen);
	ret = check_flags(off, rq);
	if (ret)
		return ret;
	img = kzalloc(REFDAX_BLOCK_SIZE, GFP_NOFS);
	if (!img)
		return -ENOMEM;
	used = copy_entries(img, b, off, &count);
	if (rq->value) {
		ret = add_entry(tp, img, used, rq, &remote);
		if (ret < 0)
			goto out;
		used = ret;
		count++;
		added = remote ? REFDAX_XATTR_REMOTE_BLOCKS(rq->size) : 0;
	}
	if (off)
		old = refdax_xattr_entry_at(b, off);
	if (old && old->xe_pblk) {
		freed = REFDAX_XATTR_REMOTE_BLOCKS(le32_to_cpu(old->xe_vallen));
		ret = refdax_free_blocks(tp, le64_to_cpu(old->xe_pblk), freed);
		if (ret)
			goto out;
	}
	ret = store_image(tp, inode, img, count, used, blk, &newblk, &bdelta);
	if (!ret)
		ret = set_feature(tp);
	if (!ret)
		ret = finish_inode(tp, inode, bdelta + added - freed, newblk);
out:
	kfree(img);
	return ret;
}

int refdax_xattr_set(struct inode *inode, const struct refdax_xattr_req *rq)
{
	struct refdax_sb_info *sbi = RDX_SB(inode->i_sb);
	struct refdax_inode_info *ri = RDX_I(inode);
	struct refdax_trans *tp;
	int ret;

	down_write(&ri->xattr_sem);
	tp = refdax_trans_begin(sbi, refdax_resv_xattr());
	if (IS_ERR(tp)) {
		ret = PTR_ERR(tp);
		goto out;
	}
	ret = refdax_xattr_set_txn(tp, inode, rq);
	if (ret)
		refdax_trans_cancel(tp);
	else
		refdax_trans_commit(tp);
out:
	up_write(&ri->xattr_sem);
	return ret;
}

int refdax_xattr_free_all(struct refdax_trans *tp, struct inode *inode)
{
	const struct refdax_xattr_hdr *h;
	struct refdax_xattr_entry *e;
	u32 off = REFDAX_XATTR_HDR_LEN, i;
	u64 blk, len;
	int ret = 0;
	void *b;

	b = xattr_block(inode, &blk);
	if (IS_ERR_OR_NULL(b))
		return PTR_ERR_OR_ZERO(b);
	h = b;
	for (i = 0; !ret && i < le16_to_cpu(h->xh_count); i++) {
		e = refdax_xattr_entry_at(b, off);
		off += refdax_xattr_entry_len(e);
		len = REFDAX_XATTR_REMOTE_BLOCKS(le32_to_cpu(e->xe_vallen));
		if (e->xe_pblk)
			ret = refdax_free_blocks(tp, le64_to_cpu(e->xe_pblk),
						 len);
	}
	return ret ? ret : refdax_free_blocks(tp, blk, 1);
}

static int rdx_xattr_hget(const struct xattr_handler *handler,
			  struct dentry *unused, struct inode *inode,
			  const char *name, void *buf, size_t size)
{
	return refdax_xattr_get(inode, handler->flags, name, buf, size);
}

static int rdx_xattr_hset(const struct xattr_handler *handler,
			  struct rdx_idmap *idmap, struct dentry *unused,
			  struct inode *inode, const char *name,
			  const void *value, size_t size, int flags)
{
	struct refdax_xattr_req rq = {
		.ns = handler->flags, .name = name, .namelen = strlen(name),
		.value = value, .size = size, .flags = flags,
	};

	if (rq.namelen > REFDAX_XATTR_NAME_MAX)
		return -ERANGE;
	if (size > REFDAX_XATTR_SIZE_MAX)
		return -E2BIG;
	return refdax_xattr_set(inode, &rq);
}

static const struct xattr_handler rdx_user_handler = {
	.prefix	= XATTR_USER_PREFIX,
	.flags	= REFDAX_XATTR_NS_USER,
	.get	= rdx_xattr_hget,
	.set	= rdx_xattr_hset,
};

static const struct xattr_handler rdx_trusted_handler = {
	.prefix	= XATTR_TRUSTED_PREFIX,
	.flags	= REFDAX_XATTR_NS_TRUSTED,
	.get	= rdx_xattr_hget,
	.set	= rdx_xattr_hset,
};

static const struct xattr_handler rdx_security_handler = {
	.prefix	= XATTR_SECURITY_PREFIX,
	.flags	= REFDAX_XATTR_NS_SECURITY,
	.get	= rdx_xattr_hget,
	.set	= rdx_xattr_hset,
};

const struct xattr_handler *RDX_XATTR_ARRAY_CONST refdax_xattr_handlers[] = {
	&rdx_user_handler,
	&rdx_trusted_handler,
	&rdx_security_handler,
	RDX_POSIX_ACL_HANDLERS
	NULL,
};
