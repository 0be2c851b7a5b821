// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of what C callers that break the dma-buf locking convention
 * get, from C. Documentation/driver-api/dma-buf-rust.rst lists the rules and
 * what each misuse gets.
 *
 * dma_buf_lock_misuse: every misuse shape against the Rust core, each case
 * asserting the result, the exporter and importer callbacks that ran, and
 * that nothing is left behind (attachment list, pins, mappings, kernel
 * mapping count). Only for the Rust core: the C core deadlocks on several.
 *
 * dma_buf_driver_patterns: the misuses of in-tree drivers of Linux 7.2 that
 * the C core tolerates (a lockdep warning, then the call), buggy exporters'
 * positive results, incomplete exports, and the attachment list that
 * exporters walk under the lock staying still while they do, on both cores:
 * the results must be the same. On the Rust core each misuse must also have
 * printed its warning, naming the function, the caller, the rule and what the
 * core did (read back from the kernel log).
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/kmsg_dump.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-buf.h>

struct misuse_exporter {
	void *vaddr;
	int attach, detach, pin, unpin, map, unmap, vmap, vunmap;
	int begin, end, mmap;
	/* Locked callbacks (pin, unpin, map, unmap, vmap, vunmap) run without the lock. */
	int unlocked_calls;
	/* What the callbacks return, for a buggy exporter's positive values. */
	int attach_ret, pin_ret, vmap_ret, begin_ret, end_ret, mmap_ret;
};

/* Counts a locked callback of @buf, and whether it ran with the lock held. */
static void locked_call(struct dma_buf *buf, int *count)
{
	struct misuse_exporter *exp = buf->priv;

	(*count)++;
	if (!dma_resv_is_locked(buf->resv))
		exp->unlocked_calls++;
}

struct misuse_ctx {
	struct device *dev;
	struct dma_buf *buf;
	struct misuse_exporter *exp;
	int invalidations;
};

static int misuse_attach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	struct misuse_exporter *exp = buf->priv;

	exp->attach++;
	return exp->attach_ret;
}

static void misuse_detach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct misuse_exporter *)buf->priv)->detach++;
}

static int misuse_pin(struct dma_buf_attachment *a)
{
	struct misuse_exporter *exp = a->dmabuf->priv;

	locked_call(a->dmabuf, &exp->pin);
	return exp->pin_ret;
}

static void misuse_unpin(struct dma_buf_attachment *a)
{
	struct misuse_exporter *exp = a->dmabuf->priv;

	locked_call(a->dmabuf, &exp->unpin);
}

static struct sg_table *misuse_map(struct dma_buf_attachment *a,
				   enum dma_data_direction dir)
{
	struct sg_table *sgt = kzalloc_obj(*sgt);

	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(sgt, 1, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	/* Not a real DMA mapping: the importers here never use it. */
	sg_dma_address(sgt->sgl) = PAGE_SIZE;
	sg_dma_len(sgt->sgl) = PAGE_SIZE;
	locked_call(a->dmabuf, &((struct misuse_exporter *)a->dmabuf->priv)->map);
	return sgt;
}

static void misuse_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	locked_call(a->dmabuf, &((struct misuse_exporter *)a->dmabuf->priv)->unmap);
	sg_free_table(sgt);
	kfree(sgt);
}

static int misuse_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct misuse_exporter *exp = buf->priv;

	locked_call(buf, &exp->vmap);
	if (exp->vmap_ret)
		return exp->vmap_ret;
	iosys_map_set_vaddr(map, exp->vaddr);
	return 0;
}

static void misuse_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	locked_call(buf, &((struct misuse_exporter *)buf->priv)->vunmap);
}

static int misuse_begin(struct dma_buf *buf, enum dma_data_direction dir)
{
	struct misuse_exporter *exp = buf->priv;

	exp->begin++;
	return exp->begin_ret;
}

static int misuse_end(struct dma_buf *buf, enum dma_data_direction dir)
{
	struct misuse_exporter *exp = buf->priv;

	exp->end++;
	return exp->end_ret;
}

static int misuse_mmap(struct dma_buf *buf, struct vm_area_struct *vma)
{
	struct misuse_exporter *exp = buf->priv;

	exp->mmap++;
	return exp->mmap_ret;
}

static void misuse_release(struct dma_buf *buf)
{
	struct misuse_exporter *exp = buf->priv;

	kfree(exp->vaddr);
	kfree(exp);
}

static const struct dma_buf_ops misuse_ops = {
	.attach = misuse_attach,
	.detach = misuse_detach,
	.pin = misuse_pin,
	.unpin = misuse_unpin,
	.map_dma_buf = misuse_map,
	.unmap_dma_buf = misuse_unmap,
	.vmap = misuse_vmap,
	.vunmap = misuse_vunmap,
	.begin_cpu_access = misuse_begin,
	.end_cpu_access = misuse_end,
	.mmap = misuse_mmap,
	.release = misuse_release,
};

static void misuse_invalidate(struct dma_buf_attachment *a)
{
	struct misuse_ctx *ctx = a->importer_priv;

	ctx->invalidations++;
	if (!dma_resv_is_locked(a->dmabuf->resv))
		ctx->exp->unlocked_calls++;
}

static const struct dma_buf_attach_ops misuse_importer = {
	.invalidate_mappings = misuse_invalidate,
};

