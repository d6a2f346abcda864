/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A refcount record tree on a small in-memory device, for fuzz-refc and
 * for mkseeds, which builds fuzz-refc's seed trees with the same code the
 * kernel uses (refdax_refc_adjust()), so the seeds are real trees.
 *
 * The root is a superblock's s_refc_root; node blocks are device blocks
 * REFC_DEV_DATA0 ... REFC_DEV_DATA0 + REFC_DEV_NODES - 1, in that order the
 * slots a fuzz input fills.  Every node read goes through
 * refdax_check_refc_node(), as in the kernel and fsck.  Every range the
 * tree code logs before a change is recorded, so a change can be checked
 * to have logged what it wrote.
 */
#ifndef REFDAX_FUZZ_REFC_DEV_H
#define REFDAX_FUZZ_REFC_DEV_H

#include "refdax_common.h"
#include "refdax_refc.h"

#define REFC_DEV_DATA0		512ULL
#define REFC_DEV_NODES		24U
/* blocks of the data area records may cover */
#define REFC_DEV_DATA_BLOCKS	65536ULL
#define REFC_DEV_LOG_MAX	1024U

struct refc_dev_log {
	const __u8 *p;
	__u32 len;
};

struct refc_dev {
	struct refdax_btree t;
	struct refdax_btree_ops ops;
	struct refdax_bmap_root root;
	struct refdax_geom g;
	__u8 node[REFC_DEV_NODES][REFDAX_BLOCK_SIZE];
	__u8 used[REFC_DEV_NODES];
	struct refc_dev_log log[REFC_DEV_LOG_MAX];
	unsigned int nlog;
	int log_overflow;
	int fail_alloc;			/* the next allocation fails */
};

/* An empty tree (the root of a fresh mkfs) and the device geometry. */
void refc_dev_init(struct refc_dev *d);
/* Block number of slot @i, and the slot of block @blk or -1. */
__u64 refc_dev_blk(unsigned int i);
int refc_dev_slot(__u64 blk);
/* Forget the logged ranges (before each change). */
void refc_dev_log_reset(struct refc_dev *d);
/* Every byte of [p, p + len) lies in a logged range. */
int refc_dev_logged(const struct refc_dev *d, const __u8 *p, __u32 len);

#endif /* REFDAX_FUZZ_REFC_DEV_H */
