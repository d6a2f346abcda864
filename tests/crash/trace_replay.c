// SPDX-License-Identifier: GPL-2.0
/*
 * Host half of the store-level crash enumeration of the kernel's metadata
 * code.  The guest ran real operations on a traced refdax (src/refdax_trace.c
 * recorded every changed 64-byte line, every flush and every fence); this
 * program replays that stream over the image the mount started from and, at
 * every fence and every operation boundary, builds the media images a power
 * failure could leave, recovers each as a mount does and checks it.
 *
 * Persistence model, per 64-byte line: a STORE makes the line's latest
 * contents differ from its durable contents; a FLUSH captures the contents
 * of the lines it covers; a FENCE makes every captured line durable with the
 * captured contents.  A crash image is the durable image plus any subset of
 * the not-yet-durable lines at their latest contents.
 *
 * Checks of each crash image, after refdax_jnl_open + refdax_jnl_recover:
 *  - atomicity: outside the journal, the metadata area (blocks below
 *    s_data_start: the superblock with its refcount root, the bitmaps, the
 *    inode table) and the data-area ranges the transaction logged (extent
 *    and refcount tree nodes, directory blocks) equal the image at the last
 *    transaction boundary before the crash or at the next one; a boundary
 *    is a fence that made a new jh_gen durable;
 *  - consistency: fsck.refdax -n exits 0 (an orphan list is consistent: a
 *    mount finishes it).
 *
 * Also reported: lines stored and not flushed when an operation ended.
 *
 *   trace_replay --pre IMG --trace BIN [--post IMG] [--fsck PATH]
 *                [--max-states N] [--seed S] [--kver K] [--report FILE]
 *                [--drop-fence K] [--list-fences N] [--drop-flush K]
 *                [--list-flushes N] [--quiet]
 * Exit: 0 all states passed, 1 failures, 2 usage or input errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>
#include <spawn.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "refdax_common.h"

extern char **environ;

#define LINE		64U
#define MAXOPS		512
#define EXH_MAX_LINES	10	/* exhaustive up to 2^10 subsets */
#define MIN_PER_POINT	16

enum { EV_STORE = 1, EV_FLUSH, EV_FENCE, EV_OP, EV_ATTACH, EV_DETACH };

struct ev {
	__u32 type, len;
	__u64 off;
	const __u8 *data;
};

/* line state bits */
#define L_DIRTY	1	/* latest contents not known durable */
#define L_PEND	2	/* flushed, waits for a fence */
#define L_UNFL	4	/* stored since its last flush */

struct kind {
	char name[64];
	__u64 instances, states, failed, points;
	char first[1400];
};

static struct {
	const char *pre, *trace, *post, *fsck, *kver, *report;
	__u64 max_states, seed;
	long drop_fence;	/* index among FENCE events, or -1 */
	long drop_flush;	/* index among FLUSH events, or -1 */
	long list_fences, list_flushes;
	int quiet;
} opt = { .max_states = 20000, .seed = 1, .kver = "?", .drop_fence = -1,
	  .drop_flush = -1, .list_fences = -1, .list_flushes = -1 };

static __u64 S, nlines;
static struct refdax_geom geom;
static __u64 meta_end, j_lo, j_hi;	/* bytes */
static struct ev *evs;
static size_t nev;
static __u8 *pre, *dur, *cur, *fl, *st, *work;
static __u32 *dirty, *dpos, *pend;
static size_t ndirty, npend;
static char workpath[128];

/* boundaries: metadata images at commit fences (pass 1) */
static __u8 **bimg;
static size_t *bev;		/* event index of the boundary fence */
static size_t nb;

/*
 * Data-area ranges (extent and refcount tree nodes, directory blocks) each
 * transaction logged: their contents before and after it, window b lying
 * between boundaries b and b + 1.
 */
struct wrange {
	__u64 addr;
	__u32 len;
	__u8 *old, *new;
};

static struct wrange *wr;
static size_t nwr, capwr;
static size_t *wr_first;	/* per window: index of its first range */

static struct kind kinds[MAXOPS];
static int nkinds;
static FILE *rep;

static void die(const char *m)
{
	fprintf(stderr, "trace_replay: %s\n", m);
	if (workpath[0])
		unlink(workpath);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static __u8 *read_file(const char *path, size_t *len)
{
	struct stat sb;
	__u8 *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb))
		die(path);
	p = xmalloc(sb.st_size);
	if (read(fd, p, sb.st_size) != sb.st_size)
		die(path);
	close(fd);
	*len = sb.st_size;
	return p;
}

