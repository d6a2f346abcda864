// SPDX-License-Identifier: GPL-2.0
/*
 * Block and inode allocation.
 *
 * The on-media free-space bitmap (one bit per data-area block, set = in
 * use) is copied at mount into used_map, which the allocator searches.
 * Allocating sets the run's bits on media and in used_map at once, and the
 * transaction records the run (RDX_DEFER_ALLOC) so an abort gives it back
 * in memory (the journal puts the media bits back).  Freeing clears the
 * bits on media at once, but the blocks stay marked in used_map until the
 * transaction that freed them commits (RDX_DEFER_FREE), so a rolled-back
 * free never leaves a block that is in use on media looking free, and freed
 * blocks are never handed out again inside the same transaction.
 *
 * Inode numbers come from the on-media inode bitmap directly.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/workqueue.h>
#include "refdax.h"

static void busy_work_fn(struct work_struct *work);
static const struct refdax_defer_ops alloc_defer_ops, free_defer_ops;

static u8 *fsmap(struct refdax_sb_info *sbi)
{
	return rdx_block(sbi, sbi->geom.fsmap_start);
}

/* used_map from the media bitmap; bits past the data area stay clear. */
static void load_used_map(struct refdax_sb_info *sbi)
{
	const __le64 *map = (const __le64 *)fsmap(sbi);	/* block aligned */
	u64 i;

	BUILD_BUG_ON(BITS_PER_LONG != 64);	/* a word of used_map per __le64 */
	for (i = 0; i < BITS_TO_LONGS(sbi->data_blocks); i++) {
		u64 w = le64_to_cpu(map[i]);

		/* the last word of a data area not a multiple of 64 */
		if ((i + 1) * 64 > sbi->data_blocks)
			w &= GENMASK_ULL(sbi->data_blocks % 64 - 1, 0);
		sbi->used_map[i] = w;
		if (!(i & 0xfff))
			cond_resched();
	}
}

int refdax_alloc_init(struct refdax_sb_info *sbi)
{
	struct refdax_geom *g = &sbi->geom;
	u64 i, used;
	const u8 *ibm;

	sbi->data_blocks = g->nblocks - g->data_start;
	sbi->used_map = kvcalloc(BITS_TO_LONGS(sbi->data_blocks),
				 sizeof(unsigned long), GFP_KERNEL);
	sbi->node_ok = kvcalloc(BITS_TO_LONGS(sbi->data_blocks),
				sizeof(unsigned long), GFP_KERNEL);
	if (!sbi->used_map || !sbi->node_ok) {
		kvfree(sbi->used_map);
		kvfree(sbi->node_ok);
		sbi->used_map = NULL;
		sbi->node_ok = NULL;
		return -ENOMEM;
	}
	spin_lock_init(&sbi->alloc_lock);

	load_used_map(sbi);
	sbi->free_blocks = sbi->data_blocks -
			   bitmap_weight(sbi->used_map, sbi->data_blocks);
	xa_init(&sbi->busy_blocks);
	INIT_DELAYED_WORK(&sbi->busy_work, busy_work_fn);

	ibm = rdx_block(sbi, g->ibitmap_start);
	used = 0;
	for (i = 0; i < g->ninodes; i++)
		used += (ibm[i >> 3] >> (i & 7)) & 1;
	sbi->free_inodes = g->ninodes - used;
	sbi->ino_hint = REFDAX_ROOT_INO + 1;
	refdax_trans_register(sbi, RDX_DEFER_ALLOC, &alloc_defer_ops);
	refdax_trans_register(sbi, RDX_DEFER_FREE, &free_defer_ops);
	return 0;
}

void refdax_alloc_exit(struct refdax_sb_info *sbi)
{
	if (sbi->used_map) {
		cancel_delayed_work_sync(&sbi->busy_work);
		xa_destroy(&sbi->busy_blocks);
	}
	kvfree(sbi->used_map);
	kvfree(sbi->node_ok);
	sbi->used_map = NULL;
	sbi->node_ok = NULL;
}