static int misuse_init(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct misuse_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = kunit_device_register(test, "dma-buf-lock-misuse");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->dev);

	ctx->exp = kzalloc_obj(*ctx->exp);
	KUNIT_ASSERT_NOT_NULL(test, ctx->exp);
	ctx->exp->vaddr = kzalloc(PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->exp->vaddr);

	info.ops = &misuse_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = ctx->exp;
	ctx->buf = dma_buf_export(&info);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->buf);
	test->priv = ctx;
	return 0;
}

static void misuse_exit(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;

	if (ctx && !IS_ERR_OR_NULL(ctx->buf))
		dma_buf_put(ctx->buf);
}

static struct dma_buf_attachment *dyn_attach(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a;

	a = dma_buf_dynamic_attach(ctx->buf, ctx->dev, &misuse_importer, ctx);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	return a;
}

/* The rules followed: everything works, so the cases below can fail. */
static void misuse_rules_followed(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map;
	struct sg_table *sgt;

	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), 0);
	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), 0);
	KUNIT_EXPECT_PTR_EQ(test, map.vaddr, ctx->exp->vaddr);
	dma_buf_vunmap(ctx->buf, &map);
	dma_buf_invalidate_mappings(ctx->buf);
	dma_buf_unpin(a);
	dma_resv_unlock(ctx->buf->resv);

	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(ctx->buf, DMA_TO_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(ctx->buf, DMA_TO_DEVICE), 0);
	dma_buf_detach(ctx->buf, a);

	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unpin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->begin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->end, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
}

/* Nothing left behind: no attachment, pin, mapping or kernel mapping. */
static void expect_clean(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;

	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->buf->attachments));
	KUNIT_EXPECT_EQ(test, ctx->exp->attach, ctx->exp->detach);
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, ctx->exp->unpin);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, ctx->exp->unmap);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, ctx->exp->vunmap);
	KUNIT_EXPECT_EQ(test, ctx->buf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&ctx->buf->vmap_ptr));
}

/* The rules and outcomes the Rust core's warnings name (drivers/dma-buf/rust). */
#define NEEDS_LOCK "without the buffer's reservation lock, which the dma-buf locking convention requires"
#define FORBIDS_LOCK "with the buffer's reservation lock held, which the dma-buf locking convention forbids"
#define TAKEN "taken for the call"
#define CONTENDED "another task holds it: run without it, as the C core runs it"
#define COMPLETED "completed under the caller's lock"
#define AS_IN_C "called the exporter as the C core does"
#define REFUSED_EINVAL "refused with -EINVAL"

#define LOG_LINE_MAX 1024

/*
 * The number of lines of the kernel log that contain "dma-buf: @fn() called
 * from @caller+0x", then @rule, then @outcome, then @count: the warnings of
 * the Rust core name the function, its caller (%pS), the rule broken and what
 * the core did; the 10th, 100th, ... repeat at one call site ends with
 * "(N times from there)". A NULL @count counts the first warnings only.
 */
static int warnings(struct kunit *test, const char *fn, const char *caller,
		    const char *rule, const char *outcome, const char *count)
{
	struct kmsg_dump_iter iter;
	char *line, *head;
	size_t len;
	int n = 0;

	line = kunit_kmalloc(test, LOG_LINE_MAX, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, line);
	head = kasprintf(GFP_KERNEL, "dma-buf: %s() called from %s+0x", fn, caller);
	KUNIT_ASSERT_NOT_NULL(test, head);
	kmsg_dump_rewind(&iter);
	while (kmsg_dump_get_line(&iter, false, line, LOG_LINE_MAX - 1, &len)) {
		char *at;

		line[len] = '\0';
		at = strstr(line, head);
		if (!at)
			continue;
		at = strstr(at, rule);
		if (at)
			at = strstr(at, outcome);
		if (at && (count ? !!strstr(at, count) : !strstr(at, " times from there)")))
			n++;
	}
	kunit_kfree(test, line);
	kfree(head);
	return n;
}

/*
 * The core of the kernel the module is loaded into: the module is built once,
 * against the Rust core's tree, and loaded into both kernels; the test job
 * says core=c on the C core's.
 */
static char *core = "rust";
module_param(core, charp, 0444);
MODULE_PARM_DESC(core, "the dma-buf core of this kernel, c or rust (default)");

/*
 * On the Rust core, @fn called from @n call sites of the current test case
 * broke @rule, and each was told once, with @outcome. (The C core's warnings
 * are lockdep's.)
 */
#define EXPECT_WARNINGS(test, n, fn, rule, outcome)					\
	do {										\
		if (strcmp(core, "c"))							\
			KUNIT_EXPECT_EQ_MSG(test, warnings(test, fn, __func__, rule,	\
							   outcome, NULL), n,		\
					    "the warning of %s() %s", fn, rule);	\
	} while (0)
#define EXPECT_WARNED(test, fn, rule, outcome) EXPECT_WARNINGS(test, 1, fn, rule, outcome)

/*
 * Locked functions called without the lock: done as with it (as the C core
 * does them), the core taking the lock for the call, so the exporter's and the
 * importer's callbacks run with it held.
 */
