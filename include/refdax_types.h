/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-width little-endian types and byte-order helpers, so that the format
 * header and the code in common/ build unchanged in the kernel and in
 * userspace (mkfs, fsck, unit tests).
 */
#ifndef REFDAX_TYPES_H
#define REFDAX_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/build_bug.h>
#include <asm/byteorder.h>
#define REFDAX_STATIC_ASSERT(e)	static_assert(e)
#else
#include <linux/types.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <endian.h>
#include <assert.h>
#define REFDAX_STATIC_ASSERT(e)	static_assert(e, #e)
#define le16_to_cpu(x)	((__u16)le16toh((__u16)(x)))
#define le32_to_cpu(x)	((__u32)le32toh((__u32)(x)))
#define le64_to_cpu(x)	((__u64)le64toh((__u64)(x)))
#define cpu_to_le16(x)	((__le16)htole16(x))
#define cpu_to_le32(x)	((__le32)htole32(x))
#define cpu_to_le64(x)	((__le64)htole64(x))
/* One untorn store of an aligned word, as the kernel's WRITE_ONCE. */
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#endif

#endif /* REFDAX_TYPES_H */
