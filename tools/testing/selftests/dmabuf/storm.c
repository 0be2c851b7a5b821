// SPDX-License-Identifier: GPL-2.0
/*
 * Stress bounded in time: concurrent clients of the dma-buf core for -t
 * SECONDS per scenario (1 by default), every task counting what it completed.
 *
 * prime-loops: each task has vgem and bochs-drm files of its own and, over and
 *   over, makes a buffer (a vgem dumb buffer, a system heap buffer, a udmabuf,
 *   in turn), writes a mark through its mapping, imports it into each DRM
 *   driver, exports the imported object again (the same dma-buf must come
 *   back, with the mark), and closes everything.
 * sync-file-signalling: on one buffer, vgem attaches and signals fences while
 *   tasks export sync_files and import them back, one waits in poll() and one
 *   in DMA_BUF_IOCTL_SYNC.
 * last-close: one task makes buffers and drops them a moment later while the
 *   others take their own fds of the current one and poll, sync, map and
 *   export sync_files through them: the buffer's last reference goes away in
 *   any of the tasks, after an munmap() or a close(), while the others use it.
 *
 * Every call must succeed (vgem refusing a fence that conflicts with a pending
 * one is the only error allowed); at the end bufinfo lists the buffers and
 * attachments it listed before, the process has the fds it had, and the fenced
 * buffer is idle. Each task's count goes to a "# storm SCENARIO: WHAT: N" line.
 */
#include "dmabuf_util.h"

#include <pthread.h>

#include "../kselftest.h"

#define MAX_TASKS	8
#define MARK_SEED	0x5703

/* last-close: the fd of the current buffer, or -1, under the lock. */
struct slot {
	pthread_mutex_t lock;
	int fd;
};

struct task {
	const char *what;
	void *(*fn)(void *arg);
	const int *stop;	/* set by the scenario, with WRITE_ONCE() */
	struct buf *b;		/* the shared buffer, if the scenario has one */
	struct slot *slot;	/* last-close */
	bool bochs;		/* prime-loops: import into bochs-drm too */
	int id;
	long ops, bad;
	/* The first unexpected result: the call, and its errno or (bad_errno false) value. */
	const char *bad_call;
	int bad_value;
	bool bad_errno;
};

static bool vgem_present;

static void note(struct task *t, const char *call, int value, bool is_errno)
{
	if (!t->bad++) {
		t->bad_call = call;
		t->bad_value = value;
		t->bad_errno = is_errno;
	}
}

/* @call failed with errno @err. */
static void note_bad(struct task *t, const char *call, int err)
{
	note(t, call, err, true);
}

/* @what was @value, which it must not be. */
static void note_odd(struct task *t, const char *what, int value)
{
	note(t, what, value, false);
}

static bool have(enum exporter e)
{
	switch (e) {
	case EXP_UDMABUF: return !access(UDMABUF_PATH, F_OK);
	case EXP_HEAP: return !access(HEAP_PATH, F_OK);
	case EXP_VGEM: return vgem_present;
	}
	return false;
}

/*
 * A buffer of the @n-th exporter in turn (udmabuf, heap, vgem); false when
 * that one is missing or failed (noted).
 */
static bool make_nth(struct task *t, struct buf *b, unsigned int n)
{
	enum exporter e = (enum exporter)(n % 3);
	int err;

	if (!have(e))
		return false;
	err = buf_make(b, e);
	if (err) {
		note_bad(t, exporter_name(e), -err);
		buf_free(b);
		return false;
	}
	return true;
}

/* Writes the mark of @seed into the first and last page of @fd's mapping. */
static int mark(int fd, size_t size, uint32_t seed)
{
	uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		return errno;
	fill(m, PAGE_SZ, seed);
	fill(m + size - PAGE_SZ, PAGE_SZ, seed + 1);
	munmap(m, size);
	return 0;
}

static bool marked(int fd, size_t size, uint32_t seed)
{
	uint8_t *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	bool ok;

	if (m == MAP_FAILED)
		return false;
	ok = verify(m, PAGE_SZ, seed) < 0 && verify(m + size - PAGE_SZ, PAGE_SZ, seed + 1) < 0;
	munmap(m, size);
	return ok;
}

/*
 * Import @b into @drm, export the object again and check that it is @b's
 * dma-buf with @seed's mark; then drop the fd and the handle.
 */