static void misuse_locked_without_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map = IOSYS_MAP_INIT_VADDR(ctx);
	struct sg_table *sgt;

	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), 0);
	sgt = dma_buf_map_attachment(a, DMA_TO_DEVICE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), 0);
	KUNIT_EXPECT_PTR_EQ(test, map.vaddr, ctx->exp->vaddr);
	dma_buf_invalidate_mappings(ctx->buf);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 1);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(ctx->buf->resv));

	/* Teardown without the lock completes too. */
	dma_buf_unmap_attachment(a, sgt, DMA_TO_DEVICE);
	dma_buf_vunmap(ctx->buf, &map);
	dma_buf_unpin(a);
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unlocked_calls, 0);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(ctx->buf->resv));
	dma_buf_detach(ctx->buf, a);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_pin", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_map_attachment", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_vmap", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_invalidate_mappings", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_vunmap", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_unpin", NEEDS_LOCK, TAKEN);
}

struct holder {
	struct dma_resv *resv;
	struct completion locked, release, done;
};

static int hold_lock(void *data)
{
	struct holder *h = data;

	dma_resv_lock(h->resv, NULL);
	complete(&h->locked);
	wait_for_completion(&h->release);
	dma_resv_unlock(h->resv);
	/* The last use of @h: the task may be gone once the test has seen it. */
	complete(&h->done);
	return 0;
}

/*
 * Locked functions called without the lock while another task holds it: run
 * without it, as the C core runs them, rather than blocking (the caller may
 * hold a lock that the holder waits for).
 */
static void misuse_locked_without_lock_contended(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct task_struct *task;
	struct holder h = { .resv = ctx->buf->resv };
	struct iosys_map map;
	struct sg_table *sgt;

	init_completion(&h.locked);
	init_completion(&h.release);
	init_completion(&h.done);
	task = kthread_run(hold_lock, &h, "dma-buf-misuse-holder");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&h.locked);

	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), 0);
	sgt = dma_buf_map_attachment(a, DMA_FROM_DEVICE);
	KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(sgt));
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), 0);
	if (!IS_ERR_OR_NULL(sgt))
		dma_buf_unmap_attachment(a, sgt, DMA_FROM_DEVICE);
	dma_buf_vunmap(ctx->buf, &map);
	dma_buf_unpin(a);
	dma_buf_invalidate_mappings(ctx->buf);
	complete(&h.release);
	wait_for_completion(&h.done);

	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 1);
	dma_buf_detach(ctx->buf, a);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_pin", NEEDS_LOCK, CONTENDED);
	EXPECT_WARNED(test, "dma_buf_map_attachment", NEEDS_LOCK, CONTENDED);
	EXPECT_WARNED(test, "dma_buf_vmap", NEEDS_LOCK, CONTENDED);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment", NEEDS_LOCK, CONTENDED);
	EXPECT_WARNED(test, "dma_buf_vunmap", NEEDS_LOCK, CONTENDED);
	EXPECT_WARNED(test, "dma_buf_unpin", NEEDS_LOCK, CONTENDED);
	EXPECT_WARNED(test, "dma_buf_invalidate_mappings", NEEDS_LOCK, CONTENDED);
}

/* Waits up to a second for the exporter's detach, which a worker may run. */
static int wait_detached(struct misuse_exporter *exp, int detached)
{
	int i;

	for (i = 0; i < 50 && READ_ONCE(exp->detach) != detached; i++)
		msleep(20);
	return READ_ONCE(exp->detach);
}

/*
 * Unlocked functions called with the lock held: attach is refused with
 * -EDEADLK; the others complete under the caller's lock (where the C core
 * deadlocks) or call the exporter as the C core does.
 */
static void misuse_unlocked_with_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map;
	struct sg_table *sgt;

	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_attach(ctx->buf, ctx->dev),
			    ERR_PTR(-EDEADLK));
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_dynamic_attach(ctx->buf, ctx->dev,
						   &misuse_importer, ctx),
			    ERR_PTR(-EDEADLK));
	KUNIT_EXPECT_EQ(test, ctx->exp->attach, 1);

	sgt = dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(ctx->buf, &map), 0);
	KUNIT_EXPECT_PTR_EQ(test, map.vaddr, ctx->exp->vaddr);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(ctx->buf, DMA_FROM_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(ctx->buf, DMA_FROM_DEVICE), 0);
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_FROM_DEVICE);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->begin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->end, 1);

	/*
	 * Detached at once: off the list, so an invalidation no longer reaches
	 * the importer, whose data may be gone.
	 */
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->buf->attachments));
	dma_buf_invalidate_mappings(ctx->buf);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 0);
	KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(ctx->buf->resv));
	dma_resv_unlock(ctx->buf->resv);

	/* The exporter's detach, which may take the lock, runs once it is free. */
	KUNIT_EXPECT_EQ(test, wait_detached(ctx->exp, 1), 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unlocked_calls, 0);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_attach", FORBIDS_LOCK, "refused with -EDEADLK");
	EXPECT_WARNED(test, "dma_buf_dynamic_attach", FORBIDS_LOCK, "refused with -EDEADLK");
	EXPECT_WARNED(test, "dma_buf_map_attachment_unlocked", FORBIDS_LOCK, COMPLETED);
	EXPECT_WARNED(test, "dma_buf_vmap_unlocked", FORBIDS_LOCK, COMPLETED);
	EXPECT_WARNED(test, "dma_buf_begin_cpu_access", FORBIDS_LOCK, AS_IN_C);
	EXPECT_WARNED(test, "dma_buf_end_cpu_access", FORBIDS_LOCK, AS_IN_C);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment_unlocked", FORBIDS_LOCK, COMPLETED);
	EXPECT_WARNED(test, "dma_buf_vunmap_unlocked", FORBIDS_LOCK, COMPLETED);
	EXPECT_WARNED(test, "dma_buf_detach", FORBIDS_LOCK, "the exporter's detach deferred");
}

