// SPDX-License-Identifier: GPL-2.0
/*
 * corrupt_walk: exercise a mounted (possibly corrupt) filesystem the way a
 * user would, in one process so that a TCG guest spends its time in the
 * filesystem rather than in fork/exec.
 *
 *   corrupt_walk [-l] [-r] MNT
 *   corrupt_walk -I INDEX -d DEV -m MNT -o OPTS -t SECS -D DESC -R RESULTS
 *
 * The second form is the whole per-image step of the guest job: clear the
 * kernel log, mount DEV (mount(2), OPTS as data), walk as below, check that
 * no write succeeds once the kernel log says the filesystem shut down,
 * unmount, then judge the kernel log (oops/WARN/lockup patterns, the
 * refusal reason, journal recovery of entries the generator marked as
 * forbidden) and append one line to RESULTS:
 *   RESULT INDEX refused|clean|errors|FAIL <tab> DESC <tab> detail
 * Every step runs in a child with a SECS deadline; a child that SIGKILL
 * cannot end within 10 s is a hang: "HANG ..." goes to RESULTS' sibling
 * file "progress", blocked tasks are dumped (sysrq w) and the exit status is
 * 3 so the job powers the guest off.  Doing all this in one process matters:
 * every exec in a TCG guest whose root is 9p costs about a second under
 * load.
 *
 * Lists every directory (like find -ls: -l prints each entry), lstat()s
 * every entry, reads every regular file to its end, readlink()s every
 * symlink, mmap-reads the first non-empty regular file page by page (SIGBUS
 * is caught and counted), then, unless -r, tries writes: create + write,
 * append, truncate, overwrite a block of an existing file, FICLONE, mkdir,
 * unlink an existing file, rmdir an existing empty directory, rename.
 *
 * Failures are expected on a corrupt image; what matters is that each one is
 * an errno, not a crash.  Prints one summary line:
 *   walk: entries=N dirs=N files=N symlinks=N bytes=N mmap=R writes=W/T
 *         errs=EUCLEAN:N,EIO:N,EROFS:N,other:N first=OP:ERRNAME:PATH
 * Exit status 0 (1 only on usage errors).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#define MAX_ENTRIES	20000
#define MAX_DEPTH	32
#define MAX_READ	(64ULL << 20)

static int list, readonly;
static unsigned long entries, dirs, files, symlinks;
static unsigned long long bytes;
static unsigned long n_euclean, n_eio, n_erofs, n_other;
static char first[PATH_MAX + 64];
static char mmap_file[PATH_MAX], some_file[PATH_MAX], empty_dir[PATH_MAX];
/* the inode the generator mutated ([target=N] in its description) */
static unsigned long target_ino;
static char target_path[PATH_MAX];
static mode_t target_mode;
static char buf[1 << 16];

static void err(const char *op, const char *path, int e)
{
	switch (e) {
	case EUCLEAN: n_euclean++; break;
	case EIO: n_eio++; break;
	case EROFS: n_erofs++; break;
	default: n_other++; break;
	}
	if (!first[0] && e != EROFS)
		snprintf(first, sizeof(first), "%s:%s:%s", op, strerrorname_np(e) ?
			 strerrorname_np(e) : "?", path);
}

static void read_file(const char *path, const struct stat *st)
{
	unsigned long long got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);

	if (fd < 0) {
		err("open", path, errno);
		return;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			err("read", path, errno);
			break;
		}
		if (n == 0)
			break;
		got += n;
		if (got >= MAX_READ)
			break;
	}
	bytes += got;
	close(fd);
	if (!mmap_file[0] && st->st_size > 0)
		snprintf(mmap_file, sizeof(mmap_file), "%s", path);
	else if (!some_file[0] && st->st_size > 0)
		snprintf(some_file, sizeof(some_file), "%s", path);
}