static void import_reexport(struct task *t, int drm, struct buf *b, uint32_t seed)
{
	uint32_t h = 0;
	int fd, err;

	err = prime_import(drm, b->fd, &h);
	if (err) {
		note_bad(t, "PRIME_FD_TO_HANDLE", -err);
		return;
	}
	fd = prime_export(drm, h, DRM_CLOEXEC | DRM_RDWR);
	if (fd < 0) {
		note_bad(t, "PRIME_HANDLE_TO_FD", -fd);
	} else {
		if (fd_ino(fd) != fd_ino(b->fd))
			note_odd(t, "re-export is another dma-buf, inode", (int)fd_ino(fd));
		else if (!marked(fd, b->size, seed))
			note_odd(t, "mark through the re-export, found", 0);
		close(fd);
	}
	gem_close(drm, h);
}

static void *prime_loop(void *arg)
{
	struct task *t = arg;
	int vgem = drm_open_driver("vgem"), bochs = drm_open_driver("bochs-drm");
	unsigned int i;

	if (vgem < 0)
		note_bad(t, "open vgem", ENODEV);
	if (t->bochs && bochs < 0)
		note_bad(t, "open bochs-drm", ENODEV);
	for (i = 0; vgem >= 0 && !READ_ONCE(*t->stop); i++) {
		uint32_t seed = MARK_SEED + i;
		struct buf b;
		int err;

		if (!make_nth(t, &b, t->id + i))
			continue;
		err = mark(b.fd, b.size, seed);
		if (err)
			note_bad(t, "mmap", err);
		import_reexport(t, vgem, &b, seed);
		if (bochs >= 0)
			import_reexport(t, bochs, &b, seed);
		buf_free(&b);
		t->ops++;
	}
	if (vgem >= 0)
		close(vgem);
	if (bochs >= 0)
		close(bochs);
	return NULL;
}

static void *signal_loop(void *arg)
{
	struct task *t = arg;

	while (!READ_ONCE(*t->stop)) {
		int id = vgem_fence(t->b->vgem, t->b->handle, t->ops % 2), err;

		/* vgem refuses a fence that conflicts with a pending one: EBUSY. */
		if (id == -EBUSY) {
			usleep(200);
			continue;
		}
		if (id < 0) {
			note_bad(t, "VGEM_FENCE_ATTACH", -id);
			continue;
		}
		usleep(500);
		/* ETIMEDOUT: vgem signalled it itself, after 10 s of this task starving. */
		err = vgem_signal(t->b->vgem, id);
		if (err && err != ETIMEDOUT)
			note_bad(t, "VGEM_FENCE_SIGNAL", err);
		t->ops++;
	}
	return NULL;
}

static void *sync_file_loop(void *arg)
{
	struct task *t = arg;

	while (!READ_ONCE(*t->stop)) {
		int s = export_sync_file(t->b->fd, t->ops % 2 ? DMA_BUF_SYNC_READ :
								DMA_BUF_SYNC_RW);
		int status, err;

		if (s < 0) {
			note_bad(t, "EXPORT_SYNC_FILE", -s);
			continue;
		}
		status = sync_file_status(s, NULL);
		if (status != 0 && status != 1)
			note_odd(t, "SYNC_IOC_FILE_INFO status", status);
		err = import_sync_file(t->b->fd, t->ops % 3 ? DMA_BUF_SYNC_READ :
							      DMA_BUF_SYNC_WRITE, s);
		if (err)
			note_bad(t, "IMPORT_SYNC_FILE", err);
		close(s);
		t->ops++;
	}
	return NULL;
}

static void *poll_loop(void *arg)
{
	struct task *t = arg;

	while (!READ_ONCE(*t->stop)) {
		struct pollfd p = { .fd = t->b->fd, .events = t->ops % 2 ? POLLIN : POLLOUT };
		int n = poll(&p, 1, 5);

		if (n < 0)
			note_bad(t, "poll", errno);
		else if (n == 1 && p.revents != p.events)
			note_odd(t, "poll revents", p.revents);
		t->ops++;
	}
	return NULL;
}

static void *cpu_access_loop(void *arg)
{
	struct task *t = arg;

	while (!READ_ONCE(*t->stop)) {
		uint64_t dir = t->ops % 2 ? DMA_BUF_SYNC_READ : DMA_BUF_SYNC_RW;
		int err = buf_sync(t->b->fd, DMA_BUF_SYNC_START | dir);

		if (err) {
			note_bad(t, "SYNC START", err);
			continue;
		}
		err = buf_sync(t->b->fd, DMA_BUF_SYNC_END | dir);
		if (err)
			note_bad(t, "SYNC END", err);
		t->ops++;
	}
	return NULL;
}

static void *maker_loop(void *arg)
{
	struct task *t = arg;
	unsigned int i;

	for (i = 0; !READ_ONCE(*t->stop); i++) {
		struct buf b;

		if (!make_nth(t, &b, i))
			continue;
		pthread_mutex_lock(&t->slot->lock);
		t->slot->fd = b.fd;
		pthread_mutex_unlock(&t->slot->lock);
		usleep(1000);
		pthread_mutex_lock(&t->slot->lock);
		t->slot->fd = -1;
		pthread_mutex_unlock(&t->slot->lock);
		buf_free(&b);
		t->ops++;
	}
	return NULL;
}

