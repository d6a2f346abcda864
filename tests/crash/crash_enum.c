// SPDX-License-Identifier: GPL-2.0
/*
 * Store-level crash enumeration of the refdax undo journal.
 *
 * Workloads drive common/refdax_journal.c over a simulated pmem (pmsim.c)
 * that knows which stores are durable and which may still sit in a cache.
 * At every fence and after every journal call and in-place store, every
 * media image a power failure could leave (or a fixed-seed sample of them)
 * is recovered as a mount would do it, and the result must be exactly the
 * state before the transaction or after it, as the commit word on the image
 * says; recovering again must change nothing; and a crash at any fence of
 * that recovery, followed by another recovery, must end in the same state.
 *
 *   crash_enum                 the bounded check (make -C tests/crash)
 *   crash_enum soak [secs] [seed]   random workloads for a long time
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmsim.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

#define DEV_BYTES	(64U * 1024)	/* 16 blocks */
#define JSTART		1ULL
#define JBLOCKS		4ULL		/* header block + 12 KiB of entries */
#define JLO		(JSTART * REFDAX_BLOCK_SIZE)
#define JHI		((JSTART + JBLOCKS) * REFDAX_BLOCK_SIZE)
#define AREA_BYTES	((JBLOCKS - 1) * REFDAX_BLOCK_SIZE)
#define META		(5U * REFDAX_BLOCK_SIZE)	/* workloads' metadata */

/* ---- workloads: transactions as lists of journal calls and stores ---- */

enum op_kind { OP_LOG, OP_WRITE, OP_COMMIT, OP_ABORT };

#define OPF_DROP_LOG_FENCE	1	/* log: lose the fence inside it */
#define OPF_DROP_GEN_FLUSH	2	/* commit: lose the flush of jh_gen */
#define OPF_DROP_META_FLUSH	4	/* commit: lose the ranges' flushes */

struct op {
	enum op_kind kind;
	unsigned int flags;
	int expect;			/* log: expected return value */
	__u32 off, len, seed;
};

struct wl {
	char name[96];
	struct op *ops;
	int nops, cap;
	int broken;			/* a bug is planted: must fail */
	int rec_drop_fence;		/* recovery loses its first fence */
};

static struct wl *wl_new(const char *fmt, ...)
	__printf(1, 2);

static struct wl *wl_new(const char *fmt, ...)
{
	struct wl *w = calloc(1, sizeof(*w));
	va_list ap;

	if (!w)
		abort();
	va_start(ap, fmt);
	vsnprintf(w->name, sizeof(w->name), fmt, ap);
	va_end(ap);
	return w;
}

static void wl_free(struct wl *w)
{
	free(w->ops);
	free(w);
}

