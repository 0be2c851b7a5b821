// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of each in-kernel dma-buf operation, on either core.
 *
 * A trivial exporter (every callback a store or two, one sg_table made at
 * load) and a trivial importer, so that what is measured is the core's own
 * work. Each operation is a balanced pair (attach and detach, map and unmap,
 * ...) run in batches of `iters`; a batch's time over `iters` is one sample,
 * and the median of `batches` samples is the figure. Next to each operation
 * runs its floor: the same exporter callbacks called directly, as the core
 * calls them, so that op minus floor is what the core adds ("NAME floor";
 * an operation without one has the empty loop for its floor).
 *
 * Run under QEMU TCG with -icount shift=0, one guest nanosecond is one
 * instruction: the figures are instructions per operation. The module checks
 * that first with a loop of known length ("calibration").
 *
 * Everything runs in a kernel thread (so that the last fput() of a buffer
 * goes to the delayed-fput list, which export_put flushes, and so that
 * dma_buf_fd() has the kernel threads' file table); the module's init waits
 * for it and fails with its error. Output, one line per figure:
 *
 *   dma_buf_bench: NAME: MEDIAN min MIN max MAX (1/100 ns per op, N x ITERS)
 */

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/sort.h>

static unsigned int iters = 2000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "Operations per batch (default 2000)");

static unsigned int batches = 9;
module_param(batches, uint, 0444);
MODULE_PARM_DESC(batches, "Batches per figure, the median is reported (default 9, at most 31)");

#define MAX_BATCHES	31
#define MAX_ATTACH	256

struct bench {
	struct device *dev;
	struct dma_buf *buf;
	struct dma_buf_attachment *stat, *dyn;
	struct dma_buf_attachment *many[MAX_ATTACH];
	struct sg_table sgt;
	void *vaddr;
	/* Touched by the callbacks, so that they are not empty. */
	unsigned long calls;
};

static int bench_attach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct bench *)buf->priv)->calls++;
	return 0;
}

static void bench_detach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct bench *)buf->priv)->calls++;
}

static int bench_pin(struct dma_buf_attachment *a)
{
	((struct bench *)a->dmabuf->priv)->calls++;
	return 0;
}

static void bench_unpin(struct dma_buf_attachment *a)
{
	((struct bench *)a->dmabuf->priv)->calls++;
}

static struct sg_table *bench_map(struct dma_buf_attachment *a, enum dma_data_direction dir)
{
	struct bench *b = a->dmabuf->priv;

	b->calls++;
	return &b->sgt;
}

static void bench_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
			enum dma_data_direction dir)
{
	((struct bench *)a->dmabuf->priv)->calls++;
}

static int bench_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct bench *b = buf->priv;

	b->calls++;
	iosys_map_set_vaddr(map, b->vaddr);
	return 0;
}

static void bench_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	((struct bench *)buf->priv)->calls++;
}

static int bench_begin(struct dma_buf *buf, enum dma_data_direction dir)
{
	((struct bench *)buf->priv)->calls++;
	return 0;
}

static int bench_end(struct dma_buf *buf, enum dma_data_direction dir)
{
	((struct bench *)buf->priv)->calls++;
	return 0;
}

static void bench_release(struct dma_buf *buf)
{
	((struct bench *)buf->priv)->calls++;
}

static const struct dma_buf_ops bench_ops = {
	.attach = bench_attach,
	.detach = bench_detach,
	.pin = bench_pin,
	.unpin = bench_unpin,
	.map_dma_buf = bench_map,
	.unmap_dma_buf = bench_unmap,
	.vmap = bench_vmap,
	.vunmap = bench_vunmap,
	.begin_cpu_access = bench_begin,
	.end_cpu_access = bench_end,
	.release = bench_release,
};

static void bench_invalidate(struct dma_buf_attachment *a)
{
	((struct bench *)a->importer_priv)->calls++;
}

static const struct dma_buf_attach_ops bench_importer = {
	.allow_peer2peer = true,
	.invalidate_mappings = bench_invalidate,
};

static struct dma_buf *bench_export(struct bench *b)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);

	info.ops = &bench_ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = b;
	return dma_buf_export(&info);
}

/*
 * The operations. Each runs one balanced pair; `locked` ones run with the
 * reservation lock held around the whole batch, as an importer holds it
 * around its work. An operation that fails sets @err and the run stops.
 */
struct op {
	const char *name;
	int (*fn)(struct bench *b);
	bool locked;
};

/* The batch loop with nothing in it but the call. */
static int op_empty(struct bench *b)
{
	return 0;
}

static int op_get_put(struct bench *b)
{
	get_dma_buf(b->buf);
	dma_buf_put(b->buf);
	return 0;
}

