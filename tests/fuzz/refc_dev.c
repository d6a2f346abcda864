// SPDX-License-Identifier: GPL-2.0
/* A refcount record tree on an in-memory device (see refc_dev.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "refc_dev.h"

static struct refc_dev *DEV(struct refdax_btree *t)
{
	return (struct refc_dev *)((char *)t - offsetof(struct refc_dev, t));
}

__u64 refc_dev_blk(unsigned int i)
{
	return REFC_DEV_DATA0 + i;
}

int refc_dev_slot(__u64 blk)
{
	if (blk < REFC_DEV_DATA0 || blk - REFC_DEV_DATA0 >= REFC_DEV_NODES)
		return -1;
	return (int)(blk - REFC_DEV_DATA0);
}

static int dev_log(struct refdax_btree *t, const void *p, __u32 len)
{
	struct refc_dev *d = DEV(t);

	if (d->nlog == REFC_DEV_LOG_MAX) {
		d->log_overflow = 1;
		return 0;
	}
	d->log[d->nlog++] = (struct refc_dev_log){ p, len };
	return 0;
}

/*
 * A block that is no node slot in use reads as zeroes, as a free block
 * of a fresh device would: the verifier refuses it like the kernel's.
 */
static int dev_read_node(struct refdax_btree *t, __u64 blk,
			 unsigned int depth, struct refdax_bt_node *n)
{
	static const __u8 zero[REFDAX_BLOCK_SIZE];
	struct refc_dev *d = DEV(t);
	int s = refc_dev_slot(blk);
	const struct refdax_bmap_node *bn = (const void *)zero;
	const char *why;

	if (s >= 0 && d->used[s])
		bn = (const void *)d->node[s];
	if (refdax_check_refc_node(&d->g, bn, depth, &why)) {
		t->why = why;
		return -EUCLEAN;
	}
	n->hdr = (struct refdax_bmap_hdr *)&bn->bn_hdr;
	n->ents = (__u8 *)(bn + 1);
	n->blk = blk;
	return 0;
}

static int dev_alloc(struct refdax_btree *t, __u64 *blk, void **addr)
{
	struct refc_dev *d = DEV(t);
	unsigned int i;

	if (d->fail_alloc) {
		d->fail_alloc = 0;
		return -ENOSPC;
	}
	for (i = 0; i < REFC_DEV_NODES; i++) {
		if (!d->used[i]) {
			d->used[i] = 1;
			*blk = refc_dev_blk(i);
			*addr = d->node[i];
			return 0;
		}
	}
	return -ENOSPC;
}

static int dev_free(struct refdax_btree *t, __u64 blk)
{
	struct refc_dev *d = DEV(t);
	int s = refc_dev_slot(blk);

	if (s < 0 || !d->used[s])
		return -EUCLEAN;
	d->used[s] = 0;
	memset(d->node[s], 0xa5, REFDAX_BLOCK_SIZE);
	return 0;
}

static void dev_persist(struct refdax_btree *t, const void *p, __u32 len)
{
	(void)t;
	(void)p;
	(void)len;
}

void refc_dev_init(struct refc_dev *d)
{
	memset(d, 0, sizeof(*d));
	refdax_refc_init_root(&d->root);
	refdax_refc_tree_ops(&d->ops);
	d->ops.log = dev_log;
	d->ops.read_node = dev_read_node;
	d->ops.alloc_node = dev_alloc;
	d->ops.free_node = dev_free;
	d->ops.persist = dev_persist;
	refdax_refc_tree_init(&d->t, &d->ops, &d->root);
	d->t.root_max = REFDAX_BMAP_ROOT_MAX;

	/* only the data area matters to the tree's verifiers */
	d->g.nblocks = REFC_DEV_DATA0 + REFC_DEV_DATA_BLOCKS;
	d->g.journal_start = 1;
	d->g.journal_blocks = 8;
	d->g.ibitmap_start = 9;
	d->g.ibitmap_blocks = 1;
	d->g.itable_start = 10;
	d->g.itable_blocks = 4;
	d->g.ninodes = 64;
	d->g.fsmap_start = 14;
	d->g.fsmap_blocks = 2;
	d->g.data_start = REFC_DEV_DATA0;
	d->g.root_ino = REFDAX_ROOT_INO;
}

void refc_dev_log_reset(struct refc_dev *d)
{
	d->nlog = 0;
	d->log_overflow = 0;
}

int refc_dev_logged(const struct refc_dev *d, const __u8 *p, __u32 len)
{
	__u32 i, k;

	for (i = 0; i < len; i++) {
		for (k = 0; k < d->nlog; k++)
			if (p + i >= d->log[k].p &&
			    p + i < d->log[k].p + d->log[k].len)
				break;
		if (k == d->nlog)
			return 0;
	}
	return 1;
}
