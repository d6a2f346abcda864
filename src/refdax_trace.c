// SPDX-License-Identifier: GPL-2.0
/*
 * Store tracer for store-level crash enumeration (tests/crash/trace-run.sh).
 *
 * The metadata code runs unchanged; every flush and fence of a traced mount
 * is also reported here.  Stores are plain CPU stores into the DAX mapping,
 * so they are found by looking: a shadow copy of the filesystem is kept, and
 * before a flush (over the flushed lines) and before a fence (over the whole
 * filesystem) the mapping is compared with the shadow one 64-byte line at a
 * time.  Every changed line becomes a STORE event carrying its new bytes,
 * then comes the FLUSH or FENCE event itself.  A store is therefore seen even
 * when it is never flushed; two stores to one line between two looks are
 * seen as their final value only.
 *
 * Control is debugfs only, so nothing changes for a user who does not ask:
 *   /sys/kernel/debug/refdax/arm     write a device name (e.g. "pmem0"): the
 *                                    next mount of it is traced from the
 *                                    moment its superblock is read; "none"
 *                                    disarms
 *   /sys/kernel/debug/refdax/mark    write a label: an OP event naming the
 *                                    operation that follows
 *   /sys/kernel/debug/refdax/trace   read: the event stream of the last
 *                                    traced mount (kept after unmount);
 *                                    write "reset": free it
 *   /sys/kernel/debug/refdax/status  read: state and counters, text
 * Only filesystems of at most REFDAX_TRACE_MAX_BYTES are traced; a larger
 * one mounts untraced with a message.  Events go to a vmalloc'ed buffer of
 * REFDAX_TRACE_BUF_BYTES; once it is full further events are counted as
 * dropped (status shows it, and an armed run must check it).
 *
 * Event: struct refdax_trace_event, followed for STORE by the 64 new bytes
 * and for OP by the label padded with zeros to a multiple of 8.  ATTACH
 * (off = bytes traced) opens the stream, DETACH closes it.
 */
#include <linux/debugfs.h>
#include <linux/vmalloc.h>
#include <linux/uaccess.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include "refdax.h"

#define REFDAX_TRACE_MAX_BYTES	(32ULL << 20)
#define REFDAX_TRACE_BUF_BYTES	(64UL << 20)
#define REFDAX_TRACE_LINE	64
#define REFDAX_TRACE_LABEL_MAX	120
#define RDX_TRACE_NAME		32	/* sb->s_id is shorter */

enum {
	RDX_TEV_STORE = 1,
	RDX_TEV_FLUSH = 2,
	RDX_TEV_FENCE = 3,
	RDX_TEV_OP = 4,
	RDX_TEV_ATTACH = 5,
	RDX_TEV_DETACH = 6,
};

struct refdax_trace_event {
	__le32 type;
	__le32 len;		/* FLUSH: bytes; STORE: 64; OP: label bytes */
	__le64 off;		/* byte offset in the filesystem */
};

struct refdax_tracer {
	spinlock_t lock;		/* shadow, buffer, sbi */
	struct refdax_sb_info *sbi;	/* NULL once detached */
	const u8 *base;
	u8 *shadow;
	u64 size;
	u8 *buf;
	size_t used;
	u64 dropped;
	u64 stores, flushes, fences, ops;
};

/* Serialises arm, attach, detach, reset and reading against each other. */
static DEFINE_MUTEX(trace_ctl);
static struct refdax_tracer *tracer;	/* last traced mount */
static char armed[RDX_TRACE_NAME];
static struct dentry *trace_dir;

static void emit(struct refdax_tracer *tr, u32 type, u64 off, u32 len,
		 const void *data, u32 dlen)
{
	struct refdax_trace_event ev = {
		.type = cpu_to_le32(type),
		.len = cpu_to_le32(len),
		.off = cpu_to_le64(off),
	};
	size_t padded = round_up(dlen, 8);

	if (tr->used + sizeof(ev) + padded > REFDAX_TRACE_BUF_BYTES) {
		tr->dropped++;
		return;
	}
	memcpy(tr->buf + tr->used, &ev, sizeof(ev));
	tr->used += sizeof(ev);
	if (dlen) {
		memcpy(tr->buf + tr->used, data, dlen);
		memset(tr->buf + tr->used + dlen, 0, padded - dlen);
		tr->used += padded;
	}
}

/* Record every line of [lo, hi) that changed since the last look. */
static void diff(struct refdax_tracer *tr, u64 lo, u64 hi)
{
	u64 off;

	for (off = lo; off < hi; off += REFDAX_TRACE_LINE) {
		const u64 *a = (const u64 *)(tr->base + off);
		const u64 *b = (const u64 *)(tr->shadow + off);

		if (!((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		      (a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5]) |
		      (a[6] ^ b[6]) | (a[7] ^ b[7])))
			continue;
		memcpy(tr->shadow + off, tr->base + off, REFDAX_TRACE_LINE);
		tr->stores++;
		emit(tr, RDX_TEV_STORE, off, REFDAX_TRACE_LINE,
		     tr->shadow + off, REFDAX_TRACE_LINE);
	}
}

