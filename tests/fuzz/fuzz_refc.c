// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-refc: the refcount record tree as the kernel and fsck use it.  The
 * root (a superblock's s_refc_root) must pass refdax_check_refc_root(), as
 * at mount; every node is read through refdax_check_refc_node(); then
 * refdax_refc_lookup(), refdax_refc_span() and refdax_refc_adjust() run
 * over whatever the fuzzer wrote (refc_dev.c is the device).
 *
 * Input: flags (bit 0: write the right magic and capacity into the root
 * and every node header; bit 1: recompute the node checksums; bit 2: the
 * first allocation of a new node fails), the number of node blocks (1 byte,
 * modulo REFC_DEV_NODES + 1), the 120-byte root, that many 4 KiB node
 * blocks (device blocks REFC_DEV_DATA0, +1, ...), then operations of 5
 * bytes, at most 64: kind (bit 0: adjust, else lookup and span; bit 1:
 * -1 instead of +1), first block as an offset from the data start (2
 * bytes LE), length (2 bytes LE, adjusts use 1 + length % 512).
 *
 * Properties, for any tree: no sanitizer report; every call ends (the
 * fuzzer's timeout); failures are -EUCLEAN with a reason (or -EMLINK,
 * -ENOSPC for an adjust); a lookup answers a count of 1 for exactly its
 * block and onwards, or a count of 2..REFDAX_REFCOUNT_MAX for a record
 * covering the block; a span is at least 1 and at most the length; and a
 * change writes no byte of the root or of an existing node it did not log
 * first (the undo journal would miss it).  For a sound tree (every node
 * verifies and is reached once, keys ordered across nodes, index keys the
 * first key below, records apart): a successful adjust leaves it sound,
 * with the counts of the range moved by one (a block going to 0 reported
 * freed, one going to 1 from 2 reported unshared, nothing else reported),
 * canonical if it was; -EMLINK changes nothing.
 */
#include <errno.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "refc_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS		64
#define MAX_ADJUST	512U

static struct refc_dev dev;

/* What a change may touch, copied before it. */
static struct {
	struct refdax_bmap_root root;
	__u8 node[REFC_DEV_NODES][REFDAX_BLOCK_SIZE];
	__u8 used[REFC_DEV_NODES];
} before;

static void snapshot(void)
{
	unsigned int s;

	before.root = dev.root;
	memcpy(before.used, dev.used, sizeof(before.used));
	for (s = 0; s < REFC_DEV_NODES; s++)
		if (dev.used[s])
			memcpy(before.node[s], dev.node[s], REFDAX_BLOCK_SIZE);
}

/* Nothing changed: every node in use then is in use now, unchanged. */
static int unchanged(void)
{
	unsigned int s;

	if (memcmp(&before.root, &dev.root, sizeof(dev.root)) ||
	    memcmp(before.used, dev.used, sizeof(dev.used)))
		return 0;
	for (s = 0; s < REFC_DEV_NODES; s++)
		if (dev.used[s] &&
		    memcmp(before.node[s], dev.node[s], REFDAX_BLOCK_SIZE))
			return 0;
	return 1;
}

/* ---- whole-tree soundness ---- */

struct walk {
	__u8 seen[REFC_DEV_NODES];
	unsigned int nodes;
	__u64 end;		/* end of the last record */
	__u32 last_count;
	int canonical;
};

static int sound_entries(struct walk *w, const __u8 *ents, unsigned int nr,
			 unsigned int depth, __u64 lo, __u64 hi);

static int sound_child(struct walk *w, __u64 blk, unsigned int depth,
		       __u64 key, __u64 hi)
{
	struct refdax_bt_node n;
	int s = refc_dev_slot(blk);

	if (s < 0 || w->seen[s] ||
	    dev.ops.read_node(&dev.t, blk, depth, &n))
		return 0;
	w->seen[s] = 1;
	w->nodes++;
	if (dev.ops.key(refdax_bt_ent(&n, 0)) != key)
		return 0;
	return sound_entries(w, n.ents, refdax_bt_nr(&n), depth, key, hi);
}

/* Entries of one node, all keys in [lo, hi). */
static int sound_entries(struct walk *w, const __u8 *ents, unsigned int nr,
			 unsigned int depth, __u64 lo, __u64 hi)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const struct refdax_refc_rec *rc = (const void *)(ents + 16 * i);
		const struct refdax_refc_index *ri = (const void *)rc;
		__u64 key = le64_to_cpu(rc->rc_start);

		if (key < lo || key >= hi)
			return 0;
		if (depth) {
			__u64 next = i + 1 < nr ?
				le64_to_cpu(ri[1].ri_start) : hi;

			if (!sound_child(w, le64_to_cpu(ri->ri_child), depth - 1,
					 key, next))
				return 0;
			continue;
		}
		if (key < w->end)
			return 0;
		if (key == w->end && le32_to_cpu(rc->rc_count) == w->last_count)
			w->canonical = 0;
		w->end = key + le32_to_cpu(rc->rc_len);
		w->last_count = le32_to_cpu(rc->rc_count);
	}
	return 1;
}

