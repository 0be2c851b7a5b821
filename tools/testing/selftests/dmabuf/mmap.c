// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of dma-bufs: whole buffers and windows into them, the bounds
 * dma_buf_mmap_internal() and do_mmap() enforce, coherency between mappings
 * (and, for udmabuf, with the memfd behind the buffer), access modes.
 */
#include "dmabuf_util.h"

#include <sys/wait.h>

#include "kselftest_harness.h"

FIXTURE(map) {
	struct buf b;
};

/* Every TEST_F() of the fixture runs on a buffer of each of the three exporters. */
FIXTURE_VARIANT(map) {
	enum exporter exp;
};

FIXTURE_VARIANT_ADD(map, udmabuf) {
	.exp = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(map, system_heap) {
	.exp = EXP_HEAP,
};

FIXTURE_VARIANT_ADD(map, vgem) {
	.exp = EXP_VGEM,
};

FIXTURE_SETUP(map)
{
	int ret = buf_make(&self->b, variant->exp);

	if (ret == -ENODEV)
		SKIP(return, "%s", exporter_missing(variant->exp));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(map)
{
	buf_free(&self->b);
}

/* mmap() through the raw system call, so that no libc check gets in between. */
static long raw_mmap(size_t len, int prot, int flags, int fd, unsigned long off)
{
	return syscall(SYS_mmap, 0UL, len, prot, flags, fd, off);
}

static void *map_rw(int fd, size_t len, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
}

TEST_F(map, whole_buffer)
{
	uint32_t *a = map_rw(self->b.fd, self->b.size, 0), *r;

	ASSERT_NE(MAP_FAILED, a);
	fill(a, self->b.size, 0xa1);
	EXPECT_EQ(-1, verify(a, self->b.size, 0xa1));
	r = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, r);
	EXPECT_EQ(-1, verify(r, self->b.size, 0xa1));
	munmap(a, self->b.size);
	munmap(r, self->b.size);
}

/*
 * A window at a page offset shows those pages of the buffer. (vgem's shmem
 * helper faults in pages relative to the start of the mapping, whatever its
 * offset, so there only the mapping itself is checked.)
 */
TEST_F(map, window_at_offset)
{
	const size_t off = 3 * PAGE_SZ, len = 5 * PAGE_SZ;
	uint8_t *whole = map_rw(self->b.fd, self->b.size, 0), *win;

	ASSERT_NE(MAP_FAILED, whole);
	fill(whole, self->b.size, 0xa2);
	win = map_rw(self->b.fd, len, off);
	ASSERT_NE(MAP_FAILED, win);
	if (variant->exp != EXP_VGEM) {
		EXPECT_EQ(0, memcmp(whole + off, win, len));
		memset(win, 0x5a, PAGE_SZ);
		EXPECT_EQ(0x5a, whole[off]);
		EXPECT_EQ(0x5a, whole[off + PAGE_SZ - 1]);
	} else {
		WRITE_ONCE(win[0], READ_ONCE(win[len - 1]));	/* accessible end to end */
	}
	munmap(win, len);
	munmap(whole, self->b.size);
}

TEST_F(map, last_page)
{
	uint8_t *whole = map_rw(self->b.fd, self->b.size, 0), *last;

	ASSERT_NE(MAP_FAILED, whole);
	fill(whole, self->b.size, 0xa3);
	last = map_rw(self->b.fd, PAGE_SZ, self->b.size - PAGE_SZ);
	ASSERT_NE(MAP_FAILED, last);
	if (variant->exp != EXP_VGEM)
		EXPECT_EQ(0, memcmp(whole + self->b.size - PAGE_SZ, last, PAGE_SZ));
	munmap(last, PAGE_SZ);
	munmap(whole, self->b.size);
}

/* dma_buf_mmap_internal(): vm_pgoff + pages beyond the size is EINVAL. */
TEST_F(map, offset_at_end_einval)
{
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, PAGE_SZ, self->b.size));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, PAGE_SZ, self->b.size + 7 * PAGE_SZ));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, PAGE_SZ, 1L << 40));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(map, length_beyond_size_einval)
{
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, self->b.size + PAGE_SZ, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, self->b.size, PAGE_SZ));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, 2 * PAGE_SZ, self->b.size - PAGE_SZ));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * A page offset so large that offset + length passes the top of the address
 * space never reaches the dma-buf: do_mmap()'s file_mmap_ok() says EOVERFLOW.
 */