static struct op *wl_add(struct wl *w, enum op_kind kind, __u32 off,
			 __u32 len)
{
	struct op *op;

	if (w->nops == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 32;
		w->ops = realloc(w->ops, w->cap * sizeof(*w->ops));
		if (!w->ops)
			abort();
	}
	op = &w->ops[w->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->off = off;
	op->len = len;
	op->seed = (__u32)w->nops * 2654435761U;
	return op;
}

static struct op *wl_log(struct wl *w, __u32 off, __u32 len)
{
	return wl_add(w, OP_LOG, off, len);
}

static struct op *wl_write(struct wl *w, __u32 off, __u32 len)
{
	return wl_add(w, OP_WRITE, off, len);
}

/* Log a range, then change all of it in place. */
static void wl_logw(struct wl *w, __u32 off, __u32 len)
{
	wl_log(w, off, len);
	wl_write(w, off, len);
}

static struct op *wl_commit(struct wl *w)
{
	return wl_add(w, OP_COMMIT, 0, 0);
}

static struct op *wl_abort(struct wl *w)
{
	return wl_add(w, OP_ABORT, 0, 0);
}

static __u8 pattern(__u32 seed, __u32 i)
{
	__u32 x = seed * 0x9e3779b1U + i * 0x85ebca6bU + 1;

	x ^= x >> 15;
	x *= 0x2c1b3c6dU;
	x ^= x >> 12;
	return (__u8)x;
}

static void apply_write(__u8 *img, const struct op *op)
{
	__u32 i;

	for (i = 0; i < op->len; i++)
		img[op->off + i] = pattern(op->seed, i);
}

/* ---- the checker ---- */

struct cfg {
	const char *name;
	unsigned int unit;
	struct pms_budget top, nested;
};

struct run {
	const struct cfg *cfg;
	const struct wl *w;
	struct pmsim main, rec;
	struct refdax_geom g;
	struct refdax_journal j, rj, pj;
	__u8 *prev, *next;		/* states before / after the txn */
	__u8 *scratch0, *scratch1, *plain2;
	__u64 gen0;			/* jh_gen when the txn began */
	int returned;			/* commit/abort returned */
	int txn, op;
	const char *where;
	const __u8 *expect;		/* for the state being recovered */
	const char *top_how;
	__u64 rng;
	struct pms_stats top, nested;
	__u64 failures, txns, harness_failures;
	int reported;
};

static __u64 img_gen(const __u8 *img)
{
	const struct refdax_journal_header *h = (const void *)(img + JLO);

	return le64_to_cpu(h->jh_gen);
}

/* Byte-exact over everything outside the journal; returns first diff. */
static long meta_diff(const __u8 *a, const __u8 *b)
{
	__u64 i;

	if (!memcmp(a, b, JLO) && !memcmp(a + JHI, b + JHI, DEV_BYTES - JHI))
		return -1;
	for (i = 0; i < DEV_BYTES; i++) {
		if (i == JLO)
			i = JHI;
		if (a[i] != b[i])
			return (long)i;
	}
	return -1;
}

/* Recovery as a mount runs it, on @img, with no persistence tracking. */
static int plain_recover(struct run *r, __u8 *img, const char **why)
{
	struct refdax_pmem pm = {
		.base = img, .size = DEV_BYTES,
		.flush = refdax_pmem_nop_flush, .fence = refdax_pmem_nop_fence,
	};
	int ret;

	*why = NULL;
	ret = refdax_jnl_open(&r->pj, &pm, &r->g, why);
	if (ret)
		return ret;
	return refdax_jnl_recover(&r->pj);
}

static void report(struct run *r, int nested, const char *how,
		   const char *fmt, ...) __printf(4, 5);

static void report(struct run *r, int nested, const char *how,
		   const char *fmt, ...)
{
	char units[640];
	va_list ap;

	r->failures++;
	if (r->reported++ >= 3)
		return;
	printf("    FAIL [%s] %s: txn %d op %d, %s\n", r->cfg->name,
	       r->w->name, r->txn, r->op, r->where);
	printf("      ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	pms_describe(&r->main, units, sizeof(units));
	printf("      crash image: %s:%s\n", nested ? r->top_how : how,
	       units);
	if (nested) {
		pms_describe(&r->rec, units, sizeof(units));
		printf("      crash during its recovery: %s:%s\n", how, units);
	}
}

static const char *which(struct run *r, const __u8 *img)
{
	if (meta_diff(img, r->prev) < 0)
		return "the old state";
	if (meta_diff(img, r->next) < 0)
		return "the new state";
	return "neither old nor new";
}

/*
 * Recovered image @img must be @exp and (after a crash-free recovery)
 * recovering it again must be a no-op.
 */
static int check_recovered(struct run *r, int nested, const char *how,
			   const __u8 *img, const __u8 *exp)
{
	const char *why;
	long d = meta_diff(img, exp);
	int ret;

	if (d >= 0) {
		report(r, nested, how,
		       "recovered to %s, expected the %s (first diff at 0x%lx)",
		       which(r, img), exp == r->next ? "new" : "old", d);
		return 1;
	}
	if (nested)
		return 0;
	memcpy(r->plain2, img, DEV_BYTES);
	ret = plain_recover(r, r->plain2, &why);
	if (ret || memcmp(r->plain2, img, DEV_BYTES)) {
		report(r, nested, how,
		       "second recovery not a no-op (returned %d%s%s)", ret,
		       why ? ": " : "", why ? why : "");
		return 1;
	}
	return 0;
}

static int nested_state(void *ctx, __u8 *m, const char *how)
{
	struct run *r = ctx;
	const char *why;
	int ret;

	ret = plain_recover(r, m, &why);
	if (ret < 0) {
		report(r, 1, how, "recovery failed: %d%s%s", ret,
		       why ? ": " : "", why ? why : "");
		return 1;
	}
	return check_recovered(r, 1, how, m, r->expect);
}

static void rec_hook(struct pmsim *ps, const char *where)
{
	struct run *r = ps->priv;

	(void)where;
	pms_enum(ps, r->scratch1, &r->cfg->nested, &r->rng, nested_state, r,
		 &r->nested);
}

static int top_state(void *ctx, __u8 *m, const char *how)
{
	struct run *r = ctx;
	__u64 gen = img_gen(m), fails = r->failures;
	const char *why = NULL;
	int ret;

	/* The commit word on the image decides which state must come back. */
	if (r->returned) {
		r->expect = r->next;
	} else if (gen == r->gen0) {
		r->expect = r->prev;
	} else if (gen == r->gen0 + 1) {
		r->expect = r->next;
	} else {
		report(r, 0, how, "commit word %llu, transaction began at %llu",
		       (unsigned long long)gen, (unsigned long long)r->gen0);
		return 1;
	}
	r->top_how = how;

	pms_load(&r->rec, m);
	r->rec.drop_fences = r->w->rec_drop_fence;
	ret = refdax_jnl_open(&r->rj, &r->rec.pm, &r->g, &why);
	if (ret) {
		report(r, 0, how, "journal does not open: %s", why);
		return 1;
	}
	r->rec.hook = rec_hook;
	ret = refdax_jnl_recover(&r->rj);
	/* a crash right after recovery returned, before anything else */
	pms_observe(&r->rec);
	rec_hook(&r->rec, "end of recovery");
	r->rec.hook = NULL;
	if (ret < 0) {
		report(r, 0, how, "recovery failed: %d", ret);
		return 1;
	}
	check_recovered(r, 0, how, r->rec.view, r->expect);
	return r->failures != fails;
}

static void crash_point(struct run *r, const char *where)
{
	r->where = where;
	pms_enum(&r->main, r->scratch0, &r->cfg->top, &r->rng, top_state, r,
		 &r->top);
}

static void main_hook(struct pmsim *ps, const char *where)
{
	struct run *r = ps->priv;

	(void)where;
	crash_point(r, "at a fence inside the journal call");
}

static void harness_fail(struct run *r, const char *fmt, ...)
	__printf(2, 3);

static void harness_fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	r->harness_failures++;
	r->failures++;
	printf("    FAIL [%s] %s: txn %d op %d: ", r->cfg->name, r->w->name,
	       r->txn, r->op);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static struct run *run_new(const struct cfg *cfg)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r || pms_init(&r->main, DEV_BYTES, cfg->unit) ||
	    pms_init(&r->rec, DEV_BYTES, cfg->unit))
		abort();
	r->cfg = cfg;
	r->main.priv = r;
	r->rec.priv = r;
	r->prev = malloc(DEV_BYTES);
	r->next = malloc(DEV_BYTES);
	r->scratch0 = malloc(DEV_BYTES);
	r->scratch1 = malloc(DEV_BYTES);
	r->plain2 = malloc(DEV_BYTES);
	if (!r->prev || !r->next || !r->scratch0 || !r->scratch1 ||
	    !r->plain2)
		abort();
	r->g.nblocks = DEV_BYTES / REFDAX_BLOCK_SIZE;
	r->g.journal_start = JSTART;
	r->g.journal_blocks = JBLOCKS;
	return r;
}

