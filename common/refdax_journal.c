// SPDX-License-Identifier: GPL-2.0
/*
 * The refdax undo journal, shared by the kernel and userspace.
 *
 * A transaction changes metadata in place.  Before the first change to a
 * range, refdax_jnl_log() appends the range's old contents to the entry area
 * and makes that entry durable (flush + fence), so no in-place store can
 * reach media before the undo record that reverses it.  Commit flushes every
 * logged range, fences, and then advances jh_gen with a single 8-byte store
 * that is flushed and fenced: that store is the commit point.  Entries
 * carrying the current jh_gen with a valid checksum belong to a transaction
 * that did not commit; recovery writes their old contents back, newest first,
 * and advances jh_gen.  docs/format.md gives the full argument.
 *
 * The caller serialises transactions (one at a time per journal).
 */
#include "refdax_common.h"

/* crc32c of header (checksum field as 0) and data, from the secret seed. */
static __u32 entry_csum(const struct refdax_journal *j,
			const struct refdax_journal_entry *je)
{
	static const __u8 zero[4];
	size_t off = offsetof(struct refdax_journal_entry, je_csum);
	__u32 crc;

	crc = refdax_crc32c(j->seed, je, off);
	crc = refdax_crc32c(crc, zero, sizeof(zero));
	return refdax_crc32c(crc, (const __u8 *)je + off + 4,
			     sizeof(*je) - off - 4 + le32_to_cpu(je->je_len));
}

static void persist(struct refdax_pmem *pm, const void *addr, size_t len)
{
	pm->flush(pm, addr, len);
}

/* Store the commit word: one aligned 8-byte store, flushed and fenced. */
static void set_gen(struct refdax_journal *j, __u64 gen)
{
	struct refdax_pmem *pm = j->pm;

	pm->fence(pm);
	WRITE_ONCE(j->hdr->jh_gen, cpu_to_le64(gen));
	persist(pm, &j->hdr->jh_gen, sizeof(j->hdr->jh_gen));
	pm->fence(pm);
	j->gen = gen;
}

int refdax_jnl_format(struct refdax_pmem *pm, const struct refdax_geom *g)
{
	struct refdax_journal_header *hdr;
	__u8 *start = (__u8 *)pm->base + g->journal_start * REFDAX_BLOCK_SIZE;

	if (g->journal_blocks < 2)
		return -EINVAL;
	memset(start, 0, (size_t)g->journal_blocks * REFDAX_BLOCK_SIZE);
	hdr = (struct refdax_journal_header *)start;
	hdr->jh_magic = cpu_to_le64(REFDAX_JOURNAL_MAGIC);
	hdr->jh_gen = cpu_to_le64(1);
	hdr->jh_entry_start = cpu_to_le64(REFDAX_BLOCK_SIZE);
	hdr->jh_entry_bytes =
		cpu_to_le64((g->journal_blocks - 1) * REFDAX_BLOCK_SIZE);
	persist(pm, start, (size_t)g->journal_blocks * REFDAX_BLOCK_SIZE);
	pm->fence(pm);
	return 0;
}

int refdax_jnl_open(struct refdax_journal *j, struct refdax_pmem *pm,
		    const struct refdax_geom *g, const char **why)
{
	__u8 *start = (__u8 *)pm->base + g->journal_start * REFDAX_BLOCK_SIZE;
	struct refdax_journal_header *hdr = (void *)start;
	__u64 jbytes = g->journal_blocks * REFDAX_BLOCK_SIZE;
	__u64 es = le64_to_cpu(hdr->jh_entry_start);
	__u64 eb = le64_to_cpu(hdr->jh_entry_bytes);

	memset(j, 0, sizeof(*j));
	if (le64_to_cpu(hdr->jh_magic) != REFDAX_JOURNAL_MAGIC) {
		*why = "bad journal magic";
		return -EUCLEAN;
	}
	if (es < sizeof(*hdr) || es % REFDAX_CACHELINE || es > jbytes ||
	    eb > jbytes - es || eb < REFDAX_BLOCK_SIZE) {
		*why = "journal entry area out of bounds";
		return -EUCLEAN;
	}
	/*
	 * The area runs to the end of the journal (refdax_jnl_format), so the
	 * checksummed superblock's journal size fixes it: a header that shrinks
	 * it is damage, and would starve transactions of room.
	 */
	if (es + eb != jbytes) {
		*why = "journal entry area does not fill the journal";
		return -EUCLEAN;
	}
	if (le64_to_cpu(hdr->jh_gen) == 0 ||
	    le64_to_cpu(hdr->jh_gen) == ~0ULL) {
		*why = "bad journal generation";
		return -EUCLEAN;
	}
	j->pm = pm;
	j->hdr = hdr;
	j->jstart = g->journal_start * REFDAX_BLOCK_SIZE;
	j->jend = j->jstart + jbytes;
	j->area = start + es;
	j->area_bytes = eb;
	j->gen = le64_to_cpu(hdr->jh_gen);
	j->seed = le32_to_cpu(hdr->jh_seed);
	return 0;
}

