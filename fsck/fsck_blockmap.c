// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax block accounting in metadata-sized memory (fsck_blockmap.h).
 *
 * The tree walks append a reference per extent and per tree node, and
 * claim the blocks that may have one user only.  Claims must be answered
 * while walking (the first user of a block keeps it, a later one is the
 * double use), so they live in a sorted array of chunks: a lookup is two
 * binary searches, an insert moves at most one chunk.  References are only
 * needed at the end: sorted once, they are swept together with the claims
 * into the expected runs.
 */
#include <stdlib.h>
#include <string.h>

#include "fsck.h"

#define CLAIM_CHUNK	128

struct claim_chunk {
	unsigned int n;
	struct blk_claim c[CLAIM_CHUNK];
};

/* Where a claim is, or would be inserted: chunk and index in it. */
struct cpos {
	size_t ci;
	unsigned int i;
};

void bm_init(struct blockmap *bm)
{
	memset(bm, 0, sizeof(*bm));
}

void bm_release(struct blockmap *bm)
{
	size_t i;

	for (i = 0; i < bm->nchunk; i++)
		free(bm->chunk[i]);
	free(bm->chunk);
	free(bm->ref);
	free(bm->used);
	bm_init(bm);
}

void bm_add_ref(struct blockmap *bm, __u64 pblk, __u64 len, __u8 kind,
		__u64 ino, bool drop)
{
	struct blk_ref *r;

	if (!len)
		return;
	if (bm->nref == bm->ref_cap) {
		bm->ref_cap = bm->ref_cap ? bm->ref_cap * 2 : 1024;
		bm->ref = xrealloc(bm->ref, bm->ref_cap, sizeof(*bm->ref));
	}
	r = &bm->ref[bm->nref++];
	r->pblk = pblk;
	r->len = (__u32)len;	/* an extent holds less than 2^31 blocks */
	r->kind = kind;
	r->drop = drop;
	r->ino = ino;
	bm->have_used = false;
}

/* What a block of @kind holds, for messages ("used as ..."). */
const char *bm_kind_name(__u8 kind)
{
	switch (kind) {
	case BK_FREE:
	case BK_DATA:
		return "file data";
	case BK_EXCL:
		return "a directory or symlink block";
	case BK_REFC:
		return "a refcount-tree node";
	default:
		return "an extent-tree node";
	}
}

/* ---- claims ---- */

/* The first claim that starts after @b, as an insertion point. */
static struct cpos claim_upper(const struct blockmap *bm, __u64 b)
{
	struct cpos p = { 0, 0 };
	size_t lo = 0, hi = bm->nchunk;
	const struct claim_chunk *ch;
	unsigned int l, h;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bm->chunk[mid]->c[0].start <= b)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!bm->nchunk)
		return p;
	p.ci = lo ? lo - 1 : 0;
	ch = bm->chunk[p.ci];
	l = 0;
	h = ch->n;
	while (l < h) {
		unsigned int mid = l + (h - l) / 2;

		if (ch->c[mid].start <= b)
			l = mid + 1;
		else
			h = mid;
	}
	p.i = l;
	return p;
}

/* The claim at or after @p, or NULL. */
static const struct blk_claim *claim_from(const struct blockmap *bm,
					  struct cpos p)
{
	if (p.ci < bm->nchunk && p.i < bm->chunk[p.ci]->n)
		return &bm->chunk[p.ci]->c[p.i];
	if (p.ci + 1 < bm->nchunk)
		return &bm->chunk[p.ci + 1]->c[0];
	return NULL;
}

/* The first claimed block range overlapping [pblk, pblk + len), or NULL. */
const struct blk_claim *bm_claimed(const struct blockmap *bm, __u64 pblk,
				   __u64 len)
{
	struct cpos p = claim_upper(bm, pblk);
	const struct blk_claim *c;

	if (!bm->nchunk || !len)
		return NULL;
	/* the claim starting at or before pblk may still cover it */
	if (p.i) {
		c = &bm->chunk[p.ci]->c[p.i - 1];
		if (c->start + c->len > pblk)
			return c;
	}
	c = claim_from(bm, p);
	return c && c->start < pblk + len ? c : NULL;
}

