// SPDX-License-Identifier: GPL-2.0
/*
 * The undo journal on a simulated pmem: a malloc'ed "device" with no-op
 * flush and fence.  Crashes are simulated by changing bytes in place and
 * then recovering with a fresh journal handle, as a mount would.
 */
#include <stdlib.h>
#include <string.h>

#include "refdax_common.h"
#include "rtest.h"

#define DEV_BYTES	(1U << 20)
#define JSTART		1
#define JBLOCKS		8

struct sim {
	struct refdax_pmem pm;
	struct refdax_geom g;
	__u8 *dev;
	unsigned int restored_calls;
	__u64 restored_bytes;
};

static void sim_flush(struct refdax_pmem *pm, const void *addr, size_t len)
{
	(void)pm;
	(void)addr;
	(void)len;
}

static void sim_fence(struct refdax_pmem *pm)
{
	(void)pm;
}

static void sim_restored(struct refdax_pmem *pm, __u64 addr, __u32 len)
{
	struct sim *s = pm->priv;

	(void)addr;
	s->restored_calls++;
	s->restored_bytes += len;
}

/* A device with a formatted journal and a recognisable pattern after it. */
static struct sim *sim_new(void)
{
	struct sim *s = calloc(1, sizeof(*s));
	__u32 i;

	s->dev = malloc(DEV_BYTES);
	for (i = 0; i < DEV_BYTES; i++)
		s->dev[i] = (__u8)(i * 31 + 7);
	s->pm.base = s->dev;
	s->pm.size = DEV_BYTES;
	s->pm.flush = sim_flush;
	s->pm.fence = sim_fence;
	s->pm.restored = sim_restored;
	s->pm.priv = s;
	s->g.nblocks = DEV_BYTES / REFDAX_BLOCK_SIZE;
	s->g.journal_start = JSTART;
	s->g.journal_blocks = JBLOCKS;
	if (refdax_jnl_format(&s->pm, &s->g))
		abort();
	return s;
}

static void sim_free(struct sim *s)
{
	free(s->dev);
	free(s);
}

/* Metadata area well after any journal used here: tests change it. */
#define META_START	(64 * REFDAX_BLOCK_SIZE)

static __u8 *meta(struct sim *s, __u32 off)
{
	return s->dev + META_START + off;
}

static struct refdax_journal *jopen(struct sim *s)
{
	static struct refdax_journal j;
	const char *why = NULL;

	if (refdax_jnl_open(&j, &s->pm, &s->g, &why)) {
		rt_note("journal open failed: %s", why);
		abort();
	}
	return &j;
}

/* Recovery as a mount does it: a fresh handle on the current media. */
static int recover(struct sim *s)
{
	struct refdax_journal *j = jopen(s);

	return refdax_jnl_recover(j);
}

static __u8 *snapshot(struct sim *s)
{
	__u8 *c = malloc(DEV_BYTES);

	memcpy(c, s->dev, DEV_BYTES);
	return c;
}

/* Bytes outside the journal equal the snapshot. */
static int same_outside_journal(struct sim *s, const __u8 *snap)
{
	size_t js = s->g.journal_start * REFDAX_BLOCK_SIZE;
	size_t je = (s->g.journal_start + s->g.journal_blocks) *
		    REFDAX_BLOCK_SIZE;

	return memcmp(s->dev, snap, js) == 0 &&
	       memcmp(s->dev + je, snap + je, DEV_BYTES - je) == 0;
}

static void format_and_open(void)
{
	struct sim *s = sim_new();
	struct refdax_journal_header *h =
		(void *)(s->dev + JSTART * REFDAX_BLOCK_SIZE);
	struct refdax_journal *j;

	EXPECT_EQ(le64_to_cpu(h->jh_magic), REFDAX_JOURNAL_MAGIC);
	EXPECT_EQ(le64_to_cpu(h->jh_gen), 1);
	EXPECT_EQ(le64_to_cpu(h->jh_entry_start), REFDAX_BLOCK_SIZE);
	EXPECT_EQ(le64_to_cpu(h->jh_entry_bytes),
		  (JBLOCKS - 1) * REFDAX_BLOCK_SIZE);
	j = jopen(s);
	EXPECT_EQ(j->gen, 1);
	EXPECT_EQ(refdax_jnl_recover(j), 0);
	EXPECT_EQ(s->restored_calls, 0);
	sim_free(s);
}

