// SPDX-License-Identifier: GPL-2.0
/*
 * Implicit fences on a dma-buf as userspace sees them: poll() readiness
 * (dma_buf_poll()), DMA_BUF_IOCTL_EXPORT_SYNC_FILE and
 * DMA_BUF_IOCTL_IMPORT_SYNC_FILE. Fences come from vgem (attached to the
 * buffer's reservation object through a vgem GEM handle) and, where debugfs
 * has it, sw_sync.
 */
#include "dmabuf_util.h"

#include <pthread.h>

#include "kselftest_harness.h"

#define POLL_RW (POLLIN | POLLOUT)

FIXTURE(fence) {
	struct buf b;
	int timeline;
};

/* Every TEST_F() of the fixture runs on a buffer of each of the three exporters. */
FIXTURE_VARIANT(fence) {
	enum exporter exp;
};

FIXTURE_VARIANT_ADD(fence, udmabuf) {
	.exp = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(fence, system_heap) {
	.exp = EXP_HEAP,
};

FIXTURE_VARIANT_ADD(fence, vgem) {
	.exp = EXP_VGEM,
};

FIXTURE_SETUP(fence)
{
	int ret;

	self->timeline = -1;
	ret = buf_make(&self->b, variant->exp);
	if (ret == -ENODEV)
		SKIP(return, "%s", exporter_missing(variant->exp));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(fence)
{
	if (self->timeline >= 0)
		close(self->timeline);
	buf_free(&self->b);
}

/* The readiness bits of @fd among POLLIN|POLLOUT, right now. */
static short ready(int fd)
{
	return poll_now(fd, POLL_RW) & POLL_RW;
}

/* Whether a sync_file is signaled, by poll() and by SYNC_IOC_FILE_INFO. */
static int sync_file_signaled(struct __test_metadata *_metadata, int sync_fd)
{
	int by_poll = !!(poll_now(sync_fd, POLLIN) & POLLIN);
	int status = sync_file_status(sync_fd, NULL);

	EXPECT_EQ(by_poll, status) TH_LOG("poll and SYNC_IOC_FILE_INFO disagree");
	return by_poll;
}

TEST_F(fence, poll_idle_ready)
{
	ASSERT_EQ(POLL_RW, ready(self->b.fd));
}

/* A write fence blocks readers (POLLIN) and writers (POLLOUT) until it signals. */
TEST_F(fence, poll_write_fence)
{
	int f, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f = vgem_fence(self->b.vgem, self->b.handle, true);
	ASSERT_GT(f, 0);
	EXPECT_EQ(0, ready(self->b.fd));
	/* Asking again while dma_buf_poll()'s callback is armed: still busy. */
	EXPECT_EQ(0, ready(self->b.fd));
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
}

/* A read fence only blocks writers: POLLIN stays, POLLOUT waits. */
TEST_F(fence, poll_read_fence)
{
	int f, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f = vgem_fence(self->b.vgem, self->b.handle, false);
	ASSERT_GT(f, 0);
	EXPECT_EQ(POLLIN, ready(self->b.fd));
	EXPECT_EQ(POLLIN, poll_now(self->b.fd, POLLIN) & POLL_RW);
	EXPECT_EQ(0, poll_now(self->b.fd, POLLOUT) & POLL_RW);
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
}

struct later {
	int fd;			/* vgem fd, or sw_sync timeline */
	uint32_t fence;		/* vgem fence id; 0: sw_sync, increment by 1 */
	int done;		/* __atomic_*_n() only */
	int ret;
};

static void *signal_later(void *arg)
{
	struct later *l = arg;

	usleep(300 * 1000);
	__atomic_store_n(&l->done, 1, __ATOMIC_SEQ_CST);
	l->ret = l->fence ? vgem_signal(l->fd, l->fence) : sw_sync_inc(l->fd, 1);
	return NULL;
}

/* A blocking poll() wakes up when the fence signals, not before. */
TEST_F(fence, poll_wakes_on_signal)
{
	struct later l = { 0 };
	pthread_t t;
	short ev;
	int f, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f = vgem_fence(self->b.vgem, self->b.handle, true);
	ASSERT_GT(f, 0);
	l.fd = self->b.vgem;
	l.fence = f;
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &l));
	ev = poll_ms(self->b.fd, POLLIN, 8000);
	EXPECT_EQ(1, __atomic_load_n(&l.done, __ATOMIC_SEQ_CST));
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.ret);
	EXPECT_EQ(POLLIN, ev & POLL_RW);
}

