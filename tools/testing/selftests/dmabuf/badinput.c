// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: dma-buf ioctls on files that are not dma-bufs, bad fds,
 * unknown ioctl numbers and bad pointers on dma-bufs, and the argument
 * checks of the two userspace exporters, udmabuf and the system dma-heap.
 * Every errno is the one the 7.2 source gives; comments name the function.
 */
#include "dmabuf_util.h"

#include <sys/wait.h>

#include "kselftest_harness.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* The four dma-buf ioctls with valid-looking arguments. */
static void dmabuf_ioctls_give(struct __test_metadata *_metadata, int fd, int want)
{
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

	EXPECT_EQ(want, xioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	EXPECT_EQ(want, xioctl(fd, DMA_BUF_SET_NAME_A, "x"));
	EXPECT_EQ(want, xioctl(fd, DMA_BUF_SET_NAME_B, "x"));
	EXPECT_EQ(want, xioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp));
	EXPECT_EQ(want, xioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp));
	EXPECT_EQ(-1, exp.fd);
}

/* Regular files: no ->unlocked_ioctl on tmpfs or 9p, so vfs_ioctl() says ENOTTY. */
TEST(ioctl_on_regular_file)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, 4096));
	dmabuf_ioctls_give(_metadata, fd, ENOTTY);
	close(fd);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	dmabuf_ioctls_give(_metadata, fd, ENOTTY);
	close(fd);
}

/* pipe_ioctl() answers -ENOIOCTLCMD, which vfs_ioctl() turns into ENOTTY. */
TEST(ioctl_on_pipe)
{
	int p[2];

	ASSERT_EQ(0, pipe(p));
	dmabuf_ioctls_give(_metadata, p[0], ENOTTY);
	dmabuf_ioctls_give(_metadata, p[1], ENOTTY);
	close(p[0]);
	close(p[1]);
}

TEST(ioctl_on_memfd)
{
	int fd = sealed_memfd(BUF_SIZE);

	ASSERT_GE(fd, 0);
	dmabuf_ioctls_give(_metadata, fd, ENOTTY);
	close(fd);
}

/* A sync_file is not a dma-buf either: sync_file_ioctl() says ENOTTY. */
TEST(ioctl_on_sync_file)
{
	int s;
	struct buf b;

	if (buf_make(&b, EXP_HEAP) && buf_make(&b, EXP_UDMABUF))
		SKIP(return, "no dma-buf exporter (udmabuf or system heap)");
	s = export_sync_file(b.fd, DMA_BUF_SYNC_RW);
	ASSERT_GE(s, 0);
	dmabuf_ioctls_give(_metadata, s, ENOTTY);
	close(s);
	buf_free(&b);
}

/* The exporters' device files do not take dma-buf ioctls. */
TEST(ioctl_on_udmabuf_device)
{
	int dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);

	if (dev < 0)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	dmabuf_ioctls_give(_metadata, dev, ENOTTY);	/* udmabuf_ioctl() default */
	close(dev);
}

/* No such fd: the ioctl, lseek, fstat and mmap system calls say EBADF. */
TEST(bad_fd_ebadf)
{
	const int fds[] = { -1, 1 << 20, 0x7fffffff };
	unsigned int i;
	struct stat st;
	int closed;

	closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(closed, 0);
	close(closed);
	for (i = 0; i < 4; i++) {
		int fd = i < 3 ? fds[i] : closed;

		dmabuf_ioctls_give(_metadata, fd, EBADF);
		errno = 0;
		EXPECT_EQ(-1, lseek(fd, 0, SEEK_END));
		EXPECT_EQ(EBADF, errno);
		errno = 0;
		EXPECT_EQ(-1, fstat(fd, &st));
		EXPECT_EQ(EBADF, errno);
		errno = 0;
		EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, fd, 0));
		EXPECT_EQ(EBADF, errno);
	}
	EXPECT_EQ(POLLNVAL, poll_now(closed, POLLIN));
}

FIXTURE(bad) {
	struct buf b;
};

/* Every TEST_F() of the fixture runs on a buffer of each of the three exporters. */
FIXTURE_VARIANT(bad) {
	enum exporter exp;
};

