// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-journal: refdax_jnl_open() and refdax_jnl_recover() on an arbitrary
 * journal (header and entry area) in a small in-memory device, followed by
 * a transaction through refdax_jnl_begin()/log()/commit()/abort().
 *
 * Device: FUZZ_JNL_BLOCKS blocks; the journal starts at block 1 and is 2..7
 * blocks long; every other byte holds a fixed pattern.
 *
 * Input:
 *   flags	bit 0: re-sign the entries the recovery scan will walk (so the
 *		fuzzer gets past the checksums), bit 1: also give them the
 *		live generation and the right sequence numbers, bit 2: write a
 *		well-formed header, bits 3-4: how the transaction ends
 *		(0 crash, 1 commit, 2 abort, 3 crash)
 *   jsel	journal blocks = 2 + jsel % 6
 *   seed	4 bytes, the checksum seed set after recovery
 *   nops	number of transaction steps, each 5 bytes: address (2, LE, taken
 *		modulo the device size), length (2, LE), fill byte
 *   rest	overlaid on the journal from its first byte
 *
 * Properties:
 *  - recovery never writes into the journal except the commit word, and
 *    moves the generation on (refdax_jnl_next_gen) exactly when it undid
 *    entries;
 *  - refdax_jnl_log() refuses exactly the ranges that are empty, too long,
 *    outside the device or inside the journal, and runs out of space only
 *    when refdax_jnl_room() said there was not enough;
 *  - every range recovery or abort puts back is inside the device and
 *    outside the journal;
 *  - after abort, and after a crash followed by open + recover, the device
 *    outside the journal is byte for byte what it was before the
 *    transaction; after commit, recovery finds nothing to undo and the
 *    changes stay.
 */
#include <stdlib.h>

#include "fuzz_util.h"

#define FUZZ_JNL_BLOCKS	16U
#define DEV_BYTES	(FUZZ_JNL_BLOCKS * REFDAX_BLOCK_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static __u64 jstart_b, jend_b;

/* Recovery and abort report each range they put back: never the journal. */
static void restored(struct refdax_pmem *pm, __u64 addr, __u32 len)
{
	FUZZ_CHECK(len != 0 && addr < pm->size && len <= pm->size - addr);
	FUZZ_CHECK(addr + len <= jstart_b || addr >= jend_b);
}

static __u64 ent_bytes(__u32 len)
{
	return (sizeof(struct refdax_journal_entry) + len +
		REFDAX_CACHELINE - 1) & ~(__u64)(REFDAX_CACHELINE - 1);
}

/* Entry checksum as docs/format.md defines it: crc32c from the seed over
 * the entry header (checksum field as 0) and the data.
 */
static void sign(struct refdax_journal_entry *je, __u32 seed)
{
	__u32 len = le32_to_cpu(je->je_len);

	je->je_csum = 0;
	je->je_csum = cpu_to_le32(refdax_crc32c(seed, je, sizeof(*je) + len));
}

static void fix_entries(__u8 *jnl, __u64 jbytes, __u8 flags)
{
	struct refdax_journal_header *h = (void *)jnl;
	__u64 es = le64_to_cpu(h->jh_entry_start);
	__u64 eb = le64_to_cpu(h->jh_entry_bytes), off = 0;
	__u32 n = 0;

	/* refdax_jnl_open() refuses these: nothing to sign */
	if (es % REFDAX_CACHELINE || es > jbytes || eb > jbytes - es)
		return;
	while (off + sizeof(struct refdax_journal_entry) <= eb) {
		struct refdax_journal_entry *je = (void *)(jnl + es + off);
		__u32 len = le32_to_cpu(je->je_len);

		if (len == 0 || len > REFDAX_JENTRY_MAX_DATA ||
		    off + ent_bytes(len) > eb)
			break;
		if (flags & 2) {
			je->je_gen = h->jh_gen;
			je->je_seq = cpu_to_le32(n);
		}
		sign(je, le32_to_cpu(h->jh_seed));
		off += ent_bytes(len);
		n++;
	}
}

