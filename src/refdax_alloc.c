// SPDX-License-Identifier: GPL-2.0
/*
 * Block and inode allocation.
 *
 * The on-media refcount table is the persistent free-space map (0 = free).
 * At mount it is condensed into used_map, one bit per data-area block, which
 * the allocator searches.  A block is marked used in memory as soon as it is
 * handed out; a block whose count drops to zero stays marked until the
 * transaction that freed it commits, so a rolled-back free never leaves a
 * block that is in use on media looking free, and freed blocks are never
 * handed out again inside the same transaction.
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

int refdax_alloc_init(struct refdax_sb_info *sbi)
{
	struct refdax_geom *g = &sbi->geom;
	u64 i, used = 0;
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

	for (i = 0; i < sbi->data_blocks; i++) {
		if (*rdx_refcount(sbi, g->data_start + i)) {
			__set_bit(i, sbi->used_map);
			used++;
		}
		if (!(i & 0xffff))
			cond_resched();
	}
	sbi->free_blocks = sbi->data_blocks - used;
	xa_init(&sbi->busy_blocks);
	INIT_DELAYED_WORK(&sbi->busy_work, busy_work_fn);

	ibm = rdx_block(sbi, g->ibitmap_start);
	used = 0;
	for (i = 0; i < g->ninodes; i++)
		used += (ibm[i >> 3] >> (i & 7)) & 1;
	sbi->free_inodes = g->ninodes - used;
	sbi->ino_hint = REFDAX_ROOT_INO + 1;
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

/* Called when the journal put back [addr, addr+len): refresh used_map. */
void refdax_alloc_resync(struct refdax_sb_info *sbi, u64 addr, u32 len)
{
	u64 rstart = sbi->geom.refcount_start << REFDAX_BLOCK_SHIFT;
	u64 rend = rstart + (sbi->data_blocks << 2);
	u64 a, end = addr + len;

	if (end <= rstart || addr >= rend)
		return;
	a = max(addr, rstart) & ~3ULL;
	end = min(end, rend);
	spin_lock(&sbi->alloc_lock);
	for (; a < end; a += 4) {
		u64 idx = (a - rstart) >> 2;
		bool used = *(__le32 *)((u8 *)sbi->virt + a) != 0;

		if (used && !__test_and_set_bit(idx, sbi->used_map))
			sbi->free_blocks--;
		else if (!used && __test_and_clear_bit(idx, sbi->used_map))
			sbi->free_blocks++;
		/* a node this mount made and the journal took back */
		if (!used)
			clear_bit(idx, sbi->node_ok);
	}
	spin_unlock(&sbi->alloc_lock);
}

/* Find a free run, preferring @align-aligned starts; alloc_lock held. */
static u64 find_run(struct refdax_sb_info *sbi, u64 want, u64 align,
		    u64 *got)
{
	u64 n = sbi->data_blocks, start, end, tries;

	for (tries = 0; tries < 2; tries++) {
		start = tries ? 0 : sbi->alloc_hint;
		while (start < n) {
			start = find_next_zero_bit(sbi->used_map, n, start);
			if (start >= n)
				break;
			if (align > 1 && (start + sbi->geom.data_start) % align) {
				u64 next = round_up(start + sbi->geom.data_start,
						    align) - sbi->geom.data_start;
				u64 stop = find_next_bit(sbi->used_map, n, start);

				/* Take an unaligned run only if nothing else. */
				if (next < stop) {
					start = next;
				} else {
					start = stop;
					continue;
				}
			}
			end = find_next_bit(sbi->used_map,
					    min(n, start + want), start);
			*got = end - start;
			return start;
		}
	}
	/* No aligned run at all: fall back to any free block. */
	start = find_first_zero_bit(sbi->used_map, n);
	if (start >= n)
		return U64_MAX;
	end = find_next_bit(sbi->used_map, min(n, start + want), start);
	*got = end - start;
	return start;
}

static int log_refcounts(struct refdax_sb_info *sbi, u64 first, u64 len);

