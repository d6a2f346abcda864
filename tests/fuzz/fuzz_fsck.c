// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-fsck: the whole fsck.refdax logic on a damaged image.
 *
 * fsck's own sources are compiled with -Dmain=fsck_main and called like the
 * program: "fsck.refdax -n IMG", then "-y IMG" (or "-p IMG"), then "-n IMG"
 * again, where IMG is a memfd holding a copy of the base image
 * ($FUZZ_BASE_IMAGE, made by mkseeds: a populated mkfs.refdax image cut to
 * 2.25 MiB) with the input's patches applied.
 *
 * Input: flags (1 byte), then patch records until the input ends:
 *   region (1 byte, modulo 8), offset (2 bytes LE), length (1 byte), data
 * Regions (block numbers from the base geometry):
 *   0 superblock block (refcount root included)
 *   1 journal, first 16 blocks   2 inode bitmap block
 *   3 inode table, first 16 blocks (inodes 0-255)
 *   4 free-space bitmap, first block
 * (regions 1 and 3 run on into what follows when the journal or the inode
 * table is shorter, as in the base image)
 *   5 data blocks 0-15	  6 data blocks 16-31
 *   7 whole image, offset in 64-byte units
 * Flags: bit 0 recompute the superblock checksum (it covers the refcount
 * root), bit 1 recompute the checksum of every inode a patch touched, bit
 * 2 recompute the checksum of every touched data block that carries the
 * extent-node or refcount-node magic, bit 3 repair with -p instead of -y,
 * bits 4-5 the device size: exactly the image, 100 bytes more (a partial
 * last block), one block more, or 100 bytes less (the filesystem no longer
 * fits), bit 6 run every fsck with -v.
 *
 * Properties: no sanitizer report, leak or exit(); -n exits 0 or 4 and
 * leaves the image alone; the repair exits 0, 1 or 4; and when it exits 0
 * or 1 (all repaired) the second -n exits 0 (clean).  With FUZZ_LAX set,
 * a second -n that still finds errors is tolerated.  FUZZ_VERBOSE keeps
 * fsck's output (otherwise stdout goes to /dev/null).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include "fuzz_util.h"

#ifndef FUZZ_BASE_DEFAULT
#define FUZZ_BASE_DEFAULT "build/fuzz/base.img"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fsck_main(int argc, char **argv);

static __u8 *base, *img, *back;
static size_t img_bytes;
static struct refdax_geom g;
static int memfd, lax;
static char path[64];

struct region {
	__u64 start, bytes;
};

static struct region regions[8];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *p = getenv("FUZZ_BASE_IMAGE");
	const char *why;
	FILE *f;
	long n;

	(void)argc;
	(void)argv;
	if (!p)
		p = FUZZ_BASE_DEFAULT;
	f = fopen(p, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0) {
		fprintf(stderr, "fuzz-fsck: cannot read base image %s\n", p);
		exit(2);
	}
	img_bytes = (size_t)n;
	base = malloc(img_bytes);
	img = malloc(img_bytes);
	back = malloc(img_bytes);
	rewind(f);
	if (!base || !img || !back || fread(base, 1, img_bytes, f) != img_bytes ||
	    refdax_check_super((void *)base, img_bytes, &g, &why)) {
		fprintf(stderr, "fuzz-fsck: bad base image %s\n", p);
		exit(2);
	}
	fclose(f);
	regions[0] = (struct region){ 0, REFDAX_BLOCK_SIZE };
	regions[1] = (struct region){ g.journal_start, 16 };
	regions[2] = (struct region){ g.ibitmap_start, 1 };
	regions[3] = (struct region){ g.itable_start, 16 };
	regions[4] = (struct region){ g.fsmap_start, 1 };
	regions[5] = (struct region){ g.data_start, 16 };
	regions[6] = (struct region){ g.data_start + 16, 16 };
	for (n = 1; n < 7; n++) {
		regions[n].start *= REFDAX_BLOCK_SIZE;
		regions[n].bytes *= REFDAX_BLOCK_SIZE;
	}
	regions[7] = (struct region){ 0, img_bytes };

	memfd = memfd_create("refdax-fuzz", 0);
	if (memfd < 0) {
		perror("memfd_create");
		exit(2);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	lax = getenv("FUZZ_LAX") != NULL;
	if (!getenv("FUZZ_VERBOSE")) {
		int null = open("/dev/null", O_WRONLY);

		fflush(stdout);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
	return 0;
}

static void mark(__u8 *touched, __u64 off, __u64 len)
{
	__u64 b;

	for (b = off / REFDAX_BLOCK_SIZE; b <= (off + len - 1) / REFDAX_BLOCK_SIZE;
	     b++)
		touched[b] = 1;
}

static int run_fsck(const char *opt, __u8 flags)
{
	char *argv[] = { "fsck.refdax", (char *)opt, path, NULL, NULL };
	int rc;

	if (flags & 0x40) {
		argv[3] = argv[2];
		argv[2] = "-v";
	}
	optind = 0;		/* glibc: start a fresh getopt scan */
	rc = fsck_main(argv[3] ? 4 : 3, argv);
	fflush(stdout);
	return rc;
}

/* The image into the memfd, which then has @dev_bytes bytes. */
static void load(size_t dev_bytes)
{
	size_t n = dev_bytes < img_bytes ? dev_bytes : img_bytes;

	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, img, n, 0) == (ssize_t)n);
	FUZZ_CHECK(ftruncate(memfd, (off_t)dev_bytes) == 0);
}