static void walk(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX];
	struct stat st;
	int nent = 0;

	if (depth > MAX_DEPTH)
		return;
	d = opendir(dir);
	if (!d) {
		err("opendir", dir, errno);
		return;
	}
	dirs++;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				err("readdir", dir, errno);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++entries > MAX_ENTRIES)
			break;
		nent++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st)) {
			err("lstat", path, errno);
			continue;
		}
		if (target_ino && st.st_ino == target_ino && !target_path[0]) {
			snprintf(target_path, sizeof(target_path), "%s", path);
			target_mode = st.st_mode;
		}
		if (list)
			printf("%lu %o %lu %lld %s\n", (unsigned long)st.st_ino,
			       st.st_mode, (unsigned long)st.st_nlink,
			       (long long)st.st_size, path);
		if (S_ISREG(st.st_mode)) {
			files++;
			read_file(path, &st);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(path, buf, sizeof(buf));

			symlinks++;
			if (n < 0)
				err("readlink", path, errno);
		} else if (S_ISDIR(st.st_mode)) {
			walk(path, depth + 1);
		}
	}
	closedir(d);
	if (nent == 0 && depth > 0 && !empty_dir[0])
		snprintf(empty_dir, sizeof(empty_dir), "%s", dir);
}

static sigjmp_buf jb;

static void on_sigbus(int sig)
{
	siglongjmp(jb, sig);
}

static const char *do_mmap(void)
{
	struct stat st;
	volatile unsigned long sum = 0;
	static const char *res;
	size_t len, off;
	char *p;
	int fd;

	if (!mmap_file[0])
		return "none";
	fd = open(mmap_file, O_RDONLY);
	if (fd < 0) {
		err("mmap-open", mmap_file, errno);
		return "open-failed";
	}
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return "none";
	}
	len = st.st_size > (1 << 20) ? (1 << 20) : (size_t)st.st_size;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err("mmap", mmap_file, errno);
		close(fd);
		return "mmap-failed";
	}
	signal(SIGBUS, on_sigbus);
	res = "ok";
	if (sigsetjmp(jb, 1) == 0) {
		for (off = 0; off < len; off += 4096)
			sum += p[off];
	} else {
		res = "sigbus";
		err("mmap-read", mmap_file, EIO);
	}
	signal(SIGBUS, SIG_DFL);
	munmap(p, len);
	close(fd);
	return res;
}

static unsigned int w_ok, w_try;

static void w(int ok, const char *op, const char *path)
{
	w_try++;
	if (ok)
		w_ok++;
	else
		err(op, path, errno);
}

/* Change the mutated inode itself: that is where the write paths meet the
 * corruption (tree splits and frees, directory inserts and removals).
 */
static void target_writes(const char *mnt)
{
	char a[PATH_MAX + 64], b[PATH_MAX];
	const char *t = target_path;
	struct stat st;
	int fd, fd2, i;

	if (S_ISREG(target_mode)) {
		fd = open(t, O_RDWR);
		w(fd >= 0, "t-open", t);
		if (fd < 0)
			return;
		if (fstat(fd, &st) == 0) {
			off_t mid = (st.st_size / 2) & ~4095L;

			w(pwrite(fd, buf, 4096, mid) == 4096, "t-overwrite", t);
			w(pwrite(fd, buf, 8192, st.st_size) == 8192, "t-append", t);
			w(ftruncate(fd, mid + 100) == 0, "t-truncate", t);
		}
		snprintf(b, sizeof(b), "%s/cw_tclone", mnt);
		fd2 = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd2 >= 0) {
			w(ioctl(fd2, FICLONE, fd) == 0, "t-ficlone", b);
			w(pwrite(fd2, buf, 4096, 0) == 4096, "t-cow", b);
			close(fd2);
		}
		w(fsync(fd) == 0, "t-fsync", t);
		close(fd);
		w(unlink(t) == 0, "t-unlink", t);
	} else if (S_ISDIR(target_mode)) {
		for (i = 0; i < 24; i++) {
			snprintf(a, sizeof(a), "%s/cw_a_new_entry_with_a_long_name_%02d", t, i);
			fd = open(a, O_WRONLY | O_CREAT, 0644);
			w(fd >= 0, "t-create", a);
			if (fd >= 0)
				close(fd);
		}
		snprintf(a, sizeof(a), "%s/cw_tdir", t);
		w(mkdir(a, 0755) == 0, "t-mkdir", a);
		w(rmdir(a) == 0, "t-rmdir", a);
		for (i = 0; i < 24; i += 2) {
			snprintf(a, sizeof(a), "%s/cw_a_new_entry_with_a_long_name_%02d", t, i);
			w(unlink(a) == 0, "t-unlink", a);
		}
		snprintf(a, sizeof(a), "%s/cw_a_new_entry_with_a_long_name_01", t);
		snprintf(b, sizeof(b), "%s/cw_moved_up", mnt);
		w(rename(a, b) == 0, "t-rename", a);
	} else if (target_path[0]) {
		w(unlink(t) == 0, "t-unlink", t);
		w(symlink("a/new/long/target/that/does/not/fit/inline/in/the/inode/"
			  "because/it/is/much/longer/than/one/hundred/and/twenty/bytes/"
			  "which/is/the/inline/limit", t) == 0, "t-symlink", t);
	}
}

