/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by mkfs.refdax and fsck.refdax (tools/refdax_tools.c). */
#ifndef REFDAX_TOOLS_H
#define REFDAX_TOOLS_H

#include <sys/stat.h>

int refdax_is_mounted(const char *path, const struct stat *st);

#endif /* REFDAX_TOOLS_H */
