// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency on dma-buf fds: closing an fd while other threads poll,
 * ioctl or mmap it; closing while a thread sleeps in poll() or in a CPU
 * access wait; dropping the last reference while dma_buf_poll() has a
 * fence callback armed; renaming under readers; dup/close and fork storms.
 * Nothing may crash, and the only errors allowed are the ones the race
 * explains (EBADF once the fd is gone).
 */
#include "dmabuf_util.h"

#include <pthread.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define RACERS 3

/* A buffer from the system heap, else vgem; the exporter needs no locking of its own. */
static int race_buf(struct buf *b)
{
	int r = buf_make(b, EXP_HEAP);

	if (r == -ENODEV)
		r = buf_make(b, EXP_VGEM);
	return r;
}

struct racer {
	int fd;
	size_t size;
	int *stop;		/* the test sets it, with WRITE_ONCE() */
	long calls, bad;
	int bad_err;		/* the first unexpected errno */
};

static void note_bad(struct racer *r, int err)
{
	if (!r->bad++)
		r->bad_err = err;
}

static void *poll_loop(void *arg)
{
	struct racer *r = arg;

	while (!READ_ONCE(*r->stop)) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN | POLLOUT };
		int n = poll(&p, 1, 0);

		if (n < 0)
			note_bad(r, errno);
		else if (n == 1 && (p.revents & ~(POLLIN | POLLOUT | POLLNVAL)))
			note_bad(r, 1000 + p.revents);
		r->calls++;
	}
	return NULL;
}

static void *ioctl_loop(void *arg)
{
	struct racer *r = arg;

	while (!READ_ONCE(*r->stop)) {
		int e1 = buf_sync(r->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		int e2 = buf_sync(r->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		int e3 = xioctl(r->fd, DMA_BUF_SET_NAME_B, "racer");
		off_t end = lseek(r->fd, 0, SEEK_END);
		int e4 = end < 0 ? errno : (end == (off_t)r->size ? 0 : ERANGE);

		if (e1 && e1 != EBADF)
			note_bad(r, e1);
		if (e2 && e2 != EBADF)
			note_bad(r, e2);
		if (e3 && e3 != EBADF)
			note_bad(r, e3);
		if (e4 && e4 != EBADF)
			note_bad(r, e4);
		r->calls++;
	}
	return NULL;
}

static void *mmap_loop(void *arg)
{
	struct racer *r = arg;

	while (!READ_ONCE(*r->stop)) {
		uint8_t *m = mmap(NULL, r->size, PROT_READ, MAP_SHARED, r->fd, 0);

		if (m == MAP_FAILED) {
			if (errno != EBADF)
				note_bad(r, errno);
		} else {
			(void)READ_ONCE(m[r->size - 1]);
			munmap(m, r->size);
		}
		r->calls++;
	}
	return NULL;
}

/*
 * Run @fn in RACERS threads on @b's fd, close the fd under them, check their errors, then
 * the end state: the fd is gone for every thread, and once @b is freed (vgem's handle holds a
 * reference of its own) the buffer is released, not left behind by a reference a racing call
 * took and never dropped.
 */
static void close_under(struct __test_metadata *_metadata, struct buf *b, void *(*fn)(void *))
{
	int stop = 0, fd = b->fd;
	unsigned long long ino = fd_ino(fd);
	struct bufinfo_row row;
	struct racer r[RACERS];
	pthread_t t[RACERS];
	int i;

	ASSERT_NE(0, ino);
	ASSERT_TRUE(have_bufinfo());
	ASSERT_EQ(1, bufinfo_find(ino, &row));

	for (i = 0; i < RACERS; i++) {
		r[i] = (struct racer){ .fd = b->fd, .size = b->size, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fn, &r[i]));
	}
	usleep(100 * 1000);
	ASSERT_EQ(0, close(b->fd));
	b->fd = -1;
	usleep(100 * 1000);
	WRITE_ONCE(stop, 1);
	for (i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_GT(r[i].calls, 0);
		EXPECT_EQ(0, r[i].bad) TH_LOG("racer %d: %ld unexpected results, first %d",
					      i, r[i].bad, r[i].bad_err);
	}
	errno = 0;
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	buf_free(b);
	EXPECT_EQ(0, bufinfo_find(ino, &row)) TH_LOG("buffer %llu still listed, count %lu",
						     ino, row.count);
}

TEST(close_during_poll)
{
	struct buf b;
	int ret = race_buf(&b);

	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	close_under(_metadata, &b, poll_loop);
}

TEST(close_during_ioctl)
{
	struct buf b;
	int ret = race_buf(&b);

	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	close_under(_metadata, &b, ioctl_loop);
}

TEST(close_during_mmap)
{
	struct buf b;
	int ret = race_buf(&b);

	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	close_under(_metadata, &b, mmap_loop);
}

struct sleeper {
	int fd;
	int what;		/* 0: poll(POLLIN), 1: SYNC START|READ */
	short revents;
	int ret;
	int done;		/* __atomic_*_n() only */
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;

	if (s->what == 0) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };

		s->ret = poll(&p, 1, 8000);
		s->revents = p.revents;
	} else {
		s->ret = buf_sync(s->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * A thread sleeps on a write fence (@what as in struct sleeper), the fd is
 * closed under it, then the fence signals: the sleeper must wake up.
 */
static void close_under_sleeper(struct __test_metadata *_metadata, struct buf *b, int what,
				struct sleeper *s)
{
	pthread_t t;
	int f;

	f = vgem_fence(b->vgem, b->handle, true);
	ASSERT_GT(f, 0);
	*s = (struct sleeper){ .fd = b->fd, .what = what };
	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_fn, s));
	usleep(300 * 1000);
	EXPECT_EQ(0, __atomic_load_n(&s->done, __ATOMIC_SEQ_CST));
	ASSERT_EQ(0, close(b->fd));
	b->fd = -1;
	usleep(100 * 1000);
	EXPECT_EQ(0, __atomic_load_n(&s->done, __ATOMIC_SEQ_CST));
	EXPECT_EQ(0, vgem_signal(b->vgem, f));
	pthread_join(t, NULL);
}