void refdax_jnl_reseed(struct refdax_journal *j, __u32 seed)
{
	struct refdax_pmem *pm = j->pm;

	WRITE_ONCE(j->hdr->jh_seed, cpu_to_le32(seed));
	persist(pm, &j->hdr->jh_seed, sizeof(j->hdr->jh_seed));
	pm->fence(pm);
	j->seed = seed;
}

/*
 * Walk the entries of the live generation.  A torn or stale entry ends the
 * walk: entries are written strictly in order, each fenced before the next.
 */
static __u32 scan_live(struct refdax_journal *j, __u64 *offs, __u32 max)
{
	__u64 off = 0;
	__u32 n = 0;

	while (n < max && off + sizeof(struct refdax_journal_entry) <=
	       j->area_bytes) {
		struct refdax_journal_entry *je = (void *)(j->area + off);
		__u32 len = le32_to_cpu(je->je_len);
		__u64 addr = le64_to_cpu(je->je_addr);

		if (le64_to_cpu(je->je_gen) != j->gen ||
		    le32_to_cpu(je->je_seq) != n || len == 0 ||
		    len > REFDAX_JENTRY_MAX_DATA ||
		    off + refdax_jnl_entry_bytes(len) > j->area_bytes ||
		    addr > j->pm->size || len > j->pm->size - addr ||
		    (addr < j->jend && addr + len > j->jstart) ||
		    entry_csum(j, je) != le32_to_cpu(je->je_csum))
			break;
		offs[n++] = off;
		off += refdax_jnl_entry_bytes(len);
	}
	return n;
}

static void undo_entries(struct refdax_journal *j, const __u64 *offs,
			 __u32 n)
{
	struct refdax_pmem *pm = j->pm;

	while (n--) {
		struct refdax_journal_entry *je = (void *)(j->area + offs[n]);
		__u64 addr = le64_to_cpu(je->je_addr);
		__u32 len = le32_to_cpu(je->je_len);
		__u8 *dst = (__u8 *)pm->base + addr;

		memcpy(dst, je + 1, len);
		persist(pm, dst, len);
		if (pm->restored)
			pm->restored(pm, addr, len);
	}
}

/* Offsets of entries: at most one per 64-byte slot of the entry area. */
static __u32 max_entries(const struct refdax_journal *j)
{
	return (__u32)(j->area_bytes / REFDAX_CACHELINE);
}

#ifdef __KERNEL__
#include <linux/slab.h>
#include <linux/vmalloc.h>
#define jnl_alloc(n)	kvmalloc(n, GFP_KERNEL)
#define jnl_free(p)	kvfree(p)
#else
#include <stdlib.h>
#define jnl_alloc(n)	malloc(n)
#define jnl_free(p)	free(p)
#endif

int refdax_jnl_recover(struct refdax_journal *j)
{
	__u32 max = max_entries(j), n;
	__u64 *offs = jnl_alloc(sizeof(*offs) * max);

	if (!offs)
		return -ENOMEM;
	n = scan_live(j, offs, max);
	if (n) {
		undo_entries(j, offs, n);
		/* Old contents durable everywhere before the log is retired. */
		set_gen(j, refdax_jnl_next_gen(j->gen));
	}
	jnl_free(offs);
	return (int)n;
}

