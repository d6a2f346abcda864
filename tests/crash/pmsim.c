// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated pmem with a persistence model; see pmsim.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmsim.h"

#define LINE		REFDAX_CACHELINE
#define SCAN_CHUNK	4096U

__u64 pms_rand(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u8 *ver(struct pmsim *ps, __u64 u, unsigned int i)
{
	return ps->vers + (u * PMS_MAXV + i) * ps->unit;
}

static void add_version(struct pmsim *ps, __u64 u, const __u8 *v)
{
	unsigned int n = ps->nver[u];

	if (n && !memcmp(v, ver(ps, u, n - 1), ps->unit))
		return;
	if (n == PMS_MAXV) {
		memmove(ver(ps, u, 0), ver(ps, u, 1),
			(PMS_MAXV - 1) * ps->unit);
		n--;
		ps->lost_versions++;
		if (ps->pver[u])
			ps->pver[u]--;
	}
	memcpy(ver(ps, u, n), v, ps->unit);
	ps->nver[u] = n + 1;
	if (!ps->is_dirty[u]) {
		ps->is_dirty[u] = 1;
		ps->dirty[ps->ndirty++] = (__u32)u;
	}
}

void pms_observe(struct pmsim *ps)
{
	unsigned int unit = ps->unit;
	__u64 off, u;

	for (off = 0; off < ps->size; off += SCAN_CHUNK) {
		if (!memcmp(ps->view + off, ps->seen + off, SCAN_CHUNK))
			continue;
		for (u = off / unit; u < (off + SCAN_CHUNK) / unit; u++) {
			const __u8 *v = ps->view + u * unit;

			if (!memcmp(v, ps->seen + u * unit, unit))
				continue;
			memcpy(ps->seen + u * unit, v, unit);
			if (memcmp(v, ps->durable + u * unit, unit))
				add_version(ps, u, v);
		}
	}
}

static struct pmsim *to_ps(struct refdax_pmem *pm)
{
	return pm->priv;
}

static void sim_flush(struct refdax_pmem *pm, const void *addr, size_t len)
{
	struct pmsim *ps = to_ps(pm);
	__u64 lo = (__u64)((const __u8 *)addr - ps->view);
	__u64 hi = lo + len, l, u;
	unsigned int per = LINE / ps->unit;

	pms_observe(ps);
	ps->nflushes++;
	if (!len || hi > ps->size) {
		fprintf(stderr, "pmsim: flush out of bounds\n");
		abort();
	}
	if (ps->drop_flush_hdr && lo < ps->hdr_hi && hi > ps->hdr_lo)
		return;
	if (ps->drop_flush_meta && (hi <= ps->jnl_lo || lo >= ps->jnl_hi))
		return;
	for (l = lo / LINE; l <= (hi - 1) / LINE; l++) {
		memcpy(ps->pending + l * LINE, ps->view + l * LINE, LINE);
		if (!ps->is_pend[l]) {
			ps->is_pend[l] = 1;
			ps->pendl[ps->npend++] = (__u32)l;
		}
		for (u = l * per; u < (l + 1) * per; u++)
			ps->pver[u] = ps->nver[u];
	}
}

/* Line @l was written back: its flushed contents are now durable. */
static void line_durable(struct pmsim *ps, __u64 l)
{
	unsigned int per = LINE / ps->unit, i, k;
	__u64 u;

	memcpy(ps->durable + l * LINE, ps->pending + l * LINE, LINE);
	for (u = l * per; u < (l + 1) * per; u++) {
		const __u8 *d = ps->durable + u * ps->unit;

		/* only versions stored after the flush may still be lost */
		for (i = ps->pver[u], k = 0; i < ps->nver[u]; i++) {
			if (!memcmp(ver(ps, u, i), d, ps->unit))
				continue;
			if (k != i)
				memcpy(ver(ps, u, k), ver(ps, u, i), ps->unit);
			k++;
		}
		ps->nver[u] = k;
		ps->pver[u] = 0;
	}
	ps->is_pend[l] = 0;
}

static void sim_fence(struct refdax_pmem *pm)
{
	struct pmsim *ps = to_ps(pm);
	__u64 i;

	pms_observe(ps);
	ps->nfences++;
	if (ps->hook)
		ps->hook(ps, "fence");
	if (ps->drop_fences > 0) {
		ps->drop_fences--;
		return;
	}
	for (i = 0; i < ps->npend; i++)
		line_durable(ps, ps->pendl[i]);
	ps->npend = 0;
}

int pms_init(struct pmsim *ps, __u64 size, unsigned int unit)
{
	__u64 nlines = size / LINE;

	memset(ps, 0, sizeof(*ps));
	if (size % SCAN_CHUNK || (unit != 8 && unit != LINE))
		return -EINVAL;
	ps->size = size;
	ps->unit = unit;
	ps->nunits = size / unit;
	ps->view = calloc(1, size);
	ps->durable = calloc(1, size);
	ps->seen = calloc(1, size);
	ps->pending = calloc(1, size);
	ps->vers = calloc(PMS_MAXV, size);
	ps->nver = calloc(1, ps->nunits);
	ps->pver = calloc(1, ps->nunits);
	ps->is_dirty = calloc(1, ps->nunits);
	ps->dirty = calloc(ps->nunits, sizeof(*ps->dirty));
	ps->choice = calloc(1, ps->nunits);
	ps->is_pend = calloc(1, nlines);
	ps->pendl = calloc(nlines, sizeof(*ps->pendl));
	if (!ps->view || !ps->durable || !ps->seen || !ps->pending ||
	    !ps->vers || !ps->nver || !ps->pver || !ps->is_dirty ||
	    !ps->dirty || !ps->choice || !ps->is_pend || !ps->pendl) {
		pms_free(ps);
		return -ENOMEM;
	}
	ps->pm.base = ps->view;
	ps->pm.size = size;
	ps->pm.flush = sim_flush;
	ps->pm.fence = sim_fence;
	ps->pm.priv = ps;
	return 0;
}

void pms_free(struct pmsim *ps)
{
	free(ps->view);
	free(ps->durable);
	free(ps->seen);
	free(ps->pending);
	free(ps->vers);
	free(ps->nver);
	free(ps->pver);
	free(ps->is_dirty);
	free(ps->dirty);
	free(ps->choice);
	free(ps->is_pend);
	free(ps->pendl);
	memset(ps, 0, sizeof(*ps));
}

void pms_load(struct pmsim *ps, const __u8 *img)
{
	__u64 i;

	if (!img)
		img = ps->view;
	else
		memcpy(ps->view, img, ps->size);
	memcpy(ps->durable, img, ps->size);
	memcpy(ps->seen, img, ps->size);
	for (i = 0; i < ps->ndirty; i++) {
		ps->nver[ps->dirty[i]] = 0;
		ps->pver[ps->dirty[i]] = 0;
		ps->is_dirty[ps->dirty[i]] = 0;
	}
	ps->ndirty = 0;
	for (i = 0; i < ps->npend; i++)
		ps->is_pend[ps->pendl[i]] = 0;
	ps->npend = 0;
	ps->nchoice = 0;
	ps->drop_fences = 0;
	ps->drop_flush_hdr = 0;
	ps->drop_flush_meta = 0;
}

__u64 pms_dirty_units(struct pmsim *ps)
{
	__u64 i, k = 0;

	for (i = 0; i < ps->ndirty; i++) {
		__u32 u = ps->dirty[i];

		if (ps->nver[u])
			ps->dirty[k++] = u;
		else
			ps->is_dirty[u] = 0;
	}
	ps->ndirty = k;
	return k;
}

static int build(struct pmsim *ps, __u8 *scratch, pms_state_fn fn,
		 void *ctx, const char *how)
{
	__u64 i;

	memcpy(scratch, ps->durable, ps->size);
	for (i = 0; i < ps->ndirty; i++) {
		__u32 u = ps->dirty[i];

		if (ps->choice[i])
			memcpy(scratch + (__u64)u * ps->unit,
			       ver(ps, u, ps->choice[i] - 1), ps->unit);
	}
	ps->nchoice = ps->ndirty;
	return fn(ctx, scratch, how);
}

void pms_enum(struct pmsim *ps, __u8 *scratch, const struct pms_budget *b,
	      __u64 *rng, pms_state_fn fn, void *ctx, struct pms_stats *st)
{
	__u64 n, total = 1, i, k, s, singles;
	char how[96];

	pms_observe(ps);
	n = pms_dirty_units(ps);
	st->points++;
	if (n > st->max_dirty)
		st->max_dirty = n;
	for (i = 0; i < n && total <= b->max_all; i++)
		total *= ps->nver[ps->dirty[i]] + 1;

	if (total <= b->max_all) {
		/* every combination, as a mixed-radix counter */
		memset(ps->choice, 0, n);
		for (k = 0; k < total; k++) {
			snprintf(how, sizeof(how), "state %llu of %llu",
				 (unsigned long long)k + 1,
				 (unsigned long long)total);
			st->failures += !!build(ps, scratch, fn, ctx, how);
			st->enumerated++;
			for (i = 0; i < n; i++) {
				if (++ps->choice[i] <= ps->nver[ps->dirty[i]])
					break;
				ps->choice[i] = 0;
			}
		}
		return;
	}

	/*
	 * Too many: the two extremes, single units reaching media alone or
	 * lagging alone (where missing ordering shows first), then random
	 * combinations.
	 */
	singles = b->nsample / 4;
	for (s = 0; s < b->nsample; s++) {
		__u64 pick = 0;
		int mode;

		if (s < 2) {
			mode = (int)s;
		} else if (s < 2 + 2 * singles) {
			mode = 2 + (int)((s - 2) & 1);
			pick = n <= singles ? ((s - 2) / 2) % n :
			       pms_rand(rng) % n;
		} else {
			mode = 4;
		}
		for (i = 0; i < n; i++) {
			__u8 nv = ps->nver[ps->dirty[i]];

			switch (mode) {
			case 0:
				ps->choice[i] = 0;
				break;
			case 1:
				ps->choice[i] = nv;
				break;
			case 2:
				ps->choice[i] = i == pick ? nv : 0;
				break;
			case 3:
				ps->choice[i] = i == pick ? 0 : nv;
				break;
			default:
				ps->choice[i] = pms_rand(rng) % (nv + 1);
			}
		}
		snprintf(how, sizeof(how), "sample %llu of %llu (mode %d)",
			 (unsigned long long)s + 1,
			 (unsigned long long)b->nsample, mode);
		st->failures += !!build(ps, scratch, fn, ctx, how);
		st->sampled++;
	}
}

void pms_describe(struct pmsim *ps, char *buf, size_t len)
{
	size_t used = 0;
	__u64 i, shown = 0, lagging = 0;

	buf[0] = 0;
	for (i = 0; i < ps->nchoice && i < ps->ndirty; i++) {
		__u32 u = ps->dirty[i];

		if (!ps->choice[i]) {
			lagging++;
			continue;
		}
		if (shown++ < 12 && used + 40 < len)
			used += snprintf(buf + used, len - used,
					 " 0x%llx=v%u/%u",
					 (unsigned long long)u * ps->unit,
					 ps->choice[i], ps->nver[u]);
	}
	if (used + 60 < len)
		snprintf(buf + used, len - used,
			 " (%llu units reached media, %llu did not)",
			 (unsigned long long)shown,
			 (unsigned long long)lagging);
}