/* An fd of the current buffer, the task's own, or -1. */
static int take_fd(struct task *t)
{
	int fd = -1, err = 0;

	pthread_mutex_lock(&t->slot->lock);
	if (t->slot->fd >= 0) {
		fd = fcntl(t->slot->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			err = errno;
	}
	pthread_mutex_unlock(&t->slot->lock);
	if (err)
		note_bad(t, "F_DUPFD", err);
	return fd;
}

/* One use of the buffer behind @fd by task @t; closes @fd on the way. */
static void use_and_close(struct task *t, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	off_t size = lseek(fd, 0, SEEK_END);
	uint32_t *m;
	int err, s;

	switch (t->id % 4) {
	case 1:
		err = poll(&p, 1, 0);
		if (err < 0)
			note_bad(t, "poll", errno);
		else if (err != 1 || p.revents != (POLLIN | POLLOUT))
			note_odd(t, "poll of an idle buffer, revents", p.revents);
		close(fd);
		break;
	case 2:
		err = buf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		if (!err)
			err = buf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		if (err)
			note_bad(t, "SYNC", err);
		close(fd);
		break;
	case 3:
		/* The mapping outlives the fd: munmap() may drop the last reference. */
		m = size > 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) :
			       MAP_FAILED;
		close(fd);
		if (m == MAP_FAILED) {
			note_bad(t, "mmap", errno);
			break;
		}
		WRITE_ONCE(m[0], t->ops);
		if (READ_ONCE(m[0]) != (uint32_t)t->ops)
			note_odd(t, "a word written through the mapping, read back", (int)m[0]);
		munmap(m, size);
		break;
	default:
		/* A sync_file outlives the fd: it holds fences, not the buffer. */
		s = export_sync_file(fd, DMA_BUF_SYNC_RW);
		close(fd);
		if (s < 0) {
			note_bad(t, "EXPORT_SYNC_FILE", -s);
			break;
		}
		err = sync_file_status(s, NULL);
		if (err != 1)
			note_odd(t, "the status of an idle buffer's sync_file", err);
		close(s);
		break;
	}
}

static void *user_loop(void *arg)
{
	struct task *t = arg;

	while (!READ_ONCE(*t->stop)) {
		int fd = take_fd(t);

		if (fd < 0) {
			sched_yield();
			continue;
		}
		use_and_close(t, fd);
		t->ops++;
	}
	return NULL;
}

/*
 * Runs @n tasks for @seconds, then checks them and the end state: bufinfo's
 * totals back where they were (the last releases may trail the joins by a
 * little), the same number of fds.
 */
static bool run_tasks(const char *scenario, struct task *tasks, int n, int seconds)
{
	long objects, attached, objects_now = -1, attached_now = -1;
	int stop = 0, fds = count_fds(), i, tries, err;
	pthread_t th[MAX_TASKS];
	bool ok = true;

	if (!bufinfo_totals(&objects, &attached)) {
		ksft_print_msg("%s: cannot read %s\n", scenario, BUFINFO_PATH);
		return false;
	}
	for (i = 0; i < n; i++) {
		tasks[i].stop = &stop;
		tasks[i].id = i;
		if (!tasks[i].what)
			ksft_exit_fail_msg("%s: task %d has no name\n", scenario, i);
		err = pthread_create(&th[i], NULL, tasks[i].fn, &tasks[i]);
		if (err)
			ksft_exit_fail_msg("%s: pthread_create: %s\n", scenario, strerror(err));
	}
	sleep(seconds);
	WRITE_ONCE(stop, 1);
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ksft_print_msg("storm %s: %s: %ld\n", scenario, tasks[i].what, tasks[i].ops);
		if (tasks[i].bad) {
			ksft_print_msg("%s: task %d (%s): %ld unexpected results,\n", scenario, i,
				       tasks[i].what, tasks[i].bad);
			ksft_print_msg("  first %s: %d%s%s%s\n", tasks[i].bad_call,
				       tasks[i].bad_value, tasks[i].bad_errno ? " (" : "",
				       tasks[i].bad_errno ? strerror(tasks[i].bad_value) : "",
				       tasks[i].bad_errno ? ")" : "");
			ok = false;
		}
		if (!tasks[i].ops) {
			ksft_print_msg("%s: task %d (%s) completed nothing\n", scenario, i,
				       tasks[i].what);
			ok = false;
		}
	}
	for (tries = 0; tries < 100; tries++) {
		bufinfo_totals(&objects_now, &attached_now);
		if (objects_now == objects && attached_now == attached)
			break;
		usleep(20 * 1000);
	}
	if (objects_now != objects || attached_now != attached) {
		ksft_print_msg("%s: bufinfo lists %ld buffers, %ld attachments; %ld, %ld before\n",
			       scenario, objects_now, attached_now, objects, attached);
		ok = false;
	}
	if (count_fds() != fds) {
		ksft_print_msg("%s: %d fds open, %d before\n", scenario, count_fds(), fds);
		ok = false;
	}
	return ok;
}