static void open_rejects(void)
{
	struct sim *s = sim_new();
	struct refdax_journal_header *h =
		(void *)(s->dev + JSTART * REFDAX_BLOCK_SIZE);
	struct refdax_journal j;
	const char *why;

	h->jh_magic = cpu_to_le64(1);
	EXPECT_EQ(refdax_jnl_open(&j, &s->pm, &s->g, &why), -EUCLEAN);
	h->jh_magic = cpu_to_le64(REFDAX_JOURNAL_MAGIC);
	h->jh_entry_bytes = cpu_to_le64(JBLOCKS * REFDAX_BLOCK_SIZE);
	EXPECT_EQ(refdax_jnl_open(&j, &s->pm, &s->g, &why), -EUCLEAN);
	h->jh_entry_bytes = cpu_to_le64((JBLOCKS - 1) * REFDAX_BLOCK_SIZE);
	h->jh_gen = 0;
	EXPECT_EQ(refdax_jnl_open(&j, &s->pm, &s->g, &why), -EUCLEAN);
	h->jh_gen = cpu_to_le64(1);
	EXPECT_EQ(refdax_jnl_open(&j, &s->pm, &s->g, &why), 0);
	EXPECT_EQ(refdax_jnl_format(&s->pm, &(struct refdax_geom){
		.journal_start = 1, .journal_blocks = 1 }), -EINVAL);
	sim_free(s);
}

static void commit_then_recover(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *snap;

	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 100), 0);
	memset(meta(s, 0), 0xaa, 100);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 5000), 4096), 0);
	memset(meta(s, 5000), 0xbb, 4096);
	refdax_jnl_commit(j);
	EXPECT_EQ(j->gen, 2);
	snap = snapshot(s);
	EXPECT_EQ(recover(s), 0);
	EXPECT(same_outside_journal(s, snap));
	EXPECT_EQ(meta(s, 99)[0], 0xaa);
	EXPECT_EQ(s->restored_calls, 0);
	/* an empty transaction needs no commit point */
	j = jopen(s);
	refdax_jnl_begin(j);
	refdax_jnl_commit(j);
	EXPECT_EQ(j->gen, 2);
	free(snap);
	sim_free(s);
}

static void uncommitted_restored(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *orig = snapshot(s);

	refdax_jnl_begin(j);
	/* three ranges; the second overlaps the first after it changed */
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 100), 100), 0);
	memset(meta(s, 100), 1, 100);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 150), 200), 0);
	memset(meta(s, 150), 2, 200);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 8000), 64), 0);
	memset(meta(s, 8000), 3, 64);
	/* the same range again, and a sub-range: no new entries */
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 100), 100), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 120), 10), 0);
	memset(meta(s, 100), 4, 100);
	EXPECT_EQ(j->seq, 3);
	/* crash: recover on the media as they are */
	EXPECT_EQ(recover(s), 3);
	EXPECT(same_outside_journal(s, orig));
	EXPECT_EQ(s->restored_calls, 3);
	EXPECT_EQ(s->restored_bytes, 364);
	/* recovery retired the log: a second pass does nothing */
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(s->restored_calls, 3);
	free(orig);
	sim_free(s);
}

static void abort_restores(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *orig = snapshot(s);

	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 4096), 0);
	memset(meta(s, 0), 0, 4096);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 10), 20), 0);	/* inside */
	/* overlaps the first range */
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 4000), 200), 0);
	memset(meta(s, 4000), 9, 200);
	refdax_jnl_abort(j);
	EXPECT(same_outside_journal(s, orig));
	EXPECT(!j->active);
	EXPECT_EQ(recover(s), 0);
	EXPECT(same_outside_journal(s, orig));
	/* the journal is usable afterwards */
	j = jopen(s);
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 8), 0);
	memset(meta(s, 0), 0x77, 8);
	refdax_jnl_commit(j);
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(meta(s, 0)[7], 0x77);
	free(orig);
	sim_free(s);
}

static void torn_last_entry(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *orig = snapshot(s);

	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 32), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 64), 32), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 128), 32), 0);
	memset(meta(s, 0), 5, 160);
	/* the third entry's old data was torn by the crash */
	j->area[j->ranges[2].entry + sizeof(struct refdax_journal_entry)] ^=
		0x10;
	EXPECT_EQ(recover(s), 2);
	EXPECT(memcmp(meta(s, 0), orig + (meta(s, 0) - s->dev), 32) == 0);
	EXPECT(memcmp(meta(s, 64), orig + (meta(s, 64) - s->dev), 32) == 0);
	EXPECT_EQ(meta(s, 32)[0], 5);	/* never logged */
	EXPECT_EQ(meta(s, 128)[0], 5);
	EXPECT_EQ(meta(s, 159)[0], 5);
	free(orig);
	sim_free(s);
}

static void torn_first_entry(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);

	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 32), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 64), 32), 0);
	memset(meta(s, 0), 5, 96);
	/* the header of entry 0 is corrupt: nothing after it is trusted */
	j->area[offsetof(struct refdax_journal_entry, je_addr)] ^= 1;
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(meta(s, 70)[0], 5);
	sim_free(s);
}