static void run_free(struct run *r)
{
	pms_free(&r->main);
	pms_free(&r->rec);
	free(r->prev);
	free(r->next);
	free(r->scratch0);
	free(r->scratch1);
	free(r->plain2);
	free(r);
}

/* A freshly made filesystem image: durable, journal formatted. */
static void fresh_device(struct run *r)
{
	const char *why;
	__u32 i;

	for (i = 0; i < DEV_BYTES; i++)
		r->main.view[i] = (__u8)(i * 31 + 7) ^ (__u8)(i >> 9);
	pms_load(&r->main, NULL);
	r->main.hook = NULL;
	if (refdax_jnl_format(&r->main.pm, &r->g) ||
	    pms_dirty_units(&r->main) ||
	    refdax_jnl_open(&r->j, &r->main.pm, &r->g, &why)) {
		fprintf(stderr, "crash_enum: cannot format the journal\n");
		abort();
	}
	r->main.hdr_lo = JLO;
	r->main.hdr_hi = JLO + REFDAX_CACHELINE;
	r->main.jnl_lo = JLO;
	r->main.jnl_hi = JHI;
	memcpy(r->prev, r->main.view, DEV_BYTES);
}

static void run_op(struct run *r, const struct op *op)
{
	struct pmsim *ps = &r->main;
	int ret;

	switch (op->kind) {
	case OP_LOG:
		ps->drop_fences = !!(op->flags & OPF_DROP_LOG_FENCE);
		ret = refdax_jnl_log(&r->j, ps->view + op->off, op->len);
		ps->drop_fences = 0;
		if (ret != op->expect)
			harness_fail(r, "log(0x%x, %u) returned %d, not %d",
				     op->off, op->len, ret, op->expect);
		crash_point(r, "after refdax_jnl_log");
		break;
	case OP_WRITE:
		apply_write(ps->view, op);
		pms_observe(ps);
		crash_point(r, "after an in-place store");
		break;
	case OP_COMMIT:
	case OP_ABORT:
		ps->drop_flush_hdr = !!(op->flags & OPF_DROP_GEN_FLUSH);
		ps->drop_flush_meta = !!(op->flags & OPF_DROP_META_FLUSH);
		if (op->kind == OP_COMMIT)
			refdax_jnl_commit(&r->j);
		else
			refdax_jnl_abort(&r->j);
		ps->drop_flush_hdr = 0;
		ps->drop_flush_meta = 0;
		r->returned = 1;
		crash_point(r, op->kind == OP_COMMIT ?
			    "after refdax_jnl_commit returned" :
			    "after refdax_jnl_abort returned");
		break;
	}
}

