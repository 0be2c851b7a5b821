/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the dma-buf core selftests: make a dma-buf with one of
 * three exporters (udmabuf over a sealed memfd, the system dma-heap, a vgem
 * dumb buffer), put vgem or sw_sync fences on it, and read what the kernel
 * reports about it in /proc/self/fdinfo and debugfs.
 */
#ifndef DMABUF_SELFTEST_UTIL_H
#define DMABUF_SELFTEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/vgem_drm.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#define PAGE_SZ		4096UL
#define BUF_PAGES	16
#define BUF_SIZE	(BUF_PAGES * PAGE_SZ)

#define HEAP_PATH	"/dev/dma_heap/system"
#define UDMABUF_PATH	"/dev/udmabuf"
#define DEBUGFS_DIR	"/sys/kernel/debug"
#define BUFINFO_PATH	DEBUGFS_DIR "/dma_buf/bufinfo"
#define SW_SYNC_PATH	DEBUGFS_DIR "/sync/sw_sync"

/* sw_sync is debugfs only: its ioctls are not in the UAPI headers. */
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};

#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC		 _IOW('W', 1, __u32)

enum exporter { EXP_UDMABUF, EXP_HEAP, EXP_VGEM };

/* A dma-buf and what it came from. */
struct buf {
	enum exporter exp;
	int fd;			/* the dma-buf */
	size_t size;
	int memfd;		/* udmabuf: the memfd behind it, else -1 */
	int vgem;		/* vgem fd holding a GEM handle for it, or -1 */
	uint32_t handle;	/* that handle */
};

static inline const char *exporter_name(enum exporter e)
{
	switch (e) {
	case EXP_UDMABUF: return "udmabuf";
	case EXP_HEAP: return "system";
	case EXP_VGEM: return "drm";	/* drm_gem_prime_export(): KBUILD_MODNAME */
	}
	return "?";
}

/* ioctl() returning 0 or the errno, so that ASSERT_EQ(EINVAL, ...) reads well. */
static inline int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

/* The DRM card whose driver is called @name, opened, or -1. */
static inline int drm_open_driver(const char *name)
{
	char path[64], drv[64];
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

static inline int sealed_memfd(size_t size)
{
	int memfd = memfd_create("dmabuf-kst", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	if (memfd < 0)
		return -1;
	if (ftruncate(memfd, size) || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		close(memfd);
		return -1;
	}
	return memfd;
}

/* UDMABUF_CREATE; returns the dma-buf fd or -errno. */
static inline int udmabuf_create(int memfd, uint64_t offset, uint64_t size, uint32_t flags)
{
	struct udmabuf_create c = {
		.memfd = memfd, .flags = flags, .offset = offset, .size = size,
	};
	int dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	int ret, err;

	if (dev < 0)
		return -ENODEV;
	ret = ioctl(dev, UDMABUF_CREATE, &c);
	err = errno;
	close(dev);
	return ret < 0 ? -err : ret;
}

/* DMA_HEAP_IOCTL_ALLOC on the system heap; returns the fd or -errno. */
static inline int heap_alloc(uint64_t len, uint32_t fd_flags)
{
	struct dma_heap_allocation_data a = { .len = len, .fd_flags = fd_flags };
	int heap = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);
	int ret, err;

	if (heap < 0)
		return -ENODEV;
	ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a);
	err = errno;
	close(heap);
	return ret < 0 ? -err : (int)a.fd;
}

/* A vgem dumb buffer of at least @size bytes; returns 0 or -errno. */
static inline int vgem_dumb(int vgem, size_t size, uint32_t *handle, size_t *real_size)
{
	struct drm_mode_create_dumb d = {
		.width = 1024, .bpp = 32, .height = (size + 4095) / 4096,
	};

	if (ioctl(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &d))
		return -errno;
	*handle = d.handle;
	*real_size = d.size;
	return 0;
}

