/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by mkfs.refdax and fsck.refdax (tools/refdax_tools.c,
 * tools/refdax_dev.c).
 */
#ifndef REFDAX_TOOLS_H
#define REFDAX_TOOLS_H

#include <stddef.h>
#include <sys/stat.h>
#include <linux/types.h>

int refdax_is_mounted(const char *path, const struct stat *st);

/* The device a tool works on (refdax_dev.c). */
struct refdax_dev {
	const char *path;
	int fd;
	int dax;		/* a device-dax instance (bound to device_dax) */
	__u64 bytes;		/* size (an image file: its size when probed) */
	__u64 unit;		/* mappings start and end on multiples of it */
	char name[64];		/* device-dax: daxX.Y */
};

/*
 * Kind, size and mapping unit of @fd, open on @path with status @st: 0, or
 * -1 with a one-line reason in @err.
 */
int refdax_dev_probe(struct refdax_dev *d, const char *path, int fd,
		     const struct stat *st, char *err, size_t errlen);
/* Map the first @len bytes shared, rounded up to the unit (*@maplen). */
void *refdax_dev_map(const struct refdax_dev *d, __u64 len, int prot,
		     __u64 *maplen);
/* Read the first @len bytes (no more than the device has). */
int refdax_dev_read(const struct refdax_dev *d, void *buf, size_t len);
/* Make stores to [@p, @p + @len) of a mapping durable: 0 or -1 (errno). */
int refdax_dev_sync(const struct refdax_dev *d, void *p, size_t len);
/* The same for a whole mapping, and the device's own caches (fsync). */
int refdax_dev_sync_all(const struct refdax_dev *d, void *map, size_t len);

#endif /* REFDAX_TOOLS_H */