/*
 * A mapping being set up for @file, as an mmap handler passes it to
 * dma_buf_mmap(): @pages pages, no mm (no exporter here touches one).
 */
static struct vm_area_struct *new_vma(struct kunit *test, struct file *file,
				      unsigned long pages)
{
	struct vm_area_struct *vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, vma);
	vma->vm_end = pages * PAGE_SIZE;
	vma->vm_file = get_file(file);
	return vma;
}

/*
 * dma_buf_mmap() with the lock held: the call, as the C core makes it (it
 * takes no lock); the mapping refers to the buffer's file afterwards.
 */
static void misuse_mmap_with_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct vm_area_struct *vma = new_vma(test, ctx->buf->file, 1);

	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_mmap(ctx->buf, vma, 0), 0);
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_EQ(test, ctx->exp->mmap, 1);
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_file, ctx->buf->file);
	fput(vma->vm_file);
	EXPECT_WARNED(test, "dma_buf_mmap", FORBIDS_LOCK, AS_IN_C);
}

/* An importer that frees its data right after a detach made with the lock held. */
static void misuse_detach_locked_then_free(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a, *b;
	struct misuse_ctx *priv;

	priv = kzalloc_obj(*priv);
	KUNIT_ASSERT_NOT_NULL(test, priv);
	priv->exp = ctx->exp;
	a = dma_buf_dynamic_attach(ctx->buf, ctx->dev, &misuse_importer, priv);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	b = dyn_attach(test);

	dma_resv_lock(ctx->buf->resv, NULL);
	dma_buf_detach(ctx->buf, a);
	kfree(priv);
	/* Only the other importer is told. */
	dma_buf_invalidate_mappings(ctx->buf);
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 1);
	KUNIT_EXPECT_EQ(test, wait_detached(ctx->exp, 1), 1);
	dma_buf_detach(ctx->buf, b);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_detach", FORBIDS_LOCK, "the exporter's detach deferred");
}

/*
 * A detach with the lock held when there is no memory for the worker that
 * would run the exporter's detach later: the exporter's detach runs at once,
 * under the caller's lock, as the C core would run it (this exporter's detach
 * takes no lock), and nothing is left behind. The worker's allocation is the
 * first this task makes in the call (the test job lets fail-nth fail any).
 */
static void misuse_detach_locked_without_memory(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	bool injected;

	dma_resv_lock(ctx->buf->resv, NULL);
	WRITE_ONCE(current->fail_nth, 1);
	dma_buf_detach(ctx->buf, a);
	injected = !READ_ONCE(current->fail_nth);
	WRITE_ONCE(current->fail_nth, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->buf->attachments));
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_TRUE(test, injected);
	/* And no worker detaches it a second time. */
	KUNIT_EXPECT_EQ(test, wait_detached(ctx->exp, 2), 1);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_detach", FORBIDS_LOCK, "the exporter's detach deferred");
#else
	kunit_skip(test, "no fault injection in this kernel");
#endif
}

/* A buggy exporter's positive result from attach is an error, not a pointer. */
static void misuse_exporter_positive_attach(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;

	ctx->exp->attach_ret = 1;
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_attach(ctx->buf, ctx->dev), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, ctx->exp->attach, 1);
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_dynamic_attach(ctx->buf, ctx->dev, &misuse_importer, ctx),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, ctx->exp->attach, 2);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->buf->attachments));
}

/* Pointers a C caller can get wrong. */
static void misuse_bad_pointers(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map;

	KUNIT_EXPECT_PTR_EQ(test, dma_buf_attach(NULL, ctx->dev), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_attach(ctx->buf, NULL), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, dma_buf_pin(NULL), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_map_attachment(ERR_PTR(-ENOMEM), DMA_TO_DEVICE),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(ERR_PTR(-EBADF), DMA_TO_DEVICE),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(NULL, &map), -EINVAL);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	KUNIT_EXPECT_FALSE(test, dma_buf_attach_revocable(NULL));
	KUNIT_EXPECT_TRUE(test, dma_buf_attach_revocable(a));
	KUNIT_EXPECT_EQ(test, dma_buf_fd(NULL, O_CLOEXEC), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_fd(ERR_PTR(-ENOMEM), O_CLOEXEC), -EINVAL);

	/* A vunmap of a mapping that is not the buffer's changes nothing. */
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(ctx->buf, &map), 0);
	iosys_map_set_vaddr(&map, ctx);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 0);
	iosys_map_set_vaddr(&map, ctx->exp->vaddr);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);

	/* An unmap of no table unmaps nothing. */
	dma_buf_unmap_attachment_unlocked(a, NULL, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 0);

	dma_buf_detach(NULL, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 0);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
	/* Two call sites: a NULL buffer, a NULL device. */
	EXPECT_WARNINGS(test, 2, "dma_buf_attach", "with a NULL or error pointer",
			REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_pin", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_map_attachment", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_begin_cpu_access", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_vmap_unlocked", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_attach_revocable", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment_unlocked", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_detach", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_vunmap_unlocked", "with a map that is not the buffer's",
		      REFUSED_EINVAL);
	/* dma_buf_fd() refuses a NULL or error pointer without a warning, as C does. */
}