static int op_attach_static(struct bench *b)
{
	struct dma_buf_attachment *a = dma_buf_attach(b->buf, b->dev);

	if (IS_ERR(a))
		return PTR_ERR(a);
	dma_buf_detach(b->buf, a);
	return 0;
}

static int op_attach_dynamic(struct bench *b)
{
	struct dma_buf_attachment *a;

	a = dma_buf_dynamic_attach(b->buf, b->dev, &bench_importer, b);
	if (IS_ERR(a))
		return PTR_ERR(a);
	dma_buf_detach(b->buf, a);
	return 0;
}

static int floor_attach(struct bench *b)
{
	int ret = b->buf->ops->attach(b->buf, b->stat);

	b->buf->ops->detach(b->buf, b->stat);
	return ret;
}

static int map_unmap(struct dma_buf_attachment *a)
{
	struct sg_table *sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);

	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
	return 0;
}

static int op_map_dynamic(struct bench *b)
{
	return map_unmap(b->dyn);
}

static int op_map_static(struct bench *b)
{
	return map_unmap(b->stat);
}

static int map_unmap_unlocked(struct dma_buf_attachment *a)
{
	struct sg_table *sgt = dma_buf_map_attachment_unlocked(a, DMA_BIDIRECTIONAL);

	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_BIDIRECTIONAL);
	return 0;
}

static int op_map_unlocked_static(struct bench *b)
{
	return map_unmap_unlocked(b->stat);
}

static int op_map_unlocked_dynamic(struct bench *b)
{
	return map_unmap_unlocked(b->dyn);
}

static int floor_map(struct bench *b)
{
	struct sg_table *sgt = b->buf->ops->map_dma_buf(b->dyn, DMA_BIDIRECTIONAL);

	b->buf->ops->unmap_dma_buf(b->dyn, sgt, DMA_BIDIRECTIONAL);
	return 0;
}

/* A static importer of an exporter that can pin is pinned for each mapping. */
static int floor_map_static(struct bench *b)
{
	int ret = b->buf->ops->pin(b->stat);

	floor_map(b);
	b->buf->ops->unpin(b->stat);
	return ret;
}

static int op_pin(struct bench *b)
{
	int ret = dma_buf_pin(b->dyn);

	if (ret)
		return ret;
	dma_buf_unpin(b->dyn);
	return 0;
}

static int floor_pin(struct bench *b)
{
	int ret = b->buf->ops->pin(b->dyn);

	b->buf->ops->unpin(b->dyn);
	return ret;
}

static int op_vmap(struct bench *b)
{
	struct iosys_map map;
	int ret = dma_buf_vmap(b->buf, &map);

	if (ret)
		return ret;
	dma_buf_vunmap(b->buf, &map);
	return 0;
}

static int op_vmap_unlocked(struct bench *b)
{
	struct iosys_map map;
	int ret = dma_buf_vmap_unlocked(b->buf, &map);

	if (ret)
		return ret;
	dma_buf_vunmap_unlocked(b->buf, &map);
	return 0;
}

static int floor_vmap(struct bench *b)
{
	struct iosys_map map;
	int ret = b->buf->ops->vmap(b->buf, &map);

	b->buf->ops->vunmap(b->buf, &map);
	return ret;
}

static int op_begin_end(struct bench *b)
{
	int ret = dma_buf_begin_cpu_access(b->buf, DMA_FROM_DEVICE);

	return ret ?: dma_buf_end_cpu_access(b->buf, DMA_FROM_DEVICE);
}

static int floor_begin_end(struct bench *b)
{
	int ret = b->buf->ops->begin_cpu_access(b->buf, DMA_FROM_DEVICE);

	return ret ?: b->buf->ops->end_cpu_access(b->buf, DMA_FROM_DEVICE);
}

/* The release runs from the delayed-fput list: flushed here, so it is counted. */
static int op_export_put(struct bench *b)
{
	struct dma_buf *buf = bench_export(b);

	if (IS_ERR(buf))
		return PTR_ERR(buf);
	dma_buf_put(buf);
	flush_delayed_fput();
	return 0;
}

/* An fd of the buffer (holding a reference of its own), looked up, then closed. */
static int op_fd_get_put(struct bench *b)
{
	struct dma_buf *buf;
	int fd;

	get_dma_buf(b->buf);
	fd = dma_buf_fd(b->buf, O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(b->buf);
		return fd;
	}
	buf = dma_buf_get(fd);
	if (!IS_ERR(buf))
		dma_buf_put(buf);
	close_fd(fd);
	return IS_ERR(buf) ? PTR_ERR(buf) : 0;
}

