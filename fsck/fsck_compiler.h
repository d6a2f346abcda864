/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's attribute macros used by fsck, for this userspace build.
 */
#ifndef REFDAX_FSCK_COMPILER_H
#define REFDAX_FSCK_COMPILER_H

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif

#endif /* REFDAX_FSCK_COMPILER_H */