/* Sound: see the header.  *@canonical: no equal adjacent records. */
static int tree_sound(int *canonical)
{
	struct walk w = { .canonical = 1 };
	const char *why;
	unsigned int i, used = 0;

	if (refdax_check_refc_root(&dev.g, &dev.root, &why))
		return 0;
	if (!sound_entries(&w, (const __u8 *)dev.root.br_ext,
			   le16_to_cpu(dev.root.br_hdr.bh_nr),
			   le16_to_cpu(dev.root.br_hdr.bh_depth), 0, ~0ULL))
		return 0;
	for (i = 0; i < REFC_DEV_NODES; i++)
		used += dev.used[i];
	*canonical = w.canonical;
	return w.nodes == used;
}

/* ---- single calls ---- */

static int lookup(__u64 blk, __u32 *count)
{
	__u64 start = 0, len = 0;
	int ret;

	dev.t.why = NULL;
	ret = refdax_refc_lookup(&dev.t, blk, &start, &len, count);
	if (ret) {
		FUZZ_CHECK(ret == -EUCLEAN && dev.t.why);
		return ret;
	}
	if (*count == 1) {
		FUZZ_CHECK(start == blk && len >= 1);
	} else {
		FUZZ_CHECK(*count >= 2 && *count <= REFDAX_REFCOUNT_MAX);
		FUZZ_CHECK(start <= blk && blk - start < len);
		FUZZ_CHECK(len <= REFDAX_REFC_MAX_LEN);
	}
	return 0;
}

static void lookup_and_span(__u64 blk, __u64 len)
{
	__u32 count;
	__u64 s;

	lookup(blk, &count);
	s = refdax_refc_span(&dev.t, blk, len, 1 + (unsigned int)(len % 16));
	FUZZ_CHECK(s >= 1 && s <= (len ? len : 1));
}

/* ---- adjust, with its notifications and a per-block model ---- */

struct notes {
	struct refdax_refc_notify nf;
	__u64 start, len;
	__u8 freed[MAX_ADJUST], unshared[MAX_ADJUST];
	int outside;		/* a block outside the range, or twice */
};

static int note(__u8 *map, struct notes *n, __u64 start, __u64 len)
{
	__u64 b;

	for (b = start; b < start + len; b++) {
		if (b < n->start || b - n->start >= n->len || map[b - n->start])
			n->outside = 1;
		else
			map[b - n->start] = 1;
	}
	return 0;
}

static int on_freed(struct refdax_refc_notify *nf, __u64 start, __u64 len)
{
	struct notes *n = (struct notes *)nf;

	return note(n->freed, n, start, len);
}

static int on_unshared(struct refdax_refc_notify *nf, __u64 start,
		       __u64 len)
{
	struct notes *n = (struct notes *)nf;

	return note(n->unshared, n, start, len);
}

/* Every byte the change wrote in the root or an old node was logged. */
static void check_logged(void)
{
	const __u8 *o = (const __u8 *)&before.root, *p = (__u8 *)&dev.root;
	unsigned int i, s;

	FUZZ_CHECK(!dev.log_overflow);
	for (i = 0; i < sizeof(dev.root); i++)
		if (o[i] != p[i])
			FUZZ_CHECK(refc_dev_logged(&dev, p + i, 1));
	for (s = 0; s < REFC_DEV_NODES; s++) {
		if (!before.used[s] || !dev.used[s])
			continue;
		for (i = 0; i < REFDAX_BLOCK_SIZE; i++)
			if (before.node[s][i] != dev.node[s][i])
				FUZZ_CHECK(refc_dev_logged(&dev,
							   dev.node[s] + i, 1));
	}
}

static void check_counts(const __u32 *old, const struct notes *n, int delta)
{
	__u64 i;

	FUZZ_CHECK(!n->outside);
	for (i = 0; i < n->len; i++) {
		__u32 want = old[i] + delta >= 2 ? old[i] + delta : 1;
		__u32 count;

		FUZZ_CHECK(lookup(n->start + i, &count) == 0);
		FUZZ_CHECK(count == want);
		FUZZ_CHECK(n->freed[i] == (old[i] == 1 && delta < 0));
		FUZZ_CHECK(n->unshared[i] == (old[i] == 2 && delta < 0));
	}
}