static int op_invalidate(struct bench *b)
{
	dma_buf_invalidate_mappings(b->buf);
	return 0;
}


static int samples[MAX_BATCHES];

static int cmp_sample(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/*
 * Runs @fn in batches and prints "NAME: median min max", in 1/100 ns per
 * call. Returns 0 or the first error of @fn.
 */
static int measure(struct bench *b, const char *name, int (*fn)(struct bench *b), bool locked)
{
	unsigned int n, i;
	int ret = 0;

	for (n = 0; n < batches; n++) {
		u64 t0, t;

		if (locked)
			dma_resv_lock(b->buf->resv, NULL);
		t0 = ktime_get_ns();
		for (i = 0; i < iters && !ret; i++)
			ret = fn(b);
		t = ktime_get_ns() - t0;
		if (locked)
			dma_resv_unlock(b->buf->resv);
		if (ret) {
			pr_err("dma_buf_bench: %s failed: %d\n", name, ret);
			return ret;
		}
		samples[n] = div_u64(t * 100, iters);
		cond_resched();
	}
	sort(samples, batches, sizeof(samples[0]), cmp_sample, NULL);
	pr_info("dma_buf_bench: %s: %d min %d max %d (1/100 ns per op, %u x %u)\n", name,
		samples[batches / 2], samples[0], samples[batches - 1], batches, iters);
	return 0;
}

static const struct op ops[] = {
	{ "empty", op_empty },
	{ "get+put", op_get_put },
	{ "attach+detach static", op_attach_static },
	{ "attach+detach static floor", floor_attach },
	{ "attach+detach dynamic", op_attach_dynamic },
	{ "attach+detach dynamic floor", floor_attach },
	{ "map+unmap dynamic locked", op_map_dynamic, true },
	{ "map+unmap dynamic locked floor", floor_map, true },
	{ "map+unmap static locked", op_map_static, true },
	{ "map+unmap static locked floor", floor_map_static, true },
	{ "map+unmap_unlocked static", op_map_unlocked_static },
	{ "map+unmap_unlocked static floor", floor_map_static },
	{ "map+unmap_unlocked dynamic", op_map_unlocked_dynamic },
	{ "map+unmap_unlocked dynamic floor", floor_map },
	{ "pin+unpin locked", op_pin, true },
	{ "pin+unpin locked floor", floor_pin, true },
	{ "begin+end cpu access", op_begin_end },
	{ "begin+end cpu access floor", floor_begin_end },
	{ "export+put", op_export_put },
	{ "fd+get+put", op_fd_get_put },
};

/* vmap+vunmap, first (the exporter maps each time) and with a mapping held. */
static int measure_vmap(struct bench *b)
{
	struct iosys_map held;
	int ret;

	ret = measure(b, "vmap+vunmap locked first", op_vmap, true) ?:
	      measure(b, "vmap+vunmap locked first floor", floor_vmap, true) ?:
	      measure(b, "vmap+vunmap_unlocked first", op_vmap_unlocked, false) ?:
	      measure(b, "vmap+vunmap_unlocked first floor", floor_vmap, false);
	if (ret)
		return ret;
	ret = dma_buf_vmap_unlocked(b->buf, &held);
	if (ret)
		return ret;
	ret = measure(b, "vmap+vunmap locked held", op_vmap, true) ?:
	      measure(b, "vmap+vunmap_unlocked held", op_vmap_unlocked, false);
	dma_buf_vunmap_unlocked(b->buf, &held);
	return ret;
}

/* The attachments measure_invalidate() has made so far. */
static int invalidate_n;

/* What invalidate_mappings does with invalidate_n attachments, without the core. */
static int floor_invalidate(struct bench *b)
{
	int i;

	for (i = 0; i < invalidate_n; i++)
		b->many[i]->importer_ops->invalidate_mappings(b->many[i]);
	return 0;
}

/* invalidate_mappings with 1, 4, 16, 64 and 256 dynamic attachments. */
static int measure_invalidate(struct bench *b)
{
	static const int counts[] = { 1, 4, 16, 64, 256 };
	char name[48];
	int i, k, n = 0, ret = 0;

	/* The two attachments of the other figures go for the count to be exact. */
	dma_buf_detach(b->buf, b->dyn);
	dma_buf_detach(b->buf, b->stat);
	b->dyn = b->stat = NULL;
	for (i = 0; i < ARRAY_SIZE(counts) && !ret; i++) {
		for (; n < counts[i]; n++) {
			b->many[n] = dma_buf_dynamic_attach(b->buf, b->dev, &bench_importer, b);
			if (IS_ERR(b->many[n])) {
				ret = PTR_ERR(b->many[n]);
				break;
			}
		}
		if (ret)
			break;
		invalidate_n = counts[i];
		snprintf(name, sizeof(name), "invalidate %d attachments", counts[i]);
		ret = measure(b, name, op_invalidate, true);
		snprintf(name, sizeof(name), "invalidate %d attachments floor", counts[i]);
		ret = ret ?: measure(b, name, floor_invalidate, true);
	}
	for (k = 0; k < n; k++)
		dma_buf_detach(b->buf, b->many[k]);
	return ret;
}

/* A loop of known length: two instructions per round. */
static noinline void calibration_loop(unsigned long rounds)
{
	asm volatile("1: dec %0\n\tjnz 1b" : "+r"(rounds));
}

static void calibrate(void)
{
	const unsigned long rounds = 1000000;
	u64 t0 = ktime_get_ns();

	calibration_loop(rounds);
	pr_info("dma_buf_bench: calibration: %lu instructions in %llu ns\n", 2 * rounds,
		ktime_get_ns() - t0);
}

static int bench_setup(struct bench *b)
{
	b->dev = root_device_register("dma_buf_bench");
	if (IS_ERR(b->dev))
		return PTR_ERR(b->dev);
	b->vaddr = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!b->vaddr || sg_alloc_table(&b->sgt, 1, GFP_KERNEL))
		return -ENOMEM;
	sg_dma_address(b->sgt.sgl) = PAGE_SIZE;
	sg_dma_len(b->sgt.sgl) = PAGE_SIZE;
	b->buf = bench_export(b);
	if (IS_ERR(b->buf)) {
		int ret = PTR_ERR(b->buf);

		b->buf = NULL;
		return ret;
	}
	b->stat = dma_buf_attach(b->buf, b->dev);
	if (IS_ERR(b->stat)) {
		int ret = PTR_ERR(b->stat);

		b->stat = NULL;
		return ret;
	}
	b->dyn = dma_buf_dynamic_attach(b->buf, b->dev, &bench_importer, b);
	if (IS_ERR(b->dyn)) {
		int ret = PTR_ERR(b->dyn);

		b->dyn = NULL;
		return ret;
	}
	return 0;
}

