// SPDX-License-Identifier: GPL-2.0
/*
 * renameat2: rename(2) with flags through the raw syscall.
 *
 *   renameat2 none|noreplace|exchange|whiteout OLD NEW
 *
 * Exit 0 on success; on failure prints the errno name (e.g. EEXIST) on
 * stdout and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

int main(int argc, char **argv)
{
	unsigned int flags;

	if (argc != 4) {
		fprintf(stderr, "usage: renameat2 none|noreplace|exchange|whiteout OLD NEW\n");
		return 2;
	}
	if (!strcmp(argv[1], "none"))
		flags = 0;
	else if (!strcmp(argv[1], "noreplace"))
		flags = RENAME_NOREPLACE;
	else if (!strcmp(argv[1], "exchange"))
		flags = RENAME_EXCHANGE;
	else if (!strcmp(argv[1], "whiteout"))
		flags = RENAME_WHITEOUT;
	else
		return 2;
	if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags)) {
		const char *name = strerrorname_np(errno);

		printf("%s\n", name ? name : "unknown");
		return 1;
	}
	return 0;
}