/*
 * Placement (issue 8, huge pages).  A PMD fault can map a file's 2 MiB piece
 * only if its 512 blocks are contiguous and start on a 2 MiB boundary of the
 * device, at the same offset in a chunk as in the file.  data_start is 2 MiB
 * aligned (checked at mount), so an index into used_map is at the same
 * offset in its 512-block chunk as the block on the device.  Next-fit from a
 * single hint, as this allocator did first, lets every small file, tree
 * node and append step land in whatever chunk comes next: after some churn
 * almost no chunk is whole and big files cannot get huge pages (WineFS, SOSP
 * 2021, measured the same on ext4-DAX and NOVA).  So, under alloc_lock and
 * in a few passes over the bitmap at most (O(bitmap words), as before):
 *
 * - Small allocations (metadata, and file pieces that are not the start of
 *   a 2 MiB piece of a file of at least 2 MiB) fill chunks that are already
 *   partly used, next-fit from their own hint, stopping at the chunk's end:
 *   holes first, then chunks whose free space is one run to the chunk's end
 *   (the tails big files are appended into).  Whole free chunks are passed
 *   over; a small allocation opens the first one it passed only when no
 *   partly used chunk has room, or after passing RDX_SMALL_SCAN chunks
 *   (which bounds the scan on a big device).
 * - A file's 2 MiB boundary (lblk % 512 == 0) in a file of 2 MiB or more, or
 *   a file's first run if it is 1 MiB or more (written by a copy with big
 *   buffers: likely a big file, and it stays one run as it grows), starts a
 *   whole free chunk, next-fit from the large hint.
 * - Goal first, as ext4 and XFS do: the caller passes the block that would
 *   continue the file's previous extent.  If it is free and at the file's
 *   offset in the chunk, the run continues there (an append extends the
 *   run it follows); a run that would cross into a chunk it cannot fill
 *   stops at that chunk's start, so the file's next 2 MiB piece gets a whole
 *   chunk.  A goal at another offset is used only inside a chunk already
 *   partly used, to the chunk's end.
 * - The rest of the chunk the last large or in-place allocation ended in
 *   (or the next chunk, if it ended on a boundary) is skipped by small
 *   allocations, so the metadata of a file being appended does not take the
 *   blocks its next append wants.
 *
 * Nothing of this is on media: a remount starts with empty hints.
 */
#define RDX_CHUNK	REFDAX_HUGE_BLOCKS
/* Whole free chunks a small allocation passes over looking for a partial one. */
#define RDX_SMALL_SCAN	1024U
#define RDX_NO_LBLK	U64_MAX
/* A file's first run of this many blocks or more starts a whole chunk. */
#define RDX_STREAM	(RDX_CHUNK / 2)

static bool chunk_free(struct refdax_sb_info *sbi, u64 c)
{
	return c + RDX_CHUNK <= sbi->data_blocks &&
	       find_next_bit(sbi->used_map, c + RDX_CHUNK, c) >= c + RDX_CHUNK;
}

/*
 * Length of the free run at @start, at most @want.  With @whole, a run that
 * crosses into a chunk and stops short in it ends at that chunk's start.
 */
static u64 run_at(struct refdax_sb_info *sbi, u64 start, u64 want, bool whole)
{
	u64 end = find_next_bit(sbi->used_map,
				min(sbi->data_blocks, start + want), start);

	if (whole && end < start + want && round_down(end, RDX_CHUNK) > start)
		end = round_down(end, RDX_CHUNK);
	return end - start;
}

/* Whether @pos is in the space kept for the file last placed in a chunk. */
static bool kept(struct refdax_sb_info *sbi, u64 pos)
{
	u64 k = sbi->keep_from;

	return k && pos >= k && pos < round_up(k + 1, RDX_CHUNK);
}

