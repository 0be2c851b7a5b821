// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: allocation failures on the in-kernel dma-buf paths, on either core.
 *
 * Each case sweeps one operation: it fails the Nth allocation the operation
 * makes (current->fail_nth, as /proc/thread-self/fail-nth sets it, with
 * failslab and fail_page_alloc told by the test job to consider every
 * allocation) for N = 1, 2, ... until the operation runs without reaching an
 * Nth fault site. Each injected failure must give ENOMEM (or be absorbed),
 * leave nothing behind (the exporter's callbacks balanced, no attachment,
 * pin, mapping or kernel mapping, no release of a buffer that was never
 * made), and lose nothing (the same operation, run again without a fault,
 * succeeds). Operations that cannot fail (get, invalidate, detach, put, the
 * teardown halves) must absorb every fault.
 *
 * dma_buf_fd() and dma_buf_get() allocate nothing on the C core (the kernel
 * threads' file table has room for 64 fds before it grows): their sweeps
 * find no fault site there, and so check that the core under test adds none.
 *
 * Each sweep prints whether the operation fails with ENOMEM under some fault
 * or never fails, "dma_buf_faults sweep: OP: ...", which the host compares
 * between the cores. The sequence of outcomes, with how many of the
 * operation's allocations fail it, is printed too, but not compared: it is not
 * the same from one run to the next on one core (export failed at 4 of its
 * allocations in two test boots, at 5 and at 1 in the C and the Rust core's
 * stress boots, where the sweeps run early), since the allocations the
 * kernel's debugging makes for itself (kmemleak's, KASAN's stack depot) come
 * and go.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#define MAX_FAULTS	100
#define SEQ_LEN		160

struct faults_ctx {
	struct device *dev;
	struct dma_buf *buf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	struct iosys_map map;
	void *vaddr;
	/* The exporter's callbacks, counted. */
	int attached, detached, pins, unpins, maps, unmaps, vmaps, vunmaps;
	int begins, ends, released, invalidations;
	/* Buffers made, and whether a put may still be on its way to release. */
	int exported;
	bool put_pending;
	/* An fd of the buffer, in the files of KUnit's kernel thread. */
	int fd;
	bool has_fd;
};

static int faults_attach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct faults_ctx *)buf->priv)->attached++;
	return 0;
}

static void faults_detach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct faults_ctx *)buf->priv)->detached++;
}

static int faults_pin(struct dma_buf_attachment *a)
{
	((struct faults_ctx *)a->dmabuf->priv)->pins++;
	return 0;
}

static void faults_unpin(struct dma_buf_attachment *a)
{
	((struct faults_ctx *)a->dmabuf->priv)->unpins++;
}

/* Allocates, as exporters do: its own failures are part of the sweep. */
static struct sg_table *faults_map(struct dma_buf_attachment *a, enum dma_data_direction dir)
{
	struct sg_table *sgt = kzalloc_obj(*sgt);

	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(sgt, 2, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	/* Not a real DMA mapping: nothing here uses it. */
	sg_dma_address(sgt->sgl) = PAGE_SIZE;
	sg_dma_len(sgt->sgl) = PAGE_SIZE;
	sg_dma_address(sg_next(sgt->sgl)) = 3 * PAGE_SIZE;
	sg_dma_len(sg_next(sgt->sgl)) = PAGE_SIZE;
	((struct faults_ctx *)a->dmabuf->priv)->maps++;
	return sgt;
}

static void faults_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	((struct faults_ctx *)a->dmabuf->priv)->unmaps++;
	sg_free_table(sgt);
	kfree(sgt);
}

static int faults_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct faults_ctx *c = buf->priv;

	c->vmaps++;
	iosys_map_set_vaddr(map, c->vaddr);
	return 0;
}

static void faults_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	((struct faults_ctx *)buf->priv)->vunmaps++;
}

static int faults_begin(struct dma_buf *buf, enum dma_data_direction dir)
{
	((struct faults_ctx *)buf->priv)->begins++;
	return 0;
}