__u8 bm_kind(const struct blockmap *bm, __u64 pblk)
{
	const struct blk_claim *c = bm_claimed(bm, pblk, 1);

	return c ? c->kind : BK_FREE;
}

/* Make room in a full chunk by moving its upper half to a new one. */
static void split_chunk(struct blockmap *bm, struct cpos *p)
{
	struct claim_chunk *ch = bm->chunk[p->ci], *nc;
	unsigned int half = CLAIM_CHUNK / 2;

	if (bm->nchunk == bm->chunk_cap) {
		bm->chunk_cap = bm->chunk_cap ? bm->chunk_cap * 2 : 16;
		bm->chunk = xrealloc(bm->chunk, bm->chunk_cap,
				     sizeof(*bm->chunk));
	}
	nc = xcalloc(1, sizeof(*nc));
	nc->n = ch->n - half;
	memcpy(nc->c, ch->c + half, nc->n * sizeof(nc->c[0]));
	ch->n = half;
	memmove(bm->chunk + p->ci + 2, bm->chunk + p->ci + 1,
		(bm->nchunk - p->ci - 1) * sizeof(*bm->chunk));
	bm->chunk[p->ci + 1] = nc;
	bm->nchunk++;
	if (p->i > half) {
		p->ci++;
		p->i -= half;
	}
}

static void claim_insert(struct blockmap *bm, __u64 start, __u64 len,
			 __u8 kind)
{
	struct cpos p = claim_upper(bm, start);
	struct claim_chunk *ch;

	if (!bm->nchunk) {
		bm->chunk_cap = 16;
		bm->chunk = xcalloc(bm->chunk_cap, sizeof(*bm->chunk));
		bm->chunk[0] = xcalloc(1, sizeof(*bm->chunk[0]));
		bm->nchunk = 1;
	}
	if (bm->chunk[p.ci]->n == CLAIM_CHUNK)
		split_chunk(bm, &p);
	ch = bm->chunk[p.ci];
	memmove(ch->c + p.i + 1, ch->c + p.i, (ch->n - p.i) * sizeof(ch->c[0]));
	ch->c[p.i].start = start;
	ch->c[p.i].len = len;
	ch->c[p.i].kind = kind;
	ch->n++;
	bm->have_used = false;
}

/*
 * Claim the blocks of [pblk, pblk + len) that nobody claimed yet: a block
 * keeps its first user.
 */
void bm_claim(struct blockmap *bm, __u64 pblk, __u64 len, __u8 kind)
{
	__u64 cur = pblk, end = pblk + len;

	while (cur < end) {
		const struct blk_claim *c = bm_claimed(bm, cur, end - cur);
		__u64 stop = !c ? end : c->start > cur ? c->start : cur;
		__u64 next = c ? c->start + c->len : end;

		if (stop > cur)
			claim_insert(bm, cur, stop - cur, kind);
		cur = next;
	}
}

static void claim_remove(struct blockmap *bm, struct cpos p)
{
	struct claim_chunk *ch = bm->chunk[p.ci];

	memmove(ch->c + p.i, ch->c + p.i + 1,
		(ch->n - p.i - 1) * sizeof(ch->c[0]));
	if (--ch->n)
		return;
	free(ch);
	memmove(bm->chunk + p.ci, bm->chunk + p.ci + 1,
		(bm->nchunk - p.ci - 1) * sizeof(*bm->chunk));
	bm->nchunk--;
}

/* Block @pblk has no user any more (a tree node a repair emptied). */
void bm_unclaim(struct blockmap *bm, __u64 pblk)
{
	struct cpos p = claim_upper(bm, pblk);
	struct blk_claim c;

	if (!p.i)
		return;
	p.i--;
	c = bm->chunk[p.ci]->c[p.i];
	if (c.start + c.len <= pblk)
		return;
	claim_remove(bm, p);
	if (c.start < pblk)
		claim_insert(bm, c.start, pblk - c.start, c.kind);
	if (pblk + 1 < c.start + c.len)
		claim_insert(bm, pblk + 1, c.start + c.len - pblk - 1, c.kind);
	bm->have_used = false;
}

