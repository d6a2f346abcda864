// SPDX-License-Identifier: GPL-2.0
/*
 * maphold: map a file MAP_SHARED and keep the mapping while a test script
 * drives it, one command per line on stdin; one reply line per command on
 * stdout (flushed), so a script can wait for each step.
 *
 *   maphold FILE ro|rw
 *
 * Prints "ready SIZE" once mapped, then for each command:
 *   touch               read one byte of every page      -> "touched NPAGES"
 *   store OFF LEN SEED  store the pattern of tests/prog/pattern.c (same seed
 *                       gives the same bytes) at OFF      -> "stored"
 *                       (the EOF page's bytes past EOF may be stored to)
 *   check OFF LEN SEED  compare the mapping with the pattern -> "ok" or
 *                       "bad OFF"
 *   msync               msync(MS_SYNC) the whole mapping  -> "synced"
 *   quit                unmap and exit 0
 * A store that faults with SIGBUS kills the process (the script sees the
 * signal in the wait status).  EOF on stdin is "quit".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t word(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL ^
		     seed * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 29;
	return x | 1;
}

static unsigned char pat(uint64_t seed, uint64_t o)
{
	return (unsigned char)(word(seed, o & ~7ULL) >> ((o & 7) * 8));
}

static void die(const char *what)
{
	fprintf(stderr, "maphold: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	unsigned long long off, len, seed, i;
	volatile unsigned char *m;
	unsigned long sum = 0;
	char line[256], cmd[32];
	struct stat st;
	int rw, fd;

	if (argc != 3 || (strcmp(argv[2], "ro") && strcmp(argv[2], "rw"))) {
		fprintf(stderr, "usage: maphold FILE ro|rw\n");
		return 2;
	}
	rw = !strcmp(argv[2], "rw");
	fd = open(argv[1], rw ? O_RDWR : O_RDONLY);
	if (fd < 0)
		die(argv[1]);
	if (fstat(fd, &st))
		die("fstat");
	if (!st.st_size) {
		fprintf(stderr, "maphold: %s is empty\n", argv[1]);
		return 1;
	}
	m = mmap(NULL, st.st_size, PROT_READ | (rw ? PROT_WRITE : 0),
		 MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %lld\n", (long long)st.st_size);

	while (fgets(line, sizeof(line), stdin)) {
		int n = sscanf(line, "%31s %llu %llu %llu", cmd, &off, &len,
			       &seed);

		if (n < 1)
			continue;
		if (!strcmp(cmd, "quit"))
			break;
		if (!strcmp(cmd, "touch")) {
			for (i = 0; i < (unsigned long long)st.st_size;
			     i += 4096)
				sum += m[i];
			printf("touched %llu\n",
			       (unsigned long long)(st.st_size + 4095) / 4096);
		} else if (!strcmp(cmd, "msync")) {
			if (msync((void *)m, st.st_size, MS_SYNC))
				die("msync");
			printf("synced\n");
		} else if (n == 4 && (!strcmp(cmd, "store") ||
				      !strcmp(cmd, "check"))) {
			if (off + len > ((unsigned long long)st.st_size +
					 4095) / 4096 * 4096) {
				fprintf(stderr, "maphold: range past EOF\n");
				return 1;
			}
			if (cmd[0] == 's') {
				for (i = off; i < off + len; i++)
					m[i] = pat(seed, i);
				printf("stored\n");
				continue;
			}
			for (i = off; i < off + len; i++)
				if (m[i] != pat(seed, i))
					break;
			if (i < off + len)
				printf("bad %llu\n", i);
			else
				printf("ok\n");
		} else {
			fprintf(stderr, "maphold: bad command: %s", line);
			return 2;
		}
	}
	if (sum == 0xdeadbeef)	/* keep the touch loop */
		fprintf(stderr, "maphold: checksum %lu\n", sum);
	munmap((void *)m, st.st_size);
	close(fd);
	return 0;
}
