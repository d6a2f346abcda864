/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Every target feeds fuzzer bytes to the validators of common/ (or to the
 * fsck.refdax logic) and then checks properties a validator promises: a
 * structure it accepts really is safe to use.  A failed property aborts,
 * which libFuzzer reports as a crash with the input saved.
 */
#ifndef REFDAX_FUZZ_UTIL_H
#define REFDAX_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "refdax_common.h"

#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond))						\
			fuzz_fail(#cond, __FILE__, __LINE__);		\
	} while (0)

__attribute__((noreturn))
void fuzz_fail(const char *what, const char *file, int line);

/*
 * The geometry of the fsck target's base image (mkfs.refdax -N 64 -J 8 of
 * a 32 MiB image, cut to 576 blocks; one free-space bitmap block at 14,
 * data from 512): the structure targets validate
 * against it so that the fuzzer meets the same bounds the real image has.
 */
void fuzz_geom(struct refdax_geom *g);

/* Reads that never run past the input: missing bytes read as 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t len;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
/* Copy up to @n bytes into @dst, zero-filling what the input lacks. */
void fuzz_bytes(struct fuzz_in *in, void *dst, size_t n);



/* Properties of a geometry refdax_check_super() accepted for @dev_bytes. */
void fuzz_check_geom(const struct refdax_geom *g, __u64 dev_bytes);

/* Properties of @nr extents (@depth 0) or index entries a validator passed. */
void fuzz_check_entries(const struct refdax_geom *g, const void *ents,
			unsigned int nr, unsigned int depth);
/* The same for refcount records (@depth 0) or their index entries. */
void fuzz_check_refc_entries(const struct refdax_geom *g, const void *ents,
			     unsigned int nr, unsigned int depth);
/* Properties of a refcount root (in a superblock) a validator passed. */
void fuzz_check_refc_root(const struct refdax_geom *g,
			  const struct refdax_bmap_root *root);
/* Properties of an inode refdax_check_inode() accepted. */
void fuzz_check_inode(const struct refdax_geom *g, __u64 ino,
		      const struct refdax_inode *ri);

#endif /* REFDAX_FUZZ_UTIL_H */