/*
 * A NULL argument to each entry point the case above leaves out: refused
 * before anything is touched, with -EINVAL (or nothing, for the void ones),
 * and warned, naming this function. The C core dereferences most of these.
 */
static void misuse_null_arguments(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map;
	int fd;

	KUNIT_EXPECT_PTR_EQ(test, dma_buf_export(NULL), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_dynamic_attach(NULL, ctx->dev, &misuse_importer, ctx),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_dynamic_attach(ctx->buf, NULL, &misuse_importer, ctx),
			    ERR_PTR(-EINVAL));
	dma_buf_unpin(NULL);
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_map_attachment_unlocked(NULL, DMA_TO_DEVICE),
			    ERR_PTR(-EINVAL));
	dma_buf_unmap_attachment(NULL, NULL, DMA_TO_DEVICE);
	dma_buf_invalidate_mappings(NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(NULL, DMA_TO_DEVICE), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_mmap(ctx->buf, NULL, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(NULL, &map), -EINVAL);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	dma_buf_vunmap(NULL, &map);
	dma_buf_vunmap_unlocked(NULL, &map);
	dma_buf_put(NULL);
	fd = get_unused_fd_flags(O_CLOEXEC);
	KUNIT_ASSERT_GE(test, fd, 0);
	dma_buf_fd_install(NULL, fd);
	/* Still reserved, not installed: the caller may give it back. */
	put_unused_fd(fd);
	dma_buf_detach(ctx->buf, NULL);

	KUNIT_EXPECT_EQ(test, ctx->exp->unpin + ctx->exp->unmap + ctx->exp->vunmap, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->end + ctx->exp->mmap + ctx->exp->detach, 0);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 0);
	dma_buf_detach(ctx->buf, a);
	expect_clean(test);

	EXPECT_WARNED(test, "dma_buf_export", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNINGS(test, 2, "dma_buf_dynamic_attach", "with a NULL or error pointer",
			REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_unpin", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_map_attachment_unlocked", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_invalidate_mappings", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_end_cpu_access", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_mmap", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_vmap", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_vunmap", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_vunmap_unlocked", "with a NULL or error pointer",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_put", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_fd_install", "with a NULL or error pointer", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_detach", "with a NULL or error pointer", REFUSED_EINVAL);
}

/*
 * A buffer without operations (never exported: a C caller's stray pointer) is
 * refused before anything of it but its operations is read.
 */
static void misuse_buffer_without_ops(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf *stray = kunit_kzalloc(test, sizeof(*stray), GFP_KERNEL);
	struct vm_area_struct *vma = new_vma(test, ctx->buf->file, 1);
	struct iosys_map map;

	KUNIT_ASSERT_NOT_NULL(test, stray);
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_attach(stray, ctx->dev), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(stray, DMA_TO_DEVICE), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(stray, &map), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_mmap(stray, vma, 0), -EINVAL);
	/* Not handed to the stray buffer. */
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_file, ctx->buf->file);
	fput(vma->vm_file);
	EXPECT_WARNED(test, "dma_buf_attach", "with a buffer without operations", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_begin_cpu_access", "with a buffer without operations",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_vmap_unlocked", "with a buffer without operations",
		      REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_mmap", "with a buffer without operations", REFUSED_EINVAL);
}

/*
 * A static importer's map pins the buffer first; a buggy exporter's positive
 * pin result fails the map with -EINVAL (the C core returns ERR_PTR(3), which
 * is no error pointer and no table), and nothing is mapped or left pinned.
 */
static void misuse_static_map_positive_pin(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dma_buf_attach(ctx->buf, ctx->dev);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	ctx->exp->pin_ret = 3;
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 1);
	/* The same under the caller's lock. */
	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_map_attachment(a, DMA_TO_DEVICE), ERR_PTR(-EINVAL));
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 2);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 0);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->unpin, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->buf->attachments));
}

/*
 * mmap() of the buffer's file, as the mm core calls it: a buggy exporter's
 * positive result is -EINVAL (the C core passes it to the mm core, which
 * takes it for an error of its own).
 */
static void misuse_file_mmap_positive(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct vm_area_struct *vma = new_vma(test, ctx->buf->file, 1);

	ctx->exp->mmap_ret = 5;
	KUNIT_EXPECT_EQ(test, vfs_mmap(ctx->buf->file, vma), -EINVAL);
	KUNIT_EXPECT_EQ(test, ctx->exp->mmap, 1);
	fput(vma->vm_file);
}

/* DMA_BUF_IOCTL_SYNC with @flags, as userspace makes it, from @user. */
static long sync_ioctl(struct kunit *test, unsigned long user, u64 flags)
{
	struct dma_buf_sync sync = { .flags = flags };
	struct file *file = ((struct misuse_ctx *)test->priv)->buf->file;

	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)user, &sync, sizeof(sync)), 0);
	return file->f_op->unlocked_ioctl(file, DMA_BUF_IOCTL_SYNC, user);
}

/*
 * DMA_BUF_IOCTL_SYNC: a buggy exporter's positive result from begin or end
 * is -EINVAL to userspace (the C core returns it, a positive value no ioctl
 * of dma-buf defines).
 */