int refdax_jnl_live_ranges(struct refdax_journal *j,
			   void (*fn)(void *arg, __u64 addr, __u32 len),
			   void *arg)
{
	__u32 max = max_entries(j), n, i;
	__u64 *offs = jnl_alloc(sizeof(*offs) * max);

	if (!offs)
		return -ENOMEM;
	n = scan_live(j, offs, max);
	for (i = 0; i < n; i++) {
		const struct refdax_journal_entry *je =
			(const void *)(j->area + offs[i]);

		fn(arg, le64_to_cpu(je->je_addr), le32_to_cpu(je->je_len));
	}
	jnl_free(offs);
	return (int)n;
}

void refdax_jnl_begin(struct refdax_journal *j)
{
	j->tail = 0;
	j->seq = 0;
	j->nr_ranges = 0;
	j->active = 1;
}

static int range_logged(const struct refdax_journal *j, __u64 addr,
			__u32 len)
{
	__u32 i;

	for (i = 0; i < j->nr_ranges; i++) {
		const struct refdax_jrange *r = &j->ranges[i];

		if (addr >= r->addr && addr + len <= r->addr + r->len)
			return 1;
	}
	return 0;
}

__u64 refdax_jnl_room(const struct refdax_journal *j)
{
	/* Running out of range slots is running out of room too. */
	if (j->nr_ranges + 64 > REFDAX_TXN_MAX_RANGES)
		return 0;
	return j->area_bytes - j->tail;
}

int refdax_jnl_log(struct refdax_journal *j, const void *ptr, __u32 len)
{
	struct refdax_pmem *pm = j->pm;
	struct refdax_journal_entry *je;
	__u64 addr = (__u64)((const __u8 *)ptr - (const __u8 *)pm->base);

	if (!j->active || len == 0 || len > REFDAX_JENTRY_MAX_DATA ||
	    addr >= pm->size || len > pm->size - addr ||
	    (addr < j->jend && addr + len > j->jstart))
		return -EINVAL;
	if (range_logged(j, addr, len))
		return 0;
	if (j->nr_ranges >= REFDAX_TXN_MAX_RANGES ||
	    refdax_jnl_entry_bytes(len) > j->area_bytes - j->tail)
		return -ENOSPC;

	je = (void *)(j->area + j->tail);
	je->je_gen = cpu_to_le64(j->gen);
	je->je_addr = cpu_to_le64(addr);
	je->je_len = cpu_to_le32(len);
	je->je_seq = cpu_to_le32(j->seq);
	je->je_pad = 0;
	memcpy(je + 1, ptr, len);
	je->je_csum = cpu_to_le32(entry_csum(j, je));
	persist(pm, je, sizeof(*je) + len);
	/* The undo record must be durable before the range may change. */
	pm->fence(pm);

	j->tail += refdax_jnl_entry_bytes(len);
	j->seq++;
	j->ranges[j->nr_ranges].entry = j->tail - refdax_jnl_entry_bytes(len);
	j->ranges[j->nr_ranges].addr = addr;
	j->ranges[j->nr_ranges].len = len;
	j->nr_ranges++;
	return 0;
}

void refdax_jnl_commit(struct refdax_journal *j)
{
	struct refdax_pmem *pm = j->pm;
	__u32 i;

	for (i = 0; i < j->nr_ranges; i++)
		persist(pm, (__u8 *)pm->base + j->ranges[i].addr,
			j->ranges[i].len);
	/* Only a transaction that logged something needs a commit point. */
	if (j->seq)
		set_gen(j, refdax_jnl_next_gen(j->gen));
	j->active = 0;
}

void refdax_jnl_abort(struct refdax_journal *j)
{
	__u32 i = j->nr_ranges;

	/* The entries are durable and match ranges[], newest last. */
	while (i--)
		undo_entries(j, &j->ranges[i].entry, 1);
	if (j->seq)
		set_gen(j, refdax_jnl_next_gen(j->gen));
	j->active = 0;
}
