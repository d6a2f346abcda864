/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A simulated pmem device with a persistence model, for store-level crash
 * enumeration of code that persists through struct refdax_pmem.
 *
 * The code under test stores straight into the "view" (pm.base), as it
 * would into a DAX mapping; those stores sit in a volatile cache.  The
 * simulator only learns about them when it looks: at every flush and fence
 * callback and whenever the harness calls pms_observe().  Each look diffs
 * the view against the previous look, one "unit" at a time (a 64-byte cache
 * line, or an 8-byte word in the stricter mode), and appends every new
 * content of a unit to that unit's list of versions: contents that may have
 * reached media through an eviction but are not known to be durable.
 *
 *   flush(addr, len)  captures the covering lines as "flush pending"
 *   fence()           makes every pending line durable, with the contents
 *                     it had when it was flushed
 *
 * A crash leaves, for every unit, either its durable contents or any one of
 * its versions, independently of every other unit.  pms_enum() walks those
 * states: all of them when there are few, a fixed-seed sample otherwise.
 */
#ifndef PMSIM_H
#define PMSIM_H

#include "refdax_common.h"

#define PMS_MAXV	16	/* versions kept per unit (oldest dropped) */

struct pmsim;
typedef void (*pms_hook_t)(struct pmsim *ps, const char *where);
/*
 * Called with one possible media image, in scratch space the callee may
 * change; returns nonzero on a failure.
 */
typedef int (*pms_state_fn)(void *ctx, __u8 *media, const char *how);

struct pms_stats {
	__u64 points;		/* crash points visited */
	__u64 enumerated;	/* states from exhaustive enumeration */
	__u64 sampled;		/* states from sampling */
	__u64 failures;		/* states the callback rejected */
	__u64 max_dirty;	/* most non-durable units at one point */
};

struct pmsim {
	struct refdax_pmem pm;
	__u64 size;
	unsigned int unit;		/* 64 (line) or 8 (word) */
	__u64 nunits;
	__u8 *view;			/* pm.base */
	__u8 *durable;			/* certain to be on media */
	__u8 *seen;			/* view at the last look */
	__u8 *pending;			/* per line: contents when flushed */
	__u8 *vers;			/* per unit: PMS_MAXV versions */
	__u8 *nver;			/* per unit: versions held */
	__u8 *pver;			/* per unit: nver when last flushed */
	__u8 *is_pend;			/* per line: flush pending */
	__u8 *is_dirty;			/* per unit: on the dirty list */
	__u32 *dirty;			/* units that may hold versions */
	__u64 ndirty;
	__u32 *pendl;			/* lines with a pending flush */
	__u64 npend;
	__u64 lost_versions;		/* versions dropped past PMS_MAXV */
	__u64 nfences, nflushes;

	/* fault injection: each simulates a missing persistence step */
	int drop_fences;		/* ignore this many coming fences */
	int drop_flush_hdr;		/* ignore flushes touching [hdr_lo, hdr_hi) */
	int drop_flush_meta;		/* ignore flushes not touching the journal */
	__u64 hdr_lo, hdr_hi, jnl_lo, jnl_hi;

	pms_hook_t hook;		/* at every fence, before it acts */
	void *priv;

	/* the state pms_enum() built last, for failure reports */
	__u8 *choice;			/* per dirty-list slot: 0 or version */
	__u64 nchoice;
};

int pms_init(struct pmsim *ps, __u64 size, unsigned int unit);
void pms_free(struct pmsim *ps);
/* Forget all history: media and view both become @img (or the view). */
void pms_load(struct pmsim *ps, const __u8 *img);
/* Record the stores made since the last look. */
void pms_observe(struct pmsim *ps);
/* Units that are not durable at this moment. */
__u64 pms_dirty_units(struct pmsim *ps);

struct pms_budget {
	__u64 max_all;		/* enumerate exhaustively up to this many */
	__u64 nsample;		/* otherwise check about this many */
};

/*
 * Look at the view, then build every possible media image (or a sample) in
 * @scratch and pass it to @fn.  @rng is a fixed-seed generator state.
 */
void pms_enum(struct pmsim *ps, __u8 *scratch, const struct pms_budget *b,
	      __u64 *rng, pms_state_fn fn, void *ctx, struct pms_stats *st);

/* Describe the last state pms_enum() built: units not left durable. */
void pms_describe(struct pmsim *ps, char *buf, size_t len);

__u64 pms_rand(__u64 *state);

#endif /* PMSIM_H */