/* Pollers of both directions (two fds of one buffer) are woken by one signal. */
TEST_F(fence, poll_both_directions_wake)
{
	struct pollfd p[2] = {
		{ .fd = self->b.fd, .events = POLLIN },
		{ .fd = -1, .events = POLLOUT },
	};
	struct later l = { 0 };
	pthread_t t;
	int f, n, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	p[1].fd = dup(self->b.fd);
	ASSERT_GE(p[1].fd, 0);
	f = vgem_fence(self->b.vgem, self->b.handle, true);
	ASSERT_GT(f, 0);
	l.fd = self->b.vgem;
	l.fence = f;
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &l));
	n = poll(p, 2, 8000);
	EXPECT_EQ(1, __atomic_load_n(&l.done, __ATOMIC_SEQ_CST));
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.ret);
	if (n == 1)	/* woken by the first callback: the second fires too */
		n = poll(p, 2, 1000);
	EXPECT_EQ(2, n);
	EXPECT_EQ(POLLIN, p[0].revents);
	EXPECT_EQ(POLLOUT, p[1].revents);
	close(p[1].fd);
}

/* dma_buf_export_sync_file(): flags must be a non-empty subset of DMA_BUF_SYNC_RW. */
TEST_F(fence, export_bad_flags_einval)
{
	const uint32_t bad[] = {
		0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END, 0x8,
		DMA_BUF_SYNC_RW | 0x100, 0x80000000u, ~0u,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, export_sync_file(self->b.fd, bad[i]))
			TH_LOG("flags 0x%x", bad[i]);
}

TEST_F(fence, export_bad_pointer_efault)
{
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
				 (void *)0xffff888000000000UL));
}

/*
 * Without fences the export is the signaled stub fence, for every direction;
 * the new fd is close-on-exec (get_unused_fd_flags(O_CLOEXEC)).
 */
TEST_F(fence, export_idle_is_signaled)
{
	const uint32_t flags[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	unsigned int i, num = 0;

	for (i = 0; i < 3; i++) {
		int s = export_sync_file(self->b.fd, flags[i]);

		ASSERT_GE(s, 0);
		EXPECT_EQ(1, sync_file_signaled(_metadata, s));
		EXPECT_EQ(1, sync_file_status(s, &num));
		EXPECT_EQ(1, num);
		EXPECT_EQ(FD_CLOEXEC, fcntl(s, F_GETFD) & FD_CLOEXEC);
		close(s);
	}
}

/* A pending write fence is in both exports; they signal with it. */
TEST_F(fence, export_write_fence)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info = { 0 };
	int f, rd, wr, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f = vgem_fence(self->b.vgem, self->b.handle, true);
	ASSERT_GT(f, 0);
	rd = export_sync_file(self->b.fd, DMA_BUF_SYNC_READ);
	wr = export_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE);
	ASSERT_GE(rd, 0);
	ASSERT_GE(wr, 0);
	EXPECT_EQ(0, sync_file_signaled(_metadata, rd));
	EXPECT_EQ(0, sync_file_signaled(_metadata, wr));
	/* The one fence is vgem's own, not a container. */
	info.num_fences = 2;
	info.sync_fence_info = (uintptr_t)fi;
	ASSERT_EQ(0, xioctl(rd, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_STREQ("vgem", fi[0].driver_name);
	EXPECT_EQ(0, fi[0].status);
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f));
	EXPECT_EQ(1, sync_file_signaled(_metadata, rd));
	EXPECT_EQ(1, sync_file_signaled(_metadata, wr));
	close(rd);
	close(wr);
}

/* A pending read fence: READ export (writers only) is signaled, WRITE is not. */
TEST_F(fence, export_read_fence)
{
	int f, rd, wr, rw, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f = vgem_fence(self->b.vgem, self->b.handle, false);
	ASSERT_GT(f, 0);
	rd = export_sync_file(self->b.fd, DMA_BUF_SYNC_READ);
	wr = export_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE);
	rw = export_sync_file(self->b.fd, DMA_BUF_SYNC_RW);
	ASSERT_GE(rd, 0);
	ASSERT_GE(wr, 0);
	ASSERT_GE(rw, 0);
	EXPECT_EQ(1, sync_file_signaled(_metadata, rd));
	EXPECT_EQ(0, sync_file_signaled(_metadata, wr));
	EXPECT_EQ(0, sync_file_signaled(_metadata, rw));
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f));
	EXPECT_EQ(1, sync_file_signaled(_metadata, wr));
	EXPECT_EQ(1, sync_file_signaled(_metadata, rw));
	close(rd);
	close(wr);
	close(rw);
}

