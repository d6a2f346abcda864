// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.refdax: what the media says about data-area blocks against what the
 * walks counted (fsck_blockmap.h).  One sweep over the expected runs, in
 * block order, compares
 *  - the free-space bitmap: a block is in use iff something references or
 *    claims it; a set bit nobody accounts for is a leaked block, a clear
 *    bit under a used block is a block the kernel could hand out twice;
 *  - the refcount records: the runs with two or more references, as
 *    maximal runs of one count, must be exactly the records on media
 *    (fsck_refc.c collected them), no more, no fewer, none split.
 * The bitmap is read in place, a byte at a time where it agrees, and the
 * pages behind the sweep are released: nothing here grows with the device.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck.h"

#define MAX_SHOWN	10	/* mismatches listed without -v */

struct space_scan {
	const struct refc_rec *rec;	/* the records on media, in order */
	size_t nrec, ri;		/* ri: the first not behind the sweep */
	struct refc_rec *want;		/* the records the counts call for */
	size_t nwant, want_cap;
	__u64 rc_mism;			/* records differing from the counts */
	__u64 over;			/* blocks with too many references */
	__u64 leaked, unmarked;		/* bitmap: unused set, used clear */
	__u64 used;			/* bits set in the data area */
	__u64 shown;
	const void *done;		/* bitmap released up to here */
};

/*
 * Call @fn on every block of the data area exactly once, in order, as the
 * expected runs and the free stretches between them (count 0).
 */
void fsck_visit_runs(struct fsck *f, run_fn fn, void *arg)
{
	struct run_iter it;
	struct exp_run r, gap = { 0, 0, 0, BK_FREE };
	__u64 cur = f->g.data_start, end = f->g.nblocks;

	bm_runs_start(&f->bm, &it);
	while (bm_runs_next(&it, &r)) {
		__u64 rend = r.start + r.len < end ? r.start + r.len : end;

		/* the walks reference data-area blocks only; be safe anyway */
		if (rend <= cur)
			continue;
		if (r.start < cur)
			r.start = cur;
		r.len = rend - r.start;
		if (r.start > cur) {
			gap.start = cur;
			gap.len = r.start - cur;
			fn(f, &gap, arg);
		}
		fn(f, &r, arg);
		cur = rend;
	}
	bm_runs_end(&it);
	if (cur < end) {
		gap.start = cur;
		gap.len = end - cur;
		fn(f, &gap, arg);
	}
}

/* "block N" or "blocks N-M", in @buf. */
static const char *name_blocks(char *buf, size_t sz, __u64 start, __u64 len)
{
	if (len == 1)
		snprintf(buf, sz, "block %llu", (unsigned long long)start);
	else
		snprintf(buf, sz, "blocks %llu-%llu",
			 (unsigned long long)start,
			 (unsigned long long)(start + len - 1));
	return buf;
}

