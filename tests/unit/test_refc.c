// SPDX-License-Identifier: GPL-2.0
/*
 * Refcount records (common/refdax_refc.c) against a per-block model.
 *
 * Every block of a small "device" starts mapped once (count 1, no record).
 * Random +1 and -1 over random ranges of mapped blocks, and re-mapping of
 * freed ranges, are applied to the records and to an array of counts.
 * After each change the records must be exactly the maximal runs of equal
 * count >= 2 of the model (so splits happened where needed and merges
 * everywhere they could), the freed and unshared notifications must name
 * exactly the blocks that went 1 -> 0 and 2 -> 1, and lookups must agree.
 */
#include <stdlib.h>
#include <string.h>
#include "rtest.h"
#include "refdax_common.h"
#include "refdax_refc.h"
#include "bt_harness.h"

#define NB	20000U		/* blocks of the model device */

struct model {
	__u32 cnt[NB];
	__u8 freed[NB], unshared[NB];	/* notified by the last change */
	int overlap;			/* a block notified twice */
};

struct notify_ctx {
	struct refdax_refc_notify nf;
	struct model *m;
};

static int mark(__u8 *map, struct model *m, __u64 start, __u64 len)
{
	__u64 b;

	for (b = start; b < start + len; b++) {
		if (b >= NB || map[b])
			m->overlap = 1;
		else
			map[b] = 1;
	}
	return 0;
}

static int on_freed(struct refdax_refc_notify *nf, __u64 start, __u64 len)
{
	struct model *m = ((struct notify_ctx *)nf)->m;

	return mark(m->freed, m, start, len);
}

static int on_unshared(struct refdax_refc_notify *nf, __u64 start,
		       __u64 len)
{
	struct model *m = ((struct notify_ctx *)nf)->m;

	return mark(m->unshared, m, start, len);
}

struct rec_list {
	__u64 start[NB], len[NB];
	__u32 count[NB];
	size_t n;
};

static void collect(const void *ent, void *arg)
{
	const struct refdax_refc_rec *r = ent;
	struct rec_list *l = arg;

	if (l->n < NB) {
		l->start[l->n] = le64_to_cpu(r->rc_start);
		l->len[l->n] = le32_to_cpu(r->rc_len);
		l->count[l->n] = le32_to_cpu(r->rc_count);
	}
	l->n++;
}

/* The records must be the maximal equal-count runs (>= 2) of the model. */
static int records_match(struct t_tree *tt, const struct model *m)
{
	static struct rec_list l;
	struct refdax_bt_node root = {
		&tt->root.br_hdr, (__u8 *)tt->root.br_ext, 0
	};
	struct t_check c = { .leaf = collect, .arg = &l };
	size_t k = 0;
	__u32 b = 0;

	l.n = 0;
	t_walk(tt, &root, le16_to_cpu(tt->root.br_hdr.bh_depth), 1, &c);
	if (c.bad || c.nodes != tt->nodes)
		return rt_note("    tree: bad %d, %u of %u nodes reached", c.bad,
			       c.nodes, tt->nodes), 0;
	while (b < NB) {
		__u32 e = b;

		if (m->cnt[b] < 2) {
			b++;
			continue;
		}
		while (e < NB && m->cnt[e] == m->cnt[b])
			e++;
		if (k >= l.n || l.start[k] != b || l.len[k] != e - b ||
		    l.count[k] != m->cnt[b])
			return rt_note("    run %u+%u count %u: record %zu is %llu+%llu count %u",
				       b, e - b, m->cnt[b], k,
				       k < l.n ? (unsigned long long)l.start[k] : 0,
				       k < l.n ? (unsigned long long)l.len[k] : 0,
				       k < l.n ? l.count[k] : 0), 0;
		k++;
		b = e;
	}
	return k == l.n || (rt_note("    %zu records, %zu runs", l.n, k), 0);
}

static unsigned int root_nr(const struct t_tree *tt)
{
	return le16_to_cpu(tt->root.br_hdr.bh_nr);
}

static void refc_init(struct t_tree *tt, struct notify_ctx *nc,
		      struct model *m)
{
	__u32 b;

	t_init(tt);
	refdax_refc_tree_ops(&tt->ops);
	memset(m, 0, sizeof(*m));
	for (b = 0; b < NB; b++)
		m->cnt[b] = 1;
	nc->nf.freed = on_freed;
	nc->nf.unshared = on_unshared;
	nc->m = m;
}