/* The woken poller looks the fd up again: it is gone, so POLLNVAL. */
TEST(close_while_poll_sleeps)
{
	struct sleeper s;
	struct buf b;
	int ret = race_buf(&b);

	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	ret = buf_vgem(&b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	close_under_sleeper(_metadata, &b, 0, &s);
	EXPECT_EQ(1, s.ret);
	EXPECT_EQ(POLLNVAL, s.revents);
	buf_free(&b);
}

/* The CPU access wait holds its own file reference and completes normally. */
TEST(close_while_cpu_access_waits)
{
	struct sleeper s;
	struct buf b;
	int ret = race_buf(&b);

	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	ret = buf_vgem(&b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	close_under_sleeper(_metadata, &b, 1, &s);
	EXPECT_EQ(0, s.ret);
	buf_free(&b);
}

/*
 * dma_buf_poll() takes a file reference for an armed fence callback. With
 * every fd and handle gone, the buffer lives until the fence signals (here
 * when the vgem file holding it is closed), and then it is freed.
 */
TEST(last_ref_with_armed_poll_callback)
{
	struct bufinfo_row row;
	unsigned long long ino;
	int f, card, i, ret, listed = 1;
	struct buf b;
	uint32_t h;

	ret = race_buf(&b);
	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	if (!have_bufinfo())
		SKIP(return, "no " BUFINFO_PATH " (CONFIG_DEBUG_FS, debugfs not mountable)");
	card = drm_open_driver("vgem");
	if (card < 0)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ino = fd_ino(b.fd);
	ASSERT_EQ(0, prime_import(card, b.fd, &h));
	f = vgem_fence(card, h, true);
	ASSERT_GT(f, 0);
	EXPECT_EQ(0, poll_now(b.fd, POLLIN | POLLOUT));	/* arms both callbacks */
	buf_free(&b);
	ASSERT_EQ(1, bufinfo_find(ino, &row));	/* held by vgem and the callbacks */
	gem_close(card, h);
	ASSERT_EQ(1, bufinfo_find(ino, &row));	/* held by the callbacks */
	EXPECT_EQ(2, row.count);
	close(card);				/* vgem signals its fences */
	for (i = 0; i < 100 && listed; i++) {
		listed = bufinfo_find(ino, &row);
		if (listed)
			usleep(20 * 1000);
	}
	EXPECT_EQ(0, listed);
}

struct namer {
	int fd;
	int *stop;		/* the test sets it, with WRITE_ONCE() */
	long seen, bad;
	char bad_name[64];
};

static const char *const names[] = {
	"alpha", "bravo-bravo-bravo", "0123456789abcdefghijklmnopqrstu", "",
};

static void *rename_loop(void *arg)
{
	struct namer *n = arg;
	unsigned int i = 0;

	for (; !READ_ONCE(*n->stop); i++)
		if (xioctl(n->fd, i % 2 ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B,
			   (void *)names[i % 4]))
			n->bad++;
	return NULL;
}

static void *read_name_loop(void *arg)
{
	struct namer *n = arg;
	char v[64], path[64], link[128];
	unsigned int i;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", n->fd);
	while (!*n->stop) {
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		int ok = 0;

		if (fdinfo_field(n->fd, "name", v, sizeof(v)) == 1) {
			for (i = 0; i < 4; i++)
				ok |= !strcmp(v, names[i]);
			if (!ok && !n->bad++)
				snprintf(n->bad_name, sizeof(n->bad_name), "%s", v);
		}
		if (len < 8 || strncmp(link, "/dmabuf:", 8))
			n->bad++;
		n->seen++;
	}
	return NULL;
}

/* Readers of fdinfo and the fd link only ever see a whole name. */
TEST(rename_under_readers)
{
	struct namer n[4];
	int stop = 0;
	pthread_t t[4];
	struct buf b;
	int i, ret;

	ret = race_buf(&b);
	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	for (i = 0; i < 4; i++) {
		n[i] = (struct namer){ .fd = b.fd, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, i < 2 ? rename_loop : read_name_loop,
					    &n[i]));
	}
	usleep(400 * 1000);
	WRITE_ONCE(stop, 1);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, n[i].bad) TH_LOG("thread %d, bad name '%s'", i, n[i].bad_name);
	}
	EXPECT_GT(n[2].seen + n[3].seen, 0);
	buf_free(&b);
}

