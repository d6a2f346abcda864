// SPDX-License-Identifier: GPL-2.0
/*
 * The device mkfs.refdax and fsck.refdax work on: an image file, a block
 * device (fsdax pmem, /dev/pmemN) or a device-dax instance (/dev/daxX.Y).
 *
 * The tools reach all three through a shared mapping.  A device-dax
 * instance has no read, write or fsync, and takes only shared mappings
 * that start and end on its alignment (often 2 MiB): it is sized and
 * checked through sysfs, mapped in whole units, and written back with
 * cache-line flushes and a fence where the others use msync.  It must be
 * bound to device_dax: under fsdev_dax, which refdax mounts on 7.x,
 * userspace cannot map it at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#include "refdax_tools.h"

#define DAX_DRIVERS	"/sys/bus/dax/drivers/"

/* The last path component @link points to, in @buf; "" if it is no link. */
static const char *link_name(const char *link, char *buf, size_t len)
{
	ssize_t n = readlink(link, buf, len - 1);
	char *slash;

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

/* A number from sysfs file @dir/@attr (decimal or 0x hex); 0 if none. */
static unsigned long long sysfs_num(const char *dir, const char *attr)
{
	char path[128], buf[64];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = strtoull(buf, NULL, 0);
	fclose(f);
	return v;
}

/* A character device: a device-dax instance bound to device_dax? */
static int probe_dax(struct refdax_dev *d, const struct stat *st, char *err,
		     size_t errlen)
{
	char dir[64], real[PATH_MAX], buf[128], drv[PATH_MAX];
	const char *bus, *drvname;

	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u", major(st->st_rdev),
		 minor(st->st_rdev));
	snprintf(buf, sizeof(buf), "%s/subsystem", dir);
	bus = link_name(buf, real, sizeof(real));
	if (strcmp(bus, "dax")) {
		snprintf(err, errlen,
			 "%s is a character device but not a device-dax instance (/dev/daxX.Y)",
			 d->path);
		return -1;
	}
	if (!realpath(dir, real)) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", d->path,
			 dir, strerror(errno));
		return -1;
	}
	snprintf(d->name, sizeof(d->name), "%s", basename(real));
	snprintf(buf, sizeof(buf), "%s/driver", dir);
	drvname = link_name(buf, drv, sizeof(drv));
	if (!strcmp(drvname, "fsdev_dax")) {
		snprintf(err, errlen,
			 "%s is bound to fsdev_dax, which userspace cannot map: echo %s > "
			 DAX_DRIVERS "fsdev_dax/unbind; echo %s > " DAX_DRIVERS
			 "device_dax/bind",
			 d->path, d->name, d->name);
		return -1;
	}
	if (strcmp(drvname, "device_dax")) {
		snprintf(err, errlen,
			 "%s is bound to %s, not device_dax: bind it with echo %s > "
			 DAX_DRIVERS "device_dax/bind",
			 d->path, *drvname ? drvname : "no driver", d->name);
		return -1;
	}
	d->dax = 1;
	d->bytes = sysfs_num(dir, "size");
	d->unit = sysfs_num(dir, "align");
	if (!d->unit)		/* kernels without the attribute: a PMD */
		d->unit = 2ULL << 20;
	if (!d->bytes) {
		snprintf(err, errlen, "%s: cannot read the size of %s", d->path,
			 d->name);
		return -1;
	}
	return 0;
}

int refdax_dev_probe(struct refdax_dev *d, const char *path, int fd,
		     const struct stat *st, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->path = path;
	d->fd = fd;
	d->unit = (unsigned long long)sysconf(_SC_PAGESIZE);
	if (S_ISREG(st->st_mode)) {
		d->bytes = (__u64)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode)) {
		if (!ioctl(fd, BLKGETSIZE64, &d->bytes))
			return 0;
		snprintf(err, errlen, "cannot get the size of %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (S_ISCHR(st->st_mode))
		return probe_dax(d, st, err, errlen);
	snprintf(err, errlen,
		 "%s is not a block device, a device-dax instance or a regular file",
		 path);
	return -1;
}

void *refdax_dev_map(const struct refdax_dev *d, __u64 len, int prot,
		     __u64 *maplen)
{
	len = (len + d->unit - 1) / d->unit * d->unit;
	*maplen = len;
	return mmap(NULL, len, prot, MAP_SHARED, d->fd, 0);
}

int refdax_dev_read(const struct refdax_dev *d, void *buf, size_t len)
{
	__u64 maplen;
	void *p;

	if (!d->dax)
		return pread(d->fd, buf, len, 0) < 0 ? -1 : 0;
	if (len > d->bytes)
		len = d->bytes;
	p = refdax_dev_map(d, len, PROT_READ, &maplen);
	if (p == MAP_FAILED)
		return -1;
	memcpy(buf, p, len);
	munmap(p, maplen);
	return 0;
}

/* Write the cache lines of [p, p + len) back to the media, then fence. */
static int flush_lines(const void *p, size_t len)
{
#ifdef __SSE2__		/* x86: CLFLUSH and MFENCE */
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)63;
	uintptr_t e = (uintptr_t)p + len;

	for (; a < e; a += 64)
		__builtin_ia32_clflush((const void *)a);
	__builtin_ia32_mfence();	/* CLFLUSH is ordered by MFENCE */
	return 0;
#else
	(void)p;
	(void)len;
	errno = EOPNOTSUPP;
	return -1;
#endif
}

int refdax_dev_sync(const struct refdax_dev *d, void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(page - 1);

	if (!len)
		return 0;
	if (d->dax)
		return flush_lines(p, len);
	return msync((void *)a, (uintptr_t)p + len - a, MS_SYNC);
}

int refdax_dev_sync_all(const struct refdax_dev *d, void *map, size_t len)
{
	if (refdax_dev_sync(d, map, len))
		return -1;
	return d->dax ? 0 : fsync(d->fd);
}