/* Apply @delta to [s, s+l) in tree and model; check the notifications. */
static int change(struct t_tree *tt, struct notify_ctx *nc, __u32 s,
		  __u32 l, int delta)
{
	struct model *m = nc->m;
	__u32 b;
	int ok = 1;

	memset(m->freed, 0, sizeof(m->freed));
	memset(m->unshared, 0, sizeof(m->unshared));
	m->overlap = 0;
	if (!EXPECT(refdax_refc_adjust(&tt->t, s, l, delta, &nc->nf) == 0))
		return 0;
	for (b = s; b < s + l; b++) {
		m->cnt[b] += delta;
		ok &= m->freed[b] == (delta < 0 && m->cnt[b] == 0);
		ok &= m->unshared[b] == (delta < 0 && m->cnt[b] == 1);
	}
	for (b = 0; b < NB; b++)
		ok &= (b >= s && b < s + l) || (!m->freed[b] && !m->unshared[b]);
	if (!ok || m->overlap)
		rt_note("    notifications wrong after %+d on %u+%u", delta, s,
			l);
	return EXPECT(ok && !m->overlap);
}

static int all_mapped(const struct model *m, __u32 s, __u32 l)
{
	__u32 b;

	for (b = s; b < s + l; b++)
		if (!m->cnt[b])
			return 0;
	return 1;
}

static void random_changes(unsigned int seed, unsigned int steps,
			   __u32 max_len)
{
	static struct model m;
	struct notify_ctx nc;
	struct t_tree tt;
	unsigned int i, records_max = 0;
	int ok = 1;

	refc_init(&tt, &nc, &m);
	srand(seed);
	for (i = 0; ok && i < steps; i++) {
		__u32 l = 1 + (__u32)rand() % max_len;
		__u32 s = (__u32)rand() % (NB - l);
		int op = rand() % 10;

		if (!all_mapped(&m, s, l)) {
			__u32 b;

			/* map the free blocks again, as an allocation would */
			for (b = s; b < s + l; b++)
				if (!m.cnt[b])
					m.cnt[b] = 1;
			continue;
		}
		ok = change(&tt, &nc, s, l, op < 6 ? 1 : -1);
		if (ok && (i < 500 || i % 37 == 0))
			ok = EXPECT(records_match(&tt, &m));
		if (tt.nodes > records_max)
			records_max = tt.nodes;
	}
	EXPECT(records_match(&tt, &m));
	EXPECT(records_max > 0);	/* the records outgrew the root */
	free(tt.dev);
}

static void refc_random_short(void)
{
	random_changes(11, 4000, 40);
}

static void refc_random_long(void)
{
	random_changes(12, 3000, 3000);
}

/* Lookup of every block agrees with the model after a mixed history. */
static void refc_lookup(void)
{
	static struct model m;
	struct notify_ctx nc;
	struct t_tree tt;
	__u32 b;

	refc_init(&tt, &nc, &m);
	change(&tt, &nc, 100, 50, 1);
	change(&tt, &nc, 120, 50, 1);
	change(&tt, &nc, 130, 5, -1);
	change(&tt, &nc, 1000, 1, 1);
	for (b = 0; b < 2000; b++) {
		__u64 s, l;
		__u32 c;

		if (!EXPECT(refdax_refc_lookup(&tt.t, b, &s, &l, &c) == 0))
			break;
		if (!EXPECT_EQ(c, m.cnt[b]) || !EXPECT(s <= b && b < s + l))
			break;
	}
	free(tt.dev);
}