static void parse_trace(void)
{
	size_t len, pos = 0, cap = 1024;
	__u8 *b = read_file(opt.trace, &len);

	evs = xmalloc(cap * sizeof(*evs));
	while (pos + 16 <= len) {
		struct ev e;
		__u32 dl = 0;

		memcpy(&e.type, b + pos, 4);
		memcpy(&e.len, b + pos + 4, 4);
		memcpy(&e.off, b + pos + 8, 8);
		pos += 16;
		if (e.type == EV_STORE)
			dl = LINE;
		else if (e.type == EV_OP)
			dl = (e.len + 7) & ~7U;
		else if (e.type < EV_STORE || e.type > EV_DETACH)
			die("bad event type in trace");
		if (pos + dl > len)
			die("truncated trace");
		e.data = b + pos;
		pos += dl;
		if ((e.type == EV_STORE || e.type == EV_FLUSH) &&
		    (e.off >= S || e.len > S - e.off))
			die("event outside the image");
		if (nev == cap) {
			cap *= 2;
			evs = realloc(evs, cap * sizeof(*evs));
			if (!evs)
				die("out of memory");
		}
		evs[nev++] = e;
	}
	if (pos != len)
		die("trailing bytes in trace");
	if (!nev || evs[0].type != EV_ATTACH || evs[0].off != S)
		die("trace does not start with ATTACH of the image's size");
}

/* ---- the persistence model ---- */

static void model_reset(void)
{
	memcpy(dur, pre, S);
	memcpy(cur, pre, S);
	if (work)
		memcpy(work, pre, S);
	memset(st, 0, nlines);
	ndirty = npend = 0;
}

static void dirty_add(__u32 l)
{
	dpos[l] = ndirty;
	dirty[ndirty++] = l;
}

static void dirty_del(__u32 l)
{
	__u32 last = dirty[--ndirty];

	dirty[dpos[l]] = last;
	dpos[last] = dpos[l];
}

static long fence_no;	/* FENCE events applied so far */
static long flush_no;	/* FLUSH events applied so far */

static void apply(const struct ev *e)
{
	__u64 l, lo, hi;
	size_t i;

	switch (e->type) {
	case EV_STORE:
		l = e->off / LINE;
		memcpy(cur + l * LINE, e->data, LINE);
		if (!(st[l] & L_DIRTY)) {
			st[l] |= L_DIRTY;
			dirty_add(l);
		}
		st[l] |= L_UNFL;
		break;
	case EV_FLUSH:
		if (flush_no++ == opt.drop_flush)
			break;
		lo = e->off / LINE;
		hi = (e->off + e->len + LINE - 1) / LINE;
		for (l = lo; l < hi; l++) {
			st[l] &= ~L_UNFL;
			if (!(st[l] & L_DIRTY))
				continue;
			memcpy(fl + l * LINE, cur + l * LINE, LINE);
			if (!(st[l] & L_PEND)) {
				st[l] |= L_PEND;
				pend[npend++] = l;
			}
		}
		break;
	case EV_FENCE:
		if (fence_no++ == opt.drop_fence)
			break;
		for (i = 0; i < npend; i++) {
			l = pend[i];
			memcpy(dur + l * LINE, fl + l * LINE, LINE);
			if (work)	/* kept equal to dur between states */
				memcpy(work + l * LINE, fl + l * LINE, LINE);
			st[l] &= ~L_PEND;
			if (!memcmp(dur + l * LINE, cur + l * LINE, LINE)) {
				st[l] &= ~L_DIRTY;
				dirty_del(l);
			}
		}
		npend = 0;
		break;
	}
}

static __u64 dur_gen(void)
{
	__u64 g;

	memcpy(&g, dur + j_lo + offsetof(struct refdax_journal_header, jh_gen),
	       8);
	return le64_to_cpu(g);
}

/* ---- naming ---- */

static int kind_of(const char *name)
{
	int i;

	for (i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i].name, name))
			return i;
	if (nkinds == MAXOPS)
		die("too many operation kinds");
	snprintf(kinds[nkinds].name, sizeof(kinds[0].name), "%s", name);
	return nkinds++;
}