static void run_workload(struct run *r, const struct wl *w)
{
	int i = 0, k, end;

	r->w = w;
	r->txn = 0;
	fresh_device(r);
	r->main.hook = main_hook;
	while (i < w->nops) {
		for (end = i; end < w->nops; end++)
			if (w->ops[end].kind == OP_COMMIT ||
			    w->ops[end].kind == OP_ABORT)
				break;
		if (end == w->nops)
			abort();	/* every transaction must end */
		/* the oracle: the new state, independent of the journal */
		memcpy(r->next, r->prev, DEV_BYTES);
		if (w->ops[end].kind == OP_COMMIT)
			for (k = i; k < end; k++)
				if (w->ops[k].kind == OP_WRITE)
					apply_write(r->next, &w->ops[k]);
		r->gen0 = r->j.gen;
		r->returned = 0;
		refdax_jnl_begin(&r->j);
		for (k = i; k <= end; k++) {
			r->op = k - i;
			run_op(r, &w->ops[k]);
		}
		if (meta_diff(r->main.view, r->next) >= 0)
			harness_fail(r, "running state is not the oracle's");
		memcpy(r->prev, r->next, DEV_BYTES);
		r->txns++;
		r->txn++;
		i = end + 1;
	}
	r->main.hook = NULL;
}

/* ---- the workloads ---- */

static struct wl *wl_single(void)
{
	struct wl *w = wl_new("single range");

	wl_logw(w, META + 40, 100);
	wl_commit(w);
	return w;
}

static struct wl *wl_refcounts(void)
{
	struct wl *w = wl_new("many small ranges (refcount words)");
	__u32 i;

	for (i = 0; i < 40; i++)
		wl_logw(w, META + 4096 + 12 * i, 4);
	/* a word again, and a word inside a range already logged */
	wl_logw(w, META + 4096 + 12 * 3, 4);
	wl_logw(w, META + 4096 + 12 * 5 + 1, 2);
	wl_commit(w);
	return w;
}

static struct wl *wl_overlap(void)
{
	struct wl *w = wl_new("overlapping ranges");

	wl_logw(w, META + 100, 100);
	wl_logw(w, META + 150, 200);	/* overlaps the changed range */
	wl_logw(w, META + 8000, 64);
	wl_log(w, META + 100, 100);	/* already logged: no entry */
	wl_log(w, META + 120, 10);	/* inside a logged range */
	wl_write(w, META + 100, 100);
	wl_logw(w, META + 90, 300);	/* covers the union */
	wl_logw(w, META + 7990, 20);	/* straddles a range's start */
	wl_commit(w);
	return w;
}