static void fix_csums(__u8 flags, const __u8 *touched, const __u8 *itouched)
{
	__u64 b, i;

	if (flags & 2)
		for (i = 0; i < 16 * 16 && i < g.ninodes; i++)
			if (itouched[i])
				refdax_inode_set_csum((struct refdax_inode *)
					(img + g.itable_start * REFDAX_BLOCK_SIZE) + i);
	if (flags & 4)
		for (b = g.data_start; b < img_bytes / REFDAX_BLOCK_SIZE; b++) {
			struct refdax_bmap_node *bn =
				(void *)(img + b * REFDAX_BLOCK_SIZE);

			__u16 magic = le16_to_cpu(bn->bn_hdr.bh_magic);

			if (touched[b] && (magic == REFDAX_BMAP_MAGIC ||
					   magic == REFDAX_REFC_MAGIC))
				refdax_bmap_node_set_csum(bn);
		}
	if (flags & 1)
		refdax_super_set_csum((struct refdax_super *)img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u8 touched[1 << 16], itouched[16 * 16];
	struct fuzz_in in = { data, size };
	__u8 flags = fuzz_u8(&in);
	static const long size_delta[4] = { 0, 100, REFDAX_BLOCK_SIZE, -100 };
	size_t dev_bytes;
	int rc1, rc2, rc3;

	memcpy(img, base, img_bytes);
	memset(touched, 0, sizeof(touched));
	memset(itouched, 0, sizeof(itouched));
	while (in.len >= 4) {
		const struct region *r = &regions[fuzz_u8(&in) % 8];
		__u64 off = fuzz_u16(&in), len = fuzz_u8(&in), i;

		if (r == &regions[7])
			off *= REFDAX_CACHELINE;
		off %= r->bytes;
		if (len > in.len)
			len = in.len;
		if (len > r->bytes - off)
			len = r->bytes - off;
		if (!len)
			continue;
		fuzz_bytes(&in, img + r->start + off, len);
		mark(touched, r->start + off, len);
		for (i = 0; i < 256 && i < g.ninodes; i++) {
			__u64 ia = g.itable_start * REFDAX_BLOCK_SIZE +
				   i * REFDAX_INODE_SIZE;

			if (r->start + off < ia + REFDAX_INODE_SIZE &&
			    ia < r->start + off + len)
				itouched[i] = 1;
		}
	}
	fix_csums(flags, touched, itouched);

	dev_bytes = img_bytes + size_delta[(flags >> 4) & 3];
	load(dev_bytes);
	rc1 = run_fsck("-n", flags);
	FUZZ_CHECK(rc1 == 0 || rc1 == 4);
	/* checking changes nothing, not a byte */
	if (dev_bytes < img_bytes) {
		memset(img + dev_bytes, 0, img_bytes - dev_bytes);
		memset(back + dev_bytes, 0, img_bytes - dev_bytes);
	}
	FUZZ_CHECK(pread(memfd, back, img_bytes, 0) ==
		   (ssize_t)(dev_bytes < img_bytes ? dev_bytes : img_bytes));
	FUZZ_CHECK(!memcmp(back, img, img_bytes));

	rc2 = run_fsck(flags & 8 ? "-p" : "-y", flags);
	FUZZ_CHECK(rc2 == 0 || rc2 == 1 || rc2 == 4);
	/* nothing to repair beyond the state word that -n only warns about */
	if (rc1 == 0)
		FUZZ_CHECK(rc2 != 4);

	rc3 = run_fsck("-n", flags);
	FUZZ_CHECK(rc3 == 0 || rc3 == 4);
	if (rc2 != 4 && !lax)
		FUZZ_CHECK(rc3 == 0);
	return 0;
}
