// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the Rust dma-buf core's run-time checks of the locking
 * convention, from C: each case breaks one rule and checks that the call is
 * refused with the documented errno and that the exporter and importer saw
 * nothing. Documentation/driver-api/dma-buf-rust.rst lists the rules.
 *
 * Only for the Rust core: the C core deadlocks or corrupts state on most of
 * these misuses (that is the point of the checks).
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

struct misuse_exporter {
	void *vaddr;
	int attach, detach, pin, unpin, map, unmap, vmap, vunmap;
	int begin, end;
};

struct misuse_ctx {
	struct device *dev;
	struct dma_buf *buf;
	struct misuse_exporter *exp;
	int invalidations;
};

static int misuse_attach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct misuse_exporter *)buf->priv)->attach++;
	return 0;
}

static void misuse_detach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	((struct misuse_exporter *)buf->priv)->detach++;
}

static int misuse_pin(struct dma_buf_attachment *a)
{
	((struct misuse_exporter *)a->dmabuf->priv)->pin++;
	return 0;
}

static void misuse_unpin(struct dma_buf_attachment *a)
{
	((struct misuse_exporter *)a->dmabuf->priv)->unpin++;
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
	((struct misuse_exporter *)a->dmabuf->priv)->map++;
	return sgt;
}

static void misuse_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	((struct misuse_exporter *)a->dmabuf->priv)->unmap++;
	sg_free_table(sgt);
	kfree(sgt);
}

static int misuse_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct misuse_exporter *exp = buf->priv;

	exp->vmap++;
	iosys_map_set_vaddr(map, exp->vaddr);
	return 0;
}

static void misuse_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	((struct misuse_exporter *)buf->priv)->vunmap++;
}

static int misuse_begin(struct dma_buf *buf, enum dma_data_direction dir)
{
	((struct misuse_exporter *)buf->priv)->begin++;
	return 0;
}

static int misuse_end(struct dma_buf *buf, enum dma_data_direction dir)
{
	((struct misuse_exporter *)buf->priv)->end++;
	return 0;
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
	.release = misuse_release,
};

static void misuse_invalidate(struct dma_buf_attachment *a)
{
	((struct misuse_ctx *)a->importer_priv)->invalidations++;
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

/* Locked functions called without the lock: refused, nothing reaches the exporter. */
static void misuse_locked_without_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map = IOSYS_MAP_INIT_VADDR(ctx);
	struct sg_table *sgt;

	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_map_attachment(a, DMA_TO_DEVICE),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(ctx->buf, &map), -EINVAL);
	KUNIT_EXPECT_TRUE(test, iosys_map_is_null(&map));
	dma_buf_invalidate_mappings(ctx->buf);
	KUNIT_EXPECT_EQ(test, ctx->exp->pin, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 0);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 0);

	/* Undoing without the lock is refused too: the mapping stays. */
	sgt = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(ctx->buf, &map), 0);
	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_pin(a), 0);
	dma_resv_unlock(ctx->buf->resv);

	dma_buf_unmap_attachment(a, sgt, DMA_TO_DEVICE);
	dma_buf_vunmap(ctx->buf, &map);
	dma_buf_unpin(a);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->unpin, 0);

	/* Done right, they go through. */
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_TO_DEVICE);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	dma_resv_lock(ctx->buf->resv, NULL);
	dma_buf_unpin(a);
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_EQ(test, ctx->exp->unmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->unpin, 1);
	dma_buf_detach(ctx->buf, a);
}

/* Unlocked functions called with the lock held: -EDEADLK instead of a deadlock. */
static void misuse_unlocked_with_lock(struct kunit *test)
{
	struct misuse_ctx *ctx = test->priv;
	struct dma_buf_attachment *a = dyn_attach(test);
	struct iosys_map map;

	dma_resv_lock(ctx->buf->resv, NULL);
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_attach(ctx->buf, ctx->dev),
			    ERR_PTR(-EDEADLK));
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_dynamic_attach(ctx->buf, ctx->dev,
						   &misuse_importer, ctx),
			    ERR_PTR(-EDEADLK));
	KUNIT_EXPECT_PTR_EQ(test,
			    dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE),
			    ERR_PTR(-EDEADLK));
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(ctx->buf, &map), -EDEADLK);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(ctx->buf, DMA_FROM_DEVICE),
			-EDEADLK);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(ctx->buf, DMA_FROM_DEVICE),
			-EDEADLK);
	/* Refused: the attachment stays attached. */
	dma_buf_detach(ctx->buf, a);
	dma_resv_unlock(ctx->buf->resv);

	KUNIT_EXPECT_EQ(test, ctx->exp->attach, 1);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->map, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->vmap, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->begin, 0);
	KUNIT_EXPECT_EQ(test, ctx->exp->end, 0);

	/* Still attached, so invalidation reaches it. */
	dma_resv_lock(ctx->buf->resv, NULL);
	dma_buf_invalidate_mappings(ctx->buf);
	dma_resv_unlock(ctx->buf->resv);
	KUNIT_EXPECT_EQ(test, ctx->invalidations, 1);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
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

	/* A vunmap of a mapping that is not the buffer's changes nothing. */
	KUNIT_EXPECT_EQ(test, dma_buf_vmap_unlocked(ctx->buf, &map), 0);
	iosys_map_set_vaddr(&map, ctx);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 0);
	iosys_map_set_vaddr(&map, ctx->exp->vaddr);
	dma_buf_vunmap_unlocked(ctx->buf, &map);
	KUNIT_EXPECT_EQ(test, ctx->exp->vunmap, 1);

	dma_buf_detach(NULL, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 0);
	dma_buf_detach(ctx->buf, a);
	KUNIT_EXPECT_EQ(test, ctx->exp->detach, 1);
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
}

static struct kunit_case misuse_cases[] = {
	KUNIT_CASE(misuse_rules_followed),
	KUNIT_CASE(misuse_locked_without_lock),
	KUNIT_CASE(misuse_unlocked_with_lock),
	KUNIT_CASE(misuse_bad_pointers),
	KUNIT_CASE(misuse_detach_from_other_buffer),
	KUNIT_CASE(misuse_vmap_is_counted),
	{}
};

static struct kunit_suite misuse_suite = {
	.name = "dma_buf_lock_misuse",
	.init = misuse_init,
	.exit = misuse_exit,
	.test_cases = misuse_cases,
};
kunit_test_suite(misuse_suite);

MODULE_DESCRIPTION("Lock-rule misuse of the dma-buf API from C, for the Rust core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
