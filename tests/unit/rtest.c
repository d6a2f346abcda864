// SPDX-License-Identifier: GPL-2.0
/*
 * Unit-test runner for the userspace-buildable parts of refdax: crc32c,
 * validators, the undo journal, and end-to-end runs of mkfs and fsck.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtest.h"

static int passed, failed;
static int in_case, case_failed;
static char case_name[256];

void rt_begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
	in_case = 1;
	case_failed = 0;
}

int rt_end(void)
{
	int ok = !case_failed;

	if (ok)
		passed++;
	else
		failed++;
	in_case = 0;
	return ok;
}

void rt_run(const char *name, void (*fn)(void))
{
	rt_begin("%s", name);
	fn();
	rt_end();
}

int rt_expect(int ok, const char *expr, const char *file, int line)
{
	if (ok)
		return 1;
	if (!case_failed)
		printf("FAIL %s\n", in_case ? case_name : "(outside a case)");
	printf("    %s:%d: expected %s\n", file, line, expr);
	case_failed = 1;
	if (!in_case)
		failed++;
	return 0;
}

void rt_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int rt_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *bindir = argc > 1 ? argv[1] : "../../build";
	const char *fsck_san = argc > 2 ? argv[2] : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_crc();
	test_verify();
	test_journal();
	test_btree();
	test_refc();
	test_xattr();
	if (!getenv("RT_NO_TOOLS"))
		test_tools(bindir, fsck_san);
	return rt_summary();
}