static void *dup_loop(void *arg)
{
	struct racer *r = arg;

	while (!READ_ONCE(*r->stop)) {
		int d = dup(r->fd);

		if (d < 0) {
			note_bad(r, errno);
			continue;
		}
		if (lseek(d, 0, SEEK_END) != (off_t)r->size)
			note_bad(r, errno);
		if (close(d))
			note_bad(r, errno);
		r->calls++;
	}
	return NULL;
}

/* Concurrent dup()/close() keeps the file's count exact. */
TEST(dup_close_storm)
{
	int stop = 0;
	struct racer r[RACERS];
	pthread_t t[RACERS];
	long before;
	struct buf b;
	int i, ret;

	ret = race_buf(&b);
	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	before = fdinfo_long(b.fd, "count");
	for (i = 0; i < RACERS; i++) {
		r[i] = (struct racer){ .fd = b.fd, .size = b.size, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, dup_loop, &r[i]));
	}
	usleep(300 * 1000);
	WRITE_ONCE(stop, 1);
	for (i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, r[i].bad) TH_LOG("first errno %d", r[i].bad_err);
		EXPECT_GT(r[i].calls, 0);
	}
	EXPECT_EQ(before, fdinfo_long(b.fd, "count"));
	buf_free(&b);
}

/* Many processes map and write the buffer at once; all writes land. */
TEST(fork_storm)
{
	pid_t pid[BUF_PAGES];
	struct buf b;
	uint32_t *m;
	int i, status, ret;

	ret = race_buf(&b);
	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	for (i = 0; i < BUF_PAGES; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			uint32_t *c = mmap(NULL, b.size, PROT_READ | PROT_WRITE, MAP_SHARED,
					   b.fd, 0);

			if (c == MAP_FAILED)
				_exit(1);
			fill((uint8_t *)c + i * PAGE_SZ, PAGE_SZ, 0x100 + i);
			close(b.fd);
			_exit(0);
		}
	}
	for (i = 0; i < BUF_PAGES; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	m = mmap(NULL, b.size, PROT_READ, MAP_SHARED, b.fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < BUF_PAGES; i++)
		EXPECT_EQ(-1, verify((uint8_t *)m + i * PAGE_SZ, PAGE_SZ, 0x100 + i))
			TH_LOG("page %d", i);
	munmap(m, b.size);
	/* The children's fds and mappings are gone (vgem keeps two references of its own). */
	EXPECT_EQ(b.exp == EXP_VGEM ? 3 : 1, fdinfo_long(b.fd, "count"));
	buf_free(&b);
}

