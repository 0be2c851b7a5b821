// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: concurrent importers against one exporter, on either core, for a
 * bounded time (the module parameter `seconds`, per case).
 *
 * - dynamic importers attach, map, unmap and detach in a loop while the
 *   exporter invalidates and a static importer maps and unmaps;
 * - tasks vmap and vunmap one buffer, locked and unlocked, all sharing the
 *   exporter's one mapping;
 * - tasks take and drop references, begin and end CPU access, pin and unpin,
 *   while attachments come and go.
 *
 * Every callback that needs the reservation lock checks it is held, every
 * mapping is checked, and at the end the exporter's callbacks balance and the
 * buffer has no attachment, pin or kernel mapping left. The operations each
 * task completed are printed ("dma_buf_stress: ..."); they vary between runs.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

static unsigned int seconds = 2;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "How long each case runs (default 2)");

static unsigned int importers = 3;
module_param(importers, uint, 0444);
MODULE_PARM_DESC(importers, "Dynamic importer tasks per case (default 3, at most 8)");

#define MAX_TASKS	12

struct stress_buf {
	struct dma_buf *buf;
	struct device *dev;
	void *vaddr;
	/* The exporter's callbacks, counted. */
	atomic_t attached, detached, pins, unpins, maps, unmaps, vmaps, vunmaps;
	atomic_t begins, ends, invalidations;
	/* Callbacks that ran without the lock they need, or saw a bad argument. */
	atomic_t violations;
	unsigned long deadline;
};

static void need_lock(struct stress_buf *s)
{
	if (!dma_resv_is_locked(s->buf->resv))
		atomic_inc(&s->violations);
}

static int stress_attach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	atomic_inc(&((struct stress_buf *)buf->priv)->attached);
	return 0;
}

static void stress_detach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	atomic_inc(&((struct stress_buf *)buf->priv)->detached);
}

static int stress_pin(struct dma_buf_attachment *a)
{
	struct stress_buf *s = a->dmabuf->priv;

	need_lock(s);
	atomic_inc(&s->pins);
	return 0;
}

static void stress_unpin(struct dma_buf_attachment *a)
{
	struct stress_buf *s = a->dmabuf->priv;

	need_lock(s);
	atomic_inc(&s->unpins);
}

static struct sg_table *stress_map(struct dma_buf_attachment *a, enum dma_data_direction dir)
{
	struct stress_buf *s = a->dmabuf->priv;
	struct sg_table *sgt = kzalloc_obj(*sgt);

	need_lock(s);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(sgt, 1, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	/* Not a real DMA mapping: the address says which buffer it is. */
	sg_dma_address(sgt->sgl) = (dma_addr_t)(uintptr_t)s->vaddr;
	sg_dma_len(sgt->sgl) = PAGE_SIZE;
	atomic_inc(&s->maps);
	return sgt;
}

static void stress_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	struct stress_buf *s = a->dmabuf->priv;

	need_lock(s);
	atomic_inc(&s->unmaps);
	sg_free_table(sgt);
	kfree(sgt);
}

static int stress_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct stress_buf *s = buf->priv;

	need_lock(s);
	atomic_inc(&s->vmaps);
	iosys_map_set_vaddr(map, s->vaddr);
	return 0;
}

static void stress_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct stress_buf *s = buf->priv;

	need_lock(s);
	if (map->vaddr != s->vaddr)
		atomic_inc(&s->violations);
	atomic_inc(&s->vunmaps);
}

static int stress_begin(struct dma_buf *buf, enum dma_data_direction dir)
{
	atomic_inc(&((struct stress_buf *)buf->priv)->begins);
	return 0;
}

static int stress_end(struct dma_buf *buf, enum dma_data_direction dir)
{
	atomic_inc(&((struct stress_buf *)buf->priv)->ends);
	return 0;
}

static void stress_release(struct dma_buf *buf)
{
}

static const struct dma_buf_ops stress_ops = {
	.attach = stress_attach,
	.detach = stress_detach,
	.pin = stress_pin,
	.unpin = stress_unpin,
	.map_dma_buf = stress_map,
	.unmap_dma_buf = stress_unmap,
	.vmap = stress_vmap,
	.vunmap = stress_vunmap,
	.begin_cpu_access = stress_begin,
	.end_cpu_access = stress_end,
	.release = stress_release,
};

static void stress_invalidate(struct dma_buf_attachment *a)
{
	struct stress_buf *s = a->dmabuf->priv;

	need_lock(s);
	if (a->importer_priv != s)
		atomic_inc(&s->violations);
	atomic_inc(&s->invalidations);
}