FIXTURE_VARIANT_ADD(bad, udmabuf) {
	.exp = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(bad, system_heap) {
	.exp = EXP_HEAP,
};

FIXTURE_VARIANT_ADD(bad, vgem) {
	.exp = EXP_VGEM,
};

FIXTURE_SETUP(bad)
{
	int ret = buf_make(&self->b, variant->exp);

	if (ret == -ENODEV)
		SKIP(return, "%s", exporter_missing(variant->exp));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(bad)
{
	buf_free(&self->b);
}

/* dma_buf_ioctl() knows four exact command numbers; all else is ENOTTY. */
TEST_F(bad, unknown_ioctl_enotty)
{
	const unsigned long cmds[] = {
		_IO(DMA_BUF_BASE, 4), _IOWR(DMA_BUF_BASE, 0xff, __u64), _IO('X', 0),
		_IOW(DMA_BUF_BASE, 0, __u32),			/* SYNC, wrong size */
		_IOR(DMA_BUF_BASE, 0, struct dma_buf_sync),	/* SYNC, wrong direction */
		_IOWR(DMA_BUF_BASE, 0, struct dma_buf_sync),
		_IOW(DMA_BUF_BASE, 1, __u16),			/* SET_NAME, wrong size */
		_IOR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file),
		_IOWR(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file),
		_IOW(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file),
		DMA_HEAP_IOCTL_ALLOC, UDMABUF_CREATE, DRM_IOCTL_VERSION,
		FIONREAD,	/* not a regular file: passed down to dma_buf_ioctl() */
		FIOQSIZE,	/* do_vfs_ioctl(): not a dir, regular file or link */
		TCGETS,
	};
	uint64_t arg[8] = { DMA_BUF_SYNC_READ };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		EXPECT_EQ(ENOTTY, xioctl(self->b.fd, cmds[i], arg)) TH_LOG("cmd 0x%lx", cmds[i]);
	errno = 0;
	EXPECT_EQ(0, isatty(self->b.fd));
	EXPECT_EQ(ENOTTY, errno);
	/* Unknown numbers are refused before the argument is looked at. */
	EXPECT_EQ(ENOTTY, xioctl(self->b.fd, _IO(DMA_BUF_BASE, 4), NULL));
	EXPECT_EQ(ENOTTY, xioctl(self->b.fd, _IOW(DMA_BUF_BASE, 0, __u32), (void *)1));
}

/* Every ioctl that reads an argument faults cleanly on a bad pointer. */
TEST_F(bad, bad_pointers_efault)
{
	void *none = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *const ptrs[] = { NULL, (void *)1, none, (void *)0xffff888000000000UL };
	const unsigned long cmds[] = {
		DMA_BUF_IOCTL_SYNC, DMA_BUF_SET_NAME_A, DMA_BUF_SET_NAME_B,
		DMA_BUF_IOCTL_EXPORT_SYNC_FILE, DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
	};
	unsigned int i, j;

	ASSERT_NE(MAP_FAILED, none);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		for (j = 0; j < ARRAY_SIZE(ptrs); j++)
			EXPECT_EQ(EFAULT, xioctl(self->b.fd, cmds[i], ptrs[j]))
				TH_LOG("cmd 0x%lx ptr %p", cmds[i], ptrs[j]);
	munmap(none, PAGE_SZ);
	/* The buffer is unharmed. */
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, buf_sync(self->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
}

/*
 * An O_PATH fd of the buffer (opened through /proc/self/fd) names the same
 * inode but is no dma-buf fd: fdget() skips O_PATH files, so EBADF.
 */
TEST_F(bad, o_path_fd_ebadf)
{
	char path[64];
	uint32_t h;
	int p, vgem;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->b.fd);
	p = open(path, O_PATH | O_CLOEXEC);
	ASSERT_GE(p, 0);
	EXPECT_EQ(fd_ino(self->b.fd), fd_ino(p));
	dmabuf_ioctls_give(_metadata, p, EBADF);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, p, 0));
	EXPECT_EQ(EBADF, errno);
	vgem = drm_open_driver("vgem");
	if (vgem >= 0) {
		/* dma_buf_get() -> fget() does not see O_PATH files either. */
		EXPECT_EQ(-EBADF, prime_import(vgem, p, &h));
		close(vgem);
	}
	close(p);
}

/*
 * Reopening the buffer through /proc/self/fd fails: the anonymous inode
 * keeps the default no_open() file operations (ENXIO).
 */