static struct wl *wl_twice(void)
{
	struct wl *w = wl_new("same range logged twice");

	wl_logw(w, META + 64, 64);
	wl_logw(w, META + 64, 64);
	wl_logw(w, META + 256, 24);
	wl_logw(w, META + 64, 64);
	wl_commit(w);
	return w;
}

static struct wl *wl_node(void)
{
	struct wl *w = wl_new("4 KiB ranges (tree nodes)");

	wl_log(w, META + 2 * 4096, 4096);
	wl_write(w, META + 2 * 4096, 16);		/* node header */
	wl_write(w, META + 2 * 4096 + 16 + 160, 2000);	/* shifted entries */
	wl_logw(w, META + 3 * 4096, 4096);		/* the split half */
	wl_logw(w, META + 4 * 4096 + 64, 256);	/* inode */
	wl_write(w, META + 2 * 4096 + 8, 8);		/* checksum */
	wl_commit(w);
	return w;
}

static struct wl *wl_aborts(void)
{
	struct wl *w = wl_new("aborted transaction");

	wl_logw(w, META, 4096);
	wl_log(w, META + 10, 20);
	wl_logw(w, META + 4000, 200);
	wl_logw(w, META + 9000, 8);
	wl_abort(w);
	return w;
}

static struct wl *wl_sequence(void)
{
	struct wl *w = wl_new("sequence of transactions");

	wl_logw(w, META + 64, 128);
	wl_logw(w, META + 4096, 8);
	wl_commit(w);
	wl_logw(w, META + 100, 100);	/* changes txn 1's result */
	wl_logw(w, META + 12288, 512);
	wl_commit(w);
	wl_logw(w, META + 64, 64);
	wl_logw(w, META + 4096, 16);
	wl_abort(w);
	wl_commit(w);			/* empty: no commit point */
	wl_logw(w, META + 4100, 4);
	wl_logw(w, META + 12288 + 256, 512);
	wl_commit(w);
	return w;
}

static struct wl *wl_full(int then_abort)
{
	struct wl *w = wl_new("journal nearly full%s",
			      then_abort ? ", then abort" : "");
	__u32 used = 0, i = 0;

	/* 4 KiB entries take 4160 bytes: two fit in 12 KiB */
	while (used + 4160 <= AREA_BYTES) {
		wl_log(w, META + 4096 * i, 4096);
		wl_write(w, META + 4096 * i + 32 * i, 512);
		used += 4160;
		i++;
	}
	wl_log(w, META + 4096 * i, 4096)->expect = -ENOSPC;
	/* 64-byte entries up to the last slot, which ends the area */
	for (i = 0; used + 64 <= AREA_BYTES; i++, used += 64)
		wl_logw(w, META + 4096 * 3 + 64 * i,
			used + 128 > AREA_BYTES ? 32 : 16);
	wl_log(w, META + 4096 * 3 + 64 * i, 1)->expect = -ENOSPC;
	if (then_abort)
		wl_abort(w);
	else
		wl_commit(w);
	/* the next transaction starts over at the beginning of the area */
	wl_logw(w, META + 4096 * 3 + 8, 8);
	wl_commit(w);
	return w;
}

static struct wl *wl_edges(void)
{
	struct wl *w = wl_new("ranges at the journal's and device's edges");

	wl_logw(w, (__u32)JHI, 64);			/* right after */
	wl_logw(w, (__u32)JLO - 40, 40);		/* right before */
	wl_logw(w, DEV_BYTES - 24, 24);			/* device end */
	wl_logw(w, META + 60, 8);			/* straddles lines */
	wl_logw(w, META + 4096 - 3, 4096);		/* straddles blocks */
	wl_commit(w);
	return w;
}

/* ---- broken variants: the checker must reject them ---- */

static struct wl *bk_log_fence(void)
{
	struct wl *w = wl_new("BROKEN: fence after logging lost");

	wl_log(w, META, 64)->flags = OPF_DROP_LOG_FENCE;
	wl_write(w, META, 64);
	wl_logw(w, META + 4096, 64);
	wl_commit(w);
	w->broken = 1;
	return w;
}

static struct wl *bk_gen_flush(void)
{
	struct wl *w = wl_new("BROKEN: commit word not flushed");