/* Several fences export as one container that signals with the last of them. */
TEST_F(fence, export_two_fences)
{
	unsigned int num = 0;
	int f1, f2, wr, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f1 = vgem_fence(self->b.vgem, self->b.handle, false);
	f2 = vgem_fence(self->b.vgem, self->b.handle, false);
	ASSERT_GT(f1, 0);
	ASSERT_GT(f2, 0);
	wr = export_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE);
	ASSERT_GE(wr, 0);
	EXPECT_EQ(0, sync_file_status(wr, &num));
	EXPECT_EQ(2, num);
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f1));
	EXPECT_EQ(0, sync_file_signaled(_metadata, wr));
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f2));
	EXPECT_EQ(1, sync_file_signaled(_metadata, wr));
	close(wr);
}

/*
 * The argument can be read but not written back: dma_buf_export_sync_file()
 * fails with EFAULT after making the sync_file, and gives the fd back.
 */
TEST_F(fence, export_unwritable_arg_efault)
{
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	struct dma_buf_export_sync_file *ro = readonly_copy(&e, sizeof(e));
	int before = next_fd();

	ASSERT_NE(NULL, ro);
	ASSERT_GE(before, 0);
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, ro));
	EXPECT_EQ(-1, ro->fd);
	EXPECT_EQ(before, next_fd());
	munmap(ro, PAGE_SZ);
}

/* Once signaled, fences are no longer exported: the export is the stub again. */
TEST_F(fence, export_after_signal)
{
	unsigned int num = 0;
	int f1, f2, s, ret;

	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	f1 = vgem_fence(self->b.vgem, self->b.handle, false);
	f2 = vgem_fence(self->b.vgem, self->b.handle, false);
	ASSERT_GT(f1, 0);
	ASSERT_GT(f2, 0);
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f1));
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f2));
	s = export_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE);
	ASSERT_GE(s, 0);
	EXPECT_EQ(1, sync_file_status(s, &num));
	EXPECT_EQ(1, num);
	close(s);
}

/* dma_buf_import_sync_file(): same flag rules as export. */
TEST_F(fence, import_bad_flags_einval)
{
	const uint32_t bad[] = {
		0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END, 0x8,
		DMA_BUF_SYNC_RW | 0x100, ~0u,
	};
	int s = export_sync_file(self->b.fd, DMA_BUF_SYNC_RW);
	unsigned int i;

	ASSERT_GE(s, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(EINVAL, import_sync_file(self->b.fd, bad[i], s))
			TH_LOG("flags 0x%x", bad[i]);
	close(s);
}

/* sync_file_get_fence() finds no sync_file: EINVAL, also for closed or bogus fds. */
TEST_F(fence, import_not_a_sync_file_einval)
{
	int p[2];

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(EINVAL, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, self->b.fd));
	EXPECT_EQ(EINVAL, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, p[0]));
	EXPECT_EQ(EINVAL, import_sync_file(self->b.fd, DMA_BUF_SYNC_READ, -1));
	EXPECT_EQ(EINVAL, import_sync_file(self->b.fd, DMA_BUF_SYNC_READ, 1 << 20));
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(EINVAL, import_sync_file(self->b.fd, DMA_BUF_SYNC_READ, p[0]));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
}

TEST_F(fence, import_bad_pointer_efault)
{
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->b.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
				 (void *)0xffff888000000000UL));
}

/* Importing an already signaled sync_file changes nothing a user can see. */
TEST_F(fence, import_signaled_keeps_ready)
{
	int s = export_sync_file(self->b.fd, DMA_BUF_SYNC_RW);

	ASSERT_GE(s, 0);
	EXPECT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, s));
	EXPECT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_READ, s));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
	close(s);
}