/* PRIME export of a GEM handle; returns the fd or -errno. */
static inline int prime_export(int drm, uint32_t handle, uint32_t flags)
{
	struct drm_prime_handle p = { .handle = handle, .flags = flags, .fd = -1 };

	if (ioctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -errno;
	return p.fd;
}

/* PRIME import of a dma-buf; returns 0 or -errno. */
static inline int prime_import(int drm, int fd, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = fd };

	if (ioctl(drm, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return -errno;
	*handle = p.handle;
	return 0;
}

static inline void gem_close(int drm, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	ioctl(drm, DRM_IOCTL_GEM_CLOSE, &c);
}

/*
 * Make a BUF_SIZE buffer with exporter @e. Returns 0, -ENODEV when the
 * exporter's device is missing, or another -errno.
 */
static inline int buf_make(struct buf *b, enum exporter e)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->exp = e;
	b->fd = -1;
	b->memfd = -1;
	b->vgem = -1;
	b->size = BUF_SIZE;
	switch (e) {
	case EXP_UDMABUF:
		if (access(UDMABUF_PATH, F_OK))
			return -ENODEV;
		b->memfd = sealed_memfd(BUF_SIZE);
		if (b->memfd < 0)
			return -errno;
		b->fd = udmabuf_create(b->memfd, 0, BUF_SIZE, UDMABUF_FLAGS_CLOEXEC);
		return b->fd < 0 ? b->fd : 0;
	case EXP_HEAP:
		b->fd = heap_alloc(BUF_SIZE, O_RDWR | O_CLOEXEC);
		return b->fd < 0 ? b->fd : 0;
	case EXP_VGEM:
		b->vgem = drm_open_driver("vgem");
		if (b->vgem < 0)
			return -ENODEV;
		ret = vgem_dumb(b->vgem, BUF_SIZE, &b->handle, &b->size);
		if (ret)
			return ret;
		b->fd = prime_export(b->vgem, b->handle, DRM_CLOEXEC | DRM_RDWR);
		return b->fd < 0 ? b->fd : 0;
	}
	return -EINVAL;
}

/*
 * Give the buffer a vgem GEM handle (importing it into vgem if another
 * exporter made it) so that vgem fences can be put on its reservation
 * object: an imported GEM object shares the dma-buf's dma_resv.
 */
static inline int buf_vgem(struct buf *b)
{
	if (b->vgem >= 0)
		return 0;
	b->vgem = drm_open_driver("vgem");
	if (b->vgem < 0)
		return -ENODEV;
	return prime_import(b->vgem, b->fd, &b->handle);
}

static inline void buf_free(struct buf *b)
{
	if (b->fd >= 0)
		close(b->fd);
	if (b->memfd >= 0)
		close(b->memfd);
	if (b->vgem >= 0)
		close(b->vgem);
	b->fd = -1;
	b->memfd = -1;
	b->vgem = -1;
}

/* DRM_IOCTL_VGEM_FENCE_ATTACH; returns the fence id (> 0) or -errno. */
static inline int vgem_fence(int vgem, uint32_t handle, bool write)
{
	struct drm_vgem_fence_attach a = {
		.handle = handle, .flags = write ? VGEM_FENCE_WRITE : 0,
	};

	if (ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &a))
		return -errno;
	return a.out_fence;
}

static inline int vgem_signal(int vgem, uint32_t fence)
{
	struct drm_vgem_fence_signal s = { .fence = fence };

	return xioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s);
}

/* The poll() events of @fd now (timeout 0), or after at most @ms. */
static inline short poll_ms(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

static inline short poll_now(int fd, short events)
{
	return poll_ms(fd, events, 0);
}

/* DMA_BUF_IOCTL_SYNC: 0 or the errno. */
static inline int buf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return xioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* DMA_BUF_IOCTL_EXPORT_SYNC_FILE; returns the sync_file fd or -errno. */
static inline int export_sync_file(int fd, uint32_t flags)
{
	struct dma_buf_export_sync_file e = { .flags = flags, .fd = -1 };

	if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e))
		return -errno;
	return e.fd;
}

static inline int import_sync_file(int fd, uint32_t flags, int sync_fd)
{
	struct dma_buf_import_sync_file i = { .flags = flags, .fd = sync_fd };

	return xioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i);
}

/*
 * SYNC_IOC_FILE_INFO without fence details: the status (1 signaled, 0 pending,
 * < 0 error) and, through @num, how many fences the sync_file holds.
 */
static inline int sync_file_status(int sync_fd, unsigned int *num)
{
	struct sync_file_info info = { 0 };

	if (ioctl(sync_fd, SYNC_IOC_FILE_INFO, &info))
		return -1000 - errno;
	if (num)
		*num = info.num_fences;
	return info.status;
}

