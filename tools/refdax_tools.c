// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the userspace tools (mkfs.refdax, fsck.refdax) but not
 * by the kernel module, which is why they are not in common/.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "refdax_tools.h"

/*
 * Is @path mounted?  A block or character (device-dax) device matches a
 * mounted device of its kind by number, a regular file (image) by its
 * resolved path.
 */
int refdax_is_mounted(const char *path, const struct stat *st)
{
	char real[PATH_MAX], mreal[PATH_MAX];
	char dev[PATH_MAX], dir[PATH_MAX];
	int have_real = !!realpath(path, real);
	FILE *mf = fopen("/proc/self/mounts", "r");
	char line[3 * PATH_MAX];
	int found = 0;

	if (!mf)
		return 0;
	while (!found && fgets(line, sizeof(line), mf)) {
		struct stat mst;

		if (sscanf(line, "%4095s %4095s", dev, dir) != 2)
			continue;
		if ((S_ISBLK(st->st_mode) || S_ISCHR(st->st_mode)) &&
		    dev[0] == '/' && stat(dev, &mst) == 0 &&
		    (mst.st_mode & S_IFMT) == (st->st_mode & S_IFMT) &&
		    mst.st_rdev == st->st_rdev)
			found = 1;
		else if (have_real && realpath(dev, mreal) &&
			 strcmp(real, mreal) == 0)
			found = 1;
	}
	fclose(mf);
	return found;
}
