/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-memory device for B+tree tests (test_btree.c): node blocks in an
 * array, a trivial allocator, and a full-tree checker.
 */
#ifndef BT_HARNESS_H
#define BT_HARNESS_H

#include <stddef.h>
#include "refdax_btree.h"

#define T_MAGIC		0x7e57U
#define T_BLOCKS	4096U
#define T_ROOT_MAX	7U

struct t_ent {
	__le64 key;
	__le64 val;		/* leaves: a value; index: the child */
};

struct t_tree {
	struct refdax_btree t;
	struct refdax_btree_ops ops;
	struct refdax_bmap_root root;
	__u8 *dev;			/* T_BLOCKS blocks */
	__u8 used[T_BLOCKS];
	unsigned int nodes;		/* allocated node blocks */
	unsigned long logs;
	int fail_alloc;			/* next alloc fails with ENOSPC */
};

/* What t_walk() found: leaf entries in order, nodes reached, problems. */
struct t_check {
	__u64 *keys;		/* in-order keys found, if not NULL */
	void (*leaf)(const void *ent, void *arg);	/* each leaf entry */
	void *arg;
	size_t n;		/* leaf entries */
	unsigned int nodes;	/* node blocks reached */
	int bad;		/* 1 empty/overfull, 2 csum, 4 child, 8 key */
};

void t_init(struct t_tree *tt);
void t_walk(struct t_tree *tt, struct refdax_bt_node *n, int depth,
	    int is_root, struct t_check *c);

#endif /* BT_HARNESS_H */