/* ---- expected runs ---- */

static int cmp_ref(const void *a, const void *b)
{
	const struct blk_ref *x = a, *y = b;

	return x->pblk < y->pblk ? -1 : x->pblk > y->pblk;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Start a sweep: the references are sorted by block (once, and again only
 * after more were added), their ends separately.  Neither the references
 * nor the claims may change until bm_runs_end().
 */
void bm_runs_start(struct blockmap *bm, struct run_iter *it)
{
	size_t i;

	memset(it, 0, sizeof(*it));
	it->bm = bm;
	if (bm->sorted < bm->nref) {
		qsort(bm->ref, bm->nref, sizeof(*bm->ref), cmp_ref);
		bm->sorted = bm->nref;
	}
	it->ends = xcalloc(bm->nref, sizeof(*it->ends));
	for (i = 0; i < bm->nref; i++)
		it->ends[i] = (bm->ref[i].pblk + bm->ref[i].len) << 1 |
			      bm->ref[i].drop;
	it->nends = bm->nref;
	qsort(it->ends, it->nends, sizeof(*it->ends), cmp_u64);
}

void bm_runs_end(struct run_iter *it)
{
	free(it->ends);
	it->ends = NULL;
}

static const struct blk_claim *next_claim(const struct run_iter *it)
{
	const struct blockmap *bm = it->bm;

	if (it->ci >= bm->nchunk)
		return NULL;
	return &bm->chunk[it->ci]->c[it->cj];
}

/* Apply every reference and claim that starts or ends at it->pos. */
static void sweep_events(struct run_iter *it)
{
	const struct blockmap *bm = it->bm;
	const struct blk_claim *c;

	while (it->ri < bm->nref && bm->ref[it->ri].pblk == it->pos) {
		it->count += bm->ref[it->ri].drop ? -1 : 1;
		it->ri++;
	}
	while (it->ei < it->nends && it->ends[it->ei] >> 1 == it->pos) {
		it->count -= it->ends[it->ei] & 1 ? -1 : 1;
		it->ei++;
	}
	if (it->in && it->in->start + it->in->len == it->pos)
		it->in = NULL;
	c = next_claim(it);
	if (!it->in && c && c->start == it->pos) {
		it->in = c;
		if (++it->cj == bm->chunk[it->ci]->n) {
			it->ci++;
			it->cj = 0;
		}
	}
}

/* The next block after it->pos where something starts or ends. */
static bool sweep_next(const struct run_iter *it, __u64 *next)
{
	const struct blockmap *bm = it->bm;
	const struct blk_claim *c = next_claim(it);
	__u64 n = ~0ULL;

	if (it->ri < bm->nref)
		n = bm->ref[it->ri].pblk;
	if (it->ei < it->nends && it->ends[it->ei] >> 1 < n)
		n = it->ends[it->ei] >> 1;
	if (it->in && it->in->start + it->in->len < n)
		n = it->in->start + it->in->len;
	else if (!it->in && c && c->start < n)
		n = c->start;
	*next = n;
	return n != ~0ULL;
}

/* The next stretch of blocks in use without any change inside it. */
static bool sweep_piece(struct run_iter *it, struct exp_run *r)
{
	__u64 next;

	for (;;) {
		sweep_events(it);
		if (!sweep_next(it, &next))
			return false;
		if (it->count > 0 || it->in) {
			r->start = it->pos;
			r->len = next - it->pos;
			r->count = it->count > 0 ? (__u64)it->count : 0;
			r->kind = it->in ? it->in->kind : BK_FREE;
			it->pos = next;
			return true;
		}
		it->pos = next;
	}
}

/*
 * The next expected run, in block order: a maximal range of blocks with
 * the same reference count and the same claim.  Blocks between runs have
 * no reference and no claim: free, refcount 0.
 */
bool bm_runs_next(struct run_iter *it, struct exp_run *r)
{
	struct exp_run p;

	if (it->have_pending)
		*r = it->pending;
	else if (!sweep_piece(it, r))
		return false;
	it->have_pending = false;
	while (sweep_piece(it, &p)) {
		if (p.start == r->start + r->len && p.count == r->count &&
		    p.kind == r->kind) {
			r->len += p.len;
			continue;
		}
		it->pending = p;
		it->have_pending = true;
		break;
	}
	return true;
}

/* ---- allocation (repairs that need a new block) ---- */

/* The blocks in use, merged: built once, kept up to date by bm_take(). */
static void build_used(struct blockmap *bm)
{
	struct run_iter it;
	struct exp_run r;
	size_t cap = 0;

	free(bm->used);
	bm->used = NULL;
	bm->nused = 0;
	bm_runs_start(bm, &it);
	while (bm_runs_next(&it, &r)) {
		struct blk_claim *u = bm->nused ? &bm->used[bm->nused - 1] :
				      NULL;

		if (u && u->start + u->len == r.start) {
			u->len += r.len;
			continue;
		}
		if (bm->nused == cap) {
			cap = cap ? cap * 2 : 64;
			bm->used = xrealloc(bm->used, cap, sizeof(*bm->used));
		}
		bm->used[bm->nused].start = r.start;
		bm->used[bm->nused].len = r.len;
		bm->used[bm->nused].kind = BK_DATA;
		bm->nused++;
	}
	bm_runs_end(&it);
	bm->have_used = true;
}

/* Index of the first used range ending after @b. */
static size_t used_after(const struct blockmap *bm, __u64 b)
{
	size_t lo = 0, hi = bm->nused;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bm->used[mid].start + bm->used[mid].len <= b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool free_in(const struct blockmap *bm, __u64 a, __u64 b, __u64 *out)
{
	size_t i = used_after(bm, a);

	/* used ranges are merged: past the one covering a, a is free */
	if (i < bm->nused && bm->used[i].start <= a)
		a = bm->used[i].start + bm->used[i].len;
	if (a >= b)
		return false;
	*out = a;
	return true;
}

/* The first free block in [from, hi), else in [lo, from). */
bool bm_find_free(struct blockmap *bm, __u64 lo, __u64 hi, __u64 from,
		  __u64 *out)
{
	if (!bm->have_used)
		build_used(bm);
	if (from < lo || from >= hi)
		from = lo;
	return free_in(bm, from, hi, out) || free_in(bm, lo, from, out);
}

static void used_add(struct blockmap *bm, __u64 b)
{
	size_t i = used_after(bm, b);
	struct blk_claim *u = bm->used;

	if (i > 0 && u[i - 1].start + u[i - 1].len == b) {
		u[i - 1].len++;
		if (i < bm->nused && u[i].start == b + 1) {
			u[i - 1].len += u[i].len;
			memmove(u + i, u + i + 1,
				(bm->nused - i - 1) * sizeof(*u));
			bm->nused--;
		}
		return;
	}
	if (i < bm->nused && u[i].start == b + 1) {
		u[i].start--;
		u[i].len++;
		return;
	}
	bm->used = xrealloc(bm->used, bm->nused + 1, sizeof(*u));
	u = bm->used;
	memmove(u + i + 1, u + i, (bm->nused - i) * sizeof(*u));
	u[i].start = b;
	u[i].len = 1;
	u[i].kind = BK_DATA;
	bm->nused++;
}

/* Free block @pblk becomes one @kind block of inode @ino. */
void bm_take(struct blockmap *bm, __u64 pblk, __u8 kind, __u64 ino)
{
	bool had = bm->have_used;

	bm_add_ref(bm, pblk, 1, kind, ino, false);
	bm_claim(bm, pblk, 1, kind);
	if (!had)
		return;
	used_add(bm, pblk);
	bm->have_used = true;
}
