// SPDX-License-Identifier: GPL-2.0
/*
 * mkfs.refdax - create a refdax filesystem on a pmem block device or an
 * image file.
 *
 * Exit status: 0 success, 1 operational error, 2 usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/fs.h>

#include "refdax_common.h"
#include "refdax_refc.h"
#include "refdax_tools.h"

#define PROG			"mkfs.refdax"
#define MIN_BYTES		(16ULL << 20)
/* 2^40 blocks (4 PiB) keeps every block and byte count far from overflow. */
#define MAX_BLOCKS		0x10000000000ULL	/* 2^40 */
#define DEF_JOURNAL_BLOCKS	256ULL
#define MIN_JOURNAL_BLOCKS	8ULL
#define MAX_JOURNAL_BLOCKS	65536ULL
#define BYTES_PER_INODE		16384ULL
#define MIN_INODES		64ULL
#define MAX_INODES		REFDAX_MAX_INODES
#define SIG_BYTES		(128U << 10)

struct opts {
	const char *label;
	const char *uuid;
	const char *path;
	__u64 ninodes;		/* 0: default */
	__u64 journal_blocks;
	__u64 size;		/* -s, 0: none */
	int force;
	int quiet;
};

/* An image file this run created, removed again if mkfs fails. */
static const char *created_path;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (created_path)
		unlink(created_path);
	exit(1);
}

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, PROG ": %s\n", msg);
	fprintf(stderr,
		"Usage: " PROG " [-L label] [-U uuid] [-N inodes] [-J journal_blocks]\n"
		"                   [-s size] [-f] [-q] device-or-image [size]\n"
		"  -L label     volume label (at most %d bytes)\n"
		"  -U uuid      filesystem UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"
		"  -N inodes    number of inodes (default: one per 16 KiB)\n"
		"  -J blocks    journal size in 4 KiB blocks (default %llu)\n"
		"  -s size      filesystem size (e.g. 512M, 2G): of an image file,\n"
		"               created or sized to it, or of the start of a device;\n"
		"               a trailing size argument means the same\n"
		"  -f           overwrite an existing filesystem signature\n"
		"  -q           quiet: print nothing on success\n",
		REFDAX_LABEL_LEN - 1, DEF_JOURNAL_BLOCKS);
	exit(2);
}

