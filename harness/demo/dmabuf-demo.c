// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf-demo: one buffer's trip through the dma-buf core, driven from userspace through
 * real C exporters and importers: the system dma-heap exports it, vgem and bochs import it,
 * vgem puts a fence on it, and udmabuf exports a memfd. Each step prints what the kernel
 * answered; the exit status is the number of steps that did not behave as expected.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/vgem_drm.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#define BUF_SIZE (1024 * 1024)

static int failures;

static void step(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("  [%s] ", ok ? " ok " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

/* Open the DRM card whose driver is called @name, or return -1. */
static int open_card(const char *name)
{
	char path[64], drv[32];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = drv, .name_len = sizeof(drv) - 1 };

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(drv, 0, sizeof(drv));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(drv, name))
			return fd;
		close(fd);
	}
	return -1;
}

static int sync_buf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

static short poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static void show_file(const char *path, const char *label)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("         %s: %s", label, line);
	fclose(f);
}

/*
 * Import @buf into the DRM device of @driver and check that exporting the GEM object again
 * gives back the same dma-buf. With @card_out the device stays open and the GEM handle is
 * returned.
 */
static uint32_t import_into(const char *driver, int buf, ino_t ino, int *card_out)
{
	struct drm_prime_handle imp = { .fd = buf };
	struct drm_prime_handle exp = { .flags = DRM_CLOEXEC };
	struct stat st;
	int card = open_card(driver);

	if (card < 0) {
		step(0, "%s: no such DRM device", driver);
		return 0;
	}
	step(!ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp),
	     "%s imports the buffer (attach + map): GEM handle %u", driver, imp.handle);
	exp.handle = imp.handle;
	step(!ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp) && !fstat(exp.fd, &st) &&
		     st.st_ino == ino,
	     "%s re-exports it as the same dma-buf (inode %lu)", driver,
	     (unsigned long)st.st_ino);
	if (exp.fd >= 0)
		close(exp.fd);
	if (card_out)
		*card_out = card;
	else
		close(card);
	return imp.handle;
}

static void heap_buffer(void)
{
	struct dma_heap_allocation_data alloc = {
		.len = BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct drm_vgem_fence_attach attach = { .flags = VGEM_FENCE_WRITE };
	struct dma_buf_export_sync_file sf = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
	struct drm_vgem_fence_signal signal = { 0 };
	uint32_t *map, handle;
	struct stat st;
	char path[64];
	int heap, buf, vgem = -1, i, ok;
	off_t size;

	printf("system heap buffer, imported by bochs and vgem:\n");
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc)) {
		step(0, "allocate %d bytes from /dev/dma_heap/system: %s", BUF_SIZE,
		     strerror(errno));
		return;
	}
	buf = alloc.fd;
	fstat(buf, &st);
	step(1, "the system heap exports a %d-byte dma-buf, fd %d", BUF_SIZE, buf);
	size = lseek(buf, 0, SEEK_END);
	step(size == BUF_SIZE, "lseek(SEEK_END) reports its size: %lld", (long long)size);
	step(!ioctl(buf, DMA_BUF_SET_NAME_B, "dmabuf-rs demo"), "DMA_BUF_SET_NAME names it");

	map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	step(map != MAP_FAILED, "mmap of the whole buffer");
	if (map == MAP_FAILED)
		return;
	ok = !sync_buf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (i = 0; i < BUF_SIZE / 4; i++)
		map[i] = i * 2654435761u;
	ok = ok && !sync_buf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	step(ok, "CPU writes a pattern between DMA_BUF_IOCTL_SYNC start and end");
	step(sync_buf(buf, DMA_BUF_SYNC_START | 0x80) && errno == EINVAL,
	     "an unknown SYNC flag is refused with EINVAL");

	import_into("bochs-drm", buf, st.st_ino, NULL);
	handle = import_into("vgem", buf, st.st_ino, &vgem);

	step((poll_now(buf, POLLIN | POLLOUT) & (POLLIN | POLLOUT)) == (POLLIN | POLLOUT),
	     "poll: readable and writable while it has no fences");
	attach.handle = handle;
	step(!ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach),
	     "vgem attaches an unsignaled write fence to the buffer's reservation object");
	step(!(poll_now(buf, POLLIN) & POLLIN), "poll: not readable while the write fence is pending");
	step(!ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &sf) && !(poll_now(sf.fd, POLLIN) & POLLIN),
	     "EXPORT_SYNC_FILE gives a sync_file that is not yet signaled");
	signal.fence = attach.out_fence;
	step(!ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &signal), "vgem signals the fence");
	step(poll_now(buf, POLLIN) & POLLIN, "poll: readable again");
	step(poll_now(sf.fd, POLLIN) & POLLIN, "the exported sync_file is signaled too");

	ok = !sync_buf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (i = 0; ok && i < BUF_SIZE / 4; i++)
		ok = map[i] == (uint32_t)(i * 2654435761u);
	ok = ok && !sync_buf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	step(ok, "the CPU reads the pattern back intact");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", buf);
	show_file(path, "fdinfo");
	show_file("/sys/kernel/debug/dma_buf/bufinfo", "bufinfo");
	munmap(map, BUF_SIZE);
	close(sf.fd);
	close(vgem);
	close(buf);
	close(heap);
}

static void udmabuf_buffer(void)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = BUF_SIZE };
	int memfd, dev, buf;
	struct stat st;
	char *map;

	printf("udmabuf buffer over a memfd:\n");
	memfd = memfd_create("dmabuf-rs-demo", MFD_ALLOW_SEALING);
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (memfd < 0 || dev < 0 || ftruncate(memfd, BUF_SIZE) ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		step(0, "set up a sealed memfd and /dev/udmabuf: %s", strerror(errno));
		return;
	}
	create.memfd = memfd;
	buf = ioctl(dev, UDMABUF_CREATE, &create);
	step(buf >= 0, "udmabuf exports the memfd's pages as a dma-buf, fd %d", buf);
	if (buf < 0)
		return;
	map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	step(map != MAP_FAILED, "mmap of the udmabuf");
	if (map != MAP_FAILED) {
		char via_memfd[8] = { 0 };

		memcpy(map + 4096, "dma-buf", 7);
		step(pread(memfd, via_memfd, 7, 4096) == 7 && !memcmp(via_memfd, "dma-buf", 7),
		     "a write through the dma-buf mapping is visible through the memfd");
		munmap(map, BUF_SIZE);
	}
	step(mmap(NULL, 2 * BUF_SIZE, PROT_READ, MAP_SHARED, buf, 0) == MAP_FAILED,
	     "mmap beyond the buffer's end is refused (%s)", strerror(errno));
	if (!fstat(buf, &st))
		import_into("vgem", buf, st.st_ino, NULL);
	close(buf);
	close(dev);
	close(memfd);
}

int main(void)
{
	heap_buffer();
	udmabuf_buffer();
	printf("%s: %d step(s) failed\n", failures ? "FAILED" : "done", failures);
	return failures ? 1 : 0;
}