static void op_label(const struct ev *e, char *buf, size_t len)
{
	size_t n = e->len < len - 1 ? e->len : len - 1;

	memcpy(buf, e->data, n);
	buf[n] = 0;
}

/* A data-area byte, and the tree its block is a node of, if any. */
static void describe_data(__u64 off, char *buf, size_t len)
{
	__u64 b = off / REFDAX_BLOCK_SIZE;
	const char *what = "";
	__le16 m;

	memcpy(&m, cur + b * REFDAX_BLOCK_SIZE, 2);
	if (le16_to_cpu(m) == REFDAX_BMAP_MAGIC)
		what = " (extent tree node)";
	else if (le16_to_cpu(m) == REFDAX_REFC_MAGIC)
		what = " (refcount tree node)";
	snprintf(buf, len, "data-area block %llu+%llu%s",
		 (unsigned long long)b,
		 (unsigned long long)(off % REFDAX_BLOCK_SIZE), what);
}

/* Which structure a byte offset belongs to, from the geometry. */
static void describe_off(__u64 off, char *buf, size_t len)
{
	__u64 b = off / REFDAX_BLOCK_SIZE;
	__u64 root = offsetof(struct refdax_super, s_refc_root);

	if (off >= root && off < root + sizeof(struct refdax_bmap_root))
		snprintf(buf, len, "superblock refcount root+%llu",
			 (unsigned long long)(off - root));
	else if (b == 0)
		snprintf(buf, len, "superblock+%llu", (unsigned long long)off);
	else if (off >= j_lo && off < j_lo + LINE)
		snprintf(buf, len, "journal header");
	else if (off >= j_lo && off < j_hi)
		snprintf(buf, len, "journal entry area+%llu",
			 (unsigned long long)(off - j_lo - REFDAX_BLOCK_SIZE));
	else if (b >= geom.ibitmap_start && b < geom.itable_start)
		snprintf(buf, len, "inode bitmap (inodes %llu..)",
			 (unsigned long long)((off - geom.ibitmap_start *
					       REFDAX_BLOCK_SIZE) * 8));
	else if (b >= geom.itable_start && b < geom.fsmap_start)
		snprintf(buf, len, "inode %llu",
			 (unsigned long long)((off - geom.itable_start *
					       REFDAX_BLOCK_SIZE) /
					      REFDAX_INODE_SIZE));
	else if (b >= geom.fsmap_start && b < geom.data_start)
		snprintf(buf, len, "free-space bitmap (blocks %llu..)",
			 (unsigned long long)(geom.data_start +
					      (off - geom.fsmap_start *
					       REFDAX_BLOCK_SIZE) * 8));
	else
		describe_data(off, buf, len);
}

/* ---- checking one crash image ---- */

struct rec_ctx {
	__u64 lo[4096], len[4096];
	size_t n;
	int overflow;
};

static void rec_flush(struct refdax_pmem *pm, const void *addr, size_t len)
{
	struct rec_ctx *c = pm->priv;

	if (c->n == 4096) {
		c->overflow = 1;
		return;
	}
	c->lo[c->n] = (const __u8 *)addr - (const __u8 *)pm->base;
	c->len[c->n++] = len;
}

static void rec_fence(struct refdax_pmem *pm)
{
	(void)pm;
}

