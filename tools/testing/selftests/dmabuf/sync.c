// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_BUF_IOCTL_SYNC: every valid START/END x READ/WRITE/RW combination, the
 * flags dma_buf_ioctl() refuses, and the implicit fences that
 * dma_buf_begin_cpu_access() waits for.
 */
#include "dmabuf_util.h"

#include <pthread.h>

#include "kselftest_harness.h"

FIXTURE(sync) {
	struct buf b;
};

/* Every TEST_F() of the fixture runs on a buffer of each of the three exporters. */
FIXTURE_VARIANT(sync) {
	enum exporter exp;
};

FIXTURE_VARIANT_ADD(sync, udmabuf) {
	.exp = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(sync, system_heap) {
	.exp = EXP_HEAP,
};

FIXTURE_VARIANT_ADD(sync, vgem) {
	.exp = EXP_VGEM,
};

FIXTURE_SETUP(sync)
{
	int ret = buf_make(&self->b, variant->exp);

	if (ret == -ENODEV)
		SKIP(return, "%s", exporter_missing(variant->exp));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(sync)
{
	buf_free(&self->b);
}

TEST_F(sync, start_read)
{
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
}

TEST_F(sync, start_write)
{
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
}

TEST_F(sync, start_rw)
{
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
}

TEST_F(sync, end_read)
{
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
}

TEST_F(sync, end_write)
{
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
}

TEST_F(sync, end_rw)
{
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
}

/*
 * END without a START goes straight to the exporter: end_cpu_udmabuf() has
 * no sg_table yet and says EINVAL; the system heap and vgem (no
 * end_cpu_access at all) accept it.
 */
TEST_F(sync, end_without_start)
{
	int want = variant->exp == EXP_UDMABUF ? EINVAL : 0;

	EXPECT_EQ(want, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(want, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	/* Once a START has set the exporter up, END works everywhere. */
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
}

/* dma_buf_ioctl(): the direction bits must not be 0. */
TEST_F(sync, no_direction_einval)
{
	EXPECT_EQ(EINVAL, buf_sync(self->b.fd, 0));
	EXPECT_EQ(EINVAL, buf_sync(self->b.fd, DMA_BUF_SYNC_START));
	EXPECT_EQ(EINVAL, buf_sync(self->b.fd, DMA_BUF_SYNC_END));
}

/* dma_buf_ioctl(): anything outside DMA_BUF_SYNC_VALID_FLAGS_MASK is refused. */
TEST_F(sync, unknown_bits_einval)
{
	const uint64_t bad[] = {
		DMA_BUF_SYNC_READ | 0x8, DMA_BUF_SYNC_RW | 0x10,
		DMA_BUF_SYNC_WRITE | 0x80, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ | 0x100,
		DMA_BUF_SYNC_READ | (1ULL << 32), DMA_BUF_SYNC_RW | (1ULL << 63),
		~0ULL, ~(uint64_t)DMA_BUF_SYNC_VALID_FLAGS_MASK,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(EINVAL, buf_sync(self->b.fd, bad[i]))
			TH_LOG("flags 0x%llx", (unsigned long long)bad[i]);
	/* The refused calls left nothing behind: a valid cycle still works. */
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
}

/* copy_from_user() of struct dma_buf_sync fails first: EFAULT. */
TEST_F(sync, bad_pointer_efault)
{
	void *none = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *page = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, none);
	ASSERT_NE(MAP_FAILED, page);
	/* The struct straddles into an inaccessible page. */
	ASSERT_EQ(0, mprotect(page + PAGE_SZ, PAGE_SZ, PROT_NONE));
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_SYNC, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_SYNC, none));
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_SYNC, page + PAGE_SZ - 4));
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_SYNC,
				 (void *)0xffff888000000000UL));
	munmap(none, PAGE_SZ);
	munmap(page, 2 * PAGE_SZ);
}

/* What the CPU writes inside a WRITE bracket it reads back inside a READ one. */
TEST_F(sync, cpu_access_cycle)
{
	uint32_t *map = mmap(NULL, self->b.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			     self->b.fd, 0);
	int i;

	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
		fill(map, self->b.size, 0xc0 + i);
		ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
		ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
		ASSERT_EQ(-1, verify(map, self->b.size, 0xc0 + i));
		ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	}
	munmap(map, self->b.size);
}

/* Brackets may nest and repeat; each START/END is independent. */
TEST_F(sync, nested_and_repeated)
{
	int i;

	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
		ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	}
}

struct signaller {
	int vgem;
	uint32_t fence;
	int delay_ms;
	int signalled;		/* __atomic_*_n() only */
	int ret;
};

static void *signal_later(void *arg)
{
	struct signaller *s = arg;

	usleep(s->delay_ms * 1000);
	__atomic_store_n(&s->signalled, 1, __ATOMIC_SEQ_CST);
	s->ret = vgem_signal(s->vgem, s->fence);
	return NULL;
}

/*
 * Start CPU access with @flags while a vgem fence (@write or read) is on the
 * buffer and a thread signals it later; returns whether the ioctl returned
 * only after the signal.
 */
static int sync_vs_fence(struct __test_metadata *_metadata, struct buf *b, bool write,
			 uint64_t flags)
{
	struct signaller s = { .vgem = b->vgem, .delay_ms = 300 };
	pthread_t t;
	int fence, waited;

	fence = vgem_fence(b->vgem, b->handle, write);
	ASSERT_GT(fence, 0);
	s.fence = fence;
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &s));
	EXPECT_EQ(0, buf_sync(b->fd, flags));
	waited = __atomic_load_n(&s.signalled, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.ret);
	EXPECT_EQ(0, buf_sync(b->fd, (flags & DMA_BUF_SYNC_RW) | DMA_BUF_SYNC_END));
	return waited;
}

/* __dma_buf_begin_cpu_access(): a CPU read waits for the last write fence. */
TEST_F(sync, start_read_waits_write_fence)
{
	int ret = buf_vgem(&self->b);

	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	EXPECT_TRUE(sync_vs_fence(_metadata, &self->b, true,
				  DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
}

/* A CPU write waits for readers too. */
TEST_F(sync, start_write_waits_read_fence)
{
	int ret = buf_vgem(&self->b);

	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	EXPECT_TRUE(sync_vs_fence(_metadata, &self->b, false,
				  DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
}

TEST_F(sync, start_rw_waits_write_fence)
{
	int ret = buf_vgem(&self->b);

	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	EXPECT_TRUE(sync_vs_fence(_metadata, &self->b, true,
				  DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
}

/* A CPU read does not wait for other readers: it returns with the fence pending. */
TEST_F(sync, start_read_ignores_read_fence)
{
	int fence, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	fence = vgem_fence(self->b.vgem, self->b.handle, false);
	ASSERT_GT(fence, 0);
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	/* Still pending: vgem can signal it now without -ETIMEDOUT. */
	EXPECT_EQ(0, vgem_signal(self->b.vgem, fence));
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
}

/* END does not wait for fences. */
TEST_F(sync, end_does_not_wait)
{
	int fence, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	fence = vgem_fence(self->b.vgem, self->b.handle, true);
	ASSERT_GT(fence, 0);
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, vgem_signal(self->b.vgem, fence));
}

TEST_HARNESS_MAIN