static int faults_end(struct dma_buf *buf, enum dma_data_direction dir)
{
	((struct faults_ctx *)buf->priv)->ends++;
	return 0;
}

static void faults_release(struct dma_buf *buf)
{
	((struct faults_ctx *)buf->priv)->released++;
}

static const struct dma_buf_ops faults_ops = {
	.attach = faults_attach,
	.detach = faults_detach,
	.pin = faults_pin,
	.unpin = faults_unpin,
	.map_dma_buf = faults_map,
	.unmap_dma_buf = faults_unmap,
	.vmap = faults_vmap,
	.vunmap = faults_vunmap,
	.begin_cpu_access = faults_begin,
	.end_cpu_access = faults_end,
	.release = faults_release,
};

static void faults_invalidate(struct dma_buf_attachment *a)
{
	((struct faults_ctx *)a->importer_priv)->invalidations++;
}

static const struct dma_buf_attach_ops faults_importer = {
	.allow_peer2peer = true,
	.invalidate_mappings = faults_invalidate,
};

/* One operation: set up without faults, run under them, undone without. */
struct fault_op {
	/* What the operation needs, made without a fault. */
	int (*prepare)(struct faults_ctx *c);
	/* The operation: 0 or -errno. */
	int (*run)(struct faults_ctx *c);
	/* Undoes a successful run, without a fault; NULL if there is nothing to undo. */
	void (*undo)(struct faults_ctx *c);
};

/* Preparations. */

static int prep_none(struct faults_ctx *c)
{
	return 0;
}

static int run_export(struct faults_ctx *c)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *buf;

	info.ops = &faults_ops;
	info.size = 2 * PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = c;
	buf = dma_buf_export(&info);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	c->buf = buf;
	c->exported++;
	return 0;
}

/*
 * KUnit runs each case in a kernel thread, whose last fput() is left to a
 * work item: faults_cleanup() waits for it, once no fault is armed, so that
 * the release has run before the counts are read and @c is reused.
 */
static void undo_export(struct faults_ctx *c)
{
	dma_buf_put(c->buf);
	c->buf = NULL;
	c->put_pending = true;
}

static int run_attach(struct faults_ctx *c)
{
	struct dma_buf_attachment *a = dma_buf_attach(c->buf, c->dev);

	if (IS_ERR(a))
		return PTR_ERR(a);
	c->attach = a;
	return 0;
}

static int run_dynamic_attach(struct faults_ctx *c)
{
	struct dma_buf_attachment *a;

	a = dma_buf_dynamic_attach(c->buf, c->dev, &faults_importer, c);
	if (IS_ERR(a))
		return PTR_ERR(a);
	c->attach = a;
	return 0;
}

static void undo_attach(struct faults_ctx *c)
{
	dma_buf_detach(c->buf, c->attach);
	c->attach = NULL;
}

static int prep_buf(struct faults_ctx *c)
{
	return run_export(c);
}

static int prep_static(struct faults_ctx *c)
{
	return run_export(c) ?: run_attach(c);
}

static int prep_dynamic(struct faults_ctx *c)
{
	return run_export(c) ?: run_dynamic_attach(c);
}

static int run_map(struct faults_ctx *c)
{
	struct sg_table *sgt;

	dma_resv_lock(c->buf->resv, NULL);
	sgt = dma_buf_map_attachment(c->attach, DMA_BIDIRECTIONAL);
	dma_resv_unlock(c->buf->resv);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	c->sgt = sgt;
	return 0;
}

