// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures on every dma-buf path userspace reaches. For each
 * operation, fail the Nth allocation this thread makes (fail-nth, with
 * failslab and fail_page_alloc) for N = 1, 2, ... until the operation runs
 * without reaching an Nth fault site. Each injected failure must:
 *
 * - return an errno the operation can return for a failed allocation;
 * - leave nothing behind: no new fd, no buffer or attachment in bufinfo once
 *   what the operation was given is torn down;
 * - lose nothing: the same operation, run again without a fault, succeeds
 *   on what it was given.
 *
 * Each result's name says whether the operation fails with ENOMEM under
 * some fault or never fails (any other errno fails the result), so that the
 * host's comparison of the two cores compares that too. The sequence of
 * outcomes, N = 1 first ("ENOMEM x3": three failures that each failed the
 * operation with ENOMEM; "ok": a failure the kernel absorbed), is printed but
 * not compared: it is not the same from one run to the next on one core
 * (page tables at a randomized mmap address, kvfree_rcu()'s page cache,
 * KASAN's stack depot allocate now and then).
 */
#include "dmabuf_util.h"

#include "../kselftest.h"

#define MAX_FAULTS	400
#define SEQ_LEN		256
/*
 * Enough fds in one poll() that it allocates: the pollfds past its stack
 * array (about 30) and the wait-queue entries past its inline ones (about 9)
 * go to memory it allocates.
 */
#define POLL_MANY	64

static int nth_fd = -1;
/* -v: the kernel reports each injected failure with its stack, after a line naming N. */
static int kmsg_fd = -1;

/* What an operation works on; prepare() makes it, cleanup() frees it all. */
struct ctx {
	enum exporter exp;
	struct buf b;
	int dev;		/* the device or helper fd the operation needs, or -1 */
	int fd;			/* what the operation made: an fd, or -1 */
	uint32_t handle;	/* a GEM handle the operation made, or 0 */
	uint32_t fences[2];	/* vgem fences to signal, or 0 */
	void *map;		/* a mapping the operation made, or MAP_FAILED */
	int memfd;
	int dups[POLL_MANY];	/* more fds of the buffer, for poll-many */
	int ndups;
};

struct op {
	const char *name;
	bool per_exporter;	/* run once per exporter, on a buffer of it */
	/* Without a fault: 0, -ENODEV to skip, or another -errno. */
	int (*prepare)(struct ctx *c);
	/* The operation: 0 or the errno. */
	int (*run)(struct ctx *c);
	/* The errno the operation gives without a fault (0: it succeeds). */
	int unarmed;
	/* Undoes a successful run, without a fault. */
	void (*undo)(struct ctx *c);
	/*
	 * A failed run may leave one buffer with its exporter until cleanup():
	 * drm_gem_prime_handle_to_dmabuf() keeps the buffer it exported on the GEM
	 * object (obj->dma_buf) when drm_prime_add_buf_handle() then fails, until
	 * the handle is closed. What cleanup() leaves is checked all the same.
	 */
	bool kept_by_exporter;
};

static bool write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

/*
 * fail-nth fails only the allocations that failslab and fail_page_alloc
 * consider: by default not the ones that may sleep, nor order 0 pages, and
 * each is reported with a stack dump. Make every allocation a candidate, and
 * quiet.
 */
static bool fault_setup(void)
{
	const char *const settings[][2] = {
		{ "failslab/ignore-gfp-wait", "N" },
		{ "failslab/verbose", kmsg_fd >= 0 ? "2" : "0" },
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
		{ "fail_page_alloc/verbose", kmsg_fd >= 0 ? "2" : "0" },
	};
	char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(settings); i++) {
		snprintf(path, sizeof(path), DEBUGFS_DIR "/%s", settings[i][0]);
		if (!write_str(path, settings[i][1])) {
			ksft_print_msg("cannot set %s: %s\n", path, strerror(errno));
			return false;
		}
	}
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	return nth_fd >= 0;
}

/* The @n-th fault site this thread reaches from now on fails. */
static void arm(unsigned int n)
{
	char s[16];
	int len = snprintf(s, sizeof(s), "%u", n);

	if (pwrite(nth_fd, s, len, 0) != len)
		ksft_exit_fail_msg("fail-nth: %s\n", strerror(errno));
}