static void older_generation_ignored(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *snap;

	/* txn 1 logs three ranges and commits */
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 64), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 64), 64), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 128), 64), 0);
	memset(meta(s, 0), 1, 192);
	refdax_jnl_commit(j);
	/* its entries are stale now */
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(meta(s, 0)[0], 1);

	/* txn 2 overwrites the first entry only, then crashes */
	snap = snapshot(s);
	j = jopen(s);
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 64), 64), 0);
	memset(meta(s, 0), 2, 192);
	EXPECT_EQ(recover(s), 1);
	/* txn 2's range is back to txn 1's result, the rest untouched */
	EXPECT(memcmp(meta(s, 64), snap + (meta(s, 64) - s->dev), 64) == 0);
	EXPECT_EQ(meta(s, 0)[0], 2);
	EXPECT_EQ(meta(s, 128)[0], 2);

	/* an entry carrying a wrong sequence number ends the scan too */
	j = jopen(s);
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 64), 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 64), 64), 0);
	memset(meta(s, 0), 3, 128);
	{
		struct refdax_journal_entry *je =
			(void *)(j->area + j->ranges[1].entry);

		je->je_seq = cpu_to_le32(5);
		je->je_csum = 0;
		je->je_csum = cpu_to_le32(refdax_csum_skip(je,
				sizeof(*je) + 64,
				offsetof(struct refdax_journal_entry,
					 je_csum)));
	}
	EXPECT_EQ(recover(s), 1);
	EXPECT_EQ(meta(s, 0)[0], 2);
	EXPECT_EQ(meta(s, 64)[0], 3);
	free(snap);
	sim_free(s);
}

static void room_and_enospc(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u64 area = (JBLOCKS - 1) * REFDAX_BLOCK_SIZE, room;
	__u8 *orig = snapshot(s);
	__u32 off = 0;
	int n = 0, ret;

	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_room(j), area);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 1), 0);
	EXPECT_EQ(refdax_jnl_room(j), area - 64);
	/* invalid requests */
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 0), -EINVAL);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), REFDAX_JENTRY_MAX_DATA + 1),
		  -EINVAL);
	EXPECT_EQ(refdax_jnl_log(j, s->dev + DEV_BYTES - 4, 8), -EINVAL);
	EXPECT_EQ(refdax_jnl_log(j, s->dev - 64, 8), -EINVAL);
	/* fill with 4 KiB entries (4160 bytes each) until it refuses */
	for (;;) {
		room = refdax_jnl_room(j);
		ret = refdax_jnl_log(j, meta(s, 4096 + off), 4096);
		if (ret) {
			EXPECT_EQ(ret, -ENOSPC);
			EXPECT(room < 4160);
			EXPECT_EQ(refdax_jnl_room(j), room);
			break;
		}
		EXPECT_EQ(refdax_jnl_room(j), room - 4160);
		memset(meta(s, 4096 + off), 0xee, 4096);
		off += 4096;
		n++;
	}
	EXPECT_EQ(n, (int)((area - 64) / 4160));
	/* a small entry still fits in what is left */
	if (refdax_jnl_room(j) >= 64)
		EXPECT_EQ(refdax_jnl_log(j, meta(s, 200000), 16), 0);
	memset(meta(s, 200000), 0xcc, 16);
	EXPECT_EQ(recover(s), n + 2);
	EXPECT(same_outside_journal(s, orig));

	/* not inside a transaction */
	j = jopen(s);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 8), -EINVAL);
	free(orig);
	sim_free(s);
}

static void range_limit(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j;
	struct refdax_geom g = s->g;
	__u8 *orig;
	int i, ret = 0;

	/* a journal big enough that only the range table can run out */
	g.journal_blocks = 40;
	refdax_jnl_format(&s->pm, &g);
	orig = snapshot(s);
	s->g = g;
	j = jopen(s);
	refdax_jnl_begin(j);
	for (i = 0; i < REFDAX_TXN_MAX_RANGES; i++) {
		ret = refdax_jnl_log(j, meta(s, 160000 + 64 * i), 64);
		if (ret)
			break;
	}
	EXPECT_EQ(ret, 0);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 100), 8), -ENOSPC);
	memset(meta(s, 160000), 0x11, 64 * REFDAX_TXN_MAX_RANGES);
	refdax_jnl_abort(j);
	EXPECT(same_outside_journal(s, orig));
	free(orig);
	sim_free(s);
}

/*
 * The journal never logs, nor undoes, a range inside itself: a crafted
 * entry with a valid checksum must not overwrite the journal header.
 */
