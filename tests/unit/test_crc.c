// SPDX-License-Identifier: GPL-2.0
/* crc32c vectors, the checksum helpers and the name hash. */
#include <string.h>

#include "refdax_common.h"
#include "rtest.h"

static void crc_vectors(void)
{
	__u8 buf[32];
	int i;

	EXPECT_EQ(refdax_crc32c(0, "123456789", 9), 0xE3069283U);
	EXPECT_EQ(refdax_crc32c(0, "", 0), 0);
	/* RFC 3720 (iSCSI) B.4 test patterns */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(refdax_crc32c(0, buf, 32), 0x8A9136AAU);
	memset(buf, 0xff, sizeof(buf));
	EXPECT_EQ(refdax_crc32c(0, buf, 32), 0x62A8AB43U);
	for (i = 0; i < 32; i++)
		buf[i] = (__u8)i;
	EXPECT_EQ(refdax_crc32c(0, buf, 32), 0x46DD794EU);
	for (i = 0; i < 32; i++)
		buf[i] = (__u8)(31 - i);
	EXPECT_EQ(refdax_crc32c(0, buf, 32), 0x113FDB5CU);
}

static void crc_chaining(void)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s), k;
	__u32 whole = refdax_crc32c(0, s, n);

	for (k = 0; k <= n; k++)
		EXPECT_EQ(refdax_crc32c(refdax_crc32c(0, s, k), s + k, n - k),
			  whole);
}

static void csum_skip(void)
{
	__u8 buf[64], copy[64];
	size_t off;

	for (off = 0; off < sizeof(buf); off++)
		buf[off] = (__u8)(off * 7 + 3);
	for (off = 0; off + 4 <= sizeof(buf); off += 4) {
		memcpy(copy, buf, sizeof(buf));
		memset(copy + off, 0, 4);
		EXPECT_EQ(refdax_csum_skip(buf, sizeof(buf), off),
			  refdax_crc32c(0, copy, sizeof(copy)));
	}
}

static void set_csum_helpers(void)
{
	struct refdax_super sb;
	struct refdax_inode ri;
	static __u8 blk[REFDAX_BLOCK_SIZE];
	struct refdax_bmap_node *bn = (void *)blk;

	memset(&sb, 0x5a, sizeof(sb));
	refdax_super_set_csum(&sb);
	EXPECT_EQ(le32_to_cpu(sb.s_checksum),
		  refdax_csum_skip(&sb, sizeof(sb),
				   offsetof(struct refdax_super, s_checksum)));
	memset(&ri, 0xa5, sizeof(ri));
	refdax_inode_set_csum(&ri);
	EXPECT_EQ(le32_to_cpu(ri.i_csum),
		  refdax_csum_skip(&ri, sizeof(ri),
				   offsetof(struct refdax_inode, i_csum)));
	memset(blk, 0x33, sizeof(blk));
	refdax_bmap_node_set_csum(bn);
	EXPECT_EQ(le32_to_cpu(bn->bn_csum),
		  refdax_csum_skip(blk, sizeof(blk),
				   offsetof(struct refdax_bmap_node, bn_csum)));
}

static void name_hash(void)
{
	EXPECT(refdax_name_hash("", 0) != 0);
	EXPECT_EQ(refdax_name_hash("abc", 3), refdax_name_hash("abcdef", 3));
	EXPECT(refdax_name_hash("abc", 3) != refdax_name_hash("abd", 3));
	EXPECT(refdax_name_hash("a", 1) != refdax_crc32c(0, "a", 1));
}

void test_crc(void)
{
	rt_run("crc32c known vectors", crc_vectors);
	rt_run("crc32c chaining", crc_chaining);
	rt_run("csum_skip zeroes the checksum field", csum_skip);
	rt_run("set_csum helpers", set_csum_helpers);
	rt_run("name hash", name_hash);
}
