/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny unit-test framework: a test case is a function run by rt_run(), or
 * a block of checks between rt_begin() and rt_end(); a case passes when none
 * of its EXPECT()s failed.  rt_summary() prints "N passed, N failed".
 */
#ifndef RTEST_H
#define RTEST_H

#include <stdio.h>

void rt_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_end(void);
void rt_run(const char *name, void (*fn)(void));
int rt_expect(int ok, const char *expr, const char *file, int line);
void rt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_summary(void);

#define EXPECT(cond)	rt_expect(!!(cond), #cond, __FILE__, __LINE__)
#define EXPECT_EQ(a, b)							\
	(rt_expect((unsigned long long)(a) == (unsigned long long)(b),	\
		  #a " == " #b, __FILE__, __LINE__) ||			\
	(rt_note("    %s = %llu (0x%llx), %s = %llu (0x%llx)", #a,	\
		 (unsigned long long)(a), (unsigned long long)(a), #b,	\
		 (unsigned long long)(b), (unsigned long long)(b)), 0))

/* test groups */
void test_crc(void);
void test_verify(void);
void test_journal(void);
void test_btree(void);
void test_refc(void);
void test_xattr(void);
void test_tools(const char *bindir, const char *fsck_san);

#endif /* RTEST_H */