static void do_writes(const char *mnt)
{
	char a[PATH_MAX], b[PATH_MAX];
	int fd, fd2;

	memset(buf, 0x5a, sizeof(buf));
	if (target_path[0])
		target_writes(mnt);
	snprintf(a, sizeof(a), "%s/cw_new", mnt);
	fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0644);
	w(fd >= 0, "create", a);
	if (fd >= 0) {
		w(pwrite(fd, buf, 8192, 0) == 8192, "write", a);
		w(ftruncate(fd, 5000) == 0, "truncate", a);
		close(fd);
	}
	fd = open(a, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		w(write(fd, buf, 4096) == 4096, "append", a);
		close(fd);
	}
	if (mmap_file[0]) {
		fd = open(mmap_file, O_WRONLY);
		w(fd >= 0, "open-w", mmap_file);
		if (fd >= 0) {
			w(pwrite(fd, buf, 4096, 0) == 4096, "overwrite", mmap_file);
			close(fd);
		}
		fd = open(mmap_file, O_RDONLY);
		snprintf(b, sizeof(b), "%s/cw_clone", mnt);
		fd2 = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0 && fd2 >= 0)
			w(ioctl(fd2, FICLONE, fd) == 0, "ficlone", b);
		if (fd >= 0)
			close(fd);
		if (fd2 >= 0)
			close(fd2);
	}
	snprintf(b, sizeof(b), "%s/cw_dir", mnt);
	w(mkdir(b, 0755) == 0, "mkdir", b);
	snprintf(b, sizeof(b), "%s/cw_dir/f", mnt);
	fd = open(b, O_WRONLY | O_CREAT, 0644);
	w(fd >= 0, "create-in-dir", b);
	if (fd >= 0)
		close(fd);
	snprintf(b, sizeof(b), "%s/cw_renamed", mnt);
	w(rename(a, b) == 0, "rename", a);
	if (some_file[0])
		w(unlink(some_file) == 0, "unlink", some_file);
	if (empty_dir[0])
		w(rmdir(empty_dir) == 0, "rmdir", empty_dir);
	w(unlink(b) == 0, "unlink", b);
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		w(syncfs(fd) == 0, "syncfs", mnt);
		close(fd);
	}
}

/* ---- per-image driver ---- */
/* tests/guest/bad-patterns.txt, made into C by the Makefile */
static const char *const bad_patterns[] = {
#include "bad_patterns.h"
};

static char *shared;		/* child -> parent summary */
#define SHARED_LEN	2048
static char logbuf[1 << 20];

static int klog_read(void)
{
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, logbuf,
			sizeof(logbuf) - 1);

	if (n < 0)
		n = 0;
	logbuf[n] = '\0';
	return n;
}

static void sysrq(char c)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, &c, 1) != 1)
			perror("sysrq");
		close(fd);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char hang_what[512];

/*
 * Run @fn in a child with a deadline.  Returns its exit status, 124 when it
 * had to be killed, or -1 when it could not be killed at all (a hang).
 */
static int step(const char *name, int (*fn)(void *), void *arg, int secs)
{
	double end = now() + secs;
	int st, killed = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -2;
	if (pid == 0)
		_exit(fn(arg));
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (now() > end) {
			if (killed == 0) {
				kill(pid, SIGKILL);
				killed = 1;
				end = now() + 10;
			} else {
				char path[64], stat[512] = "";
				int fd;

				snprintf(path, sizeof(path), "/proc/%d/stat", pid);
				fd = open(path, O_RDONLY);
				if (fd >= 0) {
					ssize_t n = read(fd, stat, sizeof(stat) - 1);

					stat[n > 0 ? n : 0] = '\0';
					close(fd);
				}
				snprintf(hang_what, sizeof(hang_what),
					 "%s stuck after SIGKILL: %.200s", name, stat);
				return -1;
			}
		}
		usleep(20000);
	}
	if (killed)
		return 124;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct mount_arg {
	const char *dev, *mnt, *opts;
};

static int do_mount(void *p)
{
	struct mount_arg *m = p;

	if (mount(m->dev, m->mnt, "refdax", 0,
		  strcmp(m->opts, "defaults") ? m->opts : NULL)) {
		snprintf(shared, SHARED_LEN, "mount: %s", strerror(errno));
		return 1;
	}
	return 0;
}

