// SPDX-License-Identifier: GPL-2.0
/*
 * fhandle: file handles through name_to_handle_at/open_by_handle_at.
 *
 *   fhandle get PATH              print PATH's handle: "TYPE HEX"
 *   fhandle open MOUNT TYPE HEX   open the handle on the filesystem mounted
 *                                 at MOUNT; print "ino INODE" (fstat), or
 *                                 the errno's name (ESTALE, ...) and exit 1
 *
 * open needs CAP_DAC_READ_SEARCH, as open_by_handle_at(2) does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HANDLE	128

static int get(const char *path)
{
	struct file_handle *fh = calloc(1, sizeof(*fh) + MAX_HANDLE);
	unsigned int i;
	int mnt;

	if (!fh)
		return 2;
	fh->handle_bytes = MAX_HANDLE;
	if (name_to_handle_at(AT_FDCWD, path, fh, &mnt, 0)) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("%d ", fh->handle_type);
	for (i = 0; i < fh->handle_bytes; i++)
		printf("%02x", fh->f_handle[i]);
	printf("\n");
	return 0;
}

static int open_handle(const char *mount, const char *type, const char *hex)
{
	struct file_handle *fh = calloc(1, sizeof(*fh) + MAX_HANDLE);
	size_t n = strlen(hex) / 2, i;
	struct stat st;
	int mfd, fd;

	if (!fh || n > MAX_HANDLE)
		return 2;
	fh->handle_type = atoi(type);
	fh->handle_bytes = n;
	for (i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return 2;
		fh->f_handle[i] = b;
	}
	mfd = open(mount, O_RDONLY | O_DIRECTORY);
	if (mfd < 0) {
		perror(mount);
		return 2;
	}
	fd = open_by_handle_at(mfd, fh, O_RDONLY);
	if (fd < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	if (fstat(fd, &st))
		return 2;
	printf("ino %llu\n", (unsigned long long)st.st_ino);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "get"))
		return get(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "open"))
		return open_handle(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: fhandle get PATH | fhandle open MOUNT TYPE HEX\n");
	return 2;
}