static int run_fsck(char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)opt.fsck, "-n", workpath, NULL };
	char outpath[160];
	pid_t pid;
	int status;

	snprintf(outpath, sizeof(outpath), "%s.out", workpath);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, why ? outpath : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawn(&pid, opt.fsck, &fa, NULL, argv, environ))
		die("cannot run fsck");
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (why) {
		size_t n = 0;
		FILE *f = fopen(outpath, "r");
		char line[256];

		why[0] = 0;
		while (f && fgets(line, sizeof(line), f) && n < whylen - 1) {
			line[strcspn(line, "\n")] = 0;
			n += snprintf(why + n, whylen - n, "%s%s", n ? " | " : "",
				      line);
			if (n >= whylen)
				break;
		}
		if (f)
			fclose(f);
		unlink(outpath);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* First metadata byte where @img differs from boundary @b, or -1. */
static long long meta_diff(const __u8 *img, const __u8 *b)
{
	__u64 o;

	for (o = 0; o < meta_end; o += LINE) {
		if (o >= j_lo && o < j_hi)
			continue;
		if (memcmp(img + o, b + o, LINE)) {
			__u64 k = o;

			while (img[k] == b[k])
				k++;
			return (long long)k;
		}
	}
	return -1;
}

/*
 * Data-area block @blk is in use in metadata image @m: its free-space
 * bitmap bit is set.  (Whether it is shared does not matter here.)
 */
static int in_use_in(const __u8 *m, __u64 blk)
{
	return refdax_fsmap_test(m + geom.fsmap_start * REFDAX_BLOCK_SIZE,
				 blk - geom.data_start);
}

/*
 * First byte of window @w's data-area ranges where @img differs from their
 * contents at boundary @b (before the transaction, or after it), or -1.
 * Bytes of blocks free at that boundary do not count: a node the
 * transaction allocated, wrote and then logged is restored by recovery to
 * its logged contents, and is free again, which is all that matters.
 */
static long long range_diff(const __u8 *img, size_t w, size_t b, int after)
{
	size_t i;

	for (i = wr_first[w]; i < wr_first[w + 1]; i++) {
		const __u8 *want = after ? wr[i].new : wr[i].old;
		__u32 k;

		for (k = 0; k < wr[i].len; k++) {
			__u64 o = wr[i].addr + k;

			if (img[o] != want[k] &&
			    in_use_in(bimg[b], o / REFDAX_BLOCK_SIZE))
				return (long long)o;
		}
	}
	return -1;
}

/* The image at boundary @b, or the first byte where @img differs. */
static long long boundary_diff(const __u8 *img, size_t b, size_t w,
			       int after)
{
	long long d = meta_diff(img, bimg[b]);

	return d >= 0 ? d : range_diff(img, w, b, after);
}

/*
 * @work holds the durable image with the lines of @sel at their latest
 * contents.  Returns 0 or 1 (failure, reason in @why).
 */
static struct rec_ctx rc;	/* what the last recovery wrote */

static int check_state(size_t blast, size_t bnext, char *why, size_t wl)
{
	static struct refdax_journal j;
	struct refdax_pmem pm = { .base = work, .size = S,
				  .flush = rec_flush, .fence = rec_fence };
	const char *w = NULL;
	long long d1, d2;
	int ret;

	rc.n = 0;
	rc.overflow = 0;
	pm.priv = &rc;
	if (refdax_jnl_open(&j, &pm, &geom, &w)) {
		snprintf(why, wl, "journal does not open: %s", w);
		return 1;
	}
	ret = refdax_jnl_recover(&j);
	if (ret < 0) {
		snprintf(why, wl, "journal recovery failed: %d", ret);
		return 1;
	}
	if (rc.overflow)
		die("recovery wrote too many ranges");
	d1 = boundary_diff(work, blast, blast, 0);
	if (d1 >= 0) {
		d2 = bnext < nb ? boundary_diff(work, bnext, blast, 1) : d1;
		if (d2 >= 0) {
			char a[96], b[96];

			describe_off(d1, a, sizeof(a));
			describe_off(d2, b, sizeof(b));
			snprintf(why, wl,
				 "not atomic: recovered metadata (%d entries undone) differs from the last commit at 0x%llx (%s) and from the next at 0x%llx (%s)",
				 ret, d1, a, d2, b);
			return 1;
		}
	}
	if (opt.fsck) {
		ret = run_fsck(NULL, 0);
		if (ret) {
			int n = snprintf(why, wl, "fsck.refdax -n exit %d: ",
					 ret);

			run_fsck(why + n, wl - n);
			return 1;
		}
	}
	return 0;
}

/* Undo what building (@keep) and recovering a state changed in @work. */
static void restore_work(const __u8 *keep)
{
	size_t i;

	for (i = 0; i < ndirty; i++)
		if (keep[i])
			memcpy(work + (__u64)dirty[i] * LINE,
			       dur + (__u64)dirty[i] * LINE, LINE);
	for (i = 0; i < rc.n; i++)
		memcpy(work + rc.lo[i], dur + rc.lo[i], rc.len[i]);
	rc.n = 0;
}

static __u64 rng_next(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Lines of the dirty list that a state keeps/loses, for reports. */
static void describe_state(const __u8 *keep, char *buf, size_t len)
{
	size_t i, nk = 0, n = 0;
	int lost_mode;

	for (i = 0; i < ndirty; i++)
		nk += keep[i];
	/* Name the shorter side. */
	lost_mode = ndirty - nk <= nk;
	n = snprintf(buf, len, "%zu of %zu non-durable lines %s: ",
		     lost_mode ? ndirty - nk : nk, ndirty,
		     lost_mode ? "lost" : "reached media, the rest lost");
	for (i = 0; i < ndirty && n < len - 1; i++) {
		char d[96];

		if (keep[i] == lost_mode)
			continue;
		describe_off((__u64)dirty[i] * LINE, d, sizeof(d));
		n += snprintf(buf + n, len - n, "0x%llx (%s) ",
			      (unsigned long long)dirty[i] * LINE, d);
	}
	if (n >= len - 1)
		snprintf(buf + len - 5, 5, "...");
}

static __u64 total_states, total_failed, total_points;
static __u64 points_exhaustive, max_dirty;

/*
 * Enumerate crash images at this point: exhaustive up to 2^10 subsets and
 * the budget, otherwise none, all, each line alone, each line lost alone,
 * then random subsets up to the budget.
 */
static void crash_point(size_t e, int kind, size_t blast, size_t bnext,
			__u64 budget, __u64 *rng)
{
	__u8 *keep = xmalloc(ndirty + 1);
	__u64 nstates, s;
	int exhaustive;
	struct kind *k = &kinds[kind];

	exhaustive = ndirty <= EXH_MAX_LINES &&
		     (1ULL << ndirty) <= (budget > 1024 ? 1024 : budget);
	points_exhaustive += exhaustive;
	if (ndirty > max_dirty)
		max_dirty = ndirty;
	if (exhaustive)
		nstates = 1ULL << ndirty;
	else
		nstates = budget > 2 + 2 * ndirty ? budget : 2 + 2 * ndirty;
#ifdef PARANOID
	if (memcmp(work, dur, S))
		die("work image out of step with the durable image");
#endif
	k->points++;
	total_points++;
	for (s = 0; s < nstates; s++) {
		size_t i;
		char why[600];

		for (i = 0; i < ndirty; i++) {
			if (exhaustive)
				keep[i] = (s >> i) & 1;
			else if (s == 0)
				keep[i] = 0;
			else if (s == 1)
				keep[i] = 1;
			else if (s < 2 + ndirty)
				keep[i] = i == s - 2;
			else if (s < 2 + 2 * ndirty)
				keep[i] = i != s - 2 - ndirty;
			else
				keep[i] = rng_next(rng) & 1;
		}
		for (i = 0; i < ndirty; i++) {
			if (!keep[i])
				continue;
			memcpy(work + (__u64)dirty[i] * LINE,
			       cur + (__u64)dirty[i] * LINE, LINE);
		}
		k->states++;
		total_states++;
		if (check_state(blast, bnext, why, sizeof(why))) {
			k->failed++;
			total_failed++;
			if (!k->first[0]) {
				char d[600];

				describe_state(keep, d, sizeof(d));
				snprintf(k->first, sizeof(k->first),
					 "event %zu (fence %ld): %s; %s", e,
					 fence_no, why, d);
			}
			if (rep)
				fprintf(rep, "FAIL event %zu op %s: %s\n", e,
					k->name, why);
		}
		restore_work(keep);
	}
	free(keep);
}

/*
 * At the commit fence of window @w (transaction @gen): record the data-area
 * ranges its journal entries name, with their contents at the boundary
 * before (kept in @prev) and now.  Entries are walked as recovery does,
 * without the checksum: these are the bytes the kernel wrote.
 */
static __u8 *prev;
static __u32 *touched;		/* lines stored since the last boundary */
static __u8 *is_touched;
static size_t ntouched;

static void collect_ranges(__u64 gen, size_t w)
{
	const __u8 *area = cur + j_lo + REFDAX_BLOCK_SIZE;
	__u64 ab = j_hi - j_lo - REFDAX_BLOCK_SIZE, off = 0;
	__u32 n = 0;

	wr_first[w] = nwr;
	while (off + sizeof(struct refdax_journal_entry) <= ab) {
		struct refdax_journal_entry je;
		__u64 addr, end;
		__u32 len;

		memcpy(&je, area + off, sizeof(je));
		len = le32_to_cpu(je.je_len);
		addr = le64_to_cpu(je.je_addr);
		if (le64_to_cpu(je.je_gen) != gen ||
		    le32_to_cpu(je.je_seq) != n || !len ||
		    len > REFDAX_JENTRY_MAX_DATA || addr > S || len > S - addr)
			break;
		end = addr + len;
		if (end > meta_end) {
			if (addr < meta_end)
				addr = meta_end;
			if (nwr == capwr) {
				capwr = capwr ? 2 * capwr : 256;
				wr = realloc(wr, capwr * sizeof(*wr));
				if (!wr)
					die("out of memory");
			}
			wr[nwr].addr = addr;
			wr[nwr].len = end - addr;
			wr[nwr].old = xmalloc(end - addr);
			wr[nwr].new = xmalloc(end - addr);
			memcpy(wr[nwr].old, prev + addr, end - addr);
			memcpy(wr[nwr].new, cur + addr, end - addr);
			nwr++;
		}
		off += (sizeof(je) + len + LINE - 1) & ~(__u64)(LINE - 1);
		n++;
	}
	wr_first[w + 1] = nwr;
	/* prev becomes cur: only lines stored since the last boundary. */
	while (ntouched) {
		__u32 l = touched[--ntouched];

		memcpy(prev + (__u64)l * LINE, cur + (__u64)l * LINE, LINE);
		is_touched[l] = 0;
	}
}

/* ---- driver ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: trace_replay --pre IMG --trace BIN [--post IMG] [--fsck PATH]\n"
		"       [--max-states N] [--seed S] [--kver K] [--report FILE]\n"
		"       [--drop-fence K] [--list-fences N] [--drop-flush K]\n"
		"       [--list-flushes N] [--quiet]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quiet")) {
			opt.quiet = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--pre"))
			opt.pre = v;
		else if (!strcmp(a, "--trace"))
			opt.trace = v;
		else if (!strcmp(a, "--post"))
			opt.post = v;
		else if (!strcmp(a, "--fsck"))
			opt.fsck = v;
		else if (!strcmp(a, "--kver"))
			opt.kver = v;
		else if (!strcmp(a, "--report"))
			opt.report = v;
		else if (!strcmp(a, "--max-states"))
			opt.max_states = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--seed"))
			opt.seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--drop-fence"))
			opt.drop_fence = strtol(v, NULL, 0);
		else if (!strcmp(a, "--list-fences"))
			opt.list_fences = strtol(v, NULL, 0);
		else if (!strcmp(a, "--drop-flush"))
			opt.drop_flush = strtol(v, NULL, 0);
		else if (!strcmp(a, "--list-flushes"))
			opt.list_flushes = strtol(v, NULL, 0);
		else
			usage();
	}
	if (!opt.pre || !opt.trace)
		usage();
}

/* Which events are crash points: fences, operation marks and the end. */
static int is_point(const struct ev *e)
{
	return e->type == EV_FENCE || e->type == EV_OP ||
	       e->type == EV_DETACH;
}

int main(int argc, char **argv)
{
	const char *why = NULL;
	size_t len, i, b;
	__u64 budget, rng, npoints = 0, nfences = 0, nops = 1;
	__u64 unfl_reported = 0;
	long window_end = -1;
	int fd, kind, ret = 0;
	size_t first_point = 0;
	__u8 *unfl_seen;
	struct timespec t0, t1;

	parse_args(argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pre = read_file(opt.pre, &len);
	S = len;
	nlines = S / LINE;
	if (S % REFDAX_BLOCK_SIZE || S < 2 * REFDAX_BLOCK_SIZE)
		die("pre-image size is not a multiple of 4096");
	if (refdax_check_super((const struct refdax_super *)pre, S, &geom,
			       &why))
		die(why);
	if (geom.nblocks * REFDAX_BLOCK_SIZE != S)
		die("pre-image size differs from the filesystem size");
	meta_end = geom.data_start * REFDAX_BLOCK_SIZE;
	j_lo = geom.journal_start * REFDAX_BLOCK_SIZE;
	j_hi = j_lo + geom.journal_blocks * REFDAX_BLOCK_SIZE;
	parse_trace();

	if (opt.list_fences >= 0) {
		/*
		 * Fences worth dropping for the self-test: the first fence
		 * of each of the first N operations after the mount that
		 * write metadata (that fence orders a journal entry before
		 * the in-place stores it protects).
		 */
		long f = 0, listed = 0, want = 0;

		for (i = 0; i < nev && listed < opt.list_fences; i++) {
			if (evs[i].type == EV_OP)
				want = 1;
			if (evs[i].type != EV_FENCE)
				continue;
			if (want) {
				printf("%ld\n", f);
				listed++;
				want = 0;
			}
			f++;
		}
		return 0;
	}
	if (opt.list_flushes >= 0) {
		/*
		 * Flushes worth dropping: the first flush outside the journal
		 * of each of the first N operations after the mount (an
		 * in-place change, a new tree node or a zeroed block).
		 */
		long f = 0, listed = 0, want = 0;

		for (i = 0; i < nev && listed < opt.list_flushes; i++) {
			if (evs[i].type == EV_OP)
				want = 1;
			if (evs[i].type != EV_FLUSH)
				continue;
			if (want && (evs[i].off >= j_hi ||
				     evs[i].off + evs[i].len <= j_lo)) {
				printf("%ld\n", f);
				listed++;
				want = 0;
			}
			f++;
		}
		return 0;
	}

	dur = xmalloc(S);
	cur = xmalloc(S);
	fl = xmalloc(S);
	st = xmalloc(nlines);
	unfl_seen = xmalloc(nlines);
	dirty = xmalloc(nlines * sizeof(*dirty));
	dpos = xmalloc(nlines * sizeof(*dpos));
	pend = xmalloc(nlines * sizeof(*pend));

	/* Pass 1: transaction boundaries and the number of crash points. */
	bimg = xmalloc((nev + 1) * sizeof(*bimg));
	wr_first = xmalloc((nev + 2) * sizeof(*wr_first));
	prev = xmalloc(S);
	memcpy(prev, pre, S);
	touched = xmalloc(nlines * sizeof(*touched));
	is_touched = xmalloc(nlines);
	bev = xmalloc((nev + 1) * sizeof(*bev));
	model_reset();
	bimg[0] = xmalloc(meta_end);
	memcpy(bimg[0], pre, meta_end);
	bev[0] = 0;
	nb = 1;
	{
		__u64 g = dur_gen();

		fence_no = flush_no = 0;
		for (i = 0; i < nev; i++) {
			if (is_point(&evs[i]))
				npoints++;
			if (evs[i].type == EV_FENCE)
				nfences++;
			if (evs[i].type == EV_OP)
				nops++;
			apply(&evs[i]);
			if (evs[i].type == EV_STORE) {
				__u32 l = evs[i].off / LINE;

				if (!is_touched[l]) {
					is_touched[l] = 1;
					touched[ntouched++] = l;
				}
			}
			if (evs[i].type == EV_FENCE && dur_gen() != g) {
				collect_ranges(g, nb - 1);
				g = dur_gen();
				bimg[nb] = xmalloc(meta_end);
				memcpy(bimg[nb], cur, meta_end);
				bev[nb++] = i;
			}
		}
	}
	if (opt.post) {
		__u8 *post = read_file(opt.post, &len);

		if (len != S)
			die("post-image size differs");
		if (memcmp(post, cur, S)) {
			__u64 o = 0;
			char d[96];

			while (post[o] == cur[o])
				o++;
			describe_off(o, d, sizeof(d));
			printf("FAIL crash-trace-tracer [%s]: replayed stores do not give the image after unmount: first difference at 0x%llx (%s)\n",
			       opt.kver, (unsigned long long)o, d);
			ret = 1;
		} else if (!opt.quiet) {
			printf("PASS crash-trace-tracer [%s]: replayed stores give the image after unmount\n",
			       opt.kver);
		}
		free(post);
	}

	/* With a fence dropped, check its operation only: that is where it bites. */
	if (opt.drop_fence >= 0 || opt.drop_flush >= 0) {
		long f = 0, g = 0;

		for (i = 0; i < nev; i++) {
			if (evs[i].type == EV_FENCE && f++ == opt.drop_fence)
				first_point = i;
			if (evs[i].type == EV_FLUSH && g++ == opt.drop_flush)
				first_point = i;
			if (first_point && i > first_point &&
			    evs[i].type == EV_OP) {
				window_end = i;
				break;
			}
		}
		npoints = 64;
	}

	/* Pass 2: enumerate. */
	snprintf(workpath, sizeof(workpath), "/dev/shm/trace-replay-%d.img",
		 getpid());
	fd = open(workpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, S))
		die("cannot create the work image in /dev/shm");
	work = mmap(NULL, S, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (work == MAP_FAILED)
		die("mmap");
	if (opt.report) {
		rep = fopen(opt.report, "w");
		if (!rep)
			die(opt.report);
	}
	budget = opt.max_states / (npoints ? npoints : 1);
	if (budget < MIN_PER_POINT)
		budget = MIN_PER_POINT;
	rng = opt.seed * 0x9e3779b97f4a7c15ULL + 1;
	model_reset();
	fence_no = flush_no = 0;
	kind = kind_of("mount");
	kinds[kind].instances++;
	b = 0;
	for (i = 0; i < nev; i++) {
		const struct ev *e = &evs[i];

		if (is_point(e) && i >= first_point &&
		    (window_end < 0 || (long)i <= window_end)) {
			size_t bnext = b + 1;

			/* A boundary at this very fence is the next one. */
			crash_point(i, kind, b, bnext, budget, &rng);
		}
		if (e->type == EV_OP || e->type == EV_DETACH) {
			size_t k;

			/* Stored and not flushed when the operation ended. */
			for (k = 0; k < ndirty; k++) {
				__u32 l = dirty[k];
				char d[96];

				if (!(st[l] & L_UNFL) || unfl_seen[l])
					continue;
				unfl_seen[l] = 1;
				unfl_reported++;
				describe_off((__u64)l * LINE, d, sizeof(d));
				if (!opt.quiet && unfl_reported <= 40)
					printf("unflushed: after op %s: line 0x%llx (%s)\n",
					       kinds[kind].name,
					       (unsigned long long)l * LINE, d);
				if (rep)
					fprintf(rep, "unflushed after %s: 0x%llx (%s)\n",
						kinds[kind].name,
						(unsigned long long)l * LINE,
						d);
			}
		}
		apply(e);
		if (b + 1 < nb && bev[b + 1] == i)
			b++;
		if (e->type == EV_OP) {
			char name[128];

			op_label(e, name, sizeof(name));
			kind = kind_of(name);
			kinds[kind].instances++;
		}
	}
	munmap(work, S);
	close(fd);
	unlink(workpath);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (i = 0; i < (size_t)nkinds; i++) {
		struct kind *k = &kinds[i];

		if (!k->points)
			continue;
		if (k->failed)
			printf("FAIL crash-trace-%s [%s]: %llu of %llu states failed (%llu instances, %llu crash points); first: %s\n",
			       k->name, opt.kver,
			       (unsigned long long)k->failed,
			       (unsigned long long)k->states,
			       (unsigned long long)k->instances,
			       (unsigned long long)k->points, k->first);
		else if (!opt.quiet)
			printf("PASS crash-trace-%s [%s]: %llu states (%llu instances, %llu crash points)\n",
			       k->name, opt.kver,
			       (unsigned long long)k->states,
			       (unsigned long long)k->instances,
			       (unsigned long long)k->points);
	}
	/* The workload flushes all it writes: an unflushed line is a bug. */
	if (unfl_reported) {
		printf("FAIL crash-trace-flush [%s]: %llu lines stored and not flushed when their operation ended\n",
		       opt.kver, (unsigned long long)unfl_reported);
		ret = 1;
	} else if (!opt.quiet) {
		printf("PASS crash-trace-flush [%s]: every stored line flushed by the end of its operation\n",
		       opt.kver);
	}
	printf("crash-trace: %llu ops, %llu fences, %llu states checked, %llu failed (%s)\n",
	       (unsigned long long)nops, (unsigned long long)nfences,
	       (unsigned long long)total_states,
	       (unsigned long long)total_failed, opt.kver);
	if (!opt.quiet)
		printf("crash-trace: %zu events, %zu commits (%zu data-area ranges logged), %llu crash points (%llu enumerated exhaustively, at most %llu non-durable lines at one), %llu lines left unflushed at an operation's end, %.1f s\n",
		       nev, nb - 1, nwr, (unsigned long long)total_points,
		       (unsigned long long)points_exhaustive,
		       (unsigned long long)max_dirty,
		       (unsigned long long)unfl_reported,
		       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (rep)
		fclose(rep);
	return ret || total_failed ? 1 : 0;
}