/* sw_sync: a new timeline, or -errno when sw_sync is not available. */
static inline int sw_sync_timeline(void)
{
	int fd = open(SW_SYNC_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int sw_sync_fence(int timeline, uint32_t value)
{
	struct sw_sync_create_fence_data d = { .value = value };

	snprintf(d.name, sizeof(d.name), "kst-%u", value);
	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -errno;
	return d.fence;
}

static inline int sw_sync_inc(int timeline, uint32_t count)
{
	return xioctl(timeline, SW_SYNC_IOC_INC, &count);
}

/* Read a whole (small) file into @out; returns its length or -1. */
static inline ssize_t read_text(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (got + 1 < len && (n = read(fd, out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(fd);
	return got;
}

/*
 * The value of "@key:\t<value>" in /proc/self/fdinfo/@fd, copied to @out.
 * Returns 1 if the line exists, 0 if not, -1 if fdinfo cannot be read.
 */
static inline int fdinfo_field(int fd, const char *key, char *out, size_t len)
{
	char path[64], text[4096], *line, *save = NULL;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			const char *v = line + klen + 1;

			while (*v == '\t' || *v == ' ')
				v++;
			snprintf(out, len, "%s", v);
			return 1;
		}
	}
	if (len)
		out[0] = '\0';
	return 0;
}

static inline long fdinfo_long(int fd, const char *key)
{
	char v[64];

	if (fdinfo_field(fd, key, v, sizeof(v)) != 1)
		return -1;
	return strtol(v, NULL, 0);
}

/* Mount debugfs if needed; true when bufinfo can be read. */
static inline bool have_bufinfo(void)
{
	if (!access(BUFINFO_PATH, R_OK))
		return true;
	mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL);
	return !access(BUFINFO_PATH, R_OK);
}

/* One parsed line of the bufinfo object table. */
struct bufinfo_row {
	unsigned long size, count;
	unsigned int flags, mode;
	char exp_name[64], name[64];
	unsigned long long ino;
	int attached;		/* "Total N devices attached" that follows */
	char devices[256];	/* the attached device names, '\n'-separated */
	char fences[512];	/* the dma_resv_describe() lines, '\n'-separated */
};

/*
 * Find the bufinfo entry of the buffer with inode @ino. Returns 1 when
 * found, 0 when the buffer is not listed, -1 when bufinfo is unreadable.
 * Each row is "size\tflags\tmode\tcount\texp_name\tino\tname" as printed by
 * dma_buf_debug_show().
 */
static inline int bufinfo_find(unsigned long long ino, struct bufinfo_row *row)
{
	static char text[1 << 16];
	char *line, *save = NULL;
	int found = 0;

	if (read_text(BUFINFO_PATH, text, sizeof(text)) < 0)
		return -1;
	memset(row, 0, sizeof(*row));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct bufinfo_row r = { 0 };

		if (found == 1) {
			if (sscanf(line, "Total %d devices attached", &row->attached) == 1)
				return 1;
			if (line[0] != '\t' || !strncmp(line, "\tAttached Devices:", 18))
				continue;
			if (strstr(line, " fence:")) {
				if (strlen(row->fences) + strlen(line) + 2 < sizeof(row->fences)) {
					strcat(row->fences, line + 1);
					strcat(row->fences, "\n");
				}
			} else if (strlen(row->devices) + strlen(line) + 2 < sizeof(row->devices)) {
				strcat(row->devices, line + 1);
				strcat(row->devices, "\n");
			}
			continue;
		}
		if (sscanf(line, "%lu\t%x\t%x\t%lu\t%63[^\t]\t%llu\t%63[^\n]", &r.size, &r.flags,
			   &r.mode, &r.count, r.exp_name, &r.ino, r.name) == 7 && r.ino == ino) {
			*row = r;
			found = 1;
		}
	}
	return found;
}

/* The number of fds this process has open, or -1. */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * The buffers ("Total N objects") and attachments (the sum of the "Total N
 * devices attached" lines) bufinfo lists; false, with both -1, when it cannot
 * be read.
 */
static inline bool bufinfo_totals(long *objects, long *attached)
{
	static char text[1 << 16];
	char *line, *save = NULL;
	long n;

	*objects = *attached = -1;
	if (read_text(BUFINFO_PATH, text, sizeof(text)) < 0)
		return false;
	*attached = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "Total %ld", &n) != 1)
			continue;
		if (strstr(line, " devices attached"))
			*attached += n;
		else if (strstr(line, " objects, "))
			*objects = n;
	}
	return *objects >= 0;
}

static inline unsigned long long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long long)st.st_ino;
}

/* A recognisable pattern: word i of a buffer filled with @seed. */
static inline uint32_t pattern(uint32_t seed, size_t i)
{
	return (uint32_t)(i * 2654435761u) ^ seed;
}

static inline void fill(void *p, size_t len, uint32_t seed)
{
	uint32_t *w = p;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = pattern(seed, i);
}

/* The index of the first word that differs from the pattern, or -1. */
static inline long verify(const void *p, size_t len, uint32_t seed)
{
	const uint32_t *w = p;
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != pattern(seed, i))
			return i;
	return -1;
}

/* The fd number the next open() would get. */
static inline int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* A page holding a copy of @arg that the kernel can read but not write. */
static inline void *readonly_copy(const void *arg, size_t len)
{
	void *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, arg, len);
	if (mprotect(p, PAGE_SZ, PROT_READ)) {
		munmap(p, PAGE_SZ);
		return NULL;
	}
	return p;
}

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * The SKIP() reason when buf_make() finds no device for exporter @e (it
 * returns -ENODEV).
 */
static inline const char *exporter_missing(enum exporter e)
{
	switch (e) {
	case EXP_UDMABUF: return "no " UDMABUF_PATH " (CONFIG_UDMABUF)";
	case EXP_HEAP: return "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)";
	case EXP_VGEM: return "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)";
	}
	return "?";
}

/*
 * READ_ONCE()/WRITE_ONCE() without volatile: relaxed atomic accesses, which
 * the compiler must make, whole, each time they are reached. For flags that
 * other threads poll, and for memory that another mapping of the same buffer
 * changes behind the compiler's back.
 */
#ifndef READ_ONCE
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#endif

#endif