static void misuse_sync_ioctl_positive(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	unsigned long user;

	user = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(user), "kunit_vm_mmap: %ld", (long)user);
	KUNIT_ASSERT_NE(test, user, 0);
	ctx->exp->begin_ret = 1;
	ctx->exp->end_ret = 2;
	KUNIT_EXPECT_EQ(test, sync_ioctl(test, user, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, sync_ioctl(test, user, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ctx->exp->begin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->end, 1);
	/* The exporter's 0 is 0. */
	ctx->exp->begin_ret = 0;
	KUNIT_EXPECT_EQ(test, sync_ioctl(test, user, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->begin, 2);
}

/* One pin and unpin without the lock, from one call site each. */
static noinline void pin_unpin_unlocked(struct kunit *test, struct dma_buf_attachment *a)
{
	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), 0);
	dma_buf_unpin(a);
	/* Not a tail call, which would leave this frame off the stack. */
	barrier();
}

/*
 * A call site that breaks a rule in a loop: warned the first time, with a
 * backtrace, then one line at the 10th and the 100th time, with the count.
 */
static void misuse_warning_repeats(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	static const char *const fns[] = { "dma_buf_pin", "dma_buf_unpin" };
	int i;

	for (i = 0; i < 100; i++)
		pin_unpin_unlocked(test, a);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 100);
	KUNIT_EXPECT_EQ(test, ctx->exp->unlocked_calls, 0);
	expect_clean(test);
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		const char *f = fns[i], *c = "pin_unpin_unlocked";

		KUNIT_EXPECT_EQ_MSG(test, warnings(test, f, c, NEEDS_LOCK, TAKEN, NULL), 1, "%s", f);
		KUNIT_EXPECT_EQ_MSG(test, warnings(test, f, c, NEEDS_LOCK, TAKEN,
						   "(10 times from there)"), 1, "%s", f);
		KUNIT_EXPECT_EQ_MSG(test, warnings(test, f, c, NEEDS_LOCK, TAKEN,
						   "(100 times from there)"), 1, "%s", f);
		KUNIT_EXPECT_EQ_MSG(test, warnings(test, f, c, NEEDS_LOCK, TAKEN,
						   " times from there)"), 2, "%s", f);
	}
}

/* A detach that names another buffer is refused: the attachment stays with its own. */
static void misuse_detach_from_other_buffer(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct misuse_exporter *exp2;
	struct dma_buf *other;

	exp2 = kzalloc_obj(*exp2);
	KUNIT_ASSERT_NOT_NULL(test, exp2);
	info.ops = &misuse_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = exp2;
	other = dma_buf_export(&info);
	if (IS_ERR(other))
		kfree(exp2);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, other);

	dma_buf_detach(other, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 0);
	KUNIT_EXPECT_EQ(test, exp2->detach, 0);

	/* Still on its own buffer's list. */
	dma_resv_lock(ctx->buf->resv, NULL);
	dma_buf_invalidate_mappings(ctx->buf);
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 1);

	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
	dma_buf_put(other);
	EXPECT_WARNED(test, "dma_buf_detach", "with an attachment of another buffer",
		      REFUSED_EINVAL);
}

/* The shared kernel mapping counts its users, from C as from Rust. */
static void misuse_vmap_is_counted(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct iosys_map first, second, wrong;

	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &first), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &second), 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_equal(&first, &second));
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);

	/* Not the buffer's mapping: refused, the count is unchanged. */
	iosys_map_set_vaddr(&wrong, ctx);
	dma_buf_vunmap(ctx->buf, &wrong);
	dma_buf_vunmap(ctx->buf, &first);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 0);
	dma_buf_vunmap(ctx->buf, &second);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);
	dma_resv_unlock(ctx->buf->resv);
	EXPECT_WARNED(test, "dma_buf_vunmap", "with a map that is not the buffer's",
		      REFUSED_EINVAL);
}

static struct kunit_case misuse_cases[] = {
	KUNIT_CASE(misuse_rules_followed),
	KUNIT_CASE(misuse_locked_without_lock),
	KUNIT_CASE(misuse_locked_without_lock_contended),
	KUNIT_CASE(misuse_unlocked_with_lock),
	KUNIT_CASE(misuse_detach_locked_then_free),
	KUNIT_CASE(misuse_detach_locked_without_memory),
	KUNIT_CASE(misuse_exporter_positive_attach),
	KUNIT_CASE(misuse_bad_pointers),
	KUNIT_CASE(misuse_null_arguments),
	KUNIT_CASE(misuse_detach_from_other_buffer),
	KUNIT_CASE(misuse_vmap_is_counted),
	KUNIT_CASE(misuse_mmap_with_lock),
	KUNIT_CASE(misuse_buffer_without_ops),
	KUNIT_CASE(misuse_static_map_positive_pin),
	KUNIT_CASE(misuse_file_mmap_positive),
	KUNIT_CASE(misuse_sync_ioctl_positive),
	KUNIT_CASE(misuse_warning_repeats),
	{}
};

static struct kunit_suite misuse_suite = {
	.name = "dma_buf_lock_misuse",
	.init = misuse_init,
	.exit = misuse_exit,
	.test_cases = misuse_cases,
};

/* The kernel mapping the exporter gave, as a driver writes through it. */
static void write_through(struct kunit *test, struct iosys_map *map)
{
	struct misuse_ctx *ctx = test->priv;

	KUNIT_ASSERT_PTR_EQ(test, map->vaddr, ctx->exp->vaddr);
	memset(map->vaddr, 0xa5, PAGE_SIZE);
}

