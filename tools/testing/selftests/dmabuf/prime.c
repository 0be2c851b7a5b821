// SPDX-License-Identifier: GPL-2.0
/*
 * PRIME: dma-bufs going in and out of DRM drivers. vgem exports dumb
 * buffers and imports; bochs-drm (QEMU -vga std) imports; re-exporting an
 * imported object gives the very same dma-buf back. Attachments show in
 * bufinfo, and an importer's fences land on the exporter's buffer.
 */
#include "dmabuf_util.h"

#include "kselftest_harness.h"

FIXTURE(prime) {
	int vgem, bochs;
};

FIXTURE_SETUP(prime)
{
	self->bochs = -1;
	self->vgem = drm_open_driver("vgem");
	if (self->vgem < 0)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	self->bochs = drm_open_driver("bochs-drm");
}

FIXTURE_TEARDOWN(prime)
{
	if (self->vgem >= 0)
		close(self->vgem);
	if (self->bochs >= 0)
		close(self->bochs);
}

/* A fresh buffer from @e with a pattern written through its mapping. */
static void make_filled(struct __test_metadata *_metadata, struct buf *b, enum exporter e,
			uint32_t seed)
{
	void *m;
	int r = buf_make(b, e);

	ASSERT_EQ(0, r) TH_LOG("%s buffer: %s", exporter_name(e), strerror(-r));
	m = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	fill(m, b->size, seed);
	munmap(m, b->size);
}

/* Whether @fd's mapping holds the pattern @seed over @size bytes. */
static bool holds(int fd, size_t size, uint32_t seed)
{
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	bool ok;

	if (m == MAP_FAILED)
		return false;
	ok = verify(m, size, seed) < 0;
	munmap(m, size);
	return ok;
}

/*
 * Import @b into @drm and export the GEM object again: it must be the same
 * dma-buf (drm_gem_prime_handle_to_dmabuf() hands back import_attach->dmabuf).
 */
static void import_reexport(struct __test_metadata *_metadata, int drm, struct buf *b,
			    uint32_t seed)
{
	uint32_t handle;
	int fd;

	ASSERT_EQ(0, prime_import(drm, b->fd, &handle));
	fd = prime_export(drm, handle, DRM_CLOEXEC | DRM_RDWR);
	ASSERT_GE(fd, 0);
	EXPECT_NE(b->fd, fd);
	EXPECT_EQ(fd_ino(b->fd), fd_ino(fd));
	EXPECT_EQ((off_t)b->size, lseek(fd, 0, SEEK_END));
	EXPECT_TRUE(holds(fd, b->size, seed));
	close(fd);
	gem_close(drm, handle);
}

/* Exporting one GEM object twice gives two fds of one dma-buf. */
TEST_F(prime, vgem_export_twice_same_buffer)
{
	struct buf b;
	int fd2;

	make_filled(_metadata, &b, EXP_VGEM, 0xe1);
	fd2 = prime_export(b.vgem, b.handle, DRM_CLOEXEC | DRM_RDWR);
	ASSERT_GE(fd2, 0);
	EXPECT_EQ(fd_ino(b.fd), fd_ino(fd2));
	/*
	 * Two fds, the GEM object's cached export and the DRM file's PRIME
	 * table entry hold the one file.
	 */
	EXPECT_EQ(4, fdinfo_long(fd2, "count"));
	EXPECT_TRUE(holds(fd2, b.size, 0xe1));
	close(fd2);
	buf_free(&b);
}

/* vgem importing its own export finds the original object and handle. */
TEST_F(prime, vgem_self_import_same_handle)
{
	struct buf b;
	uint32_t h;

	make_filled(_metadata, &b, EXP_VGEM, 0xe2);
	ASSERT_EQ(0, prime_import(b.vgem, b.fd, &h));
	EXPECT_EQ(b.handle, h);
	buf_free(&b);
}

TEST_F(prime, bochs_imports_vgem_buffer)
{
	struct buf b;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	make_filled(_metadata, &b, EXP_VGEM, 0xe3);
	import_reexport(_metadata, self->bochs, &b, 0xe3);
	buf_free(&b);
}

