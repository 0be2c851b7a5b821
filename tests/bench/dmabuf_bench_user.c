// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of the dma-buf file's system calls, on either core: make bench's
 * userspace half (tests/bench/dma_buf_bench.c times the in-kernel calls).
 *
 * Each operation runs in batches of ITERS (argument 1, default 2000); a
 * batch's CLOCK_MONOTONIC time over ITERS is one sample, and the median of 9
 * is the figure. Under QEMU -icount shift=0 a nanosecond is an instruction.
 * Floors: an ioctl the dma-buf file does not know (the path into its ioctl
 * handler and back) for the ioctls, poll() of an eventfd for poll(). The lines
 * have the in-kernel module's form, for harness/bench_report.py:
 *
 *   dma_buf_bench: user NAME: MEDIAN min MIN max MAX (1/100 ns per op, 9 x ITERS)
 *
 * Buffers come from the system heap; the vgem cases (PRIME, a pending fence:
 * it must stay pending, so they run last and within vgem's 10 s timeout) are
 * left out without vgem. Exit status 1 when a call fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <drm/vgem_drm.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#define BATCHES	9
#define PAGE	4096

static unsigned long iters = 2000;
static int failures;

struct ctx {
	int buf;		/* a system heap buffer */
	int efd;		/* an eventfd, for the poll floor */
	int vgem;		/* -1 without vgem */
	uint32_t handle;	/* a vgem buffer, and its dma-buf */
	int vbuf;
	int sync_file;		/* exported from buf, for IMPORT_SYNC_FILE */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "dma_buf_bench: user %s: %s\n", what, strerror(errno));
	failures++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs @op in batches and prints its line; stops at the first failure of @op. */
static void measure(struct ctx *c, const char *name, int (*op)(struct ctx *c))
{
	uint64_t s[BATCHES];
	unsigned long i;
	int n;

	for (n = 0; n < BATCHES; n++) {
		uint64_t t0 = now_ns();

		for (i = 0; i < iters; i++) {
			if (op(c)) {
				fail(name);
				return;
			}
		}
		s[n] = (now_ns() - t0) * 100 / iters;
	}
	qsort(s, BATCHES, sizeof(s[0]), cmp_u64);
	printf("dma_buf_bench: user %s: %llu min %llu max %llu (1/100 ns per op, %d x %lu)\n",
	       name, (unsigned long long)s[BATCHES / 2], (unsigned long long)s[0],
	       (unsigned long long)s[BATCHES - 1], BATCHES, iters);
	fflush(stdout);
}

static int sync_ioctl(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

static int op_sync(struct ctx *c)
{
	return sync_ioctl(c->buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
	       sync_ioctl(c->buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
}

/* Two ioctls the file does not know: ENOTTY from the dma-buf file's handler. */
static int op_sync_floor(struct ctx *c)
{
	struct dma_buf_sync s = { 0 };
	int i;

	for (i = 0; i < 2; i++)
		if (ioctl(c->buf, _IOW(DMA_BUF_BASE, 0x3f, struct dma_buf_sync), &s) != -1 ||
		    errno != ENOTTY)
			return -1;
	return 0;
}

static int poll_one(int fd, short want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	int n = poll(&p, 1, 0);

	return n == (want ? 1 : 0) && (!want || p.revents == want) ? 0 : -1;
}

static int op_poll(struct ctx *c)
{
	return poll_one(c->buf, POLLIN | POLLOUT);
}

/* An eventfd with a count is readable and writable: the same answer, from a plain file. */
static int op_poll_floor(struct ctx *c)
{
	return poll_one(c->efd, POLLIN | POLLOUT);
}

/* With vgem's write fence pending the buffer is neither: the core arms a fence callback. */
static int op_poll_fenced(struct ctx *c)
{
	return poll_one(c->vbuf, 0);
}

static int op_export_sync_file(struct ctx *c)
{
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

	if (ioctl(c->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e))
		return -1;
	return close(e.fd);
}

static int op_import_sync_file(struct ctx *c)
{
	struct dma_buf_import_sync_file i = { .flags = DMA_BUF_SYNC_WRITE, .fd = c->sync_file };

	return ioctl(c->buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i);
}

static int op_set_name(struct ctx *c)
{
	return ioctl(c->buf, DMA_BUF_SET_NAME_B, "bench-buffer");
}

static int op_lseek(struct ctx *c)
{
	return lseek(c->buf, 0, SEEK_END) == PAGE && lseek(c->buf, 0, SEEK_SET) == 0 ? 0 : -1;
}

static int op_mmap(struct ctx *c)
{
	volatile uint32_t *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, c->buf, 0);

	if (m == MAP_FAILED)
		return -1;
	m[0] = m[1] + 1;
	return munmap((void *)m, PAGE);
}

/* vgem's buffer out and back in: FD_TO_HANDLE finds the handle, HANDLE_TO_FD the dma-buf. */
static int op_prime(struct ctx *c)
{
	struct drm_prime_handle in = { .fd = c->vbuf };
	struct drm_prime_handle out = { .flags = DRM_CLOEXEC | DRM_RDWR };

	if (ioctl(c->vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE, &in))
		return -1;
	out.handle = in.handle;
	if (ioctl(c->vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &out))
		return -1;
	return close(out.fd);
}

static int open_vgem(void)
{
	char path[32], name[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

static int setup(struct ctx *c)
{
	struct dma_heap_allocation_data a = { .len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	struct drm_mode_create_dumb d = { .width = 1024, .height = 1, .bpp = 32 };
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

	c->vgem = c->vbuf = -1;
	if (heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a)) {
		fail("system heap buffer");
		return -1;
	}
	close(heap);
	c->buf = a.fd;
	c->efd = eventfd(1, EFD_CLOEXEC);
	if (c->efd < 0 || ioctl(c->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e)) {
		fail("eventfd, sync_file");
		return -1;
	}
	c->sync_file = e.fd;
	c->vgem = open_vgem();
	if (c->vgem < 0) {
		printf("dma_buf_bench: user: no vgem, its cases left out\n");
		return 0;
	}
	if (ioctl(c->vgem, DRM_IOCTL_MODE_CREATE_DUMB, &d)) {
		fail("vgem dumb buffer");
		return -1;
	}
	c->handle = d.handle;
	{
		struct drm_prime_handle p = { .handle = d.handle, .flags = DRM_CLOEXEC | DRM_RDWR };

		if (ioctl(c->vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p)) {
			fail("vgem export");
			return -1;
		}
		c->vbuf = p.fd;
	}
	return 0;
}

/* A write fence on vgem's buffer, pending until vgem's 10 s timeout: poll fenced's state. */
static int fence_vgem(struct ctx *c)
{
	struct drm_vgem_fence_attach f = { .handle = c->handle, .flags = VGEM_FENCE_WRITE };

	if (ioctl(c->vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &f)) {
		fail("vgem fence");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };

	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (!iters || setup(&c))
		return 1;
	measure(&c, "SYNC start+end", op_sync);
	measure(&c, "SYNC start+end floor", op_sync_floor);
	measure(&c, "poll idle", op_poll);
	measure(&c, "poll idle floor", op_poll_floor);
	measure(&c, "EXPORT_SYNC_FILE+close", op_export_sync_file);
	measure(&c, "IMPORT_SYNC_FILE", op_import_sync_file);
	measure(&c, "SET_NAME", op_set_name);
	measure(&c, "lseek end+start", op_lseek);
	measure(&c, "mmap+touch+munmap", op_mmap);
	if (c.vgem >= 0) {
		measure(&c, "PRIME fd to handle to fd", op_prime);
		if (!fence_vgem(&c))
			measure(&c, "poll fenced", op_poll_fenced);
	}
	printf("dma_buf_bench: user done: %d\n", failures);
	return failures ? 1 : 0;
}
