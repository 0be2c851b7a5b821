// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_bpf_iter ITER: checks the BPF buffer iterator (kernel/bpf/dmabuf_iter.c over the
 * core's dma_buf_iter_begin() and dma_buf_iter_next()) against bufinfo. ITER is
 * tests/bpf/dmabuf_iter.bpf.c pinned in bpffs: reading it runs one iteration.
 *
 * With buffers of its own exported (udmabuf, named and unnamed, and a system heap buffer if
 * there is a heap), the iterator must list exactly the buffers bufinfo lists, with the same
 * inode, size, exporter and name: read in one go, and read a byte at a time, which stops the
 * iteration after every buffer and resumes it from the reference the iterator kept. An
 * iteration abandoned halfway must drop that reference: once the buffers' fds are closed,
 * neither bufinfo nor the iterator lists them. Prints TAP; the exit status is 0 if every
 * check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#define BUFINFO "/sys/kernel/debug/dma_buf/bufinfo"
#define MAX_BUFS 256
#define PAGE 4096UL

/* A buffer as both listings show it. */
struct entry {
	unsigned long long ino;
	unsigned long long size;
	char exp_name[64];
	char name[64];
};

struct listing {
	int n;
	struct entry e[MAX_BUFS];
};

static int checks, failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		failed++;
}

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Reads all of path, `chunk` bytes per read(); returns a NUL-terminated heap copy. */
static char *slurp(const char *path, size_t chunk)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t got;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || !buf)
		die(path);
	for (;;) {
		if (cap - len < chunk + 1) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				die("realloc");
		}
		got = read(fd, buf + len, chunk);
		if (got < 0)
			die(path);
		if (got == 0)
			break;
		len += got;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static void add(struct listing *l, unsigned long long ino, unsigned long long size,
		const char *exp_name, const char *name)
{
	struct entry *e;

	if (l->n == MAX_BUFS) {
		errno = E2BIG;
		die("more buffers than this check holds");
	}
	e = &l->e[l->n++];
	e->ino = ino;
	e->size = size;
	snprintf(e->exp_name, sizeof(e->exp_name), "%s", exp_name);
	snprintf(e->name, sizeof(e->name), "%s", name);
}

/*
 * bufinfo: a header, then per buffer a line "size flags mode count exp_name ino name"
 * (tab-separated; an unnamed buffer's name is "<none>"), followed by lines that start with a
 * tab (fences, attached devices) and a device count.
 */
static void parse_bufinfo(struct listing *l)
{
	char *text = slurp(BUFINFO, 4096), *line, *save;

	l->n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7], *s2, *p = line;
		int i;

		if (line[0] < '0' || line[0] > '9')
			continue;
		for (i = 0; i < 7 && (f[i] = strtok_r(p, "\t", &s2)); i++)
			p = NULL;
		if (i != 7)
			continue;
		add(l, strtoull(f[5], NULL, 10), strtoull(f[0], NULL, 10), f[4],
		    strcmp(f[6], "<none>") ? f[6] : "");
	}
	free(text);
}

/* The iterator: per buffer a line "ino size exp_name name", tab-separated. */
static void parse_iter(struct listing *l, const char *iter, size_t chunk)
{
	char *text = slurp(iter, chunk), *line, *save;

	l->n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { "", "", "", "" }, *p = line;
		int i;

		/* strsep, not strtok: an unnamed buffer's name is an empty last field. */
		for (i = 0; i < 4 && p; i++)
			f[i] = strsep(&p, "\t");
		add(l, strtoull(f[0], NULL, 10), strtoull(f[1], NULL, 10), f[2], f[3]);
	}
	free(text);
}