static void adjust(__u64 start, __u64 len, int delta)
{
	static __u32 old[MAX_ADJUST];
	static struct notes n;
	int sound, canonical = 0, canonical_after, ret;
	__u64 i;

	sound = tree_sound(&canonical);
	for (i = 0; sound && i < len; i++)
		FUZZ_CHECK(lookup(start + i, &old[i]) == 0);
	memset(&n, 0, sizeof(n));
	n.nf.freed = on_freed;
	n.nf.unshared = on_unshared;
	n.start = start;
	n.len = len;
	snapshot();
	refc_dev_log_reset(&dev);
	dev.t.why = NULL;
	ret = refdax_refc_adjust(&dev.t, start, len, delta, &n.nf);
	FUZZ_CHECK(ret == 0 || ret == -EUCLEAN || ret == -EMLINK ||
		   ret == -ENOSPC);
	if (ret == -EUCLEAN)
		FUZZ_CHECK(dev.t.why);
	check_logged();
	if (!sound)
		return;
	if (ret == -EMLINK) {
		FUZZ_CHECK(unchanged());
		return;
	}
	/* a sound tree never looks corrupt to the change */
	FUZZ_CHECK(ret != -EUCLEAN);
	if (ret)
		return;
	FUZZ_CHECK(tree_sound(&canonical_after));
	FUZZ_CHECK(canonical_after || !canonical);
	check_counts(old, &n, delta);
}

/* ---- the input ---- */

static __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* What the kernel relies on in a node its verifier passed. */
static void check_node(unsigned int s)
{
	const struct refdax_bmap_node *bn = (const void *)dev.node[s];
	unsigned int depth = le16_to_cpu(bn->bn_hdr.bh_depth);
	unsigned int nr = le16_to_cpu(bn->bn_hdr.bh_nr);
	const char *why = NULL;

	if (refdax_check_refc_node(&dev.g, bn, depth, &why)) {
		FUZZ_CHECK(why && why[0]);
		return;
	}
	FUZZ_CHECK(le16_to_cpu(bn->bn_hdr.bh_magic) == REFDAX_REFC_MAGIC);
	FUZZ_CHECK(nr >= 1 && nr <= REFDAX_BMAP_NODE_MAX);
	FUZZ_CHECK(depth < REFDAX_BMAP_MAX_DEPTH);
	FUZZ_CHECK(refdax_csum_skip(bn, REFDAX_BLOCK_SIZE,
				    offsetof(struct refdax_bmap_node, bn_csum)) ==
		   le32_to_cpu(bn->bn_csum));
	fuzz_check_refc_entries(&dev.g, bn + 1, nr, depth);
}

static void load(struct fuzz_in *in, __u8 flags)
{
	unsigned int nodes = fuzz_u8(in) % (REFC_DEV_NODES + 1), i;

	refc_dev_init(&dev);
	fuzz_bytes(in, &dev.root, sizeof(dev.root));
	for (i = 0; i < nodes; i++) {
		struct refdax_bmap_node *bn = (void *)dev.node[i];

		fuzz_bytes(in, bn, REFDAX_BLOCK_SIZE);
		dev.used[i] = 1;
		if (flags & 1) {
			bn->bn_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
			bn->bn_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_NODE_MAX);
		}
		if (flags & 2)
			refdax_bmap_node_set_csum(bn);
		check_node(i);
	}
	if (flags & 1) {
		dev.root.br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
		dev.root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	}
	dev.fail_alloc = !!(flags & 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	__u8 flags = fuzz_u8(&in);
	const char *why = NULL;
	int op;

	load(&in, flags);
	/* the kernel refuses to mount with a root its verifier rejects */
	if (refdax_check_refc_root(&dev.g, &dev.root, &why)) {
		FUZZ_CHECK(why && why[0]);
		return 0;
	}
	fuzz_check_refc_root(&dev.g, &dev.root);
	for (op = 0; op < MAX_OPS && in.len >= 5; op++) {
		__u8 kind = fuzz_u8(&in);
		__u64 start = REFC_DEV_DATA0 + fuzz_u16(&in);
		__u64 len = fuzz_u16(&in);

		/* the kernel changes counts of data-area blocks only */
		if (kind & 1)
			adjust(start, 1 + len % min_u64(MAX_ADJUST,
							dev.g.nblocks - start),
			       kind & 2 ? -1 : 1);
		else
			lookup_and_span(start, len);
	}
	return 0;
}