	wl_logw(w, META, 64);
	wl_commit(w)->flags = OPF_DROP_GEN_FLUSH;
	wl_logw(w, META + 4096, 64);
	wl_commit(w);
	w->broken = 1;
	return w;
}

static struct wl *bk_meta_flush(void)
{
	struct wl *w = wl_new("BROKEN: commit does not write ranges back");

	wl_logw(w, META, 64);
	wl_logw(w, META + 4096, 8);
	wl_commit(w)->flags = OPF_DROP_META_FLUSH;
	w->broken = 1;
	return w;
}

static struct wl *bk_store_first(void)
{
	struct wl *w = wl_new("BROKEN caller: store before logging");

	wl_logw(w, META, 64);
	wl_write(w, META + 4096, 64);
	wl_log(w, META + 4096, 64);
	wl_commit(w);
	w->broken = 1;
	return w;
}

static struct wl *bk_rec_fence(void)
{
	struct wl *w =
		wl_new("BROKEN: recovery's fence before its commit lost");

	wl_logw(w, META, 128);
	wl_logw(w, META + 4096, 8);
	wl_commit(w);
	w->broken = 1;
	w->rec_drop_fence = 1;
	return w;
}

/* ---- random workloads (soak, and a few in the bounded run) ---- */

static __u32 rnd_len(__u64 *rng)
{
	__u32 p = pms_rand(rng) % 100;

	if (p < 25)
		return 1 + pms_rand(rng) % 16;
	if (p < 65)
		return 17 + pms_rand(rng) % 240;
	if (p < 80)
		return 257 + pms_rand(rng) % 3840;
	if (p < 90)
		return 4096;
	return 8;
}

static struct wl *wl_random(__u64 seed)
{
	struct wl *w = wl_new("random workload, seed %llu",
			      (unsigned long long)seed);
	__u64 rng = seed;
	int ntx = 1 + pms_rand(&rng) % 4, t;

	for (t = 0; t < ntx; t++) {
		int nr = pms_rand(&rng) % 11, n = 0, k;
		__u32 offs[16], lens[16], used = 0;

		while (n < nr) {
			__u32 len = rnd_len(&rng), off;
			__u32 p = pms_rand(&rng) % 100;

			if (n && p < 15) {		/* again, or inside */
				k = pms_rand(&rng) % n;
				off = offs[k] + pms_rand(&rng) % lens[k];
				len = 1 + pms_rand(&rng) %
				      (offs[k] + lens[k] - off);
			} else if (n && p < 30) {	/* overlapping */
				k = pms_rand(&rng) % n;
				off = offs[k] + lens[k] / 2;
				if (len > 4096)
					len = 4096;
			} else if (p < 33) {		/* block 0 */
				len = 1 + len % 512;
				off = pms_rand(&rng) % (JLO - len + 1);
			} else {
				off = META + pms_rand(&rng) %
				      (DEV_BYTES - META - len + 1);
				if (len == 8 || len == 4096)
					off &= ~(len - 1);
			}
			if (off + len > DEV_BYTES)
				len = DEV_BYTES - off;
			if (off < JLO && off + len > JLO)
				len = (__u32)JLO - off;
			used += (32 + len + 63) & ~63U;
			if (used > AREA_BYTES)
				break;
			wl_log(w, off, len);
			offs[n] = off;
			lens[n] = len;
			n++;
			/* change parts of what is logged so far */
			for (k = pms_rand(&rng) % 3; k > 0; k--) {
				int x = pms_rand(&rng) % n;
				__u32 o = offs[x] + pms_rand(&rng) % lens[x];
				__u32 l = 1 + pms_rand(&rng) %
					  (offs[x] + lens[x] - o);

				wl_write(w, o, l);
			}
		}
		if (pms_rand(&rng) % 100 < 20)
			wl_abort(w);
		else
			wl_commit(w);
	}
	return w;
}

/* ---- driver ---- */

struct totals {
	__u64 states, enumerated, sampled, nested, points, txns, failures;
	__u64 max_dirty, lost;
	__u64 broken_states;
	int passed, failed;
};