static void journal_range_refused(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *hdr = s->dev + JSTART * REFDAX_BLOCK_SIZE;
	struct refdax_journal_entry *je;
	__u8 *snap;

	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, hdr, 64), -EINVAL);
	EXPECT_EQ(refdax_jnl_log(j, hdr - 8, 16), -EINVAL);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 64), 0);
	memset(meta(s, 0), 0x5c, 64);
	/* Rewrite entry 0 to target the journal header, valid checksum. */
	je = (void *)(hdr + REFDAX_BLOCK_SIZE);
	je->je_addr = cpu_to_le64(JSTART * REFDAX_BLOCK_SIZE);
	je->je_csum = cpu_to_le32(refdax_csum_skip(je, sizeof(*je) + 64,
			offsetof(struct refdax_journal_entry, je_csum)));
	snap = snapshot(s);
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(memcmp(hdr, snap + JSTART * REFDAX_BLOCK_SIZE, 8), 0);
	EXPECT_EQ(meta(s, 0)[0], 0x5c);
	free(snap);
	sim_free(s);
}

/*
 * With a secret seed, an entry image a user could shape (valid public
 * crc32c, right generation and sequence) is not taken for a log entry,
 * while the journal's own entries still recover across a reopen.
 */
static void seeded_checksums(void)
{
	struct sim *s = sim_new();
	struct refdax_journal *j = jopen(s);
	__u8 *area = s->dev + (JSTART + 1) * REFDAX_BLOCK_SIZE;
	struct refdax_journal_entry *je = (void *)area;
	__u8 *snap;

	refdax_jnl_reseed(j, 0x5eedf00dU);
	/* genuine: logged under the seed, survives a reopen */
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 64), 0);
	memset(meta(s, 0), 0x77, 64);
	EXPECT_EQ(recover(s), 1);
	EXPECT(meta(s, 0)[0] != 0x77);
	/* forged: same layout, checksum without the seed */
	j = jopen(s);
	memset(meta(s, 0), 0x66, 64);
	je->je_gen = cpu_to_le64(j->gen);
	je->je_addr = cpu_to_le64(META_START);
	je->je_len = cpu_to_le32(64);
	je->je_seq = 0;
	je->je_pad = 0;
	memset(je + 1, 0x11, 64);
	je->je_csum = cpu_to_le32(refdax_csum_skip(je, sizeof(*je) + 64,
			offsetof(struct refdax_journal_entry, je_csum)));
	snap = snapshot(s);
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(meta(s, 0)[0], 0x66);
	EXPECT(same_outside_journal(s, snap));
	free(snap);
	sim_free(s);
}

/*
 * A journal whose commit word is at the top of its range (an old or a
 * crafted image): commit wraps it to 1, the result still opens, and both
 * a committed and an interrupted transaction after the wrap behave.
 */
static void generation_wraps(void)
{
	struct sim *s = sim_new();
	struct refdax_journal_header *h =
		(void *)(s->dev + JSTART * REFDAX_BLOCK_SIZE);
	struct refdax_journal *j;
	__u8 *orig;

	EXPECT_EQ(refdax_jnl_next_gen(1), 2);
	EXPECT_EQ(refdax_jnl_next_gen(~0ULL - 2), ~0ULL - 1);
	EXPECT_EQ(refdax_jnl_next_gen(~0ULL - 1), 1);
	h->jh_gen = cpu_to_le64(~0ULL - 1);
	j = jopen(s);
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 0), 64), 0);
	memset(meta(s, 0), 0x5a, 64);
	refdax_jnl_commit(j);
	EXPECT_EQ(le64_to_cpu(h->jh_gen), 1);
	EXPECT_EQ(recover(s), 0);
	EXPECT_EQ(meta(s, 0)[63], 0x5a);
	/* interrupted after the wrap: undone, and the word moves to 2 */
	orig = snapshot(s);
	j = jopen(s);
	refdax_jnl_begin(j);
	EXPECT_EQ(refdax_jnl_log(j, meta(s, 64), 64), 0);
	memset(meta(s, 64), 0xa5, 64);
	EXPECT_EQ(recover(s), 1);
	EXPECT(same_outside_journal(s, orig));
	EXPECT_EQ(le64_to_cpu(h->jh_gen), 2);
	free(orig);
	sim_free(s);
}

void test_journal(void)
{
	rt_run("journal: checksums seeded with a secret", seeded_checksums);
	rt_run("journal: entries may not target the journal",
	       journal_range_refused);
	rt_run("journal: format and open", format_and_open);
	rt_run("journal: open rejects bad headers", open_rejects);
	rt_run("journal: committed transaction is not undone",
	       commit_then_recover);
	rt_run("journal: uncommitted changes restored (overlap, repeat)",
	       uncommitted_restored);
	rt_run("journal: abort restores", abort_restores);
	rt_run("journal: torn last entry stops the scan", torn_last_entry);
	rt_run("journal: torn first entry undoes nothing", torn_first_entry);
	rt_run("journal: older generation ignored", older_generation_ignored);
	rt_run("journal: room and ENOSPC", room_and_enospc);
	rt_run("journal: range table limit", range_limit);
	rt_run("journal: commit word wraps past ~0", generation_wraps);
}