/* Imported as a write fence, a pending sync_file makes the buffer busy both ways. */
TEST_F(fence, import_write_blocks_poll)
{
	int s;

	self->timeline = sw_sync_timeline();
	if (self->timeline < 0)
		SKIP(return, "no " SW_SYNC_PATH " (CONFIG_SW_SYNC, debugfs): %s",
		     strerror(-self->timeline));
	s = sw_sync_fence(self->timeline, 1);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, s));
	close(s);	/* the reservation object keeps its own reference */
	EXPECT_EQ(0, ready(self->b.fd));
	ASSERT_EQ(0, sw_sync_inc(self->timeline, 1));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
}

/* Imported as a read fence it only holds back writers. */
TEST_F(fence, import_read_blocks_pollout)
{
	int s;

	self->timeline = sw_sync_timeline();
	if (self->timeline < 0)
		SKIP(return, "no " SW_SYNC_PATH " (CONFIG_SW_SYNC, debugfs): %s",
		     strerror(-self->timeline));
	s = sw_sync_fence(self->timeline, 1);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_READ, s));
	EXPECT_EQ(POLLIN, ready(self->b.fd));
	ASSERT_EQ(0, sw_sync_inc(self->timeline, 1));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
	close(s);
}

/* DMA_BUF_SYNC_RW imports as a write fence. */
TEST_F(fence, import_rw_is_write)
{
	int s, rd;

	self->timeline = sw_sync_timeline();
	if (self->timeline < 0)
		SKIP(return, "no " SW_SYNC_PATH " (CONFIG_SW_SYNC, debugfs): %s",
		     strerror(-self->timeline));
	s = sw_sync_fence(self->timeline, 1);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_RW, s));
	EXPECT_EQ(0, ready(self->b.fd));
	rd = export_sync_file(self->b.fd, DMA_BUF_SYNC_READ);
	ASSERT_GE(rd, 0);
	EXPECT_EQ(0, sync_file_signaled(_metadata, rd));
	ASSERT_EQ(0, sw_sync_inc(self->timeline, 1));
	EXPECT_EQ(1, sync_file_signaled(_metadata, rd));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
	close(rd);
	close(s);
}

/* Import then export gives the fence back: it signals when the timeline moves. */
TEST_F(fence, import_export_roundtrip)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info = { 0 };
	int s, out;

	self->timeline = sw_sync_timeline();
	if (self->timeline < 0)
		SKIP(return, "no " SW_SYNC_PATH " (CONFIG_SW_SYNC, debugfs): %s",
		     strerror(-self->timeline));
	s = sw_sync_fence(self->timeline, 2);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, s));
	out = export_sync_file(self->b.fd, DMA_BUF_SYNC_READ);
	ASSERT_GE(out, 0);
	info.num_fences = 2;
	info.sync_fence_info = (uintptr_t)fi;
	ASSERT_EQ(0, xioctl(out, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_STREQ("sw_sync", fi[0].driver_name);
	ASSERT_EQ(0, sw_sync_inc(self->timeline, 1));
	EXPECT_EQ(0, sync_file_signaled(_metadata, out));
	ASSERT_EQ(0, sw_sync_inc(self->timeline, 1));
	EXPECT_EQ(1, sync_file_signaled(_metadata, out));
	close(out);
	close(s);
}

/*
 * A fence exported from one buffer and imported into another: the second
 * buffer is busy until vgem signals (no sw_sync needed).
 */
TEST_F(fence, import_fence_from_other_buffer)
{
	struct buf src;
	int r, f, s;

	r = buf_make(&src, EXP_VGEM);
	if (r == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, r);
	f = vgem_fence(src.vgem, src.handle, true);
	ASSERT_GT(f, 0);
	s = export_sync_file(src.fd, DMA_BUF_SYNC_READ);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, s));
	EXPECT_EQ(0, ready(self->b.fd));
	ASSERT_EQ(0, vgem_signal(src.vgem, f));
	EXPECT_EQ(1, sync_file_signaled(_metadata, s));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
	close(s);
	buf_free(&src);
}

/* An imported fence also holds back CPU access (DMA_BUF_IOCTL_SYNC START). */
TEST_F(fence, cpu_access_waits_imported_fence)
{
	struct later l = { 0 };
	pthread_t t;
	int s;

	self->timeline = sw_sync_timeline();
	if (self->timeline < 0)
		SKIP(return, "no " SW_SYNC_PATH " (CONFIG_SW_SYNC, debugfs): %s",
		     strerror(-self->timeline));
	s = sw_sync_fence(self->timeline, 1);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE, s));
	l.fd = self->timeline;
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &l));
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(1, __atomic_load_n(&l.done, __ATOMIC_SEQ_CST));
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.ret);
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	close(s);
}