/* The first whole free chunk from @from on, wrapping once; U64_MAX if none. */
static u64 find_free_chunk(struct refdax_sb_info *sbi, u64 from)
{
	u64 n = sbi->data_blocks, pos, c, used;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		pos = pass ? 0 : from;
		while (pos < n) {
			pos = find_next_zero_bit(sbi->used_map, n, pos);
			c = round_up(pos, RDX_CHUNK);
			if (c + RDX_CHUNK > n)
				break;
			used = find_next_bit(sbi->used_map, c + RDX_CHUNK, c);
			if (used >= c + RDX_CHUNK)
				return c;
			pos = used + 1;
		}
	}
	return U64_MAX;
}

/*
 * Free blocks in a partly used chunk, next-fit from small_hint.  Moving to
 * another chunk, holes come first: a chunk whose free space is one run up
 * to its end looks like the tail of a file being appended (its next piece
 * continues there), so it is taken only if no hole is found.
 */
static u64 find_small(struct refdax_sb_info *sbi, u64 want, u64 *got)
{
	u64 n = sbi->data_blocks, pos, c, fresh = U64_MAX, tail = U64_MAX;
	/* the chunk the last small allocation ended in is filled first */
	u64 cur = sbi->small_hint ? round_down(sbi->small_hint - 1, RDX_CHUNK) :
		  U64_MAX;
	unsigned int skipped = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		pos = pass ? 0 : sbi->small_hint;
		while (pos < n) {
			u64 len;

			pos = find_next_zero_bit(sbi->used_map, n, pos);
			if (pos >= n)
				break;
			c = round_down(pos, RDX_CHUNK);
			if (kept(sbi, pos)) {
				pos = round_up(sbi->keep_from + 1, RDX_CHUNK);
				continue;
			}
			if (pos == c && chunk_free(sbi, c)) {
				if (fresh == U64_MAX)
					fresh = c;
				if (++skipped > RDX_SMALL_SCAN)
					goto open;
				pos = c + RDX_CHUNK;
				continue;
			}
			len = run_at(sbi, pos, c + RDX_CHUNK - pos, false);
			if (pos + len == c + RDX_CHUNK && pos != c && c != cur) {
				if (tail == U64_MAX)
					tail = pos;
				if (++skipped > RDX_SMALL_SCAN)
					goto open;
				pos = c + RDX_CHUNK;
				continue;
			}
			*got = min(want, len);
			return pos;
		}
	}
open:
	if (tail != U64_MAX) {
		*got = min(want, round_up(tail, RDX_CHUNK) - tail);
		return tail;
	}
	if (fresh == U64_MAX)
		return U64_MAX;
	*got = run_at(sbi, fresh, min_t(u64, want, RDX_CHUNK), false);
	return fresh;
}

/*
 * Where @want blocks for file block @lblk go (RDX_NO_LBLK: not file data),
 * @goal (an index, U64_MAX for none) first; see above.  alloc_lock held.
 */
static u64 place(struct refdax_sb_info *sbi, u64 want, u64 lblk, u64 goal,
		 u64 *got)
{
	u64 n = sbi->data_blocks, off = 0, idx;
	bool large = false;

	if (lblk != RDX_NO_LBLK) {
		off = lblk % RDX_CHUNK;
		large = !off && (lblk >= RDX_CHUNK || want >= RDX_STREAM);
	}
	if (lblk != RDX_NO_LBLK && goal < n && !test_bit(goal, sbi->used_map)) {
		bool in_chunk = goal % RDX_CHUNK;

		if (goal % RDX_CHUNK == off &&
		    (in_chunk || chunk_free(sbi, goal))) {
			/* continues the file's run at its offset in the chunk */
			*got = run_at(sbi, goal, want, true);
			sbi->keep_from = goal + *got;
			return goal;
		}
		if (!large && in_chunk &&
		    !chunk_free(sbi, round_down(goal, RDX_CHUNK))) {
			/* another offset: at least it packs a partial chunk */
			*got = run_at(sbi, goal,
				      min(want, round_up(goal, RDX_CHUNK) - goal),
				      false);
			return goal;
		}
	}
	if (large && !sbi->no_free_chunk) {
		idx = find_free_chunk(sbi, sbi->large_hint);
		/* no need to look again before something is freed */
		sbi->no_free_chunk = idx == U64_MAX;
		if (idx != U64_MAX) {
			*got = run_at(sbi, idx, want, true);
			sbi->large_hint = idx + *got;
			sbi->keep_from = idx + *got;
			return idx;
		}
	}
	idx = find_small(sbi, want, got);
	if (idx != U64_MAX) {
		sbi->small_hint = idx + *got;
		return idx;
	}
	/* Only kept space is left: take it. */
	idx = find_first_zero_bit(sbi->used_map, n);
	if (idx >= n)
		return U64_MAX;
	*got = run_at(sbi, idx, want, false);
	return idx;
}