TEST_F(prime, bochs_imports_heap_buffer)
{
	struct buf b;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	make_filled(_metadata, &b, EXP_HEAP, 0xe4);
	import_reexport(_metadata, self->bochs, &b, 0xe4);
	buf_free(&b);
}

TEST_F(prime, bochs_imports_udmabuf)
{
	struct buf b;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	make_filled(_metadata, &b, EXP_UDMABUF, 0xe5);
	import_reexport(_metadata, self->bochs, &b, 0xe5);
	buf_free(&b);
}

TEST_F(prime, vgem_imports_heap_buffer)
{
	struct buf b;

	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	make_filled(_metadata, &b, EXP_HEAP, 0xe6);
	import_reexport(_metadata, self->vgem, &b, 0xe6);
	buf_free(&b);
}

TEST_F(prime, vgem_imports_udmabuf)
{
	struct buf b;

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	make_filled(_metadata, &b, EXP_UDMABUF, 0xe7);
	import_reexport(_metadata, self->vgem, &b, 0xe7);
	buf_free(&b);
}

/* One dma-buf, one handle per DRM file, whichever fd of it is imported. */
TEST_F(prime, import_twice_same_handle)
{
	uint32_t h1, h2, h3;
	struct buf b;
	int fd2;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	make_filled(_metadata, &b, EXP_VGEM, 0xe8);
	fd2 = dup(b.fd);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, prime_import(self->bochs, b.fd, &h1));
	ASSERT_EQ(0, prime_import(self->bochs, b.fd, &h2));
	ASSERT_EQ(0, prime_import(self->bochs, fd2, &h3));
	EXPECT_EQ(h1, h2);
	EXPECT_EQ(h1, h3);
	gem_close(self->bochs, h1);
	close(fd2);
	buf_free(&b);
}

/* The importer's reference keeps the buffer after every fd of it is closed. */
TEST_F(prime, import_keeps_buffer_alive)
{
	unsigned long long ino;
	struct buf b;
	uint32_t h;
	int fd;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	make_filled(_metadata, &b, EXP_HEAP, 0xe9);
	ino = fd_ino(b.fd);
	ASSERT_EQ(0, prime_import(self->bochs, b.fd, &h));
	buf_free(&b);
	fd = prime_export(self->bochs, h, DRM_CLOEXEC | DRM_RDWR);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(ino, fd_ino(fd));
	EXPECT_TRUE(holds(fd, BUF_SIZE, 0xe9));
	close(fd);
	gem_close(self->bochs, h);
}

/* Each importing device is listed under the buffer in bufinfo while attached. */
TEST_F(prime, attachments_in_bufinfo)
{
	struct bufinfo_row row;
	unsigned long long ino;
	uint32_t hv, hb;
	struct buf b;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	if (!have_bufinfo())
		SKIP(return, "no " BUFINFO_PATH " (CONFIG_DEBUG_FS, debugfs not mountable)");
	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	make_filled(_metadata, &b, EXP_HEAP, 0xea);
	ino = fd_ino(b.fd);
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_EQ(0, row.attached);
	ASSERT_EQ(0, prime_import(self->vgem, b.fd, &hv));
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_EQ(1, row.attached);
	EXPECT_NE(NULL, strstr(row.devices, "vgem")) TH_LOG("devices: %s", row.devices);
	ASSERT_EQ(0, prime_import(self->bochs, b.fd, &hb));
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_EQ(2, row.attached);
	gem_close(self->vgem, hv);
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_EQ(1, row.attached);
	EXPECT_EQ(NULL, strstr(row.devices, "vgem"));
	gem_close(self->bochs, hb);
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_EQ(0, row.attached);
	buf_free(&b);
}

/*
 * An import holds file references, exactly three (drm_prime.c: the attachment's in
 * drm_gem_prime_import_dev(), obj->dma_buf's in drm_gem_prime_fd_to_handle() and the
 * handle's in drm_prime_add_buf_handle()); they are gone once the handle is closed.
 */
TEST_F(prime, import_reference_released)
{
	struct buf b;
	uint32_t h;

	if (access(UDMABUF_PATH, F_OK))
		SKIP(return, "no " UDMABUF_PATH " (CONFIG_UDMABUF)");
	make_filled(_metadata, &b, EXP_UDMABUF, 0xeb);
	EXPECT_EQ(1, fdinfo_long(b.fd, "count"));
	ASSERT_EQ(0, prime_import(self->vgem, b.fd, &h));
	EXPECT_EQ(4, fdinfo_long(b.fd, "count"));
	gem_close(self->vgem, h);
	EXPECT_EQ(1, fdinfo_long(b.fd, "count"));
	buf_free(&b);
}