TEST_F(map, huge_pgoff_eoverflow)
{
	errno = 0;
	EXPECT_EQ(-1, raw_mmap(PAGE_SZ, PROT_READ, MAP_SHARED, self->b.fd,
			       ~0UL & ~(PAGE_SZ - 1)));
	EXPECT_EQ(EOVERFLOW, errno);
	errno = 0;
	EXPECT_EQ(-1, raw_mmap(4 * PAGE_SZ, PROT_READ, MAP_SHARED, self->b.fd,
			       ~0UL - 2 * PAGE_SZ + 1));
	EXPECT_EQ(EOVERFLOW, errno);
}

/* The x86-64 mmap system call refuses an offset that is not page aligned. */
TEST_F(map, unaligned_offset_einval)
{
	errno = 0;
	EXPECT_EQ(-1, raw_mmap(PAGE_SZ, PROT_READ, MAP_SHARED, self->b.fd, 100));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, raw_mmap(PAGE_SZ, PROT_READ, MAP_SHARED, self->b.fd, PAGE_SZ + 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(map, zero_length_einval)
{
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(self->b.fd, 0, 0));
	EXPECT_EQ(EINVAL, errno);
}

/* A length that is not a page multiple maps the pages it touches. */
TEST_F(map, partial_page_length)
{
	uint8_t *m = map_rw(self->b.fd, 100, 0), *w;

	ASSERT_NE(MAP_FAILED, m);
	w = map_rw(self->b.fd, self->b.size, 0);
	ASSERT_NE(MAP_FAILED, w);
	m[PAGE_SZ - 1] = 0x77;	/* inside the rounded-up page */
	EXPECT_EQ(0x77, w[PAGE_SZ - 1]);
	munmap(m, 100);
	munmap(w, self->b.size);
}

/* Two mappings of one buffer see each other's writes at once. */
TEST_F(map, two_mappings_coherent)
{
	uint32_t *a = map_rw(self->b.fd, self->b.size, 0);
	uint32_t *b = map_rw(self->b.fd, self->b.size, 0);
	size_t i, words = self->b.size / 4;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(a, b);
	for (i = 0; i < words; i += 257) {
		WRITE_ONCE(a[i], 0xdead0000 | i);
		ASSERT_EQ(0xdead0000 | i, READ_ONCE(b[i]));
		WRITE_ONCE(b[words - 1 - i], 0xbeef0000 | i);
		ASSERT_EQ(0xbeef0000 | i, READ_ONCE(a[words - 1 - i]));
	}
	munmap(a, self->b.size);
	munmap(b, self->b.size);
}

/* The mapping holds the buffer: it outlives the fd (and the exporter's handle). */
TEST_F(map, mapping_outlives_fd)
{
	uint32_t *m = map_rw(self->b.fd, self->b.size, 0);

	ASSERT_NE(MAP_FAILED, m);
	fill(m, self->b.size, 0xa4);
	buf_free(&self->b);
	EXPECT_EQ(-1, verify(m, self->b.size, 0xa4));
	fill(m, self->b.size, 0xa5);
	EXPECT_EQ(-1, verify(m, self->b.size, 0xa5));
	munmap(m, self->b.size);
}

/* A shared mapping inherited over fork() is the same memory in the child. */
TEST_F(map, shared_across_fork)
{
	uint32_t *m = map_rw(self->b.fd, self->b.size, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, m);
	fill(m, self->b.size, 0xa6);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (verify(m, self->b.size, 0xa6) >= 0)
			_exit(1);
		fill(m, self->b.size, 0xa7);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-1, verify(m, self->b.size, 0xa7));
	munmap(m, self->b.size);
}

/* A read-only shared mapping of an O_RDWR buffer may be made writable later. */
TEST_F(map, mprotect_add_write)
{
	uint8_t *m = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, self->b.fd, 0);

	ASSERT_NE(MAP_FAILED, m);
	/* MAP_SHARED of an O_RDWR file keeps VM_MAYWRITE. */
	ASSERT_EQ(0, mprotect(m, self->b.size, PROT_READ | PROT_WRITE));
	m[10] = 0x42;
	EXPECT_EQ(0x42, m[10]);
	munmap(m, self->b.size);
}

/* udmabuf maps the memfd's own pages: writes show through either side. */
TEST(udmabuf_memfd_coherent)
{
	int memfd = sealed_memfd(BUF_SIZE), fd;
	char tmp[16] = { 0 };
	uint8_t *m;

	ASSERT_GE(memfd, 0);
	fd = udmabuf_create(memfd, 0, BUF_SIZE, UDMABUF_FLAGS_CLOEXEC);
	if (fd == -ENODEV)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(fd, 0);
	m = map_rw(fd, BUF_SIZE, 0);
	ASSERT_NE(MAP_FAILED, m);
	memcpy(m + 5 * PAGE_SZ + 10, "via-dmabuf", 10);
	ASSERT_EQ(10, pread(memfd, tmp, 10, 5 * PAGE_SZ + 10));
	EXPECT_EQ(0, memcmp(tmp, "via-dmabuf", 10));
	ASSERT_EQ(9, pwrite(memfd, "via-memfd", 9, BUF_SIZE - 9));
	EXPECT_EQ(0, memcmp(m + BUF_SIZE - 9, "via-memfd", 9));
	munmap(m, BUF_SIZE);
	close(fd);
	close(memfd);
}