static void account(struct totals *t, struct run *r, const struct wl *w,
		    __u64 *fails)
{
	*fails = r->failures;
	if (w->broken) {
		t->broken_states += r->top.enumerated + r->top.sampled +
				    r->nested.enumerated + r->nested.sampled;
	} else {
		t->enumerated += r->top.enumerated;
		t->sampled += r->top.sampled;
		t->nested += r->nested.enumerated + r->nested.sampled;
		t->states += r->top.enumerated + r->top.sampled +
			     r->nested.enumerated + r->nested.sampled;
		t->points += r->top.points;
		t->txns += r->txns;
		t->failures += r->failures;
	}
	if (r->top.max_dirty > t->max_dirty)
		t->max_dirty = r->top.max_dirty;
	t->lost += r->main.lost_versions;
}

/* Run one workload under one model; a test case of its own. */
static void one(struct totals *t, const struct cfg *cfg, struct wl *w,
		__u64 seed, int quiet)
{
	struct run *r = run_new(cfg);
	__u64 fails;
	int ok;

	r->rng = seed;
	run_workload(r, w);
	account(t, r, w, &fails);
	ok = w->broken ? fails > r->harness_failures : fails == 0;
	if (ok)
		t->passed++;
	else
		t->failed++;
	if (!quiet || !ok)
		printf("%s [%s] %s: %llu points, %llu+%llu states",
		       ok ? "ok  " : "FAIL", cfg->name, w->name,
		       (unsigned long long)r->top.points,
		       (unsigned long long)r->top.enumerated,
		       (unsigned long long)r->top.sampled);
	if (!quiet || !ok)
		printf(" (+%llu in recovery), %llu failing%s\n",
		       (unsigned long long)(r->nested.enumerated +
					    r->nested.sampled),
		       (unsigned long long)fails,
		       w->broken ? (fails ? " (bug detected, as it must be)" :
				    " (bug NOT detected)") : "");
	run_free(r);
	wl_free(w);
}

static const struct cfg line_cfg = {
	.name = "line", .unit = 64,
	.top = { .max_all = 256, .nsample = 64 },
	.nested = { .max_all = 16, .nsample = 8 },
};

static const struct cfg word_cfg = {
	.name = "word", .unit = 8,
	.top = { .max_all = 256, .nsample = 32 },
	.nested = { .max_all = 16, .nsample = 8 },
};

static const struct cfg soak_line_cfg = {
	.name = "line", .unit = 64,
	.top = { .max_all = 4096, .nsample = 512 },
	.nested = { .max_all = 64, .nsample = 32 },
};

static const struct cfg soak_word_cfg = {
	.name = "word", .unit = 8,
	.top = { .max_all = 4096, .nsample = 256 },
	.nested = { .max_all = 64, .nsample = 32 },
};

#define NRANDOM	40

typedef struct wl *(*wl_fn)(void);

static struct wl *wl_full_commit(void)
{
	return wl_full(0);
}

static struct wl *wl_full_abort(void)
{
	return wl_full(1);
}

static const wl_fn fixed[] = {
	wl_single, wl_refcounts, wl_overlap, wl_twice, wl_node, wl_aborts,
	wl_sequence, wl_full_commit, wl_full_abort, wl_edges,
};

static const wl_fn broken[] = {
	bk_log_fence, bk_gen_flush, bk_meta_flush, bk_store_first,
	bk_rec_fence,
};

/* ---- the persistence model itself ---- */

struct count_ctx {
	__u64 n;
	__u8 seen[8];			/* byte 0 of the line, per state */
};

static int count_state(void *ctx, __u8 *m, const char *how)
{
	struct count_ctx *c = ctx;

	(void)how;
	if (c->n < 8)
		c->seen[c->n] = m[64];
	c->n++;
	return 0;
}

static __u64 states_now(struct pmsim *ps, __u8 *scratch,
			struct count_ctx *c)
{
	static const struct pms_budget all = { .max_all = 1 << 20 };
	struct pms_stats st = { 0 };
	__u64 rng = 1;

	memset(c, 0, sizeof(*c));
	pms_enum(ps, scratch, &all, &rng, count_state, c, &st);
	return c->n;
}