static int do_umount(void *p)
{
	struct mount_arg *m = p;

	if (umount(m->mnt)) {
		snprintf(shared, SHARED_LEN, "umount: %s", strerror(errno));
		return 1;
	}
	return 0;
}

static int do_walk(void *p)
{
	const char *mnt = p;
	const char *mmap_res;

	walk(mnt, 0);
	mmap_res = do_mmap();
	if (!readonly)
		do_writes(mnt);
	snprintf(shared, SHARED_LEN,
		 "walk: entries=%lu files=%lu bytes=%llu target=%s mmap=%s writes=%u/%u errs=EUCLEAN:%lu,EIO:%lu,EROFS:%lu,other:%lu first=%.300s",
		 entries, files, bytes, target_path[0] ? "found" : "-", mmap_res, w_ok, w_try, n_euclean, n_eio,
		 n_erofs, n_other, first[0] ? first : "-");
	return 0;
}

static int do_probe(void *p)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/cw_probe_after_shutdown", (char *)p);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return 0;
}

/* First kernel log line containing @needle, copied without its prefix. */
static const char *log_line(const char *needle, char *out, size_t len)
{
	const char *p = strstr(logbuf, needle), *b, *e;

	if (!p)
		return NULL;
	for (b = p; b > logbuf && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	if (*b == '<')
		b = strchr(b, '>') ? strchr(b, '>') + 1 : b;
	if (*b == '[')
		b = strchr(b, ']') ? strchr(b, ']') + 2 : b;
	if (b > e)
		b = p;
	snprintf(out, len, "%.*s", (int)(e - b), b);
	return out;
}

static void __attribute__((format(printf, 2, 3)))
add_fail(char *fail, const char *fmt, ...)
{
	size_t n = strlen(fail), cap = 1024;
	va_list ap;

	if (n && n + 2 < cap) {
		strcpy(fail + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(fail + n, cap - n, fmt, ap);
	va_end(ap);
}

static int drive(int index, const char *dev, const char *mnt, const char *opts,
		 int secs, const char *desc, const char *results)
{
	struct mount_arg ma = { dev, mnt, opts };
	char fail[1024] = "", detail[1536] = "", line[400];
	const char *status = "clean";
	double t0 = now(), tm, tw = 0, tu = 0;
	int rc, mounted = 0, hang = 0;
	unsigned int i;
	FILE *f;

	shared = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 2;
	shared[0] = '\0';
	rc = step("mount", do_mount, &ma, secs);
	tm = now();
	if (rc == -1) {
		hang = 1;
	} else if (rc == 124) {
		add_fail(fail, "mount timed out");
	} else if (rc != 0) {
		status = "refused";
		klog_read();
		if (log_line("cannot mount", line, sizeof(line)) ||
		    log_line("refdax", line, sizeof(line)))
			snprintf(detail, sizeof(detail), "%s", line);
		else
			add_fail(fail, "mount refused (%s) without a reason in the kernel log",
				 shared);
	} else {
		mounted = 1;
		shared[0] = '\0';
		rc = step("walk", do_walk, (void *)mnt, secs);
		tw = now();
		if (rc == -1)
			hang = 1;
		else if (rc == 124)
			add_fail(fail, "walk timed out after %d s", secs);
		else if (rc)
			add_fail(fail, "walk died with status %d", rc);
		snprintf(detail, sizeof(detail), "%s %s", opts, shared);
		klog_read();
		if (!hang && strstr(logbuf, "shut down") &&
		    strcmp(opts, "errors=continue")) {
			rc = step("probe", do_probe, (void *)mnt, secs);
			if (rc == -1)
				hang = 1;
			else if (rc == 1)
				add_fail(fail, "a file was created after the shutdown");
		}
		if (!hang) {
			shared[0] = '\0';
			rc = step("umount", do_umount, &ma, secs);
			tu = now();
			if (rc == -1)
				hang = 1;
			else if (rc == 124)
				add_fail(fail, "umount timed out");
			else if (rc)
				add_fail(fail, "%s", shared);
			else
				mounted = 0;
		}
		if (strstr(detail, "EUCLEAN:0,EIO:0,EROFS:0") == NULL ||
		    strstr(logbuf, "corruption in"))
			status = "errors";
		if (log_line("corruption in", line, sizeof(line)))
			snprintf(detail + strlen(detail),
				 sizeof(detail) - strlen(detail), " kmsg: %s", line);
		/*
		 * Corruption met under errors=remount-ro (explicit, or the
		 * superblock default the mutation did not touch) must shut
		 * the filesystem down: an EUCLEAN the kernel did not report
		 * escapes errors=.  ("corruption in" lines are rate limited,
		 * the one "shut down" line is not.)
		 */
		if ((strstr(logbuf, "corruption in") ||
		     (strstr(detail, "errs=EUCLEAN:") && !strstr(detail, "EUCLEAN:0,"))) &&
		    !strstr(logbuf, "shut down") &&
		    (!strcmp(opts, "errors=remount-ro") ||
		     (!strcmp(opts, "defaults") && !strstr(desc, "s_errors") &&
		      !strstr(desc, "superblock"))))
			add_fail(fail, "corruption met but the filesystem did not shut down (%s)",
				 opts);
		if (strstr(desc, "expect=refuse"))
			add_fail(fail, "mounted although the mutation must be refused");
	}
	if (hang) {
		add_fail(fail, "hang: %s", hang_what);
		sysrq('w');
	}
	klog_read();
	klogctl(5 /* SYSLOG_ACTION_CLEAR */, NULL, 0);
	if (strstr(desc, "expect=norecover") &&
	    strstr(logbuf, "journal recovery undid"))
		add_fail(fail, "journal recovery applied an entry it must refuse");
	for (i = 0; i < sizeof(bad_patterns) / sizeof(bad_patterns[0]); i++)
		if (strstr(logbuf, bad_patterns[i]))
			add_fail(fail, "kernel log: %s", bad_patterns[i]);
	if (fail[0] && strstr(fail, "kernel log")) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%.*s/image-%d.dmesg",
			 (int)(strrchr(results, '/') ? strrchr(results, '/') - results : 1),
			 strrchr(results, '/') ? results : ".", index);
		f = fopen(path, "w");
		if (f) {
			fputs(logbuf, f);
			fclose(f);
		}
	}
	f = fopen(results, "a");
	if (!f)
		return 2;
	fprintf(f, "RESULT %d %s\t%s\t%s%s%s (%.2f s: mount %.2f walk %.2f umount %.2f)\n",
		index, fail[0] ? "FAIL" : status, desc, fail, fail[0] ? "; " : "",
		detail, now() - t0, tm - t0, tw ? tw - tm : 0, tu ? tu - tw : 0);
	fclose(f);
	if (mounted && !hang)
		umount2(mnt, MNT_DETACH);
	return hang ? 3 : 0;
}

int main(int argc, char **argv)
{
	const char *mmap_res;
	int opt;

	const char *dev = NULL, *mnt = NULL, *opts = "defaults", *desc = "";
	const char *results = NULL;
	int index = -1, secs = 60;

	while ((opt = getopt(argc, argv, "lrI:d:m:o:t:D:R:")) != -1) {
		switch (opt) {
		case 'l': list = 1; break;
		case 'r': readonly = 1; break;
		case 'I': index = atoi(optarg); break;
		case 'd': dev = optarg; break;
		case 'm': mnt = optarg; break;
		case 'o': opts = optarg; break;
		case 't': secs = atoi(optarg); break;
		case 'D': desc = optarg; break;
		case 'R': results = optarg; break;
		default: return 1;
		}
	}
	if (index >= 0) {
		if (!dev || !mnt || !results) {
			fprintf(stderr, "corrupt_walk: -I needs -d, -m and -R\n");
			return 1;
		}
		if (strstr(desc, "[target="))
			target_ino = strtoul(strstr(desc, "[target=") + 8, NULL, 10);
		return drive(index, dev, mnt, opts, secs, desc, results);
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: corrupt_walk [-l] [-r] MNT\n");
		return 1;
	}
	walk(argv[optind], 0);
	mmap_res = do_mmap();
	if (!readonly)
		do_writes(argv[optind]);
	printf("walk: entries=%lu dirs=%lu files=%lu symlinks=%lu bytes=%llu mmap=%s writes=%u/%u errs=EUCLEAN:%lu,EIO:%lu,EROFS:%lu,other:%lu first=%s\n",
	       entries, dirs, files, symlinks, bytes, mmap_res, w_ok, w_try,
	       n_euclean, n_eio, n_erofs, n_other, first[0] ? first : "-");
	return 0;
}