/* An aborted transaction's allocation: the run is free again. */
static void alloc_cancel(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	u64 idx = first - sbi->geom.data_start;

	spin_lock(&sbi->alloc_lock);
	bitmap_clear(sbi->used_map, idx, len);
	sbi->no_free_chunk = false;
	/* a node this transaction made is gone with it */
	bitmap_clear(sbi->node_ok, idx, len);
	sbi->free_blocks += len;
	spin_unlock(&sbi->alloc_lock);
}

static const struct refdax_defer_ops alloc_defer_ops = {
	.cancel = alloc_cancel,
};

/* Set or clear bits [lo, lo+len) of a little-endian bitmap of bytes. */
static void fsmap_fill(u8 *map, u64 lo, u64 len, bool used)
{
	u64 hi = lo + len;

	while (lo < hi && (lo & 7)) {
		used ? refdax_fsmap_set(map, lo) : refdax_fsmap_clear(map, lo);
		lo++;
	}
	if (hi - lo >= 8) {
		memset(map + lo / 8, used ? 0xff : 0, (hi - lo) / 8);
		lo += round_down(hi - lo, 8);
	}
	for (; lo < hi; lo++)
		used ? refdax_fsmap_set(map, lo) : refdax_fsmap_clear(map, lo);
}

/*
 * Log the bitmap bytes of [first, first+len), one bitmap block at most per
 * journal entry, then set or clear their bits.
 */
static int change_fsmap(struct refdax_trans *tp, u64 first, u64 len,
			bool used)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u64 lo = first - sbi->geom.data_start;
	u64 b = lo / 8, last = (lo + len - 1) / 8;
	u8 *map = fsmap(sbi);
	int ret;

	while (b <= last) {
		u64 end = min(round_down(b, REFDAX_BLOCK_SIZE) +
			      REFDAX_BLOCK_SIZE, last + 1);

		ret = refdax_trans_log(tp, map + b, end - b);
		if (ret)
			return ret;
		b = end;
	}
	fsmap_fill(map, lo, len, used);
	return 0;
}

bool refdax_blocks_in_use(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	u64 lo = first - sbi->geom.data_start;

	return find_next_zero_bit_le(fsmap(sbi), lo + len, lo) >= lo + len;
}