void refdax_trace_flush(struct refdax_sb_info *sbi, const void *p, size_t len)
{
	struct refdax_tracer *tr = READ_ONCE(sbi->tracer);
	u64 lo, hi;

	if (!tr || !len || (const u8 *)p < (const u8 *)sbi->virt)
		return;
	spin_lock(&tr->lock);
	if (tr->sbi != sbi)
		goto out;
	lo = (const u8 *)p - tr->base;
	if (lo >= tr->size)
		goto out;
	hi = min_t(u64, lo + len, tr->size);
	diff(tr, round_down(lo, REFDAX_TRACE_LINE),
	     round_up(hi, REFDAX_TRACE_LINE));
	tr->flushes++;
	emit(tr, RDX_TEV_FLUSH, lo, hi - lo, NULL, 0);
out:
	spin_unlock(&tr->lock);
}

void refdax_trace_fence(struct refdax_sb_info *sbi)
{
	struct refdax_tracer *tr = READ_ONCE(sbi->tracer);

	if (!tr)
		return;
	spin_lock(&tr->lock);
	if (tr->sbi == sbi) {
		diff(tr, 0, tr->size);
		tr->fences++;
		emit(tr, RDX_TEV_FENCE, 0, 0, NULL, 0);
	}
	spin_unlock(&tr->lock);
}

static void tracer_free(struct refdax_tracer *tr)
{
	if (!tr)
		return;
	vfree(tr->shadow);
	vfree(tr->buf);
	kfree(tr);
}

/* Called once the superblock is validated, before the journal is opened. */
void refdax_trace_attach(struct refdax_sb_info *sbi)
{
	struct super_block *sb = sbi->sb;
	u64 size = sbi->geom.nblocks << REFDAX_BLOCK_SHIFT;
	struct refdax_tracer *tr;

	mutex_lock(&trace_ctl);
	if (!armed[0] || strcmp(armed, sb->s_id))
		goto out;
	if (tracer && tracer->sbi) {
		pr_warn("refdax: %s: not traced: another mount is being traced\n",
			sb->s_id);
		goto out;
	}
	if (size > REFDAX_TRACE_MAX_BYTES) {
		pr_warn("refdax: %s: not traced: filesystem has %llu bytes, the tracer takes at most %llu\n",
			sb->s_id, size, REFDAX_TRACE_MAX_BYTES);
		goto out;
	}
	tr = kzalloc(sizeof(*tr), GFP_KERNEL);
	if (tr) {
		tr->shadow = vmalloc(size);
		tr->buf = vmalloc(REFDAX_TRACE_BUF_BYTES);
	}
	if (!tr || !tr->shadow || !tr->buf) {
		tracer_free(tr);
		pr_warn("refdax: %s: not traced: out of memory\n", sb->s_id);
		goto out;
	}
	spin_lock_init(&tr->lock);
	tr->base = sbi->virt;
	tr->size = size;
	memcpy(tr->shadow, tr->base, size);
	emit(tr, RDX_TEV_ATTACH, size, 0, NULL, 0);
	tr->sbi = sbi;
	tracer_free(tracer);
	tracer = tr;
	WRITE_ONCE(sbi->tracer, tr);
	armed[0] = 0;	/* one mount per arming */
	pr_info("refdax: %s: tracing stores, flushes and fences (%llu bytes)\n",
		sb->s_id, size);
out:
	mutex_unlock(&trace_ctl);
}

/* Called when nothing of the mount can persist anything any more. */
void refdax_trace_detach(struct refdax_sb_info *sbi)
{
	struct refdax_tracer *tr = READ_ONCE(sbi->tracer);

	if (!tr)
		return;
	mutex_lock(&trace_ctl);
	spin_lock(&tr->lock);
	/* Stores never flushed still go into the stream. */
	diff(tr, 0, tr->size);
	emit(tr, RDX_TEV_DETACH, 0, 0, NULL, 0);
	tr->sbi = NULL;
	WRITE_ONCE(sbi->tracer, NULL);
	spin_unlock(&tr->lock);
	pr_info("refdax: %s: trace ended: %llu stores, %llu flushes, %llu fences, %llu ops, %llu events dropped\n",
		sbi->sb->s_id, tr->stores, tr->flushes, tr->fences, tr->ops,
		tr->dropped);
	mutex_unlock(&trace_ctl);
}