static const struct dma_buf_attach_ops stress_importer = {
	.allow_peer2peer = true,
	.invalidate_mappings = stress_invalidate,
};

struct stress_task {
	struct stress_buf *s;
	int (*loop)(struct stress_task *t);
	const char *what;
	long ops;
	/* The first error the loop met, or 0. */
	int err;
	struct completion done;
};

static bool running(struct stress_task *t)
{
	cond_resched();
	return time_before(jiffies, t->s->deadline) && !t->err;
}

static int stress_thread(void *data)
{
	struct stress_task *t = data;

	while (running(t)) {
		t->err = t->loop(t);
		t->ops++;
	}
	/* The last use of @t: the test may free it once it has seen this. */
	complete(&t->done);
	return 0;
}

/* A mapping must describe this buffer. */
static int check_sgt(struct stress_buf *s, struct sg_table *sgt)
{
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	if (sg_dma_address(sgt->sgl) != (dma_addr_t)(uintptr_t)s->vaddr)
		return -EFAULT;
	return 0;
}

static int dynamic_cycle(struct stress_task *t)
{
	struct stress_buf *s = t->s;
	struct dma_buf_attachment *a;
	struct sg_table *sgt;
	int err;

	a = dma_buf_dynamic_attach(s->buf, s->dev, &stress_importer, s);
	if (IS_ERR(a))
		return PTR_ERR(a);
	dma_resv_lock(s->buf->resv, NULL);
	sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
	err = check_sgt(s, sgt);
	if (!IS_ERR(sgt))
		dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(s->buf->resv);
	dma_buf_detach(s->buf, a);
	return err;
}

static int invalidate_cycle(struct stress_task *t)
{
	dma_resv_lock(t->s->buf->resv, NULL);
	dma_buf_invalidate_mappings(t->s->buf);
	dma_resv_unlock(t->s->buf->resv);
	return 0;
}

static int static_cycle(struct stress_task *t)
{
	struct stress_buf *s = t->s;
	struct dma_buf_attachment *a = dma_buf_attach(s->buf, s->dev);
	struct sg_table *sgt;
	int err, i;

	if (IS_ERR(a))
		return PTR_ERR(a);
	for (err = 0, i = 0; !err && i < 8; i++) {
		sgt = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
		err = check_sgt(s, sgt);
		if (!IS_ERR(sgt))
			dma_buf_unmap_attachment_unlocked(a, sgt, DMA_TO_DEVICE);
	}
	dma_buf_detach(s->buf, a);
	return err;
}

static int vmap_unlocked_cycle(struct stress_task *t)
{
	struct iosys_map map;
	int err = dma_buf_vmap_unlocked(t->s->buf, &map);

	if (err)
		return err;
	if (map.vaddr != t->s->vaddr)
		err = -EFAULT;
	dma_buf_vunmap_unlocked(t->s->buf, &map);
	return err;
}

static int vmap_locked_cycle(struct stress_task *t)
{
	struct dma_buf *buf = t->s->buf;
	struct iosys_map map;
	int err;

	dma_resv_lock(buf->resv, NULL);
	err = dma_buf_vmap(buf, &map);
	if (!err) {
		if (map.vaddr != t->s->vaddr)
			err = -EFAULT;
		dma_buf_vunmap(buf, &map);
	}
	dma_resv_unlock(buf->resv);
	return err;
}

static int ref_cycle(struct stress_task *t)
{
	get_dma_buf(t->s->buf);
	dma_buf_put(t->s->buf);
	return 0;
}

static int cpu_access_cycle(struct stress_task *t)
{
	int err = dma_buf_begin_cpu_access(t->s->buf, DMA_BIDIRECTIONAL);

	return err ?: dma_buf_end_cpu_access(t->s->buf, DMA_BIDIRECTIONAL);
}

static int pin_cycle(struct stress_task *t)
{
	struct stress_buf *s = t->s;
	struct dma_buf_attachment *a;
	int err;

	a = dma_buf_dynamic_attach(s->buf, s->dev, &stress_importer, s);
	if (IS_ERR(a))
		return PTR_ERR(a);
	dma_resv_lock(s->buf->resv, NULL);
	err = dma_buf_pin(a);
	if (!err)
		dma_buf_unpin(a);
	dma_resv_unlock(s->buf->resv);
	dma_buf_detach(s->buf, a);
	return err;
}