/*
 * A merged sync_file (fences of two timelines) is imported fence by fence
 * (dma_fence_unwrap); the buffer is idle only when both have signaled.
 */
TEST_F(fence, import_merged_sync_file)
{
	struct sync_merge_data m = { .name = "kst-merge" };
	unsigned int num = 0;
	int t2, a, b, out;

	self->timeline = sw_sync_timeline();
	if (self->timeline < 0)
		SKIP(return, "no " SW_SYNC_PATH " (CONFIG_SW_SYNC, debugfs): %s",
		     strerror(-self->timeline));
	t2 = sw_sync_timeline();
	ASSERT_GE(t2, 0);
	a = sw_sync_fence(self->timeline, 1);
	b = sw_sync_fence(t2, 1);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	m.fd2 = b;
	ASSERT_EQ(0, xioctl(a, SYNC_IOC_MERGE, &m));
	ASSERT_EQ(0, sync_file_status(m.fence, &num));
	ASSERT_EQ(2, num);
	ASSERT_EQ(0, import_sync_file(self->b.fd, DMA_BUF_SYNC_READ, m.fence));
	out = export_sync_file(self->b.fd, DMA_BUF_SYNC_WRITE);
	ASSERT_GE(out, 0);
	EXPECT_EQ(0, sync_file_status(out, &num));
	EXPECT_EQ(2, num);
	ASSERT_EQ(0, sw_sync_inc(self->timeline, 1));
	EXPECT_EQ(POLLIN, ready(self->b.fd));
	ASSERT_EQ(0, sw_sync_inc(t2, 1));
	EXPECT_EQ(POLL_RW, ready(self->b.fd));
	EXPECT_EQ(1, sync_file_signaled(_metadata, out));
	close(out);
	close(m.fence);
	close(a);
	close(b);
	close(t2);
}

/* How many of bufinfo's fence lines for the buffer start with @usage and end in @state. */
static int bufinfo_fences(struct __test_metadata *_metadata, int fd, const char *usage,
			  const char *state)
{
	char *line, *save = NULL;
	struct bufinfo_row row;
	int n = 0;

	ASSERT_EQ(1, bufinfo_find(fd_ino(fd), &row));
	for (line = strtok_r(row.fences, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line), sl = strlen(state);

		if (!strncmp(line, usage, strlen(usage)) && l >= sl &&
		    !strcmp(line + l - sl, state))
			n++;
	}
	return n;
}

/*
 * bufinfo describes the reservation object under each buffer
 * (dma_resv_describe()): "<usage> fence:<context>:<seqno> <timeline>
 * <driver> unsignalled" while pending; signaled fences lose their names.
 */
TEST_F(fence, bufinfo_lists_fences)
{
	int f, ret;

	if (!have_bufinfo())
		SKIP(return, "no " BUFINFO_PATH " (CONFIG_DEBUG_FS, debugfs not mountable)");
	ret = buf_vgem(&self->b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(0, bufinfo_fences(_metadata, self->b.fd, "", "signalled"));
	f = vgem_fence(self->b.vgem, self->b.handle, true);
	ASSERT_GT(f, 0);
	EXPECT_EQ(1, bufinfo_fences(_metadata, self->b.fd, "write fence:",
				    " unbound vgem unsignalled"));
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f));
	EXPECT_EQ(0, bufinfo_fences(_metadata, self->b.fd, "", "unsignalled"));
	f = vgem_fence(self->b.vgem, self->b.handle, false);
	ASSERT_GT(f, 0);
	EXPECT_EQ(1, bufinfo_fences(_metadata, self->b.fd, "read fence:",
				    " unbound vgem unsignalled"));
	EXPECT_EQ(0, bufinfo_fences(_metadata, self->b.fd, "write fence:", "unsignalled"));
	ASSERT_EQ(0, vgem_signal(self->b.vgem, f));
	EXPECT_EQ(0, bufinfo_fences(_metadata, self->b.fd, "", "unsignalled"));
}

TEST_HARNESS_MAIN