TEST_F(bad, reopen_via_proc_enxio)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->b.fd);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDONLY | O_CLOEXEC));
	EXPECT_EQ(ENXIO, errno);
}

static long module_param_long(const char *path, long dflt)
{
	char v[32];

	if (read_text(path, v, sizeof(v)) <= 0)
		return dflt;
	return strtol(v, NULL, 10);
}

/* udmabuf_create(): offsets and sizes must be page aligned. */
TEST(udmabuf_unaligned_einval)
{
	int memfd = sealed_memfd(BUF_SIZE);

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(memfd, 0);
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 1, PAGE_SZ, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, PAGE_SZ - 1, PAGE_SZ, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, 1, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, PAGE_SZ + 1, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, BUF_SIZE - 1, 0));
	close(memfd);
}

/* udmabuf_create(): no pages at all is EINVAL. */
TEST(udmabuf_zero_size_einval)
{
	int memfd = sealed_memfd(BUF_SIZE);

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(memfd, 0);
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, 0, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, PAGE_SZ, 0, 0));
	close(memfd);
}

/* memfd_pin_folios(): the range must lie inside the memfd. */
TEST(udmabuf_beyond_memfd_einval)
{
	int memfd = sealed_memfd(BUF_SIZE);

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(memfd, 0);
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, BUF_SIZE + PAGE_SZ, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, PAGE_SZ, BUF_SIZE, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, BUF_SIZE, PAGE_SZ, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 1UL << 40, PAGE_SZ, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 1UL << 63, PAGE_SZ, 0));	/* start < 0 */
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, ~0UL & ~(PAGE_SZ - 1), PAGE_SZ, 0));
	close(memfd);
}

/* udmabuf_create(): more pages than size_limit_mb allows is EINVAL, also when huge. */
TEST(udmabuf_too_big_einval)
{
	long limit = module_param_long("/sys/module/udmabuf/parameters/size_limit_mb", 64);
	int memfd = sealed_memfd(BUF_SIZE);

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(memfd, 0);
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, (limit << 20) + PAGE_SZ, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, 1UL << 40, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, 1UL << 62, 0));
	EXPECT_EQ(-EINVAL, udmabuf_create(memfd, 0, ~0UL & ~(PAGE_SZ - 1), 0));
	close(memfd);
}

/* check_memfd_seals(): F_SEAL_SHRINK wanted, F_SEAL_WRITE/FUTURE_WRITE refused. */
TEST(udmabuf_seals)
{
	const struct { unsigned int mfd, seals; int want; } c[] = {
		{ MFD_ALLOW_SEALING, 0, -EINVAL },
		{ 0, 0, -EINVAL },	/* no sealing: F_SEAL_SEAL only */
		{ MFD_ALLOW_SEALING, F_SEAL_GROW, -EINVAL },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_WRITE, -EINVAL },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE, -EINVAL },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK, 0 },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, 0 },
	};
	unsigned int i;

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		int memfd = memfd_create("kst-seals", c[i].mfd | MFD_CLOEXEC), fd;

		ASSERT_GE(memfd, 0);
		ASSERT_EQ(0, ftruncate(memfd, BUF_SIZE));
		if (c[i].seals)
			ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, c[i].seals));
		fd = udmabuf_create(memfd, 0, BUF_SIZE, 0);
		EXPECT_EQ(c[i].want, fd < 0 ? fd : 0) TH_LOG("case %u", i);
		if (fd >= 0)
			close(fd);
		close(memfd);
	}
}

/*
 * udmabuf_create(): a file that is not shmem or hugetlbfs is EBADFD, and so
 * is an fd that does not exist; a tmpfs file is shmem but has no seals
 * (EINVAL).
 */
TEST(udmabuf_not_memfd)
{
	int p[2], tmp, fd;
	struct buf b;

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EBADFD, udmabuf_create(p[0], 0, PAGE_SZ, 0));
	EXPECT_EQ(-EBADFD, udmabuf_create(-1, 0, PAGE_SZ, 0));
	EXPECT_EQ(-EBADFD, udmabuf_create(1 << 20, 0, PAGE_SZ, 0));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EBADFD, udmabuf_create(fd, 0, PAGE_SZ, 0));
	close(fd);
	ASSERT_EQ(0, buf_make(&b, EXP_UDMABUF));
	EXPECT_EQ(-EBADFD, udmabuf_create(b.fd, 0, PAGE_SZ, 0));	/* a dma-buf */
	buf_free(&b);
	tmp = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp >= 0) {
		ASSERT_EQ(0, ftruncate(tmp, BUF_SIZE));
		EXPECT_EQ(-EINVAL, udmabuf_create(tmp, 0, PAGE_SZ, 0));
		close(tmp);
	}
	close(p[0]);
	close(p[1]);
}