static void undo_map(struct faults_ctx *c)
{
	dma_resv_lock(c->buf->resv, NULL);
	dma_buf_unmap_attachment(c->attach, c->sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(c->buf->resv);
	c->sgt = NULL;
}

static int run_map_unlocked(struct faults_ctx *c)
{
	struct sg_table *sgt = dma_buf_map_attachment_unlocked(c->attach, DMA_TO_DEVICE);

	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	c->sgt = sgt;
	return 0;
}

static void undo_map_unlocked(struct faults_ctx *c)
{
	dma_buf_unmap_attachment_unlocked(c->attach, c->sgt, DMA_TO_DEVICE);
	c->sgt = NULL;
}

static int run_pin(struct faults_ctx *c)
{
	int ret;

	dma_resv_lock(c->buf->resv, NULL);
	ret = dma_buf_pin(c->attach);
	dma_resv_unlock(c->buf->resv);
	return ret;
}

static void undo_pin(struct faults_ctx *c)
{
	dma_resv_lock(c->buf->resv, NULL);
	dma_buf_unpin(c->attach);
	dma_resv_unlock(c->buf->resv);
}

static int run_vmap(struct faults_ctx *c)
{
	int ret;

	dma_resv_lock(c->buf->resv, NULL);
	ret = dma_buf_vmap(c->buf, &c->map);
	dma_resv_unlock(c->buf->resv);
	return ret;
}

static void undo_vmap(struct faults_ctx *c)
{
	dma_resv_lock(c->buf->resv, NULL);
	dma_buf_vunmap(c->buf, &c->map);
	dma_resv_unlock(c->buf->resv);
}

static int run_vmap_unlocked(struct faults_ctx *c)
{
	return dma_buf_vmap_unlocked(c->buf, &c->map);
}

static void undo_vmap_unlocked(struct faults_ctx *c)
{
	dma_buf_vunmap_unlocked(c->buf, &c->map);
}

static int run_begin(struct faults_ctx *c)
{
	return dma_buf_begin_cpu_access(c->buf, DMA_FROM_DEVICE);
}

static void undo_begin(struct faults_ctx *c)
{
	dma_buf_end_cpu_access(c->buf, DMA_FROM_DEVICE);
}

/* dma_buf_fd() hands the caller's reference to the fd: @c->buf is the fd's now. */
static int run_fd(struct faults_ctx *c)
{
	int fd = dma_buf_fd(c->buf, O_CLOEXEC);

	if (fd < 0)
		return fd;
	c->fd = fd;
	c->has_fd = true;
	c->buf = NULL;
	return 0;
}

/* Closing the fd drops the buffer's last reference, through a delayed fput. */
static void undo_fd(struct faults_ctx *c)
{
	close_fd(c->fd);
	c->has_fd = false;
	c->put_pending = true;
}

/* A buffer with an fd, and a reference of @c's own besides the fd's. */
static int prep_fd(struct faults_ctx *c)
{
	int ret = run_export(c);

	if (ret)
		return ret;
	get_dma_buf(c->buf);
	ret = dma_buf_fd(c->buf, O_CLOEXEC);
	if (ret < 0) {
		dma_buf_put(c->buf);
		return ret;
	}
	c->fd = ret;
	c->has_fd = true;
	return 0;
}

/* Operations that cannot fail: every fault in them must be absorbed. */

static int run_get(struct faults_ctx *c)
{
	struct dma_buf *buf = dma_buf_get(c->fd);

	if (IS_ERR(buf))
		return PTR_ERR(buf);
	dma_buf_put(buf);
	return buf == c->buf ? 0 : -EPROTO;
}

static int run_invalidate(struct faults_ctx *c)
{
	dma_resv_lock(c->buf->resv, NULL);
	dma_buf_invalidate_mappings(c->buf);
	dma_resv_unlock(c->buf->resv);
	/* Counted, and taken off: the importer was told once. */
	return c->invalidations-- == 1 ? 0 : -EPROTO;
}

static int prep_mapped(struct faults_ctx *c)
{
	return prep_dynamic(c) ?: run_map(c);
}

static int run_unmap(struct faults_ctx *c)
{
	undo_map(c);
	return 0;
}

static int run_detach(struct faults_ctx *c)
{
	undo_attach(c);
	return 0;
}

static int run_put(struct faults_ctx *c)
{
	undo_export(c);
	return 0;
}

/* Tears down whatever @c holds, without a fault. */
static void faults_cleanup(struct faults_ctx *c)
{
	if (c->sgt) {
		if (c->attach->importer_ops)
			undo_map(c);
		else
			undo_map_unlocked(c);
	}
	if (c->attach)
		undo_attach(c);
	if (c->has_fd)
		undo_fd(c);
	if (c->buf)
		undo_export(c);
	if (c->put_pending)
		flush_delayed_fput();
	c->put_pending = false;
}

/* Checks that what @c's exporter was asked to do was all undone. */
static void expect_balanced(struct kunit *test, struct faults_ctx *c, int n)
{
	KUNIT_EXPECT_EQ_MSG(test, c->attached, c->detached, "N=%d", n);
	KUNIT_EXPECT_EQ_MSG(test, c->pins, c->unpins, "N=%d", n);
	KUNIT_EXPECT_EQ_MSG(test, c->maps, c->unmaps, "N=%d", n);
	KUNIT_EXPECT_EQ_MSG(test, c->vmaps, c->vunmaps, "N=%d", n);
	KUNIT_EXPECT_EQ_MSG(test, c->begins, c->ends, "N=%d", n);
	KUNIT_EXPECT_EQ_MSG(test, c->released, c->exported, "N=%d", n);
	KUNIT_EXPECT_EQ_MSG(test, c->invalidations, 0, "N=%d", n);
}

/* The state of @c after a failed run: what prepare() made, unchanged. */
struct snapshot {
	int attached, pins, maps, vmaps, begins, released;
	bool has_buf, attachments, vmapped;
};

static void take(struct faults_ctx *c, struct snapshot *s)
{
	/* Compared with memcmp(): no padding may differ. */
	memset(s, 0, sizeof(*s));
	s->attached = c->attached - c->detached;
	s->pins = c->pins - c->unpins;
	s->maps = c->maps - c->unmaps;
	s->vmaps = c->vmaps - c->vunmaps;
	s->begins = c->begins - c->ends;
	s->released = c->released;
	s->has_buf = c->buf;
	s->attachments = c->buf && !list_empty(&c->buf->attachments);
	s->vmapped = c->buf && c->buf->vmapping_counter;
}

static const char *errname(int err)
{
	switch (err) {
	case 0: return "ok";
	case -ENOMEM: return "ENOMEM";
	case -EINVAL: return "EINVAL";
	case -EBUSY: return "EBUSY";
	case -EDEADLK: return "EDEADLK";
	case -EPROTO: return "EPROTO";
	}
	return "E?";
}

struct seq {
	char text[SEQ_LEN];
	const char *last;
	int run;
};

static void seq_flush(struct seq *s)
{
	size_t len = strlen(s->text);

	if (s->run)
		scnprintf(s->text + len, sizeof(s->text) - len, "%s%s x%d", len ? " " : "",
			  s->last, s->run);
	s->run = 0;
}

static void seq_add(struct seq *s, const char *tok)
{
	if (s->run && strcmp(s->last, tok))
		seq_flush(s);
	s->last = tok;
	s->run++;
}

#ifdef CONFIG_FAULT_INJECTION
/* Fails the @n-th fault site this task reaches from now on. */
static void arm(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

/* Disarms; true when the armed failure was injected. */
static bool disarm(void)
{
	bool injected = !READ_ONCE(current->fail_nth);

	WRITE_ONCE(current->fail_nth, 0);
	return injected;
}
#else
static void arm(unsigned int n) { }
static bool disarm(void) { return false; }
#endif

static void run_sweep(struct kunit *test, const struct fault_op *op, bool can_fail)
{
	struct device *dev = kunit_device_register(test, "dma-buf-faults");
	struct faults_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	void *vaddr = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	struct snapshot before, after;
	struct seq seq = { };
	int n, ret, faults = 0, failures = 0;
	bool injected;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, vaddr);
	for (n = 1; n <= MAX_FAULTS; n++) {
		memset(c, 0, sizeof(*c));
		c->dev = dev;
		c->vaddr = vaddr;
		KUNIT_ASSERT_EQ_MSG(test, op->prepare(c), 0, "prepare, N=%d", n);
		take(c, &before);
		arm(n);
		ret = op->run(c);
		injected = disarm();
		if (!injected) {
			/* Fewer than N fault sites: this was a plain run, and the last. */
			KUNIT_EXPECT_EQ_MSG(test, ret, 0, "without a fault");
			if (!ret && op->undo)
				op->undo(c);
			faults_cleanup(c);
			expect_balanced(test, c, n);
			break;
		}
		faults++;
		seq_add(&seq, errname(ret));
		if (ret) {
			failures++;
			KUNIT_EXPECT_TRUE_MSG(test, can_fail, "N=%d: an operation that cannot fail", n);
			KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "N=%d", n);
			take(c, &after);
			KUNIT_EXPECT_EQ_MSG(test, memcmp(&before, &after, sizeof(before)), 0,
					    "N=%d failed and left something behind", n);
			/* Nothing lost: the same operation succeeds now. */
			ret = op->run(c);
			KUNIT_EXPECT_EQ_MSG(test, ret, 0, "N=%d failed, then without a fault", n);
		}
		if (!ret && op->undo)
			op->undo(c);
		faults_cleanup(c);
		expect_balanced(test, c, n);
	}
	KUNIT_EXPECT_LE_MSG(test, n, MAX_FAULTS, "still failing after %d faults", MAX_FAULTS);
	seq_flush(&seq);
	pr_info("dma_buf_faults: %s: %d faults%s%s\n", test->name, faults,
		seq.text[0] ? ", " : "", seq.text);
	pr_info("dma_buf_faults sweep: %s: %s\n", test->name,
		failures ? "fails with ENOMEM" : "never fails");
}