/* One mismatch line, the first MAX_SHOWN only unless -v. */
__printf(3, 4) static void show(struct fsck *f, struct space_scan *s,
				const char *fmt, ...)
{
	va_list ap;

	if (s->shown >= MAX_SHOWN && !f->verbose)
		return;
	s->shown++;
	printf("%s: ", f->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- the free-space bitmap ---- */

static bool in_use(const struct exp_run *r)
{
	return r->count > 0 || r->kind != BK_FREE;
}

/* The first bit from @i (below @end) that is not @val, or @end. */
static __u64 fsmap_find(const __u8 *map, __u64 i, __u64 end, int val)
{
	const __u8 all = val ? 0xff : 0;

	while (i < end) {
		if (!(i & 7) && end - i >= 8 && map[i >> 3] == all) {
			i += 8;
			continue;
		}
		if (refdax_fsmap_test(map, i) != val)
			return i;
		i++;
	}
	return end;
}

static void bits_differ(struct fsck *f, struct space_scan *s,
			const struct exp_run *r, __u64 start, __u64 len)
{
	char b[64];

	name_blocks(b, sizeof(b), start, len);
	if (in_use(r)) {
		s->unmarked += len;
		show(f, s, "%s: in use as %s, but free in the free-space bitmap",
		     b, bm_kind_name(r->kind));
	} else {
		s->leaked += len;
		show(f, s, "%s: in use in the free-space bitmap, but used by nothing (leaked)",
		     b);
	}
}

static void check_bits(struct fsck *f, struct space_scan *s,
		       const struct exp_run *r)
{
	__u64 ds = f->g.data_start, i = r->start - ds, end = i + r->len;
	int want = in_use(r);

	while (i < end) {
		__u64 bad = fsmap_find(f->fsmap, i, end, want), stop;

		if (want)
			s->used += bad - i;
		if (bad == end)
			break;
		stop = fsmap_find(f->fsmap, bad, end, !want);
		if (!want)
			s->used += stop - bad;
		bits_differ(f, s, r, bad + ds, stop - bad);
		i = stop;
	}
	fsck_stream(f, &s->done, f->fsmap + end / 8);
}

/* Store only the bytes that change: nothing else is written. */
static void rewrite_bits(struct fsck *f, const struct exp_run *r, void *arg)
{
	__u64 i = r->start - f->g.data_start, end = i + r->len;
	int want = in_use(r);
	__u8 *map = f->fsmap;

	(void)arg;
	while (i < end) {
		if (!(i & 7) && end - i >= 8) {
			if (map[i >> 3] != (want ? 0xff : 0))
				map[i >> 3] = want ? 0xff : 0;
			i += 8;
			continue;
		}
		if (refdax_fsmap_test(map, i) != want) {
			if (want)
				refdax_fsmap_set(map, i);
			else
				refdax_fsmap_clear(map, i);
		}
		i++;
	}
}

/* Bits past the data area, in the bitmap's last block, cover nothing. */
static void check_fsmap_tail(struct fsck *f)
{
	__u64 n = f->g.fsmap_blocks * REFDAX_FSMAP_BITS_PER_BLOCK;
	__u64 i = fsmap_find(f->fsmap, f->data_blocks, n, 0);

	if (i == n)
		return;
	warn(f, "free-space bitmap has bits set past the end of the data area");
	if (!fixing(f, FIX_SAFE))
		return;
	for (; i < n; i = fsmap_find(f->fsmap, i + 1, n, 0))
		refdax_fsmap_clear(f->fsmap, i);
	fixed(f, "cleared them");
}

/* ---- the refcount records ---- */

/* The count a record for blocks of @count references has: 0 for none. */
static __u64 rec_count(__u64 count)
{
	return count >= 2 ? count : 0;
}

/*
 * Blocks [start, start + len) have @count references: append the records
 * that calls for, merged with the last one where they can be.
 */
static void want_add(struct space_scan *s, __u64 start, __u64 len,
		     __u64 count)
{
	struct refc_rec *w = s->nwant ? &s->want[s->nwant - 1] : NULL;

	if (count < 2 || count > REFDAX_REFCOUNT_MAX)
		return;
	if (w && w->start + w->len == start && w->count == count) {
		__u64 take = REFDAX_REFC_MAX_LEN - w->len;

		take = take < len ? take : len;
		w->len += take;
		start += take;
		len -= take;
	}
	while (len) {
		__u64 n = len < REFDAX_REFC_MAX_LEN ? len : REFDAX_REFC_MAX_LEN;

		if (s->nwant == s->want_cap) {
			s->want_cap = s->want_cap ? s->want_cap * 2 : 64;
			s->want = xrealloc(s->want, s->want_cap,
					   sizeof(*s->want));
		}
		s->want[s->nwant++] = (struct refc_rec){ start, n,
							  (__u32)count };
		start += n;
		len -= n;
	}
}

/* Blocks [start, start + len) have @count references and record @m. */
static void compare_piece(struct fsck *f, struct space_scan *s, __u64 start,
			  __u64 len, const struct refc_rec *m, __u64 count)
{
	__u64 want = rec_count(count);
	char b[64];

	if ((m ? m->count : 0) == want)
		return;
	name_blocks(b, sizeof(b), start, len);
	if (count > REFDAX_REFCOUNT_MAX) {
		s->over += len;
		err(f, "%s: %llu references, more than a refcount record can count",
		    b, (unsigned long long)count);
		return;
	}
	s->rc_mism++;
	if (!m)
		show(f, s, "%s: %llu references, but no refcount record", b,
		     (unsigned long long)count);
	else if (!want)
		show(f, s,
		     "refcount record %llu+%llu (count %u): %s %s not shared (%llu reference%s)",
		     (unsigned long long)m->start, (unsigned long long)m->len,
		     m->count, b, len == 1 ? "is" : "are",
		     (unsigned long long)count, count == 1 ? "" : "s");
	else
		show(f, s, "refcount record %llu+%llu (count %u): %s %s %llu references",
		     (unsigned long long)m->start, (unsigned long long)m->len,
		     m->count, b, len == 1 ? "has" : "have",
		     (unsigned long long)count);
}

/* The records over run @r, piece by piece where they start and end. */
static void check_records(struct fsck *f, struct space_scan *s,
			  const struct exp_run *r)
{
	__u64 pos = r->start, end = r->start + r->len;

	while (pos < end) {
		const struct refc_rec *m;
		__u64 stop;

		while (s->ri < s->nrec &&
		       s->rec[s->ri].start + s->rec[s->ri].len <= pos)
			s->ri++;
		m = s->ri < s->nrec ? &s->rec[s->ri] : NULL;
		if (m && m->start <= pos) {
			stop = m->start + m->len;
		} else {
			stop = m ? m->start : end;
			m = NULL;
		}
		if (stop > end)
			stop = end;
		compare_piece(f, s, pos, stop - pos, m, r->count);
		pos = stop;
	}
}

/* Records that should have been one: adjacent, one count, room for both. */
static void check_merged(struct fsck *f, struct space_scan *s)
{
	size_t i;

	for (i = 1; i < s->nrec; i++) {
		const struct refc_rec *a = &s->rec[i - 1], *b = &s->rec[i];

		if (a->start + a->len != b->start || a->count != b->count ||
		    a->len + b->len > REFDAX_REFC_MAX_LEN)
			continue;
		s->rc_mism++;
		show(f, s,
		     "refcount records %llu+%llu and %llu+%llu (count %u) not merged into one",
		     (unsigned long long)a->start, (unsigned long long)a->len,
		     (unsigned long long)b->start, (unsigned long long)b->len,
		     a->count);
	}
}

static void compare_run(struct fsck *f, const struct exp_run *r, void *arg)
{
	struct space_scan *s = arg;

	if (r->kind == BK_NODE && r->count != 1)
		err(f, "block %llu: extent-tree node also referenced elsewhere (%llu refs)",
		    (unsigned long long)r->start,
		    (unsigned long long)r->count);
	check_bits(f, s, r);
	check_records(f, s, r);
	want_add(s, r->start, r->len, r->count);
}

/* ---- repair ---- */

static void repair_space(struct fsck *f, struct space_scan *s)
{
	bool rebuilt = false;
	int ret;

	if ((f->rc.problems || s->rc_mism) && fixing(f, FIX_SAFE)) {
		ret = fsck_refc_rebuild(f, s->want, s->nwant);
		rebuilt = true;
		if (ret)
			err(f, "refcount tree: cannot rebuild it: %s",
			    strerror(-ret));
		else
			fixed(f,
			      "rebuilt the refcount tree from the counted references (%zu records)",
			      s->nwant);
	}
	if (!s->leaked && !s->unmarked && !rebuilt)
		return;
	if (!fixing(f, FIX_SAFE))
		return;
	/* after a rebuild, also frees the old nodes, takes the new ones */
	fsck_visit_runs(f, rewrite_bits, NULL);
	if (s->leaked || s->unmarked)
		fixed(f, "rewrote the free-space bitmap from the blocks in use");
}

/*
 * The free-space bitmap and the refcount records against the counted
 * references, after every walk and repair that changes references.
 * *@used and *@shared get what the media says: bits set, blocks in
 * records.
 */
void fsck_check_space(struct fsck *f, __u64 *used, __u64 *shared)
{
	struct space_scan s;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.rec = f->rc.rec;
	s.nrec = f->rc.nrec;
	s.done = f->fsmap;
	check_merged(f, &s);
	fsck_visit_runs(f, compare_run, &s);
	if (s.rc_mism)
		err(f, "%llu refcount record mismatches in the data area",
		    (unsigned long long)s.rc_mism);
	if (s.leaked)
		err(f, "%llu leaked blocks: in use in the free-space bitmap, used by nothing",
		    (unsigned long long)s.leaked);
	if (s.unmarked)
		err(f, "%llu blocks in use but free in the free-space bitmap",
		    (unsigned long long)s.unmarked);
	repair_space(f, &s);
	check_fsmap_tail(f);
	fsck_release(f, s.done, (__u64)(f->fsmap + f->data_blocks / 8 -
					(const __u8 *)s.done));
	*used = s.used;
	*shared = 0;
	for (i = 0; i < s.nrec; i++)
		*shared += s.rec[i].len;
	free(s.want);
}