/*
 * Only UDMABUF_FLAGS_CLOEXEC means anything; udmabuf_create() ignores the
 * other bits rather than refusing them.
 */
TEST(udmabuf_flags)
{
	int memfd = sealed_memfd(BUF_SIZE), fd;

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(memfd, 0);
	fd = udmabuf_create(memfd, 0, PAGE_SZ, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	close(fd);
	fd = udmabuf_create(memfd, 0, PAGE_SZ, UDMABUF_FLAGS_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = udmabuf_create(memfd, 0, PAGE_SZ, 0xfffffffe);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(memfd);
}

TEST(udmabuf_bad_pointer_efault)
{
	int dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);

	if (dev < 0)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	EXPECT_EQ(EFAULT, xioctl(dev, UDMABUF_CREATE, NULL));
	EXPECT_EQ(EFAULT, xioctl(dev, UDMABUF_CREATE_LIST, NULL));
	EXPECT_EQ(ENOTTY, xioctl(dev, _IOW('u', 0x44, struct udmabuf_create), NULL));
	close(dev);
}

/* udmabuf_ioctl_create_list(): count limits and the item array's readability. */
TEST(udmabuf_list_errors)
{
	long limit = module_param_long("/sys/module/udmabuf/parameters/list_limit", 1024);
	int dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	int memfd = sealed_memfd(BUF_SIZE);
	struct udmabuf_create_list *l;
	char *page;
	int fd;

	if (dev < 0)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(memfd, 0);
	page = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, mprotect(page + PAGE_SZ, PAGE_SZ, PROT_NONE));

	/* The header alone at the end of the page: the items are unreadable. */
	l = (void *)(page + PAGE_SZ - sizeof(*l));
	l->flags = 0;
	l->count = 1;
	EXPECT_EQ(EFAULT, xioctl(dev, UDMABUF_CREATE_LIST, l));
	/* More items than list_limit: refused before they are read. */
	l->count = limit + 1;
	EXPECT_EQ(EINVAL, xioctl(dev, UDMABUF_CREATE_LIST, l));
	l->count = 0xffffffff;
	EXPECT_EQ(EINVAL, xioctl(dev, UDMABUF_CREATE_LIST, l));
	/* No items: no pages. */
	l->count = 0;
	EXPECT_EQ(EINVAL, xioctl(dev, UDMABUF_CREATE_LIST, l));

	/* One bad item among good ones fails the whole list. */
	l = (void *)page;
	l->flags = 0;
	l->count = 3;
	l->list[0] = (struct udmabuf_create_item){ .memfd = memfd, .size = PAGE_SZ };
	l->list[1] = (struct udmabuf_create_item){ .memfd = memfd, .offset = 1, .size = PAGE_SZ };
	l->list[2] = (struct udmabuf_create_item){ .memfd = memfd, .size = PAGE_SZ };
	EXPECT_EQ(EINVAL, xioctl(dev, UDMABUF_CREATE_LIST, l));
	l->list[1].offset = PAGE_SZ;
	l->list[1].memfd = 1 << 20;
	EXPECT_EQ(EBADFD, xioctl(dev, UDMABUF_CREATE_LIST, l));
	l->list[1].memfd = memfd;
	fd = ioctl(dev, UDMABUF_CREATE_LIST, l);
	EXPECT_GE(fd, 0);
	EXPECT_EQ((off_t)(3 * PAGE_SZ), lseek(fd, 0, SEEK_END));
	close(fd);
	munmap(page, 2 * PAGE_SZ);
	close(memfd);
	close(dev);
}

/* DMA_HEAP_IOCTL_ALLOC on @heap; 0 or the errno; the fd is closed. */
static int heap_try(int heap, uint64_t len, uint32_t fd, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dma_heap_allocation_data a = {
		.len = len, .fd = fd, .fd_flags = fd_flags, .heap_flags = heap_flags,
	};
	int err = xioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a);

	if (!err)
		close(a.fd);
	return err;
}