/* A udmabuf made from a memfd offset starts at that page of the memfd. */
TEST(udmabuf_memfd_offset)
{
	int memfd = sealed_memfd(BUF_SIZE), fd;
	uint8_t *m, *mm;

	ASSERT_GE(memfd, 0);
	mm = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, mm);
	fill(mm, BUF_SIZE, 0xb1);
	fd = udmabuf_create(memfd, 4 * PAGE_SZ, 2 * PAGE_SZ, 0);
	if (fd == -ENODEV)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(fd, 0);
	EXPECT_EQ((off_t)(2 * PAGE_SZ), lseek(fd, 0, SEEK_END));
	m = map_rw(fd, 2 * PAGE_SZ, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, memcmp(m, mm + 4 * PAGE_SZ, 2 * PAGE_SZ));
	m[0] = ~m[0];
	EXPECT_EQ(m[0], mm[4 * PAGE_SZ]);
	munmap(m, 2 * PAGE_SZ);
	munmap(mm, BUF_SIZE);
	close(fd);
	close(memfd);
}

/* UDMABUF_CREATE_LIST strings memfd ranges together in order. */
TEST(udmabuf_list_concatenates)
{
	struct udmabuf_create_list *l = calloc(1, sizeof(*l) + 2 * sizeof(l->list[0]));
	int a = sealed_memfd(2 * PAGE_SZ), b = sealed_memfd(2 * PAGE_SZ), dev, fd;
	char *m;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(4, pwrite(a, "AAAA", 4, PAGE_SZ));
	ASSERT_EQ(4, pwrite(b, "BBBB", 4, 0));
	dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	l->flags = UDMABUF_FLAGS_CLOEXEC;
	l->count = 2;
	l->list[0] = (struct udmabuf_create_item){ .memfd = a, .offset = PAGE_SZ, .size = PAGE_SZ };
	l->list[1] = (struct udmabuf_create_item){ .memfd = b, .offset = 0, .size = 2 * PAGE_SZ };
	fd = ioctl(dev, UDMABUF_CREATE_LIST, l);
	ASSERT_GE(fd, 0);
	EXPECT_EQ((off_t)(3 * PAGE_SZ), lseek(fd, 0, SEEK_END));
	m = map_rw(fd, 3 * PAGE_SZ, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, memcmp(m, "AAAA", 4));
	EXPECT_EQ(0, memcmp(m + PAGE_SZ, "BBBB", 4));
	munmap(m, 3 * PAGE_SZ);
	close(fd);
	close(dev);
	close(a);
	close(b);
	free(l);
}

/* mmap_udmabuf() wants a shared mapping: MAP_PRIVATE is EINVAL. */
TEST(udmabuf_map_private_einval)
{
	int memfd = sealed_memfd(BUF_SIZE), fd;

	ASSERT_GE(memfd, 0);
	fd = udmabuf_create(memfd, 0, BUF_SIZE, 0);
	if (fd == -ENODEV)
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	ASSERT_GE(fd, 0);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, BUF_SIZE, PROT_READ, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	close(memfd);
}

/* An O_RDONLY heap buffer: do_mmap() refuses a writable shared mapping. */
TEST(readonly_heap_buffer)
{
	int fd = heap_alloc(BUF_SIZE, O_RDONLY | O_CLOEXEC);
	void *m;

	if (fd == -ENODEV)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	ASSERT_GE(fd, 0);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(fd, BUF_SIZE, 0));
	EXPECT_EQ(EACCES, errno);
	m = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	/* Without FMODE_WRITE the mapping cannot be made writable later. */
	errno = 0;
	EXPECT_EQ(-1, mprotect(m, BUF_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(m, BUF_SIZE);
	close(fd);
}

/* A vgem export without DRM_RDWR is read-only in the same way. */
TEST(readonly_vgem_export)
{
	int vgem = drm_open_driver("vgem"), fd;
	uint32_t handle;
	size_t size;
	void *m;

	if (vgem < 0)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, vgem_dumb(vgem, BUF_SIZE, &handle, &size));
	fd = prime_export(vgem, handle, DRM_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_rw(fd, size, 0));
	EXPECT_EQ(EACCES, errno);
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_NE(MAP_FAILED, m);
	if (m != MAP_FAILED)
		munmap(m, size);
	close(fd);
	close(vgem);
}

TEST_HARNESS_MAIN
