// SPDX-License-Identifier: GPL-2.0
/*
 * mtouch FILE [OFFSET]: map FILE shared, read the page at OFFSET, print
 * "ready", wait for a line on stdin, read the page again and print "ok".
 * A poisoned page ends the process with SIGBUS at the second read, which
 * the caller sees in the exit status; with the si_code printed to stderr.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char msg[64];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg), "sigbus code %d\n", si->si_code);
	if (write(2, msg, n) < 0)
		_exit(3);
	_exit(135);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	volatile unsigned char *p;
	unsigned long sum = 0;
	off_t off = argc > 2 ? strtoll(argv[2], NULL, 0) : 0;
	char line[16];
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: mtouch FILE [OFFSET]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, off);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	sum += p[0];
	printf("ready %lu\n", sum);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	sum += p[1];
	printf("ok %lu\n", sum);
	return 0;
}