/* The cases of the issue: clone into the middle, CoW at record ends. */
static void refc_edges(void)
{
	static struct model m;
	struct notify_ctx nc;
	struct t_tree tt;

	refc_init(&tt, &nc, &m);
	/* a clone of [1000, 2000), then a clone of its middle: 2 | 3 | 2 */
	change(&tt, &nc, 1000, 1000, 1);
	change(&tt, &nc, 1400, 200, 1);
	EXPECT(records_match(&tt, &m));
	EXPECT_EQ(root_nr(&tt), 3);
	/* CoW of the first and the last block of the middle record */
	change(&tt, &nc, 1400, 1, -1);
	change(&tt, &nc, 1599, 1, -1);
	EXPECT(records_match(&tt, &m));
	/* and back: the records merge into one again */
	change(&tt, &nc, 1400, 1, 1);
	change(&tt, &nc, 1599, 1, 1);
	change(&tt, &nc, 1400, 200, -1);
	EXPECT(records_match(&tt, &m));
	EXPECT_EQ(root_nr(&tt), 1);
	/* dedupe onto a range already shared: 2 -> 3 over part of it */
	change(&tt, &nc, 1500, 700, 1);
	EXPECT(records_match(&tt, &m));
	/* everything unshared and freed: no record is left */
	change(&tt, &nc, 1500, 700, -1);
	change(&tt, &nc, 1000, 1000, -1);
	change(&tt, &nc, 1000, 1000, -1);
	EXPECT(records_match(&tt, &m));
	EXPECT_EQ(root_nr(&tt), 0);
	free(tt.dev);
}

/* A count at the maximum refuses +1 with EMLINK and changes nothing. */
static void refc_max(void)
{
	static struct model m;
	struct notify_ctx nc;
	struct t_tree tt;

	refc_init(&tt, &nc, &m);
	change(&tt, &nc, 10, 10, 1);
	change(&tt, &nc, 30, 10, 1);
	/* poke the first record's count */
	((struct refdax_refc_rec *)tt.root.br_ext)[0].rc_count =
		cpu_to_le32(REFDAX_REFCOUNT_MAX);
	m.cnt[10] = 0;		/* keep the model out of it */
	EXPECT(refdax_refc_adjust(&tt.t, 5, 40, 1, &nc.nf) == -EMLINK);
	EXPECT_EQ(le32_to_cpu(((struct refdax_refc_rec *)tt.root.br_ext)[1].rc_count),
		  2);
	EXPECT_EQ(root_nr(&tt), 2);
	free(tt.dev);
}

/* A record of length 0 is corruption, not an endless loop. */
static void refc_corrupt(void)
{
	static struct model m;
	struct notify_ctx nc;
	struct t_tree tt;

	refc_init(&tt, &nc, &m);
	change(&tt, &nc, 10, 10, 1);
	((struct refdax_refc_rec *)tt.root.br_ext)[0].rc_len = 0;
	EXPECT(refdax_refc_adjust(&tt.t, 5, 40, -1, &nc.nf) == -EUCLEAN);
	EXPECT(tt.t.why != NULL);
	((struct refdax_refc_rec *)tt.root.br_ext)[0].rc_len = cpu_to_le32(10);
	((struct refdax_refc_rec *)tt.root.br_ext)[0].rc_count = cpu_to_le32(1);
	EXPECT(refdax_refc_adjust(&tt.t, 5, 40, 1, &nc.nf) == -EUCLEAN);
	free(tt.dev);
}

/* A span stops after the pieces allowed, and covers all when it can. */
static void refc_span(void)
{
	static struct model m;
	struct notify_ctx nc;
	struct t_tree tt;
	__u32 b;

	refc_init(&tt, &nc, &m);
	for (b = 100; b < 1100; b += 100)
		change(&tt, &nc, b, 50, 1);	/* 10 records, 10 gaps */
	EXPECT_EQ(refdax_refc_span(&tt.t, 100, 1000, 1000), 1000);
	EXPECT_EQ(refdax_refc_span(&tt.t, 100, 1000, 6 + 3), 150);
	EXPECT_EQ(refdax_refc_span(&tt.t, 120, 1000, 0), 30);
	EXPECT_EQ(refdax_refc_span(&tt.t, 10, 5, 0), 5);
	free(tt.dev);
}

/* The first leaf node of a tree of depth >= 1. */
static struct refdax_bmap_node *first_leaf(struct t_tree *tt)
{
	__u64 blk = refdax_bt_child(tt->root.br_ext);
	struct refdax_bmap_node *bn;

	for (;;) {
		bn = (struct refdax_bmap_node *)(tt->dev +
						 blk * REFDAX_BLOCK_SIZE);
		if (!bn->bn_hdr.bh_depth)
			return bn;
		blk = refdax_bt_child(bn + 1);
	}
}