/* Closing the importing DRM file drops its handles, attachments and references. */
TEST_F(prime, importer_close_detaches)
{
	struct bufinfo_row row;
	int card, bufinfo;
	struct buf b;
	uint32_t h;

	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	bufinfo = have_bufinfo();
	make_filled(_metadata, &b, EXP_HEAP, 0xec);
	card = drm_open_driver("vgem");
	ASSERT_GE(card, 0);
	ASSERT_EQ(0, prime_import(card, b.fd, &h));
	if (bufinfo) {
		ASSERT_EQ(1, bufinfo_find(fd_ino(b.fd), &row));
		EXPECT_EQ(1, row.attached);
	}
	close(card);
	EXPECT_EQ(1, fdinfo_long(b.fd, "count"));
	if (bufinfo) {
		ASSERT_EQ(1, bufinfo_find(fd_ino(b.fd), &row));
		EXPECT_EQ(0, row.attached);
	}
	buf_free(&b);
}

/* An importer's fence goes on the exporter's reservation object. */
TEST_F(prime, importer_fence_on_exported_buffer)
{
	struct buf b;
	uint32_t h;
	int f, s;

	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	make_filled(_metadata, &b, EXP_HEAP, 0xed);
	ASSERT_EQ(0, prime_import(self->vgem, b.fd, &h));
	f = vgem_fence(self->vgem, h, true);
	ASSERT_GT(f, 0);
	EXPECT_EQ(0, poll_now(b.fd, POLLIN | POLLOUT));
	s = export_sync_file(b.fd, DMA_BUF_SYNC_READ);
	ASSERT_GE(s, 0);
	EXPECT_EQ(0, sync_file_status(s, NULL));
	ASSERT_EQ(0, vgem_signal(self->vgem, f));
	EXPECT_EQ(1, sync_file_status(s, NULL));
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(b.fd, POLLIN | POLLOUT));
	close(s);
	gem_close(self->vgem, h);
	buf_free(&b);
}

/* A name given through one fd is seen through the importer's re-export. */
TEST_F(prime, name_survives_reexport)
{
	struct buf b;
	char v[64];
	uint32_t h;
	int fd;

	if (self->bochs < 0)
		SKIP(return, "no bochs-drm device (CONFIG_DRM_BOCHS, QEMU -vga std)");
	make_filled(_metadata, &b, EXP_VGEM, 0xee);
	ASSERT_EQ(0, xioctl(b.fd, DMA_BUF_SET_NAME_B, "prime-name"));
	ASSERT_EQ(0, prime_import(self->bochs, b.fd, &h));
	fd = prime_export(self->bochs, h, DRM_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, fdinfo_field(fd, "name", v, sizeof(v)));
	EXPECT_STREQ("prime-name", v);
	EXPECT_STREQ("drm", (fdinfo_field(fd, "exp_name", v, sizeof(v)), v));
	close(fd);
	gem_close(self->bochs, h);
	buf_free(&b);
}

/*
 * Naming an attached buffer works: dma_buf_set_name()'s comment still
 * promises EBUSY once devices are attached, but 7.2 no longer checks.
 */
TEST_F(prime, name_while_attached)
{
	struct bufinfo_row row;
	struct buf b;
	char v[64];
	uint32_t h;

	if (access(HEAP_PATH, F_OK))
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	make_filled(_metadata, &b, EXP_HEAP, 0xf1);
	ASSERT_EQ(0, prime_import(self->vgem, b.fd, &h));
	if (have_bufinfo()) {
		ASSERT_EQ(1, bufinfo_find(fd_ino(b.fd), &row));
		ASSERT_EQ(1, row.attached);
	}
	EXPECT_EQ(0, xioctl(b.fd, DMA_BUF_SET_NAME_A, "attached"));
	ASSERT_EQ(1, fdinfo_field(b.fd, "name", v, sizeof(v)));
	EXPECT_STREQ("attached", v);
	gem_close(self->vgem, h);
	buf_free(&b);
}