int refdax_alloc_blocks(struct refdax_sb_info *sbi, u64 want, u64 align,
			u64 *first, u64 *got)
{
	u64 idx, i, n = 0;
	int ret;

	if (!want)
		return -EINVAL;
	spin_lock(&sbi->alloc_lock);
	if (!sbi->free_blocks) {
		spin_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	idx = find_run(sbi, want, want >= align ? align : 1, &n);
	if (idx == U64_MAX || !n) {
		spin_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	bitmap_set(sbi->used_map, idx, n);
	sbi->free_blocks -= n;
	sbi->alloc_hint = idx + n;
	spin_unlock(&sbi->alloc_lock);

	*first = idx + sbi->geom.data_start;
	*got = n;
	ret = log_refcounts(sbi, *first, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		*rdx_refcount(sbi, *first + i) = cpu_to_le32(1);
	return 0;
}

u32 refdax_block_refs(struct refdax_sb_info *sbi, u64 blk)
{
	return le32_to_cpu(*rdx_refcount(sbi, blk));
}

/* Log the refcount words of [first, first+len) in page-sized pieces. */
static int log_refcounts(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	u64 i;
	int ret;

	for (i = 0; i < len; i += REFDAX_REFCOUNTS_PER_BLOCK) {
		u64 chunk = min_t(u64, len - i, REFDAX_REFCOUNTS_PER_BLOCK);

		ret = refdax_txn_log(sbi, rdx_refcount(sbi, first + i),
				     chunk * 4);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Blocks of one run whose refcount words, logged @times each (allocation,
 * sharing, freeing), still fit the running transaction beside @reserve
 * bytes for the rest of it.  log_refcounts() writes the words in pieces of
 * up to a block, each entry at most 128 bytes over its data.  At least
 * one, so the first run of a transaction always goes and the caller makes
 * progress on any journal (or gets ENOSPC if even that does not fit).
 */
u64 refdax_refcount_fit(struct refdax_sb_info *sbi, u64 reserve,
			unsigned int times)
{
	u64 room = refdax_txn_room(sbi), need = reserve + 256 * times;

	if (room <= need)
		return 1;
	return max_t(u64, 1, (room - need) * REFDAX_REFCOUNTS_PER_BLOCK /
			     ((REFDAX_BLOCK_SIZE + 128) * times));
}

/*
 * Whether a transaction that already did some runs should take another:
 * only while a block's worth of records fits beside @reserve.
 */
bool refdax_txn_room_for_run(struct refdax_sb_info *sbi, u64 reserve)
{
	return refdax_txn_room(sbi) > reserve + REFDAX_BLOCK_SIZE;
}

int refdax_put_blocks(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	u64 i;
	int ret;

	if (!refdax_data_block_ok(&sbi->geom, first, len)) {
		refdax_error(sbi->sb, "freeing blocks %llu+%llu outside data area",
			     first, len);
		return -EUCLEAN;
	}
	if (sbi->nr_deferred + len > sbi->max_deferred)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		if (!*rdx_refcount(sbi, first + i)) {
			refdax_error(sbi->sb, "block %llu freed twice",
				     first + i);
			return -EUCLEAN;
		}
	}
	ret = log_refcounts(sbi, first, len);
	if (ret)
		return ret;
	for (i = 0; i < len; i++) {
		__le32 *rc = rdx_refcount(sbi, first + i);
		u32 c = le32_to_cpu(*rc);

		*rc = cpu_to_le32(c - 1);
		if (c == 1)
			sbi->deferred_free[sbi->nr_deferred++] = first + i;
		else if (c == 2)
			refdax_master_note_unshared(sbi, first + i);
	}
	return 0;
}

int refdax_share_blocks(struct refdax_sb_info *sbi, u64 first, u64 len)
{
	u64 i;
	int ret;

	if (!refdax_data_block_ok(&sbi->geom, first, len))
		return -EUCLEAN;
	for (i = 0; i < len; i++) {
		u32 c = le32_to_cpu(*rdx_refcount(sbi, first + i));

		/*
		 * A mapped block with no reference, or more than any clone can
		 * make, is corrupt media: report it so errors= applies, rather
		 * than failing only this call (or with a plausible EMLINK).
		 */
		if (!c || c > REFDAX_REFCOUNT_MAX) {
			refdax_error(sbi->sb, "block %llu has refcount %u while mapped",
				     first + i, c);
			return -EUCLEAN;
		}
		if (c == REFDAX_REFCOUNT_MAX)
			return -EMLINK;
	}
	ret = log_refcounts(sbi, first, len);
	if (ret)
		return ret;
	for (i = 0; i < len; i++)
		le32_add_cpu(rdx_refcount(sbi, first + i), 1);
	return 0;
}

/*
 * A freed block whose page is still pinned by get_user_pages (O_DIRECT or
 * RDMA from a mapping that was zapped meanwhile) must not be handed out
 * again until the pin is dropped: the device would write into another
 * file's data.  fsdax pages are idle at refcount 1 on 6.1 and 6.12.
 */
static bool block_pinned(struct refdax_sb_info *sbi, u64 blk)
{
	return page_ref_count(pfn_to_page(sbi->pfn0 + blk)) > 1;
}

static void release_block(struct refdax_sb_info *sbi, u64 blk)
{
	refdax_owner_clear(sbi, blk);
	/* whatever the block holds next is verified afresh */
	clear_bit(blk - sbi->geom.data_start, sbi->node_ok);
	if (__test_and_clear_bit(blk - sbi->geom.data_start, sbi->used_map))
		sbi->free_blocks++;
}

void refdax_release_deferred(struct refdax_sb_info *sbi)
{
	unsigned int i, held = 0;

	spin_lock(&sbi->alloc_lock);
	for (i = 0; i < sbi->nr_deferred; i++) {
		u64 blk = sbi->deferred_free[i];

		if (block_pinned(sbi, blk) &&
		    !xa_is_err(xa_store(&sbi->busy_blocks, blk,
					xa_mk_value(1), GFP_ATOMIC))) {
			held++;
			continue;
		}
		release_block(sbi, blk);
	}
	spin_unlock(&sbi->alloc_lock);
	sbi->nr_deferred = 0;
	if (held)
		schedule_delayed_work(&sbi->busy_work, HZ / 10);
}

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

int refdax_alloc_ino(struct refdax_sb_info *sbi, u64 *ino)
{
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
	ret = refdax_txn_log(sbi, byte, 1);
	if (ret)
		return ret;
	*byte |= 1U << (i & 7);
	sbi->free_inodes--;
	sbi->txn_ino_delta--;
	sbi->ino_hint = i + 1;
	*ino = i;
	return 0;
}

int refdax_free_ino(struct refdax_sb_info *sbi, u64 ino)
{
	u8 *byte = ibitmap_byte(sbi, ino);
	int ret;

	if (ino <= REFDAX_ROOT_INO || ino >= sbi->geom.ninodes)
		return -EUCLEAN;
	ret = refdax_txn_log(sbi, byte, 1);
	if (ret)
		return ret;
	*byte &= ~(1U << (ino & 7));
	sbi->free_inodes++;
	sbi->txn_ino_delta++;
	if (ino < sbi->ino_hint)
		sbi->ino_hint = ino;
	return 0;
}