/* Outside the journal, @a and @b hold the same bytes. */
static int same_outside(const __u8 *a, const __u8 *b, __u64 js, __u64 je)
{
	return !memcmp(a, b, js) && !memcmp(a + je, b + je, DEV_BYTES - je);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct refdax_journal j;
	struct fuzz_in in = { data, size };
	struct refdax_pmem pm;
	struct refdax_geom g;
	struct refdax_journal_header *h;
	const char *why = NULL;
	__u8 flags = fuzz_u8(&in), *dev, *before, *jnl;
	__u64 jbytes, js, je, gen;
	__u32 seed, i, nops;
	int n, end;
	const uint8_t *ops;

	memset(&g, 0, sizeof(g));
	g.nblocks = FUZZ_JNL_BLOCKS;
	g.journal_start = 1;
	g.journal_blocks = 2 + fuzz_u8(&in) % 6;
	seed = fuzz_u32(&in);
	nops = fuzz_u8(&in);
	if (in.len < nops * 5)
		nops = (__u32)(in.len / 5);
	ops = in.p;
	in.p += nops * 5;
	in.len -= nops * 5;
	end = (flags >> 3) & 3;

	js = g.journal_start * REFDAX_BLOCK_SIZE;
	jbytes = g.journal_blocks * REFDAX_BLOCK_SIZE;
	je = js + jbytes;
	/* exact-size buffers, so ASan sees any access past the device */
	dev = malloc(DEV_BYTES);
	before = malloc(DEV_BYTES);
	FUZZ_CHECK(dev && before);
	for (i = 0; i < DEV_BYTES; i++)
		dev[i] = (__u8)(i * 7 + 3);
	jnl = dev + js;
	fuzz_bytes(&in, jnl, jbytes);
	h = (void *)jnl;
	if (flags & 4) {
		h->jh_magic = cpu_to_le64(REFDAX_JOURNAL_MAGIC);
		if (!h->jh_gen || h->jh_gen == ~0ULL)
			h->jh_gen = cpu_to_le64(1);
		h->jh_entry_start = cpu_to_le64(REFDAX_BLOCK_SIZE);
		h->jh_entry_bytes = cpu_to_le64(jbytes - REFDAX_BLOCK_SIZE);
	}
	if (flags & 1)
		fix_entries(jnl, jbytes, flags);

	memset(&pm, 0, sizeof(pm));
	pm.base = dev;
	pm.size = DEV_BYTES;
	pm.flush = refdax_pmem_nop_flush;
	pm.fence = refdax_pmem_nop_fence;
	pm.restored = restored;
	jstart_b = js;
	jend_b = je;
	if (refdax_jnl_open(&j, &pm, &g, &why)) {
		FUZZ_CHECK(why && why[0]);
		goto out;
	}
	gen = le64_to_cpu(h->jh_gen);
	memcpy(before, dev, DEV_BYTES);
	n = refdax_jnl_recover(&j);
	FUZZ_CHECK(n >= 0);
	/* only the commit word may change inside the journal */
	memcpy(before + js + offsetof(struct refdax_journal_header, jh_gen),
	       &h->jh_gen, sizeof(h->jh_gen));
	FUZZ_CHECK(!memcmp(before + js, jnl, jbytes));
	FUZZ_CHECK(le64_to_cpu(h->jh_gen) ==
		   (n > 0 ? refdax_jnl_next_gen(gen) : gen));

	/*
	 * A transaction on the recovered device.  A mount renews the seed, so
	 * stale entries the input signed with the old one cannot pass for
	 * entries of the new transaction; never keep the old seed here.
	 */
	if (seed == le32_to_cpu(h->jh_seed))
		seed = ~seed;
	refdax_jnl_reseed(&j, seed);
	memcpy(before, dev, DEV_BYTES);
	refdax_jnl_begin(&j);
	for (i = 0; i < nops; i++) {
		__u64 addr = (ops[5 * i] | ops[5 * i + 1] << 8) % DEV_BYTES;
		__u32 len = ops[5 * i + 2] | ops[5 * i + 3] << 8;
		int bad = len == 0 || len > REFDAX_JENTRY_MAX_DATA ||
			  len > DEV_BYTES - addr ||
			  (addr < je && addr + len > js);
		__u64 room = refdax_jnl_room(&j);
		int r = refdax_jnl_log(&j, dev + addr, len);

		FUZZ_CHECK(bad == (r == -EINVAL));
		/* callers size transactions by the room: it must not lie */
		if (r == -ENOSPC) {
			FUZZ_CHECK(room < ent_bytes(len));
			break;
		}
		FUZZ_CHECK(r == 0 || r == -EINVAL);
		if (r == 0)
			memset(dev + addr, ops[5 * i + 4], len);
	}
	if (end == 1) {
		memcpy(before, dev, DEV_BYTES);
		refdax_jnl_commit(&j);
		FUZZ_CHECK(same_outside(before, dev, js, je));
		FUZZ_CHECK(refdax_jnl_open(&j, &pm, &g, &why) == 0);
		FUZZ_CHECK(refdax_jnl_recover(&j) == 0);
		FUZZ_CHECK(same_outside(before, dev, js, je));
	} else if (end == 2) {
		refdax_jnl_abort(&j);
		FUZZ_CHECK(same_outside(before, dev, js, je));
	} else {
		/* power lost: only what reached the media counts */
		FUZZ_CHECK(refdax_jnl_open(&j, &pm, &g, &why) == 0);
		FUZZ_CHECK(refdax_jnl_recover(&j) >= 0);
		FUZZ_CHECK(same_outside(before, dev, js, je));
	}
out:
	free(dev);
	free(before);
	return 0;
}