/* Disarms; true when the armed failure was injected. */
static bool disarm(void)
{
	char s[16] = { 0 };

	if (pread(nth_fd, s, sizeof(s) - 1, 0) <= 0 || pwrite(nth_fd, "0", 1, 0) != 1)
		ksft_exit_fail_msg("fail-nth: %s\n", strerror(errno));
	return strtoul(s, NULL, 10) == 0;
}

struct state {
	int fds;
	long objects, attached;
};

static void snapshot(struct state *s)
{
	s->fds = count_fds();
	bufinfo_totals(&s->objects, &s->attached);
}

/*
 * True when the state is @want again. What another driver frees later (a
 * GEM object, a deferred fput) gets up to a second.
 */
static bool settled(const struct state *want, struct state *got)
{
	int i;

	for (i = 0; i < 100; i++) {
		snapshot(got);
		if (got->fds == want->fds && got->objects == want->objects &&
		    got->attached == want->attached)
			return true;
		usleep(10000);
	}
	return false;
}

static void ctx_init(struct ctx *c, enum exporter e)
{
	memset(c, 0, sizeof(*c));
	c->exp = e;
	c->b.fd = -1;
	c->b.memfd = -1;
	c->b.vgem = -1;
	c->dev = -1;
	c->fd = -1;
	c->memfd = -1;
	c->map = MAP_FAILED;
}

static void ctx_cleanup(struct ctx *c)
{
	int i;

	for (i = 0; i < c->ndups; i++)
		close(c->dups[i]);
	for (i = 0; i < 2; i++)
		if (c->fences[i])
			vgem_signal(c->b.vgem, c->fences[i]);
	if (c->map != MAP_FAILED)
		munmap(c->map, c->b.size);
	if (c->fd >= 0)
		close(c->fd);
	if (c->handle)
		gem_close(c->dev, c->handle);
	if (c->dev >= 0)
		close(c->dev);
	if (c->memfd >= 0)
		close(c->memfd);
	buf_free(&c->b);
	ctx_init(c, c->exp);
}