/* drm_gem_prime_fd_to_handle() -> dma_buf_get(): EBADF, or EINVAL for other files. */
TEST_F(prime, fd_to_handle_errors)
{
	int p[2], memfd, s;
	uint32_t h;

	ASSERT_EQ(0, pipe(p));
	memfd = sealed_memfd(PAGE_SZ);
	ASSERT_GE(memfd, 0);
	EXPECT_EQ(-EBADF, prime_import(self->vgem, -1, &h));
	EXPECT_EQ(-EBADF, prime_import(self->vgem, 1 << 20, &h));
	EXPECT_EQ(-EINVAL, prime_import(self->vgem, p[0], &h));
	EXPECT_EQ(-EINVAL, prime_import(self->vgem, memfd, &h));
	EXPECT_EQ(-EINVAL, prime_import(self->vgem, self->vgem, &h));
	s = sw_sync_timeline();
	if (s >= 0) {
		int f = sw_sync_fence(s, 1);

		EXPECT_EQ(-EINVAL, prime_import(self->vgem, f, &h));
		close(f);
		close(s);
	}
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(-EBADF, prime_import(self->vgem, p[0], &h));
	close(memfd);
}

/* drm_prime_handle_to_fd_ioctl(): unknown flags EINVAL, unknown handle ENOENT. */
TEST_F(prime, handle_to_fd_errors)
{
	uint32_t handle;
	size_t size;

	ASSERT_EQ(0, vgem_dumb(self->vgem, BUF_SIZE, &handle, &size));
	EXPECT_EQ(-EINVAL, prime_export(self->vgem, handle, O_APPEND));
	EXPECT_EQ(-EINVAL, prime_export(self->vgem, handle, DRM_CLOEXEC | O_NONBLOCK));
	EXPECT_EQ(-EINVAL, prime_export(self->vgem, handle, ~0u));
	EXPECT_EQ(-ENOENT, prime_export(self->vgem, handle + 1000, DRM_CLOEXEC));
	EXPECT_EQ(-ENOENT, prime_export(self->vgem, 0, DRM_CLOEXEC));
	gem_close(self->vgem, handle);
}

/*
 * The first export decides the file's access mode: a later export asking
 * for DRM_RDWR gets the cached read-only dma-buf.
 */
TEST_F(prime, access_mode_fixed_by_first_export)
{
	uint32_t handle;
	size_t size;
	int ro, rw;

	ASSERT_EQ(0, vgem_dumb(self->vgem, BUF_SIZE, &handle, &size));
	ro = prime_export(self->vgem, handle, DRM_CLOEXEC);
	ASSERT_GE(ro, 0);
	rw = prime_export(self->vgem, handle, DRM_CLOEXEC | DRM_RDWR);
	ASSERT_GE(rw, 0);
	EXPECT_EQ(fd_ino(ro), fd_ino(rw));
	EXPECT_EQ(O_RDONLY, fcntl(rw, F_GETFL) & O_ACCMODE);
	close(ro);
	close(rw);
	gem_close(self->vgem, handle);
}

/* vgem's own mapping of the dumb buffer and the dma-buf mapping share pages. */
TEST_F(prime, dumb_map_matches_dmabuf)
{
	struct drm_mode_map_dumb md = { 0 };
	uint32_t *gem, *dma;
	struct buf b;

	make_filled(_metadata, &b, EXP_VGEM, 0xef);
	md.handle = b.handle;
	ASSERT_EQ(0, xioctl(b.vgem, DRM_IOCTL_MODE_MAP_DUMB, &md));
	gem = mmap(NULL, b.size, PROT_READ | PROT_WRITE, MAP_SHARED, b.vgem, md.offset);
	ASSERT_NE(MAP_FAILED, gem);
	EXPECT_EQ(-1, verify(gem, b.size, 0xef));
	fill(gem, b.size, 0xf0);
	dma = mmap(NULL, b.size, PROT_READ, MAP_SHARED, b.fd, 0);
	ASSERT_NE(MAP_FAILED, dma);
	EXPECT_EQ(-1, verify(dma, b.size, 0xf0));
	munmap(dma, b.size);
	munmap(gem, b.size);
	buf_free(&b);
}

TEST_HARNESS_MAIN