/*
 * etnaviv: submit_perfmon_validate() -> etnaviv_gem_prime_vmap_impl() vmaps
 * an imported buffer holding only its object's mutex, and uses the address.
 */
static void pattern_vmap_under_driver_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct iosys_map map;
	struct mutex obj_lock;

	mutex_init(&obj_lock);
	mutex_lock(&obj_lock);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), 0);
	mutex_unlock(&obj_lock);
	write_through(test, &map);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);
	expect_clean(test);
	mutex_destroy(&obj_lock);
	EXPECT_WARNED(test, "dma_buf_vmap", NEEDS_LOCK, TAKEN);
}

/*
 * qaic: qaic_prepare_import_bo() maps a static attachment and
 * qaic_unprepare_import_bo() unmaps it, both without the lock.
 */
static void pattern_map_unmap_without_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a;
	struct sg_table *sgt;

	a = dma_buf_attach(ctx->buf, ctx->dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, sg_dma_len(sgt->sgl), PAGE_SIZE);
	/* A static importer of an exporter that can pin is pinned while mapped. */
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 1);
	dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unpin, 1);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_map_attachment", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment", NEEDS_LOCK, TAKEN);
}

/* amdxdna: amdxdna_cbuf_clear() vmaps and vunmaps its own buffer without the lock. */
static void pattern_exporter_vmaps_own_buffer(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct iosys_map map;

	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), 0);
	write_through(test, &map);
	dma_buf_vunmap(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_vmap", NEEDS_LOCK, TAKEN);
	EXPECT_WARNED(test, "dma_buf_vunmap", NEEDS_LOCK, TAKEN);
}

/*
 * amdgpu: on hot-unplug, amdgpu_device_fini_hw() -> ... ->
 * amdgpu_ttm_backend_unbind() unmaps a dynamic importer's mapping without the
 * lock.
 */
static void pattern_unmap_on_unplug(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct sg_table *sgt;

	dma_resv_lock(ctx->buf->resv, NULL);
	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 1);
	/* A dynamic importer is not pinned by its mappings. */
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 0);
	expect_clean(test);
	EXPECT_WARNED(test, "dma_buf_unmap_attachment", NEEDS_LOCK, TAKEN);
}

/* A buggy exporter's positive results reach the caller as they are. */
static void pattern_exporter_positive_results(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map;

	ctx->exp->begin_ret = 1;
	ctx->exp->end_ret = 2;
	ctx->exp->pin_ret = 3;
	ctx->exp->vmap_ret = 4;
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(ctx->buf, DMA_TO_DEVICE), 1);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(ctx->buf, DMA_TO_DEVICE), 2);
	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), 3);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), 4);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	dma_resv_unlock(ctx->buf->resv);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unpin, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 0);
	KUNIT_EXPECT_EQ(test, ctx->buf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->buf->attachments));
}

/*
 * dma_buf_mmap(), as a driver's mmap handler passes a mapping on: the range is
 * checked against the buffer before the exporter sees it, and the exporter's
 * result (a buggy one's positive value too) is returned as it is.
 */