static void close_fd(struct ctx *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Creating a buffer: the exporters' paths into dma_buf_export() and dma_buf_fd(). */

static int prep_udmabuf(struct ctx *c)
{
	if (access(UDMABUF_PATH, F_OK))
		return -ENODEV;
	c->memfd = sealed_memfd(BUF_SIZE);
	c->dev = open(UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	return c->memfd < 0 || c->dev < 0 ? -errno : 0;
}

static int run_udmabuf(struct ctx *c)
{
	struct udmabuf_create u = {
		.memfd = c->memfd, .flags = UDMABUF_FLAGS_CLOEXEC, .size = BUF_SIZE,
	};

	c->fd = ioctl(c->dev, UDMABUF_CREATE, &u);
	return c->fd < 0 ? errno : 0;
}

static int prep_heap(struct ctx *c)
{
	c->dev = open(HEAP_PATH, O_RDONLY | O_CLOEXEC);
	return c->dev < 0 ? -ENODEV : 0;
}

static int run_heap(struct ctx *c)
{
	struct dma_heap_allocation_data a = { .len = BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(c->dev, DMA_HEAP_IOCTL_ALLOC, &a))
		return errno;
	c->fd = a.fd;
	return 0;
}

static int prep_vgem_export(struct ctx *c)
{
	size_t size;

	c->dev = drm_open_driver("vgem");
	if (c->dev < 0)
		return -ENODEV;
	return vgem_dumb(c->dev, BUF_SIZE, &c->handle, &size);
}

static int run_vgem_export(struct ctx *c)
{
	c->fd = prime_export(c->dev, c->handle, DRM_CLOEXEC | DRM_RDWR);
	return c->fd < 0 ? -c->fd : 0;
}

/*
 * Importing: dma_buf_get() and dma_buf_attach() (vgem), and a static
 * importer's map and unmap with DMABUF_DEBUG's copy (virtio-gpu without
 * blobs, which then refuses the buffer with ENODEV: every step up to there
 * runs, and is undone).
 */

static int prep_import(struct ctx *c, const char *driver)
{
	int r = buf_make(&c->b, c->exp);

	if (r)
		return r;
	c->dev = drm_open_driver(driver);
	return c->dev < 0 ? -ENODEV : 0;
}

static int prep_vgem_import(struct ctx *c)
{
	/* vgem's own buffers come back as the same GEM object, without an attachment. */
	return c->exp == EXP_VGEM ? -ENODEV : prep_import(c, "vgem");
}

static int prep_virtio_import(struct ctx *c)
{
	return prep_import(c, "virtio_gpu");
}

static int run_import(struct ctx *c)
{
	int r = prime_import(c->dev, c->b.fd, &c->handle);

	return -r;
}

static void undo_import(struct ctx *c)
{
	gem_close(c->dev, c->handle);
	c->handle = 0;
}

/* The file's operations on a buffer of each exporter. */

static int prep_buf(struct ctx *c)
{
	return buf_make(&c->b, c->exp);
}

static int run_set_name(struct ctx *c)
{
	return xioctl(c->b.fd, DMA_BUF_SET_NAME_B, "faults");
}

static void undo_set_name(struct ctx *c)
{
	xioctl(c->b.fd, DMA_BUF_SET_NAME_B, "");
}

static int run_sync(struct ctx *c)
{
	return buf_sync(c->b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
}

static void undo_sync(struct ctx *c)
{
	buf_sync(c->b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
}

/* Two unsignalled read fences: the export merges them into a fence array. */
static int prep_fenced(struct ctx *c)
{
	int r = buf_make(&c->b, c->exp), i;

	if (!r)
		r = buf_vgem(&c->b);
	for (i = 0; !r && i < 2; i++) {
		r = vgem_fence(c->b.vgem, c->b.handle, false);
		if (r > 0) {
			c->fences[i] = r;
			r = 0;
		}
	}
	return r;
}

static int run_export_sync_file(struct ctx *c)
{
	c->fd = export_sync_file(c->b.fd, DMA_BUF_SYNC_WRITE);
	return c->fd < 0 ? -c->fd : 0;
}

static int prep_sync_file(struct ctx *c)
{
	int r = buf_make(&c->b, c->exp);

	if (r)
		return r;
	c->dev = sw_sync_timeline();
	if (c->dev < 0)
		return -ENODEV;
	c->fd = sw_sync_fence(c->dev, 1);
	return c->fd < 0 ? c->fd : 0;
}

static int run_import_sync_file(struct ctx *c)
{
	return import_sync_file(c->b.fd, DMA_BUF_SYNC_WRITE, c->fd);
}

static int run_mmap(struct ctx *c)
{
	c->map = mmap(NULL, c->b.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->b.fd, 0);
	return c->map == MAP_FAILED ? errno : 0;
}

static void undo_mmap(struct ctx *c)
{
	munmap(c->map, c->b.size);
	c->map = MAP_FAILED;
}

/* poll() with a fence pending arms dma_buf_poll()'s callback. */
static int prep_poll(struct ctx *c)
{
	int r = buf_make(&c->b, c->exp);

	if (!r)
		r = buf_vgem(&c->b);
	if (!r) {
		r = vgem_fence(c->b.vgem, c->b.handle, true);
		if (r > 0) {
			c->fences[0] = r;
			r = 0;
		}
	}
	return r;
}

static int run_poll(struct ctx *c)
{
	struct pollfd p = { .fd = c->b.fd, .events = POLLIN | POLLOUT };
	int n = poll(&p, 1, 1);

	if (n < 0)
		return errno;
	/* The write fence is pending: neither readable nor writable yet. */
	return n == 0 ? 0 : EPROTO;
}

/* The same, on POLL_MANY fds of the buffer at once: poll()'s own allocations fail too. */
static int prep_poll_many(struct ctx *c)
{
	int r = prep_poll(c);

	while (!r && c->ndups < POLL_MANY - 1) {
		int fd = fcntl(c->b.fd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0)
			r = -errno;
		else
			c->dups[c->ndups++] = fd;
	}
	return r;
}

static int run_poll_many(struct ctx *c)
{
	struct pollfd p[POLL_MANY] = { { .fd = c->b.fd, .events = POLLIN | POLLOUT } };
	int i, n;

	for (i = 0; i < c->ndups; i++)
		p[i + 1] = (struct pollfd){ .fd = c->dups[i], .events = POLLIN | POLLOUT };
	n = poll(p, c->ndups + 1, 1);
	if (n < 0)
		return errno;
	return n == 0 ? 0 : EPROTO;
}

static const struct op ops[] = {
	{ .name = "udmabuf-create", .prepare = prep_udmabuf, .run = run_udmabuf, .undo = close_fd },
	{ .name = "heap-alloc", .prepare = prep_heap, .run = run_heap, .undo = close_fd },
	{ .name = "vgem-export", .prepare = prep_vgem_export, .run = run_vgem_export,
	  .undo = close_fd, .kept_by_exporter = true },
	{ .name = "vgem-import", .per_exporter = true, .prepare = prep_vgem_import,
	  .run = run_import, .undo = undo_import },
	{ .name = "virtio-gpu-import", .per_exporter = true, .prepare = prep_virtio_import,
	  .run = run_import, .unarmed = ENODEV },
	{ .name = "set-name", .per_exporter = true, .prepare = prep_buf,
	  .run = run_set_name, .undo = undo_set_name },
	{ .name = "sync-start", .per_exporter = true, .prepare = prep_buf,
	  .run = run_sync, .undo = undo_sync },
	{ .name = "export-sync-file", .per_exporter = true, .prepare = prep_fenced,
	  .run = run_export_sync_file, .undo = close_fd },
	{ .name = "import-sync-file", .per_exporter = true, .prepare = prep_sync_file,
	  .run = run_import_sync_file },
	{ .name = "mmap", .per_exporter = true, .prepare = prep_buf,
	  .run = run_mmap, .undo = undo_mmap },
	{ .name = "poll", .per_exporter = true, .prepare = prep_poll, .run = run_poll },
	{ .name = "poll-many", .per_exporter = true, .prepare = prep_poll_many,
	  .run = run_poll_many },
};

/* Appends @tok to the run-length sequence @seq ("ENOMEM x3 ok x1 ..."). */
struct seq {
	char text[SEQ_LEN];
	char last[16];
	int run;
};

static void seq_flush(struct seq *s)
{
	size_t len = strlen(s->text);

	if (s->run)
		snprintf(s->text + len, sizeof(s->text) - len, "%s%s x%d", len ? " " : "", s->last,
			 s->run);
	s->run = 0;
}

static void seq_add(struct seq *s, const char *tok)
{
	if (s->run && strcmp(s->last, tok))
		seq_flush(s);
	snprintf(s->last, sizeof(s->last), "%s", tok);
	s->run++;
}

static const char *errname(int err)
{
	static char other[16];

	switch (err) {
	case 0: return "ok";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case EBADF: return "EBADF";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case EAGAIN: return "EAGAIN";
	}
	snprintf(other, sizeof(other), "E%d", err);
	return other;
}

/* The one buffer a failed run may leave with its exporter (op->kept_by_exporter), or 0. */
/* What a run left behind: the counts before it and after it. */
static void print_left(const struct op *op, const char *label, int n, const char *what,
		       const struct state *a, const struct state *b)
{
	ksft_print_msg("%s %s: N=%d%s, and left fds %d->%d,\n", op->name, label ? label : "", n,
		       what, a->fds, b->fds);
	ksft_print_msg("  buffers %ld->%ld, attachments %ld->%ld\n", a->objects, b->objects,
		       a->attached, b->attached);
}

static long kept(const struct op *op, const struct state *before, const struct state *after)
{
	return op->kept_by_exporter && after->objects == before->objects + 1;
}

/*
 * One sweep. Returns true when every injected failure behaved; the name of
 * the result, with the sequence, goes to @name.
 */
static bool sweep(const struct op *op, enum exporter e, char *name, size_t len, bool *skipped)
{
	const char *label = op->per_exporter ? exporter_name(e) : NULL;
	struct seq seq = { 0 };
	int faults = 0, n, r;
	bool failed = false;
	bool ok = true;
	struct ctx c;

	*skipped = false;
	ctx_init(&c, e);
	for (n = 1; n <= MAX_FAULTS; n++) {
		struct state base, before, after;
		bool injected;

		snapshot(&base);
		r = op->prepare(&c);
		if (r) {
			ctx_cleanup(&c);
			if (r == -ENODEV && n == 1) {
				*skipped = true;
				snprintf(name, len, "%s%s%s", op->name, label ? " " : "",
					 label ? label : "");
				return true;
			}
			ksft_print_msg("%s: setting up at N=%d: %s\n", op->name, n, strerror(-r));
			ok = false;
			break;
		}
		snapshot(&before);
		if (kmsg_fd >= 0)
			dprintf(kmsg_fd, "faults: %s %s N=%d\n", op->name, label ? label : "", n);
		arm(n);
		r = op->run(&c);
		injected = disarm();
		snapshot(&after);

		if (!injected) {
			/* Fewer than N fault sites: the sweep is done, the run a plain one. */
			if (r != op->unarmed) {
				ksft_print_msg("%s %s: without a fault: %s, expected %s\n",
					       op->name, label ? label : "", errname(r),
					       errname(op->unarmed));
				ok = false;
			}
			if (!r && op->undo)
				op->undo(&c);
			ctx_cleanup(&c);
			break;
		}
		faults++;
		seq_add(&seq, errname(r));
		failed |= r == ENOMEM && r != op->unarmed;
		if (r == op->unarmed) {
			/* The kernel absorbed the failure (a fallback, a retry). */
			if (!r && op->undo)
				op->undo(&c);
		} else if (r != ENOMEM) {
			ksft_print_msg("%s %s: N=%d: %s where a failed allocation gives ENOMEM\n",
				       op->name, label ? label : "", n, errname(r));
			ok = false;
		} else if (after.fds != before.fds || after.attached != before.attached ||
			   after.objects - kept(op, &before, &after) != before.objects) {
			print_left(op, label, n, " failed", &before, &after);
			ok = false;
		} else {
			/* Nothing lost: the same operation on the same objects now succeeds. */
			r = op->run(&c);
			if (r != op->unarmed) {
				ksft_print_msg("%s %s: N=%d failed, and then without a fault: %s\n",
					       op->name, label ? label : "", n, errname(r));
				ok = false;
			} else if (!r && op->undo) {
				op->undo(&c);
			}
		}
		ctx_cleanup(&c);
		if (!settled(&base, &after)) {
			print_left(op, label, n, "", &base, &after);
			ok = false;
		}
		if (!ok)
			break;
	}
	if (n > MAX_FAULTS) {
		ksft_print_msg("%s: still failing after %d faults\n", op->name, MAX_FAULTS);
		ok = false;
	}
	seq_flush(&seq);
	ksft_print_msg("%s%s%s: %d faults%s%s\n", op->name, label ? " " : "", label ? label : "",
		       faults, seq.text[0] ? ", " : "", seq.text);
	snprintf(name, len, "%s%s%s: %s", op->name, label ? " " : "", label ? label : "",
		 failed ? "fails with ENOMEM" : "never fails");
	return ok;
}

/* vgem's own buffers are not imported into vgem. */
static bool runs(const struct op *op, enum exporter e, const char *only)
{
	if (only && strcmp(op->name, only))
		return false;
	return !(op->prepare == prep_vgem_import && e == EXP_VGEM);
}

/*
 * faults [-v] [-o OP]: every sweep, or only those of OP; -v has the kernel
 * report each injected failure with its stack, after a line naming the sweep
 * and N (to find where two runs part).
 */
int main(int argc, char **argv)
{
	static const enum exporter exporters[] = { EXP_UDMABUF, EXP_HEAP, EXP_VGEM };
	unsigned int plan = 0, i, j, n;
	char name[SEQ_LEN + 64];
	const char *only = NULL;
	bool skipped, ok;
	int opt;

	while ((opt = getopt(argc, argv, "vo:")) != -1) {
		if (opt == 'v')
			kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		else if (opt == 'o')
			only = optarg;
		else
			ksft_exit_fail_msg("usage: %s [-v] [-o OP]\n", argv[0]);
	}
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		for (j = 0, n = ops[i].per_exporter ? 3 : 1; j < n; j++)
			plan += runs(&ops[i], exporters[j], only);

	ksft_print_header();
	if (!have_bufinfo())
		ksft_exit_skip("no %s (CONFIG_DEBUG_FS)\n", BUFINFO_PATH);
	if (!fault_setup())
		ksft_exit_skip("no fail-nth (%s)\n",
			       "CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS");
	ksft_set_plan(plan);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		for (j = 0, n = ops[i].per_exporter ? 3 : 1; j < n; j++) {
			if (!runs(&ops[i], exporters[j], only))
				continue;
			ok = sweep(&ops[i], exporters[j], name, sizeof(name), &skipped);
			if (skipped)
				ksft_test_result_skip("%s\n", name);
			else
				ksft_test_result(ok, "%s\n", name);
		}
	}
	ksft_finished();
}