static struct stress_buf *stress_buf(struct kunit *test)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct stress_buf *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, s);
	s->dev = kunit_device_register(test, "dma-buf-stress");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s->dev);
	s->vaddr = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->vaddr);
	info.ops = &stress_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = s;
	s->buf = dma_buf_export(&info);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s->buf);
	return s;
}

/*
 * Runs the tasks until the deadline, then checks what they and the exporter
 * saw, and releases the buffer.
 */
static void run_tasks(struct kunit *test, struct stress_buf *s, struct stress_task *tasks,
		      int n)
{
	struct task_struct *k;
	int i, started = 0;

	s->deadline = jiffies + secs_to_jiffies(seconds);
	for (i = 0; i < n; i++) {
		tasks[i].s = s;
		init_completion(&tasks[i].done);
		k = kthread_run(stress_thread, &tasks[i], "dma-buf-stress/%d", i);
		if (IS_ERR(k)) {
			KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(k));
			/* The ones started stop at the deadline; wait for them. */
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		wait_for_completion(&tasks[i].done);
	for (i = 0; i < started; i++) {
		KUNIT_EXPECT_EQ_MSG(test, tasks[i].err, 0, "%s", tasks[i].what);
		KUNIT_EXPECT_GT_MSG(test, tasks[i].ops, 0, "%s never ran", tasks[i].what);
		pr_info("dma_buf_stress: %s: %s: %ld\n", test->name, tasks[i].what, tasks[i].ops);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&s->violations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->attached), atomic_read(&s->detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->pins), atomic_read(&s->unpins));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->maps), atomic_read(&s->unmaps));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->vmaps), atomic_read(&s->vunmaps));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->begins), atomic_read(&s->ends));
	KUNIT_EXPECT_TRUE(test, list_empty(&s->buf->attachments));
	KUNIT_EXPECT_EQ(test, s->buf->vmapping_counter, 0);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&s->buf->vmap_ptr));
	dma_buf_put(s->buf);
	/* A kernel thread's last fput() is left to a work item: release before @s goes. */
	flush_delayed_fput();
}

static void add(struct stress_task *tasks, int *n, int (*loop)(struct stress_task *t),
		const char *what)
{
	tasks[*n].loop = loop;
	tasks[*n].what = what;
	(*n)++;
}

static void importers_against_invalidation(struct kunit *test)
{
	struct stress_buf *s = stress_buf(test);
	struct stress_task tasks[MAX_TASKS] = { };
	int i, n = 0;

	for (i = 0; i < min(importers, 8U); i++)
		add(tasks, &n, dynamic_cycle, "dynamic attach, map, unmap, detach");
	add(tasks, &n, invalidate_cycle, "invalidate");
	add(tasks, &n, static_cycle, "static attach, 8 maps, detach");
	run_tasks(test, s, tasks, n);
	pr_info("dma_buf_stress: %s: importers told of an invalidation: %d\n", test->name,
		atomic_read(&s->invalidations));
}

static void shared_kernel_mapping(struct kunit *test)
{
	struct stress_buf *s = stress_buf(test);
	struct stress_task tasks[MAX_TASKS] = { };
	int n = 0;

	add(tasks, &n, vmap_unlocked_cycle, "vmap_unlocked");
	add(tasks, &n, vmap_unlocked_cycle, "vmap_unlocked");
	add(tasks, &n, vmap_locked_cycle, "vmap under the lock");
	add(tasks, &n, vmap_locked_cycle, "vmap under the lock");
	run_tasks(test, s, tasks, n);
}

static void references_access_and_pins(struct kunit *test)
{
	struct stress_buf *s = stress_buf(test);
	struct stress_task tasks[MAX_TASKS] = { };
	int n = 0;

	add(tasks, &n, ref_cycle, "get, put");
	add(tasks, &n, cpu_access_cycle, "begin, end CPU access");
	add(tasks, &n, pin_cycle, "attach, pin, unpin, detach");
	add(tasks, &n, static_cycle, "static attach, 8 maps, detach");
	run_tasks(test, s, tasks, n);
}

static struct kunit_case stress_cases[] = {
	KUNIT_CASE_SLOW(importers_against_invalidation),
	KUNIT_CASE_SLOW(shared_kernel_mapping),
	KUNIT_CASE_SLOW(references_access_and_pins),
	{}
};

static struct kunit_suite stress_suite = {
	.name = "dma_buf_stress",
	.test_cases = stress_cases,
};
kunit_test_suites(&stress_suite);

MODULE_DESCRIPTION("Concurrent importers against one exporter, for a bounded time");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