#define FAULT_CASE(name, prep, undo_fn, can_fail)				\
	static void name(struct kunit *test)					\
	{									\
		static const struct fault_op op = {				\
			.prepare = prep, .run = run_##name, .undo = undo_fn,	\
		};								\
		run_sweep(test, &op, can_fail);					\
	}

FAULT_CASE(export, prep_none, undo_export, true)
FAULT_CASE(attach, prep_buf, undo_attach, true)
FAULT_CASE(dynamic_attach, prep_buf, undo_attach, true)
FAULT_CASE(map, prep_dynamic, undo_map, true)
FAULT_CASE(map_unlocked, prep_static, undo_map_unlocked, true)
FAULT_CASE(pin, prep_dynamic, undo_pin, true)
FAULT_CASE(vmap, prep_buf, undo_vmap, true)
FAULT_CASE(vmap_unlocked, prep_buf, undo_vmap_unlocked, true)
FAULT_CASE(begin, prep_buf, undo_begin, true)
FAULT_CASE(fd, prep_buf, undo_fd, true)
FAULT_CASE(get, prep_fd, NULL, false)
FAULT_CASE(invalidate, prep_mapped, NULL, false)
FAULT_CASE(unmap, prep_mapped, NULL, false)
FAULT_CASE(detach, prep_dynamic, NULL, false)
FAULT_CASE(put, prep_buf, NULL, false)

static int faults_suite_init(struct kunit_suite *suite)
{
	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		return -EOPNOTSUPP;
	return 0;
}

static struct kunit_case faults_cases[] = {
	KUNIT_CASE(export),
	KUNIT_CASE(attach),
	KUNIT_CASE(dynamic_attach),
	KUNIT_CASE(map),
	KUNIT_CASE(map_unlocked),
	KUNIT_CASE(pin),
	KUNIT_CASE(vmap),
	KUNIT_CASE(vmap_unlocked),
	KUNIT_CASE(begin),
	KUNIT_CASE(fd),
	KUNIT_CASE(get),
	KUNIT_CASE(invalidate),
	KUNIT_CASE(unmap),
	KUNIT_CASE(detach),
	KUNIT_CASE(put),
	{}
};

static struct kunit_suite faults_suite = {
	.name = "dma_buf_faults",
	.suite_init = faults_suite_init,
	.test_cases = faults_cases,
};
kunit_test_suites(&faults_suite);

MODULE_DESCRIPTION("Allocation failures on the in-kernel dma-buf paths");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