/* Every node of @tt passes the refcount-tree verifier. */
static int verify_all(struct t_tree *tt, const struct refdax_geom *g)
{
	const char *why = NULL;
	__u64 b;

	if (refdax_check_refc_root(g, &tt->root, &why))
		return rt_note("    root: %s", why), 0;
	for (b = 1; b < T_BLOCKS; b++) {
		struct refdax_bmap_node *bn;

		if (!tt->used[b])
			continue;
		bn = (struct refdax_bmap_node *)(tt->dev + b * REFDAX_BLOCK_SIZE);
		if (refdax_check_refc_node(g, bn,
					   le16_to_cpu(bn->bn_hdr.bh_depth),
					   &why))
			return rt_note("    node %llu: %s",
				       (unsigned long long)b, why), 0;
	}
	return 1;
}

/* Expect the verifier to refuse the first leaf with @want after @poke. */
static void expect_bad_leaf(struct t_tree *tt, const struct refdax_geom *g,
			    const char *want)
{
	struct refdax_bmap_node *bn = first_leaf(tt);
	const char *why = NULL;

	refdax_bmap_node_set_csum(bn);
	EXPECT(refdax_check_refc_node(g, bn, 0, &why) == -EUCLEAN);
	EXPECT(why && !strcmp(why, want));
	if (why && strcmp(why, want))
		rt_note("    got '%s', want '%s'", why, want);
}

/* The verifier passes what the record code writes and refuses damage. */
static void refc_verify(void)
{
	static struct model m;
	struct refdax_geom g = { .nblocks = NB, .data_start = 0 };
	struct refdax_refc_rec *rec, save;
	struct notify_ctx nc;
	struct t_tree tt;
	const char *why = NULL;
	__u32 b;

	refc_init(&tt, &nc, &m);
	tt.t.magic = REFDAX_REFC_MAGIC;
	tt.root.br_hdr.bh_magic = cpu_to_le16(REFDAX_REFC_MAGIC);
	for (b = 0; b + 3 < NB; b += 7)		/* ~2,800 records */
		change(&tt, &nc, b, 3 + b % 2, 1);
	EXPECT(le16_to_cpu(tt.root.br_hdr.bh_depth) >= 1);
	EXPECT(verify_all(&tt, &g));

	rec = (struct refdax_refc_rec *)(first_leaf(&tt) + 1);
	save = rec[1];
	rec[1].rc_start = rec[0].rc_start;
	expect_bad_leaf(&tt, &g, "refcount records unsorted or overlapping");
	rec[1] = save;
	rec[1].rc_count = cpu_to_le32(1);
	expect_bad_leaf(&tt, &g, "refcount record count out of range");
	rec[1] = save;
	rec[1].rc_len = cpu_to_le32(NB);
	expect_bad_leaf(&tt, &g, "refcount record outside the data area");
	rec[1] = save;
	refdax_bmap_node_set_csum(first_leaf(&tt));
	first_leaf(&tt)->bn_csum ^= cpu_to_le32(1);
	EXPECT(refdax_check_refc_node(&g, first_leaf(&tt), 0, &why) ==
	       -EUCLEAN);
	EXPECT(why && !strcmp(why, "refcount node checksum mismatch"));
	/* an extent node is not a refcount node, nor the other way round */
	refdax_bmap_node_set_csum(first_leaf(&tt));
	EXPECT(refdax_check_bmap_node(&g, first_leaf(&tt), 0, &why) ==
	       -EUCLEAN);
	EXPECT(refdax_check_refc_root(&g, &tt.root, &why) == 0);
	tt.root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	EXPECT(refdax_check_refc_root(&g, &tt.root, &why) == -EUCLEAN);
	EXPECT(why && !strcmp(why, "bad refcount root magic"));
	free(tt.dev);
}

void test_refc(void)
{
	rt_run("refc: random +1/-1 over short ranges against a model",
	       refc_random_short);
	rt_run("refc: random +1/-1 over long ranges against a model",
	       refc_random_long);
	rt_run("refc: lookup agrees with the model", refc_lookup);
	rt_run("refc: clone into the middle, CoW at record ends, merging",
	       refc_edges);
	rt_run("refc: count at the maximum gives EMLINK, no change",
	       refc_max);
	rt_run("refc: a record of length 0 or count 1 is corruption",
	       refc_corrupt);
	rt_run("refc: span bounds the records one change touches",
	       refc_span);
	rt_run("refc: verifier passes written records, refuses damage",
	       refc_verify);
}