static void pattern_mmap_range_and_result(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct vm_area_struct *vma = new_vma(test, ctx->buf->file, 1);
	struct vm_area_struct *two = new_vma(test, ctx->buf->file, 2);

	KUNIT_EXPECT_EQ(test, dma_buf_mmap(ctx->buf, vma, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_mmap(ctx->buf, two, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, dma_buf_mmap(ctx->buf, vma, ULONG_MAX), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, ctx->exp->mmap, 0);
	ctx->exp->mmap_ret = 5;
	KUNIT_EXPECT_EQ(test, dma_buf_mmap(ctx->buf, vma, 0), 5);
	KUNIT_EXPECT_EQ(test, ctx->exp->mmap, 1);
	KUNIT_EXPECT_EQ(test, vma->vm_pgoff, 0);
	KUNIT_EXPECT_PTR_EQ(test, vma->vm_file, ctx->buf->file);
	fput(vma->vm_file);
	fput(two->vm_file);
}

/*
 * dma_buf_export() of an incomplete description: refused with -EINVAL (and a
 * warning), nothing exported, the exporter's data left to the caller.
 */
static void pattern_incomplete_export(struct kunit *test)
{
	static const struct dma_buf_ops no_release = {
		.map_dma_buf = misuse_map,
		.unmap_dma_buf = misuse_unmap,
	};
	static const struct dma_buf_ops no_map = {
		.unmap_dma_buf = misuse_unmap,
		.release = misuse_release,
	};
	static const struct dma_buf_ops no_unmap = {
		.map_dma_buf = misuse_map,
		.release = misuse_release,
	};
	static const struct dma_buf_ops only_pin = {
		.pin = misuse_pin,
		.map_dma_buf = misuse_map,
		.unmap_dma_buf = misuse_unmap,
		.release = misuse_release,
	};
	static const struct dma_buf_ops only_unpin = {
		.unpin = misuse_unpin,
		.map_dma_buf = misuse_map,
		.unmap_dma_buf = misuse_unmap,
		.release = misuse_release,
	};
	static const struct dma_buf_ops *const incomplete[] = {
		NULL, &no_release, &no_map, &no_unmap,
	};
	static const struct dma_buf_ops *const unpaired[] = { &only_pin, &only_unpin };
	struct misuse_ctx *ctx = test->priv;
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	int i, n = ARRAY_SIZE(incomplete), m = ARRAY_SIZE(unpaired);

	/* Loops the compiler cannot unroll into more call sites. */
	OPTIMIZER_HIDE_VAR(n);
	OPTIMIZER_HIDE_VAR(m);
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.ops = &misuse_ops;
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_export(&info), ERR_PTR(-EINVAL));
	info.priv = ctx->exp;
	/* One call site, four calls: warned once. */
	for (i = 0; i < n; i++) {
		info.ops = incomplete[i];
		KUNIT_EXPECT_PTR_EQ_MSG(test, dma_buf_export(&info), ERR_PTR(-EINVAL),
					"operations %d", i);
	}
	for (i = 0; i < m; i++) {
		info.ops = unpaired[i];
		KUNIT_EXPECT_PTR_EQ_MSG(test, dma_buf_export(&info), ERR_PTR(-EINVAL),
					"unpaired operations %d", i);
	}
	/* Nothing was called, nothing released. */
	KUNIT_EXPECT_EQ(test, ctx->exp->pin + ctx->exp->unpin + ctx->exp->map, 0);
	EXPECT_WARNINGS(test, 2, "dma_buf_export", "without private data", REFUSED_EINVAL);
	EXPECT_WARNED(test, "dma_buf_export", "with only one of pin and unpin", REFUSED_EINVAL);
}

/* The attachments of @buf, counted as exporters walk them: under the lock. */
static size_t walk_attachments(struct dma_buf *buf)
{
	struct dma_buf_attachment *a;
	size_t n = 0;

	dma_resv_assert_held(buf->resv);
	list_for_each_entry(a, &buf->attachments, node)
		n++;
	return n;
}

struct list_change {
	struct misuse_ctx *ctx;
	struct dma_buf_attachment *a;
	struct completion done;
};

static int attach_in_thread(void *data)
{
	struct list_change *c = data;

	c->a = dma_buf_dynamic_attach(c->ctx->buf, c->ctx->dev, &misuse_importer,
				      c->ctx);
	complete(&c->done);
	return 0;
}

static int detach_in_thread(void *data)
{
	struct list_change *c = data;

	dma_buf_detach(c->ctx->buf, c->a);
	complete(&c->done);
	return 0;
}

/*
 * Runs @change in another task while this one holds the lock and walks the
 * list: the list holds @before attachments until the lock is released (the
 * change waits for it, given a second to happen if it does not), @after once
 * the change is done.
 */
static void change_under_walker(struct kunit *test, struct list_change *c,
				int (*change)(void *), size_t before, size_t after)
{
	struct dma_buf *buf = c->ctx->buf;
	struct task_struct *task;
	unsigned long done;

	init_completion(&c->done);
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, walk_attachments(buf), before);
	task = kthread_run(change, c, "dma-buf-list-change");
	if (IS_ERR(task)) {
		dma_resv_unlock(buf->resv);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(task));
		return;
	}
	done = wait_for_completion_timeout(&c->done, msecs_to_jiffies(1000));
	KUNIT_EXPECT_EQ(test, done, 0);
	KUNIT_EXPECT_EQ(test, walk_attachments(buf), before);
	dma_resv_unlock(buf->resv);
	/* A change that did not wait has been waited for (and consumed) already. */
	if (!done)
		wait_for_completion(&c->done);
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, walk_attachments(buf), after);
	dma_resv_unlock(buf->resv);
}

/*
 * panfrost's and panthor's begin_cpu_access, xe's and amdgpu's pin walk
 * dmabuf->attachments holding only the reservation lock: an attach joins the
 * list under it, so it waits for a walker.
 */
static void pattern_attach_waits_for_list_walker(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct list_change c = { .ctx = ctx };

	change_under_walker(test, &c, attach_in_thread, 0, 1);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c.a);
	dma_buf_detach(ctx->buf, c.a);
	expect_clean(test);
}

/* ... and a detach leaves the list under it. */
static void pattern_detach_waits_for_list_walker(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct list_change c = { .ctx = ctx, .a = dyn_attach(test) };

	change_under_walker(test, &c, detach_in_thread, 1, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
	expect_clean(test);
}

static struct kunit_case pattern_cases[] = {
	KUNIT_CASE(pattern_vmap_under_driver_lock),
	KUNIT_CASE(pattern_map_unmap_without_lock),
	KUNIT_CASE(pattern_exporter_vmaps_own_buffer),
	KUNIT_CASE(pattern_unmap_on_unplug),
	KUNIT_CASE(pattern_exporter_positive_results),
	KUNIT_CASE(pattern_mmap_range_and_result),
	KUNIT_CASE(pattern_incomplete_export),
	KUNIT_CASE(pattern_attach_waits_for_list_walker),
	KUNIT_CASE(pattern_detach_waits_for_list_walker),
	{}
};

static struct kunit_suite pattern_suite = {
	.name = "dma_buf_driver_patterns",
	.init = misuse_init,
	.exit = misuse_exit,
	.test_cases = pattern_cases,
};
kunit_test_suites(&misuse_suite, &pattern_suite);

MODULE_DESCRIPTION("Misuse of the dma-buf locking convention from C, and what it gets");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