static int by_ino(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static const struct entry *find(const struct listing *l, unsigned long long ino)
{
	for (int i = 0; i < l->n; i++)
		if (l->e[i].ino == ino)
			return &l->e[i];
	return NULL;
}

/* Whether two listings hold the same buffers; the first difference is printed. */
static int same(struct listing *a, struct listing *b, const char *an, const char *bn)
{
	qsort(a->e, a->n, sizeof(a->e[0]), by_ino);
	qsort(b->e, b->n, sizeof(b->e[0]), by_ino);
	if (a->n != b->n) {
		printf("# %s lists %d buffers, %s %d\n", an, a->n, bn, b->n);
		return 0;
	}
	for (int i = 0; i < a->n; i++) {
		const struct entry *x = &a->e[i], *y = &b->e[i];

		if (x->ino != y->ino || x->size != y->size || strcmp(x->exp_name, y->exp_name) ||
		    strcmp(x->name, y->name)) {
			printf("# %s: ino %llu size %llu exporter '%s' name '%s'; %s: ino %llu size %llu exporter '%s' name '%s'\n",
			       an, x->ino, x->size, x->exp_name, x->name, bn, y->ino, y->size,
			       y->exp_name, y->name);
			return 0;
		}
	}
	return 1;
}

static int udmabuf(unsigned long size)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	int dev, fd;

	create.memfd = memfd_create("dmabuf_bpf_iter", MFD_ALLOW_SEALING);
	if (create.memfd < 0 || ftruncate(create.memfd, size) ||
	    fcntl(create.memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		die("memfd");
	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		die("/dev/udmabuf");
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	if (fd < 0)
		die("UDMABUF_CREATE");
	close(dev);
	close(create.memfd);
	return fd;
}

static int heap_buffer(unsigned long size)
{
	struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

	if (heap < 0)
		return -1;
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc) < 0)
		die("DMA_HEAP_IOCTL_ALLOC");
	close(heap);
	return alloc.fd;
}

static unsigned long long ino_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		die("fstat");
	return st.st_ino;
}

int main(int argc, char **argv)
{
	static struct listing info, whole, bytewise;
	struct {
		int fd;
		unsigned long size;
		const char *exp_name, *name;
		unsigned long long ino;
	} mine[3] = {
		{ -1, PAGE, "udmabuf", "bpf-iter-udmabuf", 0 },
		{ -1, 3 * PAGE, "udmabuf", "", 0 },
		{ -1, 4 * PAGE, "system", "bpf-iter-heap", 0 },
	};
	int n = 3, fd;
	char c;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PINNED_ITERATOR\n", argv[0]);
		return 2;
	}
	printf("TAP version 13\n1..8\n");
	mine[0].fd = udmabuf(mine[0].size);
	mine[1].fd = udmabuf(mine[1].size);
	mine[2].fd = heap_buffer(mine[2].size);
	if (mine[2].fd < 0) {
		printf("# no system heap: two buffers of this check's own\n");
		n = 2;
	}
	for (int i = 0; i < n; i++) {
		if (mine[i].name[0] && ioctl(mine[i].fd, DMA_BUF_SET_NAME_B, mine[i].name))
			die("DMA_BUF_SET_NAME");
		mine[i].ino = ino_of(mine[i].fd);
	}

	parse_bufinfo(&info);
	parse_iter(&whole, argv[1], 4096);
	parse_iter(&bytewise, argv[1], 1);
	check(info.n >= n, "bufinfo lists %d buffers, %d of them this check's", info.n, n);
	check(same(&info, &whole, "bufinfo", "the iterator"),
	      "the iterator lists the buffers bufinfo lists, with their inode, size, exporter and name");
	check(same(&whole, &bytewise, "read whole", "read a byte at a time"),
	      "read a byte at a time (stopped and resumed after every buffer), the same buffers");
	for (int i = 0; i < 3; i++) {
		const struct entry *e = i < n ? find(&whole, mine[i].ino) : NULL;

		if (i >= n) {
			printf("ok %d # SKIP no system heap\n", ++checks);
			continue;
		}
		check(e && e->size == mine[i].size && !strcmp(e->exp_name, mine[i].exp_name) &&
			      !strcmp(e->name, mine[i].name),
		      "the iterator lists the %s buffer %llu: %lu bytes, name '%s'", mine[i].exp_name,
		      mine[i].ino, mine[i].size, mine[i].name);
	}

	/* An iteration stopped after its first buffer, then abandoned. */
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || read(fd, &c, 1) != 1)
		die(argv[1]);
	close(fd);
	for (int i = 0; i < n; i++)
		close(mine[i].fd);
	parse_bufinfo(&info);
	parse_iter(&whole, argv[1], 4096);
	{
		int left = 0;

		for (int i = 0; i < n; i++)
			left += find(&info, mine[i].ino) || find(&whole, mine[i].ino);
		check(!left, "an abandoned iteration keeps no buffer: %d of %d closed buffers still listed",
		      left, n);
	}
	check(same(&info, &whole, "bufinfo", "the iterator"),
	      "after closing, the iterator still lists what bufinfo lists");
	printf("# %d of %d checks failed\n", failed, checks);
	return failed ? 1 : 0;
}