static void bench_teardown(struct bench *b)
{
	if (b->dyn)
		dma_buf_detach(b->buf, b->dyn);
	if (b->stat)
		dma_buf_detach(b->buf, b->stat);
	if (b->buf) {
		dma_buf_put(b->buf);
		flush_delayed_fput();
	}
	if (b->sgt.sgl)
		sg_free_table(&b->sgt);
	kfree(b->vaddr);
	if (!IS_ERR_OR_NULL(b->dev))
		root_device_unregister(b->dev);
}

/*
 * What the core allocates per buffer and per attachment: the slab object
 * (ksize(), the bucket it came from) beside the structure. The buffer's file,
 * inode and dentry come from the VFS in both cores.
 */
static void report_memory(struct bench *b)
{
	pr_info("dma_buf_bench: memory: buffer: %zu bytes (struct dma_buf %zu, embedded dma_resv %zu)\n",
		ksize(b->buf), sizeof(*b->buf), sizeof(struct dma_resv));
	pr_info("dma_buf_bench: memory: attachment: %zu bytes (struct dma_buf_attachment %zu)\n",
		ksize(b->stat), sizeof(*b->stat));
}

static struct bench the_bench;
static DECLARE_COMPLETION(done);
static int result;

static int bench_thread(void *unused)
{
	struct bench *b = &the_bench;
	int i, ret;

	calibrate();
	ret = bench_setup(b);
	if (!ret)
		report_memory(b);
	for (i = 0; i < ARRAY_SIZE(ops) && !ret; i++)
		ret = measure(b, ops[i].name, ops[i].fn, ops[i].locked);
	ret = ret ?: measure_vmap(b);
	ret = ret ?: measure_invalidate(b);
	bench_teardown(b);
	pr_info("dma_buf_bench: done: %d\n", ret);
	result = ret;
	complete(&done);
	return 0;
}

static int __init dma_buf_bench_init(void)
{
	struct task_struct *t;

	if (!iters || !batches || batches > MAX_BATCHES)
		return -EINVAL;
	t = kthread_run(bench_thread, NULL, "dma_buf_bench");
	if (IS_ERR(t))
		return PTR_ERR(t);
	wait_for_completion(&done);
	return result;
}
module_init(dma_buf_bench_init);

static void __exit dma_buf_bench_exit(void)
{
}
module_exit(dma_buf_bench_exit);

MODULE_DESCRIPTION("The cost of each in-kernel dma-buf operation");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