/* dma_heap_ioctl_allocate(): fd must be 0, fd_flags within O_CLOEXEC|O_ACCMODE, no heap_flags. */
TEST(heap_bad_flags_einval)
{
	int heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);

	if (heap < 0)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	EXPECT_EQ(EINVAL, heap_try(heap, PAGE_SZ, 0, O_RDWR | O_NONBLOCK, 0));
	EXPECT_EQ(EINVAL, heap_try(heap, PAGE_SZ, 0, O_RDWR | O_APPEND, 0));
	EXPECT_EQ(EINVAL, heap_try(heap, PAGE_SZ, 0, ~0u, 0));
	EXPECT_EQ(EINVAL, heap_try(heap, PAGE_SZ, 0, O_RDWR, 1));
	EXPECT_EQ(EINVAL, heap_try(heap, PAGE_SZ, 0, O_RDWR, 1ULL << 63));
	EXPECT_EQ(EINVAL, heap_try(heap, PAGE_SZ, 3, O_RDWR, 0));
	EXPECT_EQ(0, heap_try(heap, PAGE_SZ, 0, O_RDWR | O_CLOEXEC, 0));
	EXPECT_EQ(0, heap_try(heap, PAGE_SZ, 0, O_WRONLY, 0));
	close(heap);
}

/* dma_heap_ioctl_allocate(): the page-aligned length must not be 0 (or wrap to 0). */
TEST(heap_bad_len_einval)
{
	int heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);

	if (heap < 0)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	EXPECT_EQ(EINVAL, heap_try(heap, 0, 0, O_RDWR, 0));
	EXPECT_EQ(EINVAL, heap_try(heap, ~0ULL, 0, O_RDWR, 0));
	EXPECT_EQ(EINVAL, heap_try(heap, ~0ULL - PAGE_SZ + 2, 0, O_RDWR, 0));
	close(heap);
}

/*
 * dma_heap_ioctl(): when the result cannot be copied back the new buffer is
 * dropped and its fd returned unused: EFAULT, nothing leaked.
 */
TEST(heap_unwritable_arg_efault)
{
	struct dma_heap_allocation_data a = { .len = PAGE_SZ, .fd_flags = O_RDWR | O_CLOEXEC };
	struct dma_heap_allocation_data *ro = readonly_copy(&a, sizeof(a));
	int heap, before;

	ASSERT_NE(NULL, ro);
	heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);
	if (heap < 0)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	before = next_fd();
	EXPECT_EQ(EFAULT, xioctl(heap, DMA_HEAP_IOCTL_ALLOC, ro));
	EXPECT_EQ(0, ro->fd);
	EXPECT_EQ(before, next_fd());
	munmap(ro, PAGE_SZ);
	close(heap);
}

/* A length that is not a page multiple is rounded up: the buffer is a page. */
TEST(heap_len_rounded_up)
{
	int fd = heap_alloc(1, O_RDWR | O_CLOEXEC);

	if (fd == -ENODEV)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	ASSERT_GE(fd, 0);
	EXPECT_EQ((off_t)PAGE_SZ, lseek(fd, 0, SEEK_END));
	EXPECT_EQ((long)PAGE_SZ, fdinfo_long(fd, "size"));
	close(fd);
}

/* dma_heap_ioctl(): EFAULT for the argument, EINVAL for a command number past ALLOC. */
TEST(heap_bad_ioctl)
{
	struct dma_heap_allocation_data a = { .len = PAGE_SZ, .fd_flags = O_RDWR };
	int heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);

	if (heap < 0)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	EXPECT_EQ(EFAULT, xioctl(heap, DMA_HEAP_IOCTL_ALLOC, NULL));
	EXPECT_EQ(EFAULT, xioctl(heap, DMA_HEAP_IOCTL_ALLOC, (void *)0xffff888000000000UL));
	EXPECT_EQ(EINVAL, xioctl(heap, _IOWR(DMA_HEAP_IOC_MAGIC, 1,
					     struct dma_heap_allocation_data), &a));
	EXPECT_EQ(EINVAL, xioctl(heap, _IO(DMA_HEAP_IOC_MAGIC, 0xff), NULL));
	close(heap);
}

TEST_HARNESS_MAIN
