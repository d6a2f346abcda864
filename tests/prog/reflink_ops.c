// SPDX-License-Identifier: GPL-2.0
/*
 * reflink_ops: one remap call with chosen open modes, reporting the exact
 * result, so a test can assert the errno of each refusal.
 *
 *   reflink_ops OP SRC SMODE DST DMODE [SOFF DOFF LEN]
 *
 *   OP     clone   FICLONE (whole file; offsets ignored)
 *          range   FICLONERANGE
 *          dedupe  FIDEDUPERANGE with one destination
 *          copy    copy_file_range (one call)
 *   MODE   r, w, rw, rwa (O_RDWR|O_APPEND), rwc (O_RDWR|O_CREAT); the
 *          same path as SRC and DST with the same mode uses one open file
 *
 * Prints one line: "OK BYTES" (FICLONE: "OK 0"; dedupe: bytes_deduped),
 * "DIFFERS" when FIDEDUPERANGE reports FILE_DEDUPE_RANGE_DIFFERS, the errno
 * name of a failed call or of a negative dedupe status (e.g. "EINVAL"), or
 * "open-SRC: ENAME" / "open-DST: ENAME".  Exit 0 for OK, 1 otherwise, 2 on
 * usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

static int mode_flags(const char *m)
{
	if (!strcmp(m, "r"))
		return O_RDONLY;
	if (!strcmp(m, "w"))
		return O_WRONLY;
	if (!strcmp(m, "rw"))
		return O_RDWR;
	if (!strcmp(m, "rwa"))
		return O_RDWR | O_APPEND;
	if (!strcmp(m, "rwc"))
		return O_RDWR | O_CREAT;
	fprintf(stderr, "reflink_ops: bad mode %s\n", m);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long soff = 0, doff = 0, len = 0;
	const char *op;
	int sfd, dfd;
	long long ret;

	if (argc != 6 && argc != 9) {
		fprintf(stderr, "usage: reflink_ops clone|range|dedupe|copy SRC SMODE DST DMODE [SOFF DOFF LEN]\n");
		return 2;
	}
	op = argv[1];
	if (argc == 9) {
		soff = strtoull(argv[6], NULL, 0);
		doff = strtoull(argv[7], NULL, 0);
		len = strtoull(argv[8], NULL, 0);
	}
	sfd = open(argv[2], mode_flags(argv[3]), 0644);
	if (sfd < 0) {
		printf("open-SRC: %s\n", ename(errno));
		return 1;
	}
	if (!strcmp(argv[2], argv[4]) && !strcmp(argv[3], argv[5])) {
		dfd = sfd;
	} else {
		dfd = open(argv[4], mode_flags(argv[5]), 0644);
		if (dfd < 0) {
			printf("open-DST: %s\n", ename(errno));
			return 1;
		}
	}

	if (!strcmp(op, "clone")) {
		ret = ioctl(dfd, FICLONE, sfd);
	} else if (!strcmp(op, "range")) {
		struct file_clone_range r = {
			.src_fd = sfd,
			.src_offset = soff,
			.src_length = len,
			.dest_offset = doff,
		};

		ret = ioctl(dfd, FICLONERANGE, &r);
		if (!ret)
			ret = len;
	} else if (!strcmp(op, "dedupe")) {
		struct file_dedupe_range *d;
		struct file_dedupe_range_info *info;

		d = calloc(1, sizeof(*d) + sizeof(*info));
		if (!d)
			return 2;
		info = &d->info[0];
		d->src_offset = soff;
		d->src_length = len;
		d->dest_count = 1;
		info->dest_fd = dfd;
		info->dest_offset = doff;
		/* Poison the outputs: the kernel must set them. */
		info->bytes_deduped = 0xdeadULL;
		info->status = 0x5a5a;
		ret = ioctl(sfd, FIDEDUPERANGE, d);
		if (!ret) {
			if (info->status == FILE_DEDUPE_RANGE_DIFFERS) {
				printf("DIFFERS\n");
				return 1;
			}
			if (info->status < 0) {
				printf("%s\n", ename(-info->status));
				return 1;
			}
			if (info->status != FILE_DEDUPE_RANGE_SAME) {
				printf("STATUS-%d\n", info->status);
				return 1;
			}
			ret = info->bytes_deduped;
		}
	} else if (!strcmp(op, "copy")) {
		loff_t so = soff, dof = doff;

		ret = copy_file_range(sfd, &so, dfd, &dof, len, 0);
	} else {
		fprintf(stderr, "reflink_ops: bad op %s\n", op);
		return 2;
	}
	if (ret < 0) {
		printf("%s\n", ename(errno));
		return 1;
	}
	printf("OK %lld\n", ret);
	return 0;
}