/* Parse a decimal number with an optional binary K/M/G/T suffix. */
static int parse_size(const char *s, __u64 *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (*end) {
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

static int parse_num(const char *s, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Standard 8-4-4-4-12 form. */
static int parse_uuid(const char *s, __u8 uuid[16])
{
	int i, n = 0;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		hi = hexval((unsigned char)s[i]);
		lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		uuid[n++] = (__u8)(hi << 4 | lo);
		i++;
	}
	return n == 16 ? 0 : -1;
}

static void random_bytes(void *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		die("cannot open /dev/urandom: %s", strerror(errno));
	r = read(fd, buf, len);
	if (r != (ssize_t)len)
		die("cannot read /dev/urandom");
	close(fd);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->journal_blocks = DEF_JOURNAL_BLOCKS;
	opterr = 0;
	while ((c = getopt(argc, argv, ":L:U:N:J:s:fqh")) != -1) {
		switch (c) {
		case 'L':
			if (strlen(optarg) >= REFDAX_LABEL_LEN)
				usage("label too long (at most 63 bytes)");
			o->label = optarg;
			break;
		case 'U':
			o->uuid = optarg;
			break;
		case 'N':
			if (parse_num(optarg, &o->ninodes) || o->ninodes < 2)
				usage("bad inode count");
			break;
		case 'J':
			if (parse_num(optarg, &o->journal_blocks) ||
			    o->journal_blocks < MIN_JOURNAL_BLOCKS ||
			    o->journal_blocks > MAX_JOURNAL_BLOCKS)
				usage("journal size must be 8..65536 blocks");
			break;
		case 's':
			if (parse_size(optarg, &o->size) || o->size == 0)
				usage("bad size");
			break;
		case 'f':
			o->force = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(NULL);
			break;
		case ':':
			usage("option requires an argument");
			break;
		default:
			usage("unknown option");
		}
	}
	if (optind >= argc)
		usage("no device given");
	if (argc - optind > 2)
		usage("too many arguments");
	o->path = argv[optind];
	/* mkfs.ext4 DEV SIZE style; the size reads as -s's does */
	if (argc - optind == 2) {
		if (o->size)
			usage("size given twice (-s and after the device)");
		if (parse_size(argv[optind + 1], &o->size) || o->size == 0)
			usage("bad size");
	}
}

/* Describe a recognisable signature in @buf (@len bytes), or NULL. */
static const char *find_signature(const __u8 *buf, size_t len)
{
	__u64 magic;
	__u16 m16;

	memcpy(&magic, buf, sizeof(magic));
	if (le64_to_cpu(magic) == REFDAX_MAGIC)
		return "a refdax filesystem";
	if (memcmp(buf, "XFSB", 4) == 0)
		return "an XFS filesystem";
	memcpy(&m16, buf + 1080, 2);
	if (le16_to_cpu(m16) == 0xEF53)
		return "an ext2/ext3/ext4 filesystem";
	if (memcmp(buf, "LUKS\xba\xbe", 6) == 0)
		return "a LUKS volume";
	if (memcmp(buf + 4086, "SWAPSPACE2", 10) == 0 ||
	    memcmp(buf + 4086, "SWAP-SPACE", 10) == 0)
		return "a swap area";
	if (memcmp(buf + 512 + 24, "LVM2 001", 8) == 0)
		return "an LVM2 physical volume";
	if (len >= 0x10040 + 8 && memcmp(buf + 0x10040, "_BHRfS_M", 8) == 0)
		return "a btrfs filesystem";
	return NULL;
}

struct layout {
	__u64 nblocks;
	__u64 journal_start, journal_blocks;
	__u64 ibitmap_start, ibitmap_blocks;
	__u64 itable_start, itable_blocks;
	__u64 ninodes;
	__u64 fsmap_start, fsmap_blocks;
	__u64 data_start;
};

static __u64 round_up(__u64 n, __u64 m)
{
	return (n + m - 1) / m * m;
}

/* Blocks of free-space bitmap that cover @data_blocks data blocks. */
static __u64 fsmap_blocks_for(__u64 data_blocks)
{
	return (data_blocks + REFDAX_FSMAP_BITS_PER_BLOCK - 1) /
	       REFDAX_FSMAP_BITS_PER_BLOCK;
}

static void compute_layout(const struct opts *o, __u64 bytes,
			   struct layout *l)
{
	__u64 n = o->ninodes, d;

	memset(l, 0, sizeof(*l));
	l->nblocks = bytes / REFDAX_BLOCK_SIZE;
	if (!n) {
		n = l->nblocks * REFDAX_BLOCK_SIZE / BYTES_PER_INODE;
		if (n < MIN_INODES)
			n = MIN_INODES;
		if (n > MAX_INODES)
			n = MAX_INODES;
	}
	if (n > MAX_INODES)
		die("too many inodes (at most %llu)", MAX_INODES);
	l->ninodes = round_up(n, REFDAX_INODES_PER_BLOCK);
	l->journal_start = 1;
	l->journal_blocks = o->journal_blocks;
	l->ibitmap_start = l->journal_start + l->journal_blocks;
	l->ibitmap_blocks = (l->ninodes + REFDAX_BLOCK_SIZE * 8 - 1) /
			    (REFDAX_BLOCK_SIZE * 8);
	l->itable_start = l->ibitmap_start + l->ibitmap_blocks;
	l->itable_blocks = l->ninodes / REFDAX_INODES_PER_BLOCK;
	l->fsmap_start = l->itable_start + l->itable_blocks;
	if (l->fsmap_start >= l->nblocks)
		die("device too small for %llu inodes and a %llu-block journal",
		    (unsigned long long)l->ninodes,
		    (unsigned long long)l->journal_blocks);

	/*
	 * The free-space bitmap covers the data area, whose size depends on
	 * where the bitmap ends: take the lowest 2 MiB boundary that leaves
	 * room for a bitmap covering everything after it.
	 */
	d = round_up(l->fsmap_start + 1, REFDAX_HUGE_BLOCKS);
	while (d < l->nblocks &&
	       l->fsmap_start + fsmap_blocks_for(l->nblocks - d) > d)
		d += REFDAX_HUGE_BLOCKS;
	if (d + REFDAX_HUGE_BLOCKS > l->nblocks)
		die("device too small: metadata leaves less than 2 MiB of data area");
	l->data_start = d;
	l->fsmap_blocks = fsmap_blocks_for(l->nblocks - d);
}

static void pm_flush(struct refdax_pmem *pm, const void *addr, size_t len)
{
	(void)pm;
	(void)addr;
	(void)len;
}

static void pm_fence(struct refdax_pmem *pm)
{
	(void)pm;
}

static void fill_super(struct refdax_super *sb, const struct layout *l,
		       const struct opts *o, const __u8 *uuid, __u64 now)
{
	memset(sb, 0, sizeof(*sb));
	sb->s_magic = cpu_to_le64(REFDAX_MAGIC);
	sb->s_version = cpu_to_le32(REFDAX_VERSION);
	sb->s_block_size = cpu_to_le32(REFDAX_BLOCK_SIZE);
	sb->s_feature_incompat = cpu_to_le64(REFDAX_FEAT_INCOMPAT_REFLINK |
					     REFDAX_FEAT_INCOMPAT_XATTR);
	memcpy(sb->s_uuid, uuid, 16);
	if (o->label)
		strncpy(sb->s_label, o->label, REFDAX_LABEL_LEN - 1);
	sb->s_nblocks = cpu_to_le64(l->nblocks);
	sb->s_journal_start = cpu_to_le64(l->journal_start);
	sb->s_journal_blocks = cpu_to_le64(l->journal_blocks);
	sb->s_ibitmap_start = cpu_to_le64(l->ibitmap_start);
	sb->s_ibitmap_blocks = cpu_to_le64(l->ibitmap_blocks);
	sb->s_itable_start = cpu_to_le64(l->itable_start);
	sb->s_itable_blocks = cpu_to_le64(l->itable_blocks);
	sb->s_ninodes = cpu_to_le64(l->ninodes);
	sb->s_fsmap_start = cpu_to_le64(l->fsmap_start);
	sb->s_fsmap_blocks = cpu_to_le64(l->fsmap_blocks);
	sb->s_data_start = cpu_to_le64(l->data_start);
	sb->s_root_ino = cpu_to_le64(REFDAX_ROOT_INO);
	sb->s_orphan_head = 0;
	sb->s_mkfs_time = cpu_to_le64(now);
	sb->s_write_time = cpu_to_le64(now);
	sb->s_state = cpu_to_le32(REFDAX_STATE_CLEAN);
	sb->s_errors = cpu_to_le32(REFDAX_ERRORS_RO);
	/* no block is shared yet: an empty refcount record tree */
	refdax_refc_init_root(&sb->s_refc_root);
	refdax_super_set_csum(sb);
}

static void fill_root(struct refdax_inode *ri, const struct timespec *ts,
		      __u32 gen)
{
	__le64 sec = cpu_to_le64((__u64)ts->tv_sec);
	__le32 nsec = cpu_to_le32((__u32)ts->tv_nsec);

	memset(ri, 0, sizeof(*ri));
	ri->i_mode = cpu_to_le16(S_IFDIR | 0755);
	ri->i_nlink = cpu_to_le32(2);
	ri->i_uid = cpu_to_le32(getuid());
	ri->i_gid = cpu_to_le32(getgid());
	ri->i_generation = cpu_to_le32(gen);
	ri->i_atime = sec;
	ri->i_mtime = sec;
	ri->i_ctime = sec;
	ri->i_crtime = sec;
	ri->i_atime_ns = nsec;
	ri->i_mtime_ns = nsec;
	ri->i_ctime_ns = nsec;
	ri->i_crtime_ns = nsec;
	ri->i_parent = cpu_to_le64(REFDAX_ROOT_INO);
	ri->i_root.br_hdr.bh_magic = cpu_to_le16(REFDAX_BMAP_MAGIC);
	ri->i_root.br_hdr.bh_max = cpu_to_le16(REFDAX_BMAP_ROOT_MAX);
	refdax_inode_set_csum(ri);
}

static void print_size(__u64 bytes)
{
	if (bytes >= 1ULL << 40)
		printf("%.2f TiB", (double)bytes / (1ULL << 40));
	else if (bytes >= 1ULL << 30)
		printf("%.2f GiB", (double)bytes / (1ULL << 30));
	else
		printf("%.2f MiB", (double)bytes / (1ULL << 20));
}

/* What was made, on two lines: geometry, then label and uuid. */
static void print_summary(const struct opts *o, const struct layout *l,
			  const __u8 *uuid)
{
	printf("%s: ", o->path);
	print_size(l->nblocks * REFDAX_BLOCK_SIZE);
	printf(", %llu blocks of 4096, %llu inodes, journal %llu blocks",
	       (unsigned long long)l->nblocks,
	       (unsigned long long)l->ninodes,
	       (unsigned long long)l->journal_blocks);
	printf(", data area from block %llu (%llu blocks)\n",
	       (unsigned long long)l->data_start,
	       (unsigned long long)(l->nblocks - l->data_start));
	if (o->label)
		printf("label \"%s\", ", o->label);
	printf("uuid %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
	       uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5],
	       uuid[6], uuid[7], uuid[8], uuid[9], uuid[10], uuid[11],
	       uuid[12], uuid[13], uuid[14], uuid[15]);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct layout l;
	struct refdax_geom g;
	struct refdax_pmem pm;
	struct refdax_super *sb;
	struct refdax_inode *itable;
	struct timespec now;
	struct stat st;
	struct refdax_dev dev;
	__u8 uuid[16], *map, *bitmap;
	__u8 sig[SIG_BYTES];
	char err[512];
	const char *why, *found;
	__u32 gen;
	__u64 bytes, meta_bytes, map_bytes;
	int fd, created = 0;

	parse_args(argc, argv, &o);
	if (o.uuid && parse_uuid(o.uuid, uuid))
		usage("bad UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");

	if (o.size && o.size < MIN_BYTES)
		die("size %llu is too small (need at least 16 MiB)",
		    (unsigned long long)o.size);
	fd = open(o.path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && o.size) {
		fd = open(o.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		created = 1;
		if (fd >= 0)
			created_path = o.path;
	}
	if (fd < 0)
		die("cannot open %s: %s", o.path, strerror(errno));
	if (fstat(fd, &st))
		die("cannot stat %s: %s", o.path, strerror(errno));
	if (refdax_is_mounted(o.path, &st))
		die("%s is mounted; will not make a filesystem here", o.path);

	if (refdax_dev_probe(&dev, o.path, fd, &st, err, sizeof(err)))
		die("%s", err);
	bytes = dev.bytes;
	if (!S_ISREG(st.st_mode)) {
		/* a filesystem on the start of the device, the rest unused */
		if (o.size > bytes)
			die("size %llu is larger than %s (%llu bytes)",
			    (unsigned long long)o.size, o.path,
			    (unsigned long long)bytes);
		if (o.size)
			bytes = o.size;
	} else {
		if (o.size && bytes != o.size) {
			if (bytes && !o.force)
				die("%s is not empty (%llu bytes); use -f to resize it",
				    o.path, (unsigned long long)bytes);
			if (ftruncate(fd, (off_t)o.size))
				die("cannot size %s: %s", o.path,
				    strerror(errno));
			if (!bytes)
				created = 1;
			bytes = o.size;
		}
		if (!bytes)
			die("%s is empty: give its size with -s", o.path);
	}

	if (bytes < MIN_BYTES)
		die("%s is too small (%llu bytes, need at least 16 MiB)",
		    o.path, (unsigned long long)bytes);
	if (bytes / REFDAX_BLOCK_SIZE > MAX_BLOCKS)
		bytes = MAX_BLOCKS * REFDAX_BLOCK_SIZE;

	if (!created && !o.force) {
		size_t n = bytes < sizeof(sig) ? (size_t)bytes : sizeof(sig);

		memset(sig, 0, sizeof(sig));
		if (refdax_dev_read(&dev, sig, n))
			die("cannot read %s: %s", o.path, strerror(errno));
		found = find_signature(sig, n);
		if (found) {
			fprintf(stderr,
				PROG ": %s already contains %s; use -f to overwrite it\n",
				o.path, found);
			exit(1);
		}
	}

	compute_layout(&o, bytes, &l);

	if (!o.uuid)
		random_bytes(uuid, sizeof(uuid));
	random_bytes(&gen, sizeof(gen));
	clock_gettime(CLOCK_REALTIME, &now);

	meta_bytes = l.data_start * REFDAX_BLOCK_SIZE;
	map = refdax_dev_map(&dev, meta_bytes, PROT_READ | PROT_WRITE,
			     &map_bytes);
	if (map == MAP_FAILED)
		die("cannot map %s: %s", o.path, strerror(errno));
	memset(map, 0, meta_bytes);

	memset(&g, 0, sizeof(g));
	g.nblocks = l.nblocks;
	g.journal_start = l.journal_start;
	g.journal_blocks = l.journal_blocks;
	g.ibitmap_start = l.ibitmap_start;
	g.ibitmap_blocks = l.ibitmap_blocks;
	g.itable_start = l.itable_start;
	g.itable_blocks = l.itable_blocks;
	g.ninodes = l.ninodes;
	g.fsmap_start = l.fsmap_start;
	g.fsmap_blocks = l.fsmap_blocks;
	g.data_start = l.data_start;
	g.root_ino = REFDAX_ROOT_INO;

	memset(&pm, 0, sizeof(pm));
	pm.base = map;
	pm.size = meta_bytes;
	pm.flush = pm_flush;
	pm.fence = pm_fence;
	if (refdax_jnl_format(&pm, &g))
		die("cannot format the journal");

	/* Inode 0 is reserved, inode 1 is the root directory. */
	bitmap = map + l.ibitmap_start * REFDAX_BLOCK_SIZE;
	bitmap[0] |= 1U << 0 | 1U << REFDAX_ROOT_INO;
	itable = (struct refdax_inode *)(map +
					 l.itable_start * REFDAX_BLOCK_SIZE);
	fill_root(&itable[REFDAX_ROOT_INO], &now, gen);
	/*
	 * An empty directory has no blocks: no data block is in use, so the
	 * free-space bitmap stays as zeroed above.
	 */

	sb = (struct refdax_super *)map;
	fill_super(sb, &l, &o, uuid, (__u64)now.tv_sec);

	/* Self-check what we wrote with the validators the kernel uses. */
	if (refdax_check_super(sb, bytes, &g, &why))
		die("internal error: superblock fails validation: %s", why);
	if (refdax_check_inode(&g, REFDAX_ROOT_INO, &itable[REFDAX_ROOT_INO],
			       &why))
		die("internal error: root inode fails validation: %s", why);

	if (refdax_dev_sync_all(&dev, map, meta_bytes))
		die("cannot write %s: %s", o.path, strerror(errno));
	if (munmap(map, map_bytes))
		die("cannot unmap %s: %s", o.path, strerror(errno));
	if (close(fd))
		die("cannot close %s: %s", o.path, strerror(errno));
	created_path = NULL;

	if (!o.quiet)
		print_summary(&o, &l, uuid);
	return 0;
}