/* What may be on media after a few store/flush/fence patterns. */
static void model_selftest(struct totals *t)
{
	struct pmsim ps;
	struct count_ctx c;
	__u8 *scratch = calloc(1, 4096), *v;
	int bad = 0;

	if (!scratch || pms_init(&ps, 4096, 64))
		abort();
	v = ps.view;
	pms_load(&ps, NULL);
	/* a store that is never flushed survives a fence, or not */
	v[64] = 1;
	ps.pm.fence(&ps.pm);
	bad |= states_now(&ps, scratch, &c) != 2;
	/* flush + fence: durable, one state left */
	ps.pm.flush(&ps.pm, v + 64, 1);
	ps.pm.fence(&ps.pm);
	bad |= states_now(&ps, scratch, &c) != 1 || ps.durable[64] != 1;
	/* a store after the flush is not made durable by the fence */
	v[64] = 2;
	ps.pm.flush(&ps.pm, v + 64, 1);
	v[64] = 3;
	ps.pm.fence(&ps.pm);
	bad |= states_now(&ps, scratch, &c) != 2 || ps.durable[64] != 2 ||
	       c.seen[0] != 2 || c.seen[1] != 3;
	/* every content a line had since it was last durable may be there */
	v[64] = 4;
	pms_observe(&ps);
	v[64] = 5;
	bad |= states_now(&ps, scratch, &c) != 4;
	/* lines are independent: two dirty lines, four states */
	pms_load(&ps, NULL);
	v[64] = 6;
	v[128] = 6;
	bad |= states_now(&ps, scratch, &c) != 4;
	pms_free(&ps);
	/* word mode: two words of one line, four states */
	if (pms_init(&ps, 4096, 8))
		abort();
	pms_load(&ps, NULL);
	ps.view[64] = 7;
	ps.view[72] = 7;
	ps.view[73] = 7;
	bad |= states_now(&ps, scratch, &c) != 4;
	pms_free(&ps);
	free(scratch);
	if (bad)
		t->failed++;
	else
		t->passed++;
	printf("%s persistence model self-test\n", bad ? "FAIL" : "ok  ");
}

static void summary(struct totals *t, double secs)
{
	printf("crash-enum: %llu crash points; states: %llu enumerated, ",
	       (unsigned long long)t->points,
	       (unsigned long long)t->enumerated);
	printf("%llu sampled, %llu at fences inside recovery\n",
	       (unsigned long long)t->sampled, (unsigned long long)t->nested);
	printf("crash-enum: most non-durable units at one point %llu, ",
	       (unsigned long long)t->max_dirty);
	printf("versions dropped %llu, %.1f s\n", (unsigned long long)t->lost,
	       secs);
	printf("crash-enum: broken variants: %llu states checked\n",
	       (unsigned long long)t->broken_states);
	printf("crash-enum: %llu states checked, %llu transactions, ",
	       (unsigned long long)t->states, (unsigned long long)t->txns);
	printf("%llu failures\n", (unsigned long long)t->failures);
	printf("%d passed, %d failed\n", t->passed, t->failed);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct totals t = { 0 };
	double t0 = now();
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "soak")) {
		double secs = argc > 2 ? atof(argv[2]) : 600;
		__u64 seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
		__u64 n;

		for (n = 0; now() - t0 < secs; n++) {
			one(&t, n & 1 ? &soak_word_cfg : &soak_line_cfg,
			    wl_random(seed + n), seed + n, 1);
			if (n % 100 == 99) {
				printf("soak: %llu workloads, %llu states, ",
				       (unsigned long long)n + 1,
				       (unsigned long long)t.states);
				printf("%llu failures, %.0f s\n",
				       (unsigned long long)t.failures,
				       now() - t0);
			}
		}
		printf("soak: %llu random workloads from seed %llu\n",
		       (unsigned long long)n, (unsigned long long)seed);
		summary(&t, now() - t0);
		return t.failed ? 1 : 0;
	}

	model_selftest(&t);
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		one(&t, &line_cfg, fixed[i](), 1 + i, 0);
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		one(&t, &word_cfg, fixed[i](), 101 + i, 0);
	for (i = 0; i < NRANDOM; i++)
		one(&t, i & 1 ? &word_cfg : &line_cfg, wl_random(1000 + i),
		    1000 + i, 1);
	printf("%s %d random workloads (seeds 1000-%d)\n",
	       t.failures ? "FAIL" : "ok  ", NRANDOM, 1000 + NRANDOM - 1);
	for (i = 0; i < ARRAY_SIZE(broken); i++)
		one(&t, &line_cfg, broken[i](), 201 + i, 0);
	summary(&t, now() - t0);
	return t.failed ? 1 : 0;
}
