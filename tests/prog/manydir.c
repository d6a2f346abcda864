// SPDX-License-Identifier: GPL-2.0
/*
 * manydir: a directory with many entries.
 *
 *   manydir DIR N [FILES]
 *
 * Creates N entries f<i> (with names of varying length) in DIR: the first
 * FILES (default N) are new empty files, the rest hard links to f<i % FILES>
 * (so a directory can be far larger than the inode table).  It looks
 * each one up by name in a scrambled order (stat: must exist, be a regular
 * file, have a distinct inode number), reads the directory and checks that
 * it lists exactly "." , ".." and the N names once each, removes every
 * other file and checks lookups and the listing again, then removes the
 * rest and checks that DIR is empty.  Prints the time of each phase.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long n, nfiles;
static char *seen;
static ino_t *inos;

static void name_of(long i, char *buf, size_t len)
{
	/* Lengths 2..~60 so directory blocks see a mix of record sizes. */
	int pad = (int)(i * 7 % 50);

	snprintf(buf, len, "f%ld_%.*s", i, pad, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what, const char *name)
{
	fprintf(stderr, "manydir: %s %s: %s\n", what, name, strerror(errno));
	exit(1);
}

static long parse_index(const char *name)
{
	char *end;
	long i;

	if (name[0] != 'f')
		return -1;
	i = strtol(name + 1, &end, 10);
	if (*end != '_' || i < 0 || i >= n)
		return -1;
	char want[128];

	name_of(i, want, sizeof(want));
	return strcmp(want, name) ? -1 : i;
}

/* Check the listing: exactly the names with (i % step == phase) or all. */
static void check_listing(int dfd, int only_odd)
{
	DIR *d = fdopendir(dup(dfd));
	struct dirent *de;
	long count = 0, dots = 0;

	if (!d)
		die("fdopendir", "");
	rewinddir(d);
	memset(seen, 0, n);
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			dots++;
			continue;
		}
		long i = parse_index(de->d_name);

		if (i < 0) {
			fprintf(stderr, "manydir: unexpected entry '%s'\n", de->d_name);
			exit(1);
		}
		if (only_odd && !(i & 1)) {
			fprintf(stderr, "manydir: removed entry '%s' still listed\n", de->d_name);
			exit(1);
		}
		if (seen[i]) {
			fprintf(stderr, "manydir: entry '%s' listed twice\n", de->d_name);
			exit(1);
		}
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) {
			fprintf(stderr, "manydir: entry '%s' has d_type %d\n", de->d_name, de->d_type);
			exit(1);
		}
		seen[i] = 1;
		count++;
	}
	if (errno)
		die("readdir", "");
	closedir(d);
	long want = only_odd ? n / 2 : n;

	if (dots != 2 || count != want) {
		fprintf(stderr, "manydir: listing has %ld entries and %ld dots, expected %ld and 2\n",
			count, dots, want);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char name[128];
	struct stat st;
	double t;
	int dfd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: manydir DIR N [FILES]\n");
		return 2;
	}
	n = atol(argv[2]);
	nfiles = argc == 4 ? atol(argv[3]) : n;
	if (nfiles < 1 || nfiles > n)
		nfiles = n;
	seen = calloc(n, 1);
	inos = calloc(n, sizeof(*inos));
	if (!seen || !inos)
		return 1;
	if (mkdir(argv[1], 0755) && errno != EEXIST)
		die("mkdir", argv[1]);
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open", argv[1]);

	t = now();
	for (long i = 0; i < n; i++) {
		name_of(i, name, sizeof(name));
		if (i < nfiles) {
			int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY, 0644);

			if (fd < 0)
				die("create", name);
			close(fd);
		} else {
			char base[128];

			name_of(i % nfiles, base, sizeof(base));
			if (linkat(dfd, base, dfd, name, 0))
				die("link", name);
		}
	}
	printf("create %ld (%ld inodes): %.1fs\n", n, nfiles, now() - t);

	t = now();
	for (long k = 0; k < n; k++) {
		long i = (k * 7919) % n; /* 7919 is prime: a permutation unless n % 7919 == 0 */

		if (n % 7919 == 0)
			i = k;
		name_of(i, name, sizeof(name));
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
			die("lookup", name);
		long base = i % nfiles;
		nlink_t want = n / nfiles + (base < n % nfiles);

		if (!S_ISREG(st.st_mode) || st.st_size != 0 || st.st_nlink != want) {
			fprintf(stderr, "manydir: %s: mode %o size %lld nlink %lu (want %lu)\n", name,
				st.st_mode, (long long)st.st_size, (unsigned long)st.st_nlink,
				(unsigned long)want);
			return 1;
		}
		inos[i] = st.st_ino;
	}
	/* Links share the inode of their base file. */
	for (long i = nfiles; i < n; i++)
		if (inos[i] != inos[i % nfiles]) {
			fprintf(stderr, "manydir: link f%ld has inode %llu, base f%ld has %llu\n", i,
				(unsigned long long)inos[i], i % nfiles,
				(unsigned long long)inos[i % nfiles]);
			return 1;
		}
	printf("lookup %ld: %.1fs\n", n, now() - t);
	/* Distinct inode numbers among the files. */
	for (long i = 0; i < nfiles; i++)
		for (long j = i + 1; j < nfiles && j < i + 64; j++)
			if (inos[i] == inos[j]) {
				fprintf(stderr, "manydir: f%ld and f%ld share inode %llu\n", i, j,
					(unsigned long long)inos[i]);
				return 1;
			}
	name_of(n, name, sizeof(name)); /* never created */
	if (!fstatat(dfd, name, &st, 0) || errno != ENOENT) {
		fprintf(stderr, "manydir: lookup of missing %s did not give ENOENT\n", name);
		return 1;
	}

	t = now();
	check_listing(dfd, 0);
	printf("readdir %ld: %.1fs\n", n, now() - t);

	t = now();
	for (long i = 0; i < n; i += 2) {
		name_of(i, name, sizeof(name));
		if (unlinkat(dfd, name, 0))
			die("unlink", name);
	}
	for (long i = 0; i < n; i++) {
		name_of(i, name, sizeof(name));
		int r = fstatat(dfd, name, &st, 0);

		if ((i & 1) ? r != 0 : (r == 0 || errno != ENOENT)) {
			fprintf(stderr, "manydir: after removing evens, lookup of %s gave %d\n", name, r);
			return 1;
		}
	}
	check_listing(dfd, 1);
	for (long i = 1; i < n; i += 2) {
		name_of(i, name, sizeof(name));
		if (unlinkat(dfd, name, 0))
			die("unlink", name);
	}
	printf("unlink %ld: %.1fs\n", n, now() - t);
	n = 0;
	check_listing(dfd, 0);
	close(dfd);
	if (rmdir(argv[1]))
		die("rmdir", argv[1]);
	return 0;
}