static ssize_t arm_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	char name[RDX_TRACE_NAME];
	size_t n = min(count, sizeof(name) - 1);

	if (copy_from_user(name, ubuf, n))
		return -EFAULT;
	name[n] = 0;
	strim(name);
	mutex_lock(&trace_ctl);
	if (!strcmp(name, "none"))
		armed[0] = 0;
	else
		strscpy(armed, name, sizeof(armed));
	mutex_unlock(&trace_ctl);
	return count;
}

static ssize_t arm_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	char line[RDX_TRACE_NAME + 2];
	int n;

	mutex_lock(&trace_ctl);
	n = scnprintf(line, sizeof(line), "%s\n", armed[0] ? armed : "none");
	mutex_unlock(&trace_ctl);
	return simple_read_from_buffer(ubuf, count, ppos, line, n);
}

static ssize_t mark_write(struct file *file, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	char label[REFDAX_TRACE_LABEL_MAX + 1];
	size_t n = min_t(size_t, count, REFDAX_TRACE_LABEL_MAX);
	struct refdax_tracer *tr;
	int ret = -ENODEV;

	if (copy_from_user(label, ubuf, n))
		return -EFAULT;
	label[n] = 0;
	strim(label);
	n = strlen(label);
	mutex_lock(&trace_ctl);
	tr = tracer;
	if (tr) {
		spin_lock(&tr->lock);
		if (tr->sbi) {
			/* Stores so far belong to the operation before. */
			diff(tr, 0, tr->size);
			tr->ops++;
			emit(tr, RDX_TEV_OP, 0, n, label, n);
			ret = 0;
		}
		spin_unlock(&tr->lock);
	}
	mutex_unlock(&trace_ctl);
	return ret ? ret : count;
}

static ssize_t trace_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	ssize_t ret = 0;
	size_t used;

	mutex_lock(&trace_ctl);
	if (tracer) {
		/* The buffer only grows while attached: bytes below used stay. */
		spin_lock(&tracer->lock);
		used = tracer->used;
		spin_unlock(&tracer->lock);
		ret = simple_read_from_buffer(ubuf, count, ppos, tracer->buf,
					      used);
	}
	mutex_unlock(&trace_ctl);
	return ret;
}

static ssize_t trace_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	char cmd[8];
	size_t n = min(count, sizeof(cmd) - 1);
	int ret = 0;

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = 0;
	if (strcmp(strim(cmd), "reset"))
		return -EINVAL;
	mutex_lock(&trace_ctl);
	if (tracer && tracer->sbi) {
		ret = -EBUSY;	/* unmount first */
	} else {
		tracer_free(tracer);
		tracer = NULL;
	}
	mutex_unlock(&trace_ctl);
	return ret ? ret : count;
}

static ssize_t status_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	char text[256];
	int n = 0;

	mutex_lock(&trace_ctl);
	if (tracer) {
		spin_lock(&tracer->lock);
		n = scnprintf(text, sizeof(text),
			      "attached %d\nsize %llu\nbytes %zu\nstores %llu\nflushes %llu\nfences %llu\nops %llu\ndropped %llu\n",
			      tracer->sbi ? 1 : 0, tracer->size, tracer->used,
			      tracer->stores, tracer->flushes, tracer->fences,
			      tracer->ops, tracer->dropped);
		spin_unlock(&tracer->lock);
	} else {
		n = scnprintf(text, sizeof(text), "none\n");
	}
	mutex_unlock(&trace_ctl);
	return simple_read_from_buffer(ubuf, count, ppos, text, n);
}

static const struct file_operations arm_fops = {
	.owner = THIS_MODULE,
	.read = arm_read,
	.write = arm_write,
	.llseek = default_llseek,
};

static const struct file_operations mark_fops = {
	.owner = THIS_MODULE,
	.write = mark_write,
	.llseek = noop_llseek,
};

static const struct file_operations trace_fops = {
	.owner = THIS_MODULE,
	.read = trace_read,
	.write = trace_write,
	.llseek = default_llseek,
};

static const struct file_operations status_fops = {
	.owner = THIS_MODULE,
	.read = status_read,
	.llseek = default_llseek,
};

void refdax_trace_init(void)
{
	/* debugfs failures only mean no tracing: never fail the module. */
	trace_dir = debugfs_create_dir("refdax", NULL);
	debugfs_create_file("arm", 0600, trace_dir, NULL, &arm_fops);
	debugfs_create_file("mark", 0200, trace_dir, NULL, &mark_fops);
	debugfs_create_file("trace", 0600, trace_dir, NULL, &trace_fops);
	debugfs_create_file("status", 0400, trace_dir, NULL, &status_fops);
}

void refdax_trace_exit(void)
{
	debugfs_remove_recursive(trace_dir);
	mutex_lock(&trace_ctl);
	tracer_free(tracer);
	tracer = NULL;
	mutex_unlock(&trace_ctl);
}