static int alloc(struct refdax_trans *tp, u64 want, u64 lblk, u64 goal,
		 u64 *first, u64 *got)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u64 idx, n = 0;
	int ret;

	if (!want)
		return -EINVAL;
	if (!refdax_trans_defer_room(tp))
		return -ENOSPC;
	/* a goal outside the data area is no goal */
	goal = goal >= sbi->geom.data_start ? goal - sbi->geom.data_start :
	       U64_MAX;
	spin_lock(&sbi->alloc_lock);
	if (!sbi->free_blocks) {
		spin_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	idx = place(sbi, want, lblk, goal, &n);
	if (idx == U64_MAX || !n) {
		spin_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	bitmap_set(sbi->used_map, idx, n);
	sbi->free_blocks -= n;
	spin_unlock(&sbi->alloc_lock);

	*first = idx + sbi->geom.data_start;
	*got = n;
	/* Recorded first, so an abort gives the run back whatever follows. */
	ret = refdax_trans_defer(tp, RDX_DEFER_ALLOC, *first, n);
	if (ret) {
		alloc_cancel(sbi, *first, n);
		return ret;
	}
	return change_fsmap(tp, *first, n, true);
}

int refdax_alloc_blocks(struct refdax_trans *tp, u64 want, u64 align,
			u64 *first, u64 *got)
{
	/* an aligned request is placed as a file's first 2 MiB piece */
	return alloc(tp, want, align > 1 ? 0 : RDX_NO_LBLK, 0, first, got);
}

int refdax_alloc_data(struct refdax_trans *tp, u64 lblk, u64 want, u64 goal,
		      u64 *first, u64 *got)
{
	return alloc(tp, want, lblk, goal, first, got);
}

/*
 * [first, first+len) has no reference left: free on media now, and back
 * to the allocator once the transaction commits.
 */
int refdax_free_blocks(struct refdax_trans *tp, u64 first, u64 len)
{
	int ret = refdax_trans_defer(tp, RDX_DEFER_FREE, first, len);

	return ret ? ret : change_fsmap(tp, first, len, false);
}

/*
 * A freed block whose page is still pinned by get_user_pages (O_DIRECT or
 * RDMA from a mapping that was zapped meanwhile) must not be handed out
 * again until the pin is dropped: the device would write into another
 * file's data.  fsdax pages are idle at refcount 1 on 6.1 and 6.12, at 0
 * on 7.x.
 */
static bool block_pinned(struct refdax_sb_info *sbi, u64 blk)
{
	return page_ref_count(pfn_to_page(sbi->pfn0 + blk)) >
	       RDX_PAGE_IDLE_REFS;
}

static void release_block(struct refdax_sb_info *sbi, u64 blk)
{
	refdax_owner_clear(sbi, blk);
	/* whatever the block holds next is verified afresh */
	clear_bit(blk - sbi->geom.data_start, sbi->node_ok);
	if (__test_and_clear_bit(blk - sbi->geom.data_start, sbi->used_map)) {
		sbi->free_blocks++;
		sbi->no_free_chunk = false;
	}
}

/* A committed transaction's free: blocks not pinned are reusable now. */
/* Blocks released per hold of alloc_lock: a 1 GiB free is one item. */
#define RDX_FREE_BATCH	1024U

static void free_finish(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	u64 blk, end = first + len;
	bool held = false;

	for (blk = first; blk < end; cond_resched()) {
		u64 stop = min_t(u64, end, blk + RDX_FREE_BATCH);

		spin_lock(&sbi->alloc_lock);
		for (; blk < stop; blk++) {
			if (block_pinned(sbi, blk) &&
			    !xa_is_err(xa_store(&sbi->busy_blocks, blk,
						xa_mk_value(1), GFP_ATOMIC))) {
				held = true;
				continue;
			}
			release_block(sbi, blk);
		}
		spin_unlock(&sbi->alloc_lock);
	}
	if (held)
		schedule_delayed_work(&sbi->busy_work, HZ / 10);
}

static const struct refdax_defer_ops free_defer_ops = {
	.finish = free_finish,
};

static void busy_work_fn(struct work_struct *work)
{
	struct refdax_sb_info *sbi = container_of(to_delayed_work(work),
						  struct refdax_sb_info,
						  busy_work);
	unsigned long blk;
	void *entry;
	bool left = false;

	spin_lock(&sbi->alloc_lock);
	xa_for_each(&sbi->busy_blocks, blk, entry) {
		if (block_pinned(sbi, blk)) {
			left = true;
			continue;
		}
		xa_erase(&sbi->busy_blocks, blk);
		release_block(sbi, blk);
	}
	spin_unlock(&sbi->alloc_lock);
	if (left)
		schedule_delayed_work(&sbi->busy_work, HZ / 10);
}

/*
 * Tree node block @blk, expected with @magic at @depth: the cheap
 * structural checks on every visit, @verify (the tools' verifier: checksum,
 * entries) only on the first visit since mount, as XFS verifies a buffer
 * when it is read in.  A node this mount wrote, or verified, keeps its bit
 * in node_ok until the block is freed.  *@why says what was wrong.
 */
int refdax_read_tree_node(struct refdax_sb_info *sbi, u64 blk, u16 magic,
			  unsigned int depth, refdax_node_verify_t verify,
			  struct refdax_bt_node *n, const char **why)
{
	struct refdax_bmap_node *bn;

	if (!refdax_data_block_ok(&sbi->geom, blk, 1))
		return -EUCLEAN;
	bn = rdx_block(sbi, blk);
	if (le16_to_cpu(bn->bn_hdr.bh_magic) != magic ||
	    le16_to_cpu(bn->bn_hdr.bh_max) != REFDAX_BMAP_NODE_MAX ||
	    le16_to_cpu(bn->bn_hdr.bh_nr) > REFDAX_BMAP_NODE_MAX ||
	    le16_to_cpu(bn->bn_hdr.bh_depth) != depth)
		return -EUCLEAN;
	if (!test_bit(blk - sbi->geom.data_start, sbi->node_ok)) {
		if (verify(&sbi->geom, bn, depth, why))
			return -EUCLEAN;
		set_bit(blk - sbi->geom.data_start, sbi->node_ok);
	}
	n->hdr = &bn->bn_hdr;
	n->ents = (u8 *)bn->bn_ext;
	n->blk = blk;
	return 0;
}

/* A node block this mount just allocated needs no verification. */
void refdax_tree_node_written(struct refdax_sb_info *sbi, u64 blk)
{
	set_bit(blk - sbi->geom.data_start, sbi->node_ok);
}

void refdax_zero_blocks(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	void *p = rdx_block(sbi, first);

	memset(p, 0, len << REFDAX_BLOCK_SHIFT);
	refdax_persist(sbi, p, len << REFDAX_BLOCK_SHIFT);
}

static u8 *ibitmap_byte(struct refdax_sb_info *sbi, u64 ino)
{
	return (u8 *)rdx_block(sbi, sbi->geom.ibitmap_start) + (ino >> 3);
}

int refdax_alloc_ino(struct refdax_trans *tp, u64 *ino)
{
	struct refdax_sb_info *sbi = tp->sbi;
	const void *map = rdx_block(sbi, sbi->geom.ibitmap_start);
	u64 n = sbi->geom.ninodes, i;
	u8 *byte;
	int ret;

	if (!sbi->free_inodes)
		return -ENOSPC;
	/* Little-endian bit order: bit i is bit (i % 8) of byte i / 8. */
	i = find_next_zero_bit_le(map, n, sbi->ino_hint);
	if (i >= n)
		i = find_next_zero_bit_le(map, n, REFDAX_ROOT_INO + 1);
	if (i >= n)
		return -ENOSPC;
	byte = ibitmap_byte(sbi, i);
	ret = refdax_trans_log(tp, byte, 1);
	if (ret)
		return ret;
	*byte |= 1U << (i & 7);
	sbi->free_inodes--;
	tp->ino_delta--;
	sbi->ino_hint = i + 1;
	*ino = i;
	return 0;
}

int refdax_free_ino(struct refdax_trans *tp, u64 ino)
{
	struct refdax_sb_info *sbi = tp->sbi;
	u8 *byte = ibitmap_byte(sbi, ino);
	int ret;

	if (ino <= REFDAX_ROOT_INO || ino >= sbi->geom.ninodes)
		return -EUCLEAN;
	ret = refdax_trans_log(tp, byte, 1);
	if (ret)
		return ret;
	*byte &= ~(1U << (ino & 7));
	sbi->free_inodes++;
	tp->ino_delta++;
	if (ino < sbi->ino_hint)
		sbi->ino_hint = ino;
	return 0;
}
