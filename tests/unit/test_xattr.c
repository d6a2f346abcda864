// SPDX-License-Identifier: GPL-2.0
/*
 * The attribute-block verifier (common/refdax_xattr.c): a well-formed
 * block passes, and each targeted corruption is refused with its reason.
 */
#include <stdlib.h>
#include <string.h>

#include "refdax_xattr.h"
#include "rtest.h"

#define NBLOCKS		16384ULL
#define DATA_START	1024ULL
#define INO		7ULL
#define BLK		2000ULL

static const struct refdax_geom geom = {
	.nblocks = NBLOCKS, .data_start = DATA_START, .ninodes = 4096,
};

static __u32 put(__u8 *b, __u32 used, __u8 ns, const char *name,
		 __u32 vallen, __u64 pblk)
{
	struct refdax_xattr_entry *e = refdax_xattr_entry_at(b, used);
	__u32 n = strlen(name);

	e->xe_ns = ns;
	e->xe_namelen = n;
	e->xe_vallen = cpu_to_le32(vallen);
	e->xe_pblk = cpu_to_le64(pblk);
	memcpy(e + 1, name, n);
	if (!pblk)
		memset((__u8 *)(e + 1) + n, 'v', vallen);
	return used + refdax_xattr_entry_len(e);
}

/* user.a (inline), trusted.big (remote, 2 blocks), an access ACL. */
static void good_block(__u8 *b)
{
	struct refdax_xattr_hdr *h = (void *)b;
	__u32 used = REFDAX_XATTR_HDR_LEN;

	memset(b, 0, REFDAX_BLOCK_SIZE);
	used = put(b, used, REFDAX_XATTR_NS_USER, "a", 5, 0);
	used = put(b, used, REFDAX_XATTR_NS_TRUSTED, "big", 5000, 3000);
	used = put(b, used, REFDAX_XATTR_NS_ACL_ACCESS, "", 28, 0);
	h->xh_magic = cpu_to_le32(REFDAX_XATTR_MAGIC);
	h->xh_ino = cpu_to_le64(INO);
	h->xh_count = cpu_to_le16(3);
	h->xh_used = cpu_to_le16(used);
	refdax_xattr_set_csum(b);
}

static void expect_bad(const char *what, void (*mutate)(__u8 *b),
		       const char *want)
{
	__u8 b[REFDAX_BLOCK_SIZE];
	const char *why = NULL;
	int ret;

	good_block(b);
	mutate(b);
	refdax_xattr_set_csum(b);
	ret = refdax_check_xattr_block(&geom, INO, BLK, b, &why);
	rt_begin("xattr: %s", what);
	EXPECT(ret == -EUCLEAN);
	EXPECT(why && strstr(why, want));
	if (why && !strstr(why, want))
		rt_note("    reason: %s", why);
	rt_end();
}

static struct refdax_xattr_entry *second(__u8 *b)
{
	struct refdax_xattr_entry *e = refdax_xattr_entry_at(b, 32);

	return refdax_xattr_entry_at(b, 32 + refdax_xattr_entry_len(e));
}

static void m_magic(__u8 *b) { b[0] ^= 1; }
static void m_ns(__u8 *b) { b[32] = 6; }
static void m_ns0(__u8 *b) { b[32] = 0; }
static void m_nul(__u8 *b) { b[32 + 16] = 0; }
static void m_count(__u8 *b) { ((struct refdax_xattr_hdr *)b)->xh_count = cpu_to_le16(4); }
static void m_used(__u8 *b) { ((struct refdax_xattr_hdr *)b)->xh_used = cpu_to_le16(4097); }
static void m_tail(__u8 *b) { b[4095] = 1; }
static void m_remote_out(__u8 *b) { second(b)->xe_pblk = cpu_to_le64(NBLOCKS - 1); }
static void m_remote_meta(__u8 *b) { second(b)->xe_pblk = cpu_to_le64(5); }
static void m_remote_self(__u8 *b) { second(b)->xe_pblk = cpu_to_le64(BLK - 1); }
static void m_vallen(__u8 *b) { second(b)->xe_vallen = cpu_to_le32(65537); }
static void m_owner(__u8 *b) { ((struct refdax_xattr_hdr *)b)->xh_ino = cpu_to_le64(8); }
static void m_acl_name(__u8 *b) { b[32] = REFDAX_XATTR_NS_ACL_DEFAULT; }

static void m_dup(__u8 *b)
{
	struct refdax_xattr_entry *e = second(b);

	/* trusted.big becomes a second user.a: 16 + 1 or 3 bytes is 24 */
	e->xe_ns = REFDAX_XATTR_NS_USER;
	memcpy(e + 1, "a\0\0", 3);
	e->xe_namelen = 1;
}

static void m_overlap(__u8 *b)
{
	struct refdax_xattr_hdr *h = (void *)b;
	__u32 used = le16_to_cpu(h->xh_used);

	/* 3000-3001 (trusted.big) against 3001-3002 */
	used = put(b, used, REFDAX_XATTR_NS_SECURITY, "s", 5000, 3001);
	h->xh_count = cpu_to_le16(4);
	h->xh_used = cpu_to_le16(used);
}

void test_xattr(void)
{
	__u8 b[REFDAX_BLOCK_SIZE];
	const char *why = NULL;
	__u32 off;

	good_block(b);
	rt_begin("xattr: good block");
	EXPECT_EQ(refdax_check_xattr_block(&geom, INO, BLK, b, &why), 0);
	off = refdax_xattr_find(b, REFDAX_XATTR_NS_TRUSTED, "big", 3);
	EXPECT(off > 32);
	EXPECT_EQ(le64_to_cpu(refdax_xattr_entry_at(b, off)->xe_pblk), 3000);
	EXPECT_EQ(refdax_xattr_find(b, REFDAX_XATTR_NS_USER, "big", 3), 0);
	EXPECT(refdax_xattr_find(b, REFDAX_XATTR_NS_ACL_ACCESS, "", 0) > 0);
	rt_end();

	good_block(b);
	b[40] ^= 1;
	rt_begin("xattr: stale checksum");
	EXPECT_EQ(refdax_check_xattr_block(&geom, INO, BLK, b, &why),
		  -EUCLEAN);
	EXPECT(why && strstr(why, "checksum"));
	rt_end();

	expect_bad("magic", m_magic, "magic");
	expect_bad("namespace 6", m_ns, "namespace");
	expect_bad("namespace 0", m_ns0, "namespace");
	expect_bad("NUL in name", m_nul, "NUL");
	expect_bad("count past used", m_count, "past the used");
	expect_bad("used past block", m_used, "used bytes");
	expect_bad("tail not zero", m_tail, "tail");
	expect_bad("remote past the end", m_remote_out, "outside");
	expect_bad("remote in metadata", m_remote_meta, "outside");
	expect_bad("remote over its block", m_remote_self, "overlaps its block");
	expect_bad("value over 64 KiB", m_vallen, "too long");
	expect_bad("another owner", m_owner, "another inode");
	expect_bad("named ACL", m_acl_name, "name length");
	expect_bad("duplicate name", m_dup, "duplicate");
	expect_bad("overlapping remote runs", m_overlap, "overlap");
}
