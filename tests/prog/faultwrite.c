// SPDX-License-Identifier: GPL-2.0
/*
 * faultwrite: one pwrite(2) whose user buffer faults part way, to check
 * what a short write leaves in the file.
 *
 *   faultwrite FILE OFF LEN GOOD BYTE
 *
 * The buffer holds GOOD readable bytes of value BYTE (GOOD a multiple of
 * 4096), followed by an inaccessible (PROT_NONE) page; LEN bytes are
 * written at OFF.  Prints "wrote N" or the errno name, exit 0 either way
 * (2 on usage or set-up errors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long off, len, good;
	unsigned char *buf;
	ssize_t r;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: faultwrite FILE OFF LEN GOOD BYTE\n");
		return 2;
	}
	off = strtol(argv[2], NULL, 0);
	len = strtol(argv[3], NULL, 0);
	good = strtol(argv[4], NULL, 0);
	if (good % 4096 || len <= good) {
		fprintf(stderr, "faultwrite: GOOD must be a page multiple below LEN\n");
		return 2;
	}
	buf = mmap(NULL, good + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 2;
	memset(buf, (int)strtol(argv[5], NULL, 0), good);
	if (mprotect(buf + good, 4096, PROT_NONE))
		return 2;
	fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "faultwrite: open %s: %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	r = pwrite(fd, buf, len, off);
	if (r < 0)
		printf("%s\n", strerrorname_np(errno));
	else
		printf("wrote %zd\n", r);
	close(fd);
	return 0;
}