static void prime_loops(int seconds, int vgem)
{
	struct task t[3];
	int i, bochs = drm_open_driver("bochs-drm");

	if (vgem < 0) {
		ksft_test_result_skip("prime-loops: no vgem (CONFIG_DRM_VGEM, modprobe vgem)\n");
		return;
	}
	if (bochs >= 0)
		close(bochs);
	else
		ksft_print_msg("prime-loops: no bochs-drm device, vgem only\n");
	for (i = 0; i < 3; i++)
		t[i] = (struct task){
			.what = bochs >= 0 ? "make, import into vgem and bochs, re-export" :
					     "make, import into vgem, re-export",
			.fn = prime_loop,
			.bochs = bochs >= 0,
		};
	ksft_test_result(run_tasks("prime-loops", t, 3, seconds), "prime-loops\n");
}

static void sync_file_signalling(int seconds, int vgem)
{
	struct task t[5] = {
		{ .what = "vgem fence attached, signalled", .fn = signal_loop },
		{ .what = "sync_file exported, imported", .fn = sync_file_loop },
		{ .what = "sync_file exported, imported", .fn = sync_file_loop },
		{ .what = "poll", .fn = poll_loop },
		{ .what = "SYNC start, end", .fn = cpu_access_loop },
	};
	enum exporter e = have(EXP_HEAP) ? EXP_HEAP : EXP_VGEM;
	struct buf b;
	bool ok;
	int i, err;

	if (vgem < 0) {
		ksft_test_result_skip("sync-file-signalling: no vgem (CONFIG_DRM_VGEM)\n");
		return;
	}
	err = buf_make(&b, e);
	if (!err)
		err = buf_vgem(&b);
	if (err) {
		ksft_print_msg("sync-file-signalling: %s buffer: %s\n", exporter_name(e),
			       strerror(-err));
		buf_free(&b);
		ksft_test_result_fail("sync-file-signalling\n");
		return;
	}
	for (i = 0; i < 5; i++)
		t[i].b = &b;
	ok = run_tasks("sync-file-signalling", t, 5, seconds);
	/* Every fence was signalled (vgem's, and the imports of them): the buffer is idle. */
	if (poll_ms(b.fd, POLLIN | POLLOUT, 2000) != (POLLIN | POLLOUT)) {
		ksft_print_msg("sync-file-signalling: the buffer is still busy\n");
		ok = false;
	}
	buf_free(&b);
	ksft_test_result(ok, "sync-file-signalling\n");
}

static void last_close(int seconds)
{
	struct slot slot = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };
	struct task t[5] = {
		{ .what = "buffer made, dropped", .fn = maker_loop },
		{ .what = "own fd, poll, close", .fn = user_loop },
		{ .what = "own fd, SYNC start, end, close", .fn = user_loop },
		{ .what = "own fd, mmap, close, write, munmap", .fn = user_loop },
		{ .what = "own fd, EXPORT_SYNC_FILE, close", .fn = user_loop },
	};
	int i;

	for (i = 0; i < 5; i++)
		t[i].slot = &slot;
	ksft_test_result(run_tasks("last-close", t, 5, seconds), "last-close\n");
}

/* storm [-t SECONDS]: each scenario for SECONDS. */
int main(int argc, char **argv)
{
	int seconds = 1, opt, vgem;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt == 't' && atoi(optarg) > 0)
			seconds = atoi(optarg);
		else
			ksft_exit_fail_msg("usage: %s [-t SECONDS]\n", argv[0]);
	}
	ksft_print_header();
	if (!have_bufinfo())
		ksft_exit_skip("no %s (CONFIG_DEBUG_FS)\n", BUFINFO_PATH);
	ksft_set_plan(3);
	vgem = drm_open_driver("vgem");
	vgem_present = vgem >= 0;
	if (!vgem_present)
		ksft_print_msg("no vgem (CONFIG_DRM_VGEM): last-close runs without it\n");
	prime_loops(seconds, vgem);
	sync_file_signalling(seconds, vgem);
	last_close(seconds);
	if (vgem >= 0)
		close(vgem);
	ksft_finished();
}