struct fencer {
	struct buf *b;
	int *stop;		/* the test sets it, with WRITE_ONCE() */
	long calls, bad;
	int bad_err;
};

static void *export_import_loop(void *arg)
{
	struct fencer *f = arg;

	while (!READ_ONCE(*f->stop)) {
		int s = export_sync_file(f->b->fd, f->calls % 2 ? DMA_BUF_SYNC_READ :
								  DMA_BUF_SYNC_RW);
		int e;

		if (s < 0) {
			if (!f->bad++)
				f->bad_err = -s;
			continue;
		}
		e = import_sync_file(f->b->fd, f->calls % 3 ? DMA_BUF_SYNC_READ :
							       DMA_BUF_SYNC_WRITE, s);
		if (e && !f->bad++)
			f->bad_err = e;
		close(s);
		f->calls++;
	}
	return NULL;
}

static void *attach_signal_loop(void *arg)
{
	struct fencer *f = arg;

	while (!READ_ONCE(*f->stop)) {
		int id = vgem_fence(f->b->vgem, f->b->handle, f->calls % 2);

		/* vgem refuses a fence that conflicts with a pending one: EBUSY. */
		if (id < 0) {
			if (id != -EBUSY && !f->bad++)
				f->bad_err = -id;
			continue;
		}
		usleep(1000);
		if (vgem_signal(f->b->vgem, id) && !f->bad++)
			f->bad_err = -1;
		f->calls++;
	}
	return NULL;
}

/*
 * Threads export sync_files and import them back while vgem attaches and
 * signals fences: every call succeeds and the buffer ends up idle.
 */
TEST(sync_file_storm)
{
	int stop = 0;
	struct fencer f[3];
	pthread_t t[3];
	struct buf b;
	int i, ret;

	ret = race_buf(&b);
	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	ret = buf_vgem(&b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	for (i = 0; i < 3; i++) {
		f[i] = (struct fencer){ .b = &b, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i ? export_import_loop : attach_signal_loop, &f[i]));
	}
	usleep(500 * 1000);
	WRITE_ONCE(stop, 1);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, f[i].bad) TH_LOG("thread %d: first error %d", i, f[i].bad_err);
		EXPECT_GT(f[i].calls, 0);
	}
	EXPECT_EQ(POLLIN | POLLOUT, poll_ms(b.fd, POLLIN | POLLOUT, 1000));
	buf_free(&b);
}

/* Attach, wait in poll() from another thread, signal: over and over. */
TEST(poll_signal_cycles)
{
	struct sleeper s;
	struct buf b;
	pthread_t t;
	int i, f, ret;

	ret = race_buf(&b);
	if (ret == -ENODEV)
		SKIP(return, "neither " HEAP_PATH " nor vgem");
	ASSERT_EQ(0, ret);
	ret = buf_vgem(&b);
	if (ret == -ENODEV)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM, modprobe vgem)");
	ASSERT_EQ(0, ret);
	for (i = 0; i < 20; i++) {
		f = vgem_fence(b.vgem, b.handle, i % 2);
		ASSERT_GT(f, 0);
		s = (struct sleeper){ .fd = b.fd, .what = i % 4 < 2 ? 0 : 1 };
		ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_fn, &s));
		if (i % 3)
			usleep(2000);
		ASSERT_EQ(0, vgem_signal(b.vgem, f));
		pthread_join(t, NULL);
		if (s.what == 0) {
			EXPECT_EQ(1, s.ret);
			EXPECT_EQ(POLLIN, s.revents);
		} else {
			EXPECT_EQ(0, s.ret);
		}
	}
	buf_free(&b);
}

TEST_HARNESS_MAIN
