// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded, reproducible random walk over what userspace can do with
 * dma-buf fds: fuzz [-s SEED] [-n OPS] [-t THREADS].
 *
 * Half of the OPS run in one thread on a pool of buffers from the three
 * exporters (udmabuf over a sealed memfd, the system heap, vgem), with
 * random and boundary arguments. Every result must be in the set the 7.2
 * C core (or the VFS or exporter code in front of or behind it) can give for
 * those arguments; each set names the function it comes from. Nothing in
 * this phase depends on time or on addresses: fences change state only when
 * the program signals them, every poll has a timeout of 0, and no fd number
 * or address is recorded. So the table of results per operation is the same
 * for a seed on every core that behaves like the C one; its digest is printed
 * as "# digest NAME: XXXXXXXX" with NAME the first result's name, for the
 * harness to compare between the cores (harness/collect.py).
 *
 * The other half runs in THREADS threads sharing a pool of fds. Entries are
 * picked under a mutex, the system calls then run unlocked, so closes,
 * dup3()s and SCM_RIGHTS transfers race everything else. Only the allowed
 * sets apply there, with EBADF added where a racing close explains it.
 *
 * The TAP plan is always 3:
 *   # digest deterministic seed=S ops=N: XXXXXXXX
 *   ok 1 deterministic seed=S ops=N
 *   ok 2 concurrent seed=S threads=T
 *   ok 3 nothing left behind
 */
#include "dmabuf_util.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "../kselftest.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif
#ifndef F_DUPFD_QUERY
#define F_DUPFD_QUERY		1027
#endif
#ifndef FIGETBSZ
#define FIGETBSZ		_IO(0x00, 2)
#endif
/* <linux/fs.h> clashes with <sys/mount.h>: the one command needed from it. */
#define FS_IOC_GETFLAGS_CMD	_IOR('f', 1, long)

/*
 * Buffers have 1..MAX_PAGES pages: below 16 pages the system heap only
 * allocates order-0 pages, one scatterlist entry each, so what its mmap
 * does with a private mapping does not depend on memory fragmentation.
 */
#define MAX_PAGES	8
#define NR_SLOTS	12	/* fds in a pool */
#define NR_OBJS		8	/* buffers alive at once in phase 1 */
#define NR_SYNC		4	/* sync_files phase 1 holds */
#define NR_TOKENS	64	/* unsignalled fences phase 1 tracks */
#define NR_KEPT		2	/* mappings phase 1 keeps across operations */
/*
 * Phase 1 signals a fence itself once it is this many operations old, far
 * below vgem's 10 s timeout (VGEM_FENCE_TIMEOUT): a fence that signals on a
 * timer would make poll results depend on time.
 */
#define FENCE_TTL	24
#define WATCHDOG_S	600
#define MAX_REPORTS	10
#define TALLY_SIZE	2048
#define RES_LEN		24
#define DEFAULT_OPS	20000
#define MAX_THREADS	32
#define SLOT_BASE	512	/* phase 2 slot fds: far above what open() hands out */
/*
 * An fd number that is never open: next_fd() would race with the other
 * threads' open()s in phase 2.
 */
#define CLOSED_FD	(SLOT_BASE + NR_SLOTS + 7)
#define KERNEL_PTR	((void *)0xffff888000000000UL)

/* Allowed results: bit 0 is success, errnos below 60 their own bit. */
#define B(e)		(1ULL << (e))
#define B_OK		B(0)
#define B_EOVERFLOW	B(60)
#define B_EBADFD	B(61)
#define B_EOPNOTSUPP	B(62)
#define B_ETIMEDOUT	B(63)

static uint64_t ebit(int e)
{
	switch (e) {
	case EOVERFLOW:
		return B_EOVERFLOW;
	case EBADFD:
		return B_EBADFD;
	case EOPNOTSUPP:
		return B_EOPNOTSUPP;
	case ETIMEDOUT:
		return B_ETIMEDOUT;
	}
	return e >= 0 && e < 60 ? 1ULL << e : 0;
}

static const struct {
	int e;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" }, { ENXIO, "ENXIO" },
	{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
	{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" },
	{ ENOTDIR, "ENOTDIR" }, { EINVAL, "EINVAL" }, { ENFILE, "ENFILE" }, { EMFILE, "EMFILE" },
	{ ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" }, { ESPIPE, "ESPIPE" }, { ERANGE, "ERANGE" },
	{ EOVERFLOW, "EOVERFLOW" }, { EBADFD, "EBADFD" },
	{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" }, { EPROTO, "EPROTO" },
};

static void errname(int e, char *out, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errnames); i++) {
		if (errnames[i].e == e) {
			snprintf(out, len, "%s", errnames[i].name);
			return;
		}
	}
	snprintf(out, len, "E%d", e);
}

enum {
	OP_CREATE_UDMABUF, OP_CREATE_HEAP, OP_CREATE_VGEM,
	OP_SYNC, OP_NAME_A, OP_NAME_B, OP_EXPORT, OP_IMPORT, OP_IOCTL,
	OP_MMAP, OP_MUNMAP, OP_POLL, OP_EPOLL, OP_LSEEK,
	OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_FSTAT, OP_FDINFO,
	OP_GETFD, OP_SETFD, OP_GETFL, OP_SETFL, OP_DUPFD, OP_QUERY, OP_SEALS,
	OP_DUP, OP_DUP3, OP_CLOSE,
	OP_FENCE_R, OP_FENCE_W, OP_SIGNAL, OP_SW_FENCE, OP_SYNC_INFO, OP_SYNC_CLOSE,
	OP_PRIME, OP_SCM_SEND, OP_SCM_RECV, OP_OPATH_IOCTL, OP_OPATH_MMAP, OP_REOPEN,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	[OP_CREATE_UDMABUF] = "create-udmabuf",
	[OP_CREATE_HEAP] = "create-heap",
	[OP_CREATE_VGEM] = "create-vgem",
	[OP_SYNC] = "sync",
	[OP_NAME_A] = "set-name-a",
	[OP_NAME_B] = "set-name-b",
	[OP_EXPORT] = "export-sync-file",
	[OP_IMPORT] = "import-sync-file",
	[OP_IOCTL] = "ioctl-other",
	[OP_MMAP] = "mmap",
	[OP_MUNMAP] = "munmap-kept",
	[OP_POLL] = "poll",
	[OP_EPOLL] = "epoll",
	[OP_LSEEK] = "lseek",
	[OP_READ] = "read",
	[OP_WRITE] = "write",
	[OP_PREAD] = "pread",
	[OP_PWRITE] = "pwrite",
	[OP_FSTAT] = "fstat",
	[OP_FDINFO] = "fdinfo",
	[OP_GETFD] = "fcntl-getfd",
	[OP_SETFD] = "fcntl-setfd",
	[OP_GETFL] = "fcntl-getfl",
	[OP_SETFL] = "fcntl-setfl",
	[OP_DUPFD] = "fcntl-dupfd",
	[OP_QUERY] = "fcntl-dupfd-query",
	[OP_SEALS] = "fcntl-get-seals",
	[OP_DUP] = "dup",
	[OP_DUP3] = "dup3",
	[OP_CLOSE] = "close",
	[OP_FENCE_R] = "vgem-fence-read",
	[OP_FENCE_W] = "vgem-fence-write",
	[OP_SIGNAL] = "signal",
	[OP_SW_FENCE] = "sw-sync-fence",
	[OP_SYNC_INFO] = "sync-file-info",
	[OP_SYNC_CLOSE] = "sync-file-close",
	[OP_PRIME] = "prime-import",
	[OP_SCM_SEND] = "scm-send",
	[OP_SCM_RECV] = "scm-recv",
	[OP_OPATH_IOCTL] = "opath-ioctl",
	[OP_OPATH_MMAP] = "opath-mmap",
	[OP_REOPEN] = "reopen",
};

/* Counts per (operation, result); an entry with n == 0 is free. */
struct tally_ent {
	unsigned long n;
	unsigned int op;
	char res[RES_LEN];
};

struct tally {
	struct tally_ent e[TALLY_SIZE];
	unsigned int used;
	bool overflow;
};

static uint32_t fnv1a(uint32_t h, const char *s)
{
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static void tally_add(struct tally *t, unsigned int op, const char *res, unsigned long n)
{
	uint32_t h = fnv1a(2166136261u ^ (op * 2654435761u), res);
	unsigned int i, k;

	for (k = 0; k < TALLY_SIZE; k++) {
		i = (h + k) % TALLY_SIZE;
		if (!t->e[i].n) {
			if (t->used + 1 >= TALLY_SIZE) {
				t->overflow = true;
				return;
			}
			t->e[i].op = op;
			snprintf(t->e[i].res, RES_LEN, "%s", res);
			t->e[i].n = n;
			t->used++;
			return;
		}
		if (t->e[i].op == op && !strcmp(t->e[i].res, res)) {
			t->e[i].n += n;
			return;
		}
	}
	t->overflow = true;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct tally_ent *x = a, *y = b;
	int r = strcmp(op_names[x->op], op_names[y->op]);

	return r ? r : strcmp(x->res, y->res);
}

/* The used entries of @t, sorted by operation and result name; free() it. */
static struct tally_ent *tally_sorted(const struct tally *t, unsigned int *n)
{
	struct tally_ent *s = calloc(TALLY_SIZE, sizeof(*s));
	unsigned int i;

	*n = 0;
	if (!s)
		return NULL;
	for (i = 0; i < TALLY_SIZE; i++)
		if (t->e[i].n)
			s[(*n)++] = t->e[i];
	qsort(s, *n, sizeof(*s), ent_cmp);
	return s;
}

/* A thread's state. */
struct ctx {
	int phase;		/* 1: deterministic, 2: concurrent */
	int id;			/* the thread's number in phase 2 */
	uint64_t rng;
	unsigned long op, nops;
	unsigned long failures;
	int vgem;		/* a vgem file for imports and fences, or -1 */
	int timeline;		/* an sw_sync timeline, or -1 */
	uint32_t tl_now;	/* its value */
	char *page;		/* a read-write page followed by an inaccessible one */
	char scratch[PAGE_SZ];
	struct tally tally;
};

/* What an operation works on. */
struct tgt {
	int fd;
	int slot;
	int obj;		/* phase 1: index into p1.obj; phase 2: -1 */
	size_t size;		/* phase 1: the buffer's size; phase 2: 0, not known */
	int exp;		/* phase 1: its exporter; phase 2: -1 */
	int rdonly;		/* phase 1: 0 or 1; phase 2: -1 */
};

/* Phase 1 knows everything about its pool. */
struct obj {
	bool live;
	int exp;
	size_t size;
	bool rdonly;
	int nfds;		/* pool slots referring to it */
	bool named;
	char name[DMA_BUF_NAME_LEN];
	unsigned long long ino;
};

struct slot {
	int fd;			/* -1: empty */
	int obj;
};

/* An unsignalled fence: a vgem fence id, or a point on the sw_sync timeline. */
struct token {
	bool pending;
	bool vgem;
	uint32_t id;
	unsigned long born;
};

struct kept {
	char *addr;
	size_t len;
	int prot;
};

static struct {
	struct obj obj[NR_OBJS];
	struct slot slot[NR_SLOTS];
	int sync_fd[NR_SYNC];
	unsigned int sync_next;
	struct token tok[NR_TOKENS];
	struct kept kept[NR_KEPT];
	unsigned int kept_next;
} p1;

/* Phase 2: slot i is fd SLOT_BASE + i; its state changes under pool_lock. */
enum { S_EMPTY, S_OPEN, S_BUSY };
static int cslot[NR_SLOTS];
static int slot_base;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long progress;		/* __atomic_*() only */
static int finished;			/* __atomic_*() only */
static unsigned int reports[3];		/* per phase, __atomic_*() only */

static bool have_exp[3], have_vgem, have_sw;
static int exp_list[3], nr_exp;
static int devnull = -1;
static int sock[2] = { -1, -1 };
static void *ro_export_ok, *ro_export_bad;

/* For the crash and watchdog messages. */
static __thread int cur_phase, cur_thread;
static __thread unsigned long cur_op;
static __thread const char *cur_act;

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xorshift64*: the stream of random numbers of one thread. */
static uint64_t rnd(struct ctx *c)
{
	uint64_t x = c->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(struct ctx *c, unsigned int n)
{
	return n ? rnd(c) % n : 0;
}

/* Async-signal-safe output for the crash and watchdog handlers. */
static void say(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void say_num(unsigned long v)
{
	char b[24];
	int i = sizeof(b) - 1;

	b[i] = '\0';
	do {
		b[--i] = '0' + v % 10;
		v /= 10;
	} while (v && i > 0);
	say(b + i);
}

static void say_where(void)
{
	say(" in phase ");
	say_num(cur_phase);
	say(", thread ");
	say_num(cur_thread);
	say(", op ");
	say_num(cur_op);
	say(" (");
	say(cur_act ? cur_act : "setup");
	say(")\n");
}

static void on_fatal(int sig)
{
	say("# fuzz: signal ");
	say_num(sig);
	say_where();
	say("Bail out! fuzz crashed\n");
	_exit(KSFT_FAIL);
}

/* Nothing may block: a run that stops making progress fails. */
static void on_alarm(int sig)
{
	(void)sig;
	say("# fuzz: watchdog: no progress for ");
	say_num(WATCHDOG_S);
	say(" s, ");
	say_num(__atomic_load_n(&progress, __ATOMIC_RELAXED));
	say(" concurrent ops done; main thread");
	say_where();
	say("Bail out! fuzz hung\n");
	_exit(KSFT_FAIL);
}

static __printf(2, 3) void report(struct ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->failures++;
	if (__atomic_fetch_add(&reports[c->phase], 1, __ATOMIC_RELAXED) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* ksft_print_msg() prints in two calls: keep the threads' lines whole. */
	pthread_mutex_lock(&print_lock);
	if (c->phase == 1)
		ksft_print_msg("op %lu: %s\n", c->op, msg);
	else
		ksft_print_msg("thread %d op %lu: %s\n", c->id, c->op, msg);
	pthread_mutex_unlock(&print_lock);
}

static void allowed_names(uint64_t allow, char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = '\0';
	if (allow & B_OK)
		used += snprintf(out + used, len - used, "ok");
	for (i = 0; i < ARRAY_SIZE(errnames) && used < len; i++)
		if (ebit(errnames[i].e) & allow)
			used += snprintf(out + used, len - used, "%s%s", used ? "," : "",
					 errnames[i].name);
}

/*
 * Count the result of one operation: @err (0 or an errno) or, if it
 * succeeded with something to say, @val; @bad when what came back is wrong.
 * Phase 2 counts only ok and errnos: its values depend on the interleaving.
 * A result outside @allow, or a @bad one, fails the run; @fmt describes the
 * arguments for the report.
 */
static __printf(7, 8) void note(struct ctx *c, unsigned int op, int err, uint64_t allow,
				const char *val, const char *bad, const char *fmt, ...)
{
	char res[RES_LEN], args[200], al[200];
	va_list ap;

	if (bad)
		snprintf(res, sizeof(res), "%s", bad);
	else if (err)
		errname(err, res, sizeof(res));
	else
		snprintf(res, sizeof(res), "%s", val && c->phase == 1 ? val : "ok");
	tally_add(&c->tally, op, res, 1);
	if (!bad && (ebit(err) & allow))
		return;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	allowed_names(allow, al, sizeof(al));
	report(c, "%s(%s): %s, allowed: %s", op_names[op], args, res, al);
}

/* In phase 2 a racing close() explains EBADF on a pool fd. */
static uint64_t racy(struct ctx *c)
{
	return c->phase == 2 ? B(EBADF) : 0;
}

/* A size a buffer of this program can have. */
static bool size_ok(long long s)
{
	return s > 0 && s % PAGE_SZ == 0 && s <= (long long)(MAX_PAGES * PAGE_SZ);
}

/* The "Total N objects" of bufinfo, or -1. */
static long bufinfo_objects(void)
{
	long objects, attached;

	bufinfo_totals(&objects, &attached);
	return objects;
}

/* What dma_buf_show_fdinfo() prints. */
struct fdinfo {
	long long size;
	long count;
	char exp_name[32];
	bool named;
	char name[64];
};

/*
 * 0, or -ENOENT when the fd is gone: at open(), or, closed under a phase 2
 * reader between open() and read(), when seq_show() finds no file.
 */
static int fdinfo_read(int fd, struct fdinfo *fi)
{
	char path[64], text[4096], *line, *save = NULL;

	memset(fi, 0, sizeof(*fi));
	fi->size = -1;
	fi->count = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_text(path, text, sizeof(text)) < 0)
		return -ENOENT;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "size:\t", 6)) {
			fi->size = strtoll(line + 6, NULL, 10);
		} else if (!strncmp(line, "count:\t", 7)) {
			fi->count = strtol(line + 7, NULL, 10);
		} else if (!strncmp(line, "exp_name:\t", 10)) {
			snprintf(fi->exp_name, sizeof(fi->exp_name), "%s", line + 10);
		} else if (!strncmp(line, "name:", 5)) {
			fi->named = true;
			snprintf(fi->name, sizeof(fi->name), "%s", line[5] == '\t' ? line + 6 : "");
		}
	}
	return fi->size < 0 ? -ENOENT : 0;
}

/* A pointer the kernel cannot read @len bytes at. */
static void *bad_ptr(struct ctx *c, size_t len)
{
	switch (below(c, 5)) {
	case 0:
		return NULL;
	case 1:
		return (void *)1;
	case 2:
		return c->page + PAGE_SZ;	/* PROT_NONE */
	case 3:
		return KERNEL_PTR;
	}
	return c->page + PAGE_SZ - len / 2;	/* straddles into the PROT_NONE page */
}

static bool avail_exp(int e)
{
	return e >= 0 && e < 3 && have_exp[e];
}

/*
 * A new buffer of @pages pages, or -errno. vgem buffers are made on @vgem
 * and their handle closed at once: the dma-buf holds the GEM object, so the
 * buffer lives exactly as long as its fds, mappings and kernel references.
 */
static int make_buf(int e, unsigned int pages, bool rdonly, unsigned int memfd_off, int vgem)
{
	size_t size = pages * PAGE_SZ, real = 0;
	uint32_t handle = 0;
	int fd, memfd, ret;

	switch (e) {
	case EXP_UDMABUF:
		memfd = sealed_memfd(size + memfd_off * PAGE_SZ);
		if (memfd < 0)
			return -errno;
		fd = udmabuf_create(memfd, memfd_off * PAGE_SZ, size, UDMABUF_FLAGS_CLOEXEC);
		close(memfd);
		return fd;
	case EXP_HEAP:
		return heap_alloc(size, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	case EXP_VGEM:
		ret = vgem_dumb(vgem, size, &handle, &real);
		if (ret)
			return ret;
		fd = prime_export(vgem, handle, DRM_CLOEXEC | (rdonly ? 0 : DRM_RDWR));
		gem_close(vgem, handle);
		if (fd >= 0 && real != size) {
			close(fd);
			return -ERANGE;
		}
		return fd;
	}
	return -EINVAL;
}

/* Phase 1 pool bookkeeping. */

static int p1_open_slots(void)
{
	int i, n = 0;

	for (i = 0; i < NR_SLOTS; i++)
		n += p1.slot[i].fd >= 0;
	return n;
}

static int p1_empty_slot(struct ctx *c)
{
	int i, n = NR_SLOTS - p1_open_slots(), k;

	if (!n)
		return -1;
	k = below(c, n);
	for (i = 0; i < NR_SLOTS; i++)
		if (p1.slot[i].fd < 0 && !k--)
			return i;
	return -1;
}

static void p1_obj_put(int o)
{
	if (--p1.obj[o].nfds <= 0)
		p1.obj[o].live = false;
}

/* Put @fd, another fd of object @o, into an empty slot, or close it. */
static void p1_place(struct ctx *c, int fd, int o)
{
	int s = p1_empty_slot(c);

	if (s < 0) {
		close(fd);
		return;
	}
	p1.slot[s].fd = fd;
	p1.slot[s].obj = o;
	p1.obj[o].nfds++;
}

static void p1_create(struct ctx *c, int s, int e)
{
	unsigned int pages, off;
	int o, fd;
	bool rd;

	for (o = 0; o < NR_OBJS && p1.obj[o].live; o++)
		;
	if (o == NR_OBJS || p1.slot[s].fd >= 0)
		return;
	pages = below(c, 4) ? 1 + below(c, MAX_PAGES) : 1;
	rd = e != EXP_UDMABUF && !below(c, 4);
	off = below(c, 3);
	fd = make_buf(e, pages, rd, off, c->vgem);
	note(c, OP_CREATE_UDMABUF + e, fd < 0 ? -fd : 0, B_OK, NULL, NULL,
	     "pages=%u rdonly=%d memfd_off=%u", pages, rd, off);
	if (fd < 0)
		return;
	p1.obj[o] = (struct obj){
		.live = true, .exp = e, .size = pages * PAGE_SZ, .rdonly = rd, .nfds = 1,
		.ino = fd_ino(fd),
	};
	p1.slot[s].fd = fd;
	p1.slot[s].obj = o;
}

/* Keep at least two fds in the pool. */
static void p1_ensure_open(struct ctx *c)
{
	int tries;

	for (tries = 0; tries < NR_SLOTS && p1_open_slots() < 2; tries++) {
		int s = p1_empty_slot(c), before = p1_open_slots();

		if (s < 0)
			return;
		p1_create(c, s, exp_list[below(c, nr_exp)]);
		if (p1_open_slots() == before)
			return;
	}
}

/* Phase 2 pool: a random slot in @state, marked @to; -1 if there is none. */
static int p2_take(struct ctx *c, int state, int to)
{
	int i, n = 0, k, s = -1;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < NR_SLOTS; i++)
		n += cslot[i] == state;
	if (n) {
		k = below(c, n);
		for (i = 0; i < NR_SLOTS; i++) {
			if (cslot[i] == state && !k--) {
				s = i;
				break;
			}
		}
		cslot[s] = to;
	}
	pthread_mutex_unlock(&pool_lock);
	return s;
}

static void p2_set(int s, int state)
{
	pthread_mutex_lock(&pool_lock);
	cslot[s] = state;
	pthread_mutex_unlock(&pool_lock);
}

/* The pool fd an operation works on. */
static bool get_target(struct ctx *c, struct tgt *t)
{
	int i, n, k;

	if (c->phase == 1) {
		n = p1_open_slots();
		if (!n)
			return false;
		k = below(c, n);
		for (i = 0; i < NR_SLOTS; i++)
			if (p1.slot[i].fd >= 0 && !k--)
				break;
		t->fd = p1.slot[i].fd;
		t->slot = i;
		t->obj = p1.slot[i].obj;
		t->size = p1.obj[t->obj].size;
		t->exp = p1.obj[t->obj].exp;
		t->rdonly = p1.obj[t->obj].rdonly;
		return true;
	}
	/* Picked under the lock, used without it: the fd may be closed under us. */
	i = p2_take(c, S_OPEN, S_OPEN);
	if (i < 0)
		return false;
	*t = (struct tgt){ .fd = slot_base + i, .slot = i, .obj = -1, .size = 0, .exp = -1,
			   .rdonly = -1 };
	return true;
}

/* Phase 1 fences. */

static void tok_signal(struct ctx *c, int i)
{
	struct token *k = &p1.tok[i];
	int err, j;

	if (k->vgem) {
		/*
		 * vgem_fence_signal_ioctl() says ETIMEDOUT when the fence's
		 * 10 s timer fired first: the run was too slow for its fence
		 * states, and so its poll results, to be deterministic.
		 */
		err = vgem_signal(c->vgem, k->id);
		note(c, OP_SIGNAL, err, B_OK, "vgem", NULL, "vgem fence %u of op %lu", k->id,
		     k->born);
		k->pending = false;
		return;
	}
	if (k->id > c->tl_now) {
		err = sw_sync_inc(c->timeline, k->id - c->tl_now);
		note(c, OP_SIGNAL, err, B_OK, "sw", NULL, "sw_sync point %u of op %lu", k->id,
		     k->born);
		c->tl_now = k->id;
	}
	/* The timeline signals every point up to its value. */
	for (j = 0; j < NR_TOKENS; j++)
		if (p1.tok[j].pending && !p1.tok[j].vgem && p1.tok[j].id <= c->tl_now)
			p1.tok[j].pending = false;
}

static void tok_add(struct ctx *c, bool vgem, uint32_t id)
{
	int i, oldest = -1;

	for (i = 0; i < NR_TOKENS; i++) {
		if (!p1.tok[i].pending)
			break;
		if (oldest < 0 || p1.tok[i].born < p1.tok[oldest].born)
			oldest = i;
	}
	if (i == NR_TOKENS) {
		tok_signal(c, oldest);
		i = oldest;
	}
	p1.tok[i] = (struct token){ .pending = true, .vgem = vgem, .id = id, .born = c->op };
}

static void tok_expire(struct ctx *c, bool all)
{
	int i;

	for (i = 0; i < NR_TOKENS; i++)
		if (p1.tok[i].pending && (all || c->op - p1.tok[i].born > FENCE_TTL))
			tok_signal(c, i);
}

static void sync_add(int fd)
{
	int i;

	for (i = 0; i < NR_SYNC; i++) {
		if (p1.sync_fd[i] < 0) {
			p1.sync_fd[i] = fd;
			return;
		}
	}
	i = p1.sync_next++ % NR_SYNC;
	close(p1.sync_fd[i]);
	p1.sync_fd[i] = fd;
}

static int sync_pick(struct ctx *c)
{
	int i, n = 0, k;

	for (i = 0; i < NR_SYNC; i++)
		n += p1.sync_fd[i] >= 0;
	if (!n)
		return -1;
	k = below(c, n);
	for (i = 0; i < NR_SYNC; i++)
		if (p1.sync_fd[i] >= 0 && !k--)
			return i;
	return -1;
}

/* DMA_BUF_IOCTL_SYNC. */

static const uint64_t sync_flags[] = {
	DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE,
	DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ,
	DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
	0, DMA_BUF_SYNC_END, 1ULL << 3, DMA_BUF_SYNC_RW | 1ULL << 3,
	DMA_BUF_SYNC_READ | 1ULL << 32, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW | 1ULL << 63, ~0ULL,
};

static void act_sync(struct ctx *c)
{
	struct dma_buf_sync s;
	uint64_t f, allow;
	struct tgt t;
	void *arg = &s;
	bool valid;
	int err;

	if (!get_target(c, &t))
		return;
	f = below(c, 8) ? sync_flags[below(c, ARRAY_SIZE(sync_flags))] : rnd(c);
	s.flags = f;
	if (!below(c, 10))
		arg = bad_ptr(c, sizeof(s));
	valid = !(f & ~DMA_BUF_SYNC_VALID_FLAGS_MASK) && (f & DMA_BUF_SYNC_RW);
	if (arg != &s) {
		allow = B(EFAULT);	/* dma_buf_ioctl(): copy_from_user() */
	} else if (!valid) {
		/* dma_buf_ioctl(): bits outside the mask, or neither READ nor WRITE */
		allow = B(EINVAL);
	} else if (f & DMA_BUF_SYNC_END) {
		allow = B_OK;
		/* end_cpu_udmabuf(): no sg_table before the buffer's first START */
		if (t.exp == EXP_UDMABUF || t.exp < 0)
			allow |= B(EINVAL);
	} else {
		short ev = f & DMA_BUF_SYNC_WRITE ? POLLOUT : POLLIN;

		/*
		 * __dma_buf_begin_cpu_access() waits for the fences that
		 * dma_buf_poll() checks for @ev (write fences for a read, all
		 * for a write), without a timeout: start only when they are
		 * signalled. Phase 1's fences only signal when it says so.
		 */
		if (!(poll_now(t.fd, ev) & ev)) {
			note(c, OP_SYNC, 0, B_OK, "busy", NULL, "flags=%#llx",
			     (unsigned long long)f);
			return;
		}
		allow = B_OK;
	}
	err = xioctl(t.fd, DMA_BUF_IOCTL_SYNC, arg);
	note(c, OP_SYNC, err, allow | racy(c), NULL, NULL, "flags=%#llx arg=%s",
	     (unsigned long long)f, arg == &s ? "ok" : "bad");
}

/* DMA_BUF_SET_NAME_A/B. */

static void fill_name(struct ctx *c, char *s, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = chars[below(c, sizeof(chars) - 1)];
}

static void act_name(struct ctx *c)
{
	static const unsigned int lens[] = {
		0, 1, 2, 16, 30, 31, 32, 33, 63, 64, 255, PAGE_SZ - 1
	};
	static const unsigned int tails[] = { 1, 7, 8, 31, 32, 33, 40, 64 };
	unsigned int op = below(c, 2) ? OP_NAME_A : OP_NAME_B, kind = below(c, 10), len = 0;
	unsigned long cmd = op == OP_NAME_A ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B;
	uint64_t allow;
	struct tgt t;
	char *s;
	int err;

	if (!get_target(c, &t))
		return;
	if (kind < 7) {
		/*
		 * strndup_user(buf, DMA_BUF_NAME_LEN) in dma_buf_set_name():
		 * 31 characters and the NUL fit, a longer string is EINVAL.
		 * Kind 6 puts the NUL on the page's last byte, before the
		 * inaccessible page: nothing past it may be read.
		 */
		len = lens[below(c, ARRAY_SIZE(lens))];
		s = kind < 6 ? c->page : c->page + PAGE_SZ - len - 1;
		fill_name(c, s, len);
		s[len] = '\0';
		allow = len < DMA_BUF_NAME_LEN ? B_OK : B(EINVAL);
	} else if (kind < 9) {
		/*
		 * No NUL before the inaccessible page: strnlen_user() faults
		 * (EFAULT) unless it has read DMA_BUF_NAME_LEN bytes first
		 * (EINVAL, too long).
		 */
		len = tails[below(c, ARRAY_SIZE(tails))];
		s = c->page + PAGE_SZ - len;
		fill_name(c, s, len);
		allow = len < DMA_BUF_NAME_LEN ? B(EFAULT) : B(EINVAL);
		kind = 7;
	} else {
		static void *const ptrs[] = { NULL, (void *)1, KERNEL_PTR };

		s = below(c, 4) ? ptrs[below(c, ARRAY_SIZE(ptrs))] : c->page + PAGE_SZ;
		allow = B(EFAULT);	/* strnlen_user() */
	}
	err = xioctl(t.fd, cmd, s);
	note(c, op, err, allow | racy(c), NULL, NULL, "kind=%u len=%u", kind, len);
	if (c->phase == 1 && !err && kind < 7) {
		p1.obj[t.obj].named = true;
		memcpy(p1.obj[t.obj].name, s, len + 1);
	}
}

/* DMA_BUF_IOCTL_EXPORT_SYNC_FILE and DMA_BUF_IOCTL_IMPORT_SYNC_FILE. */

static const uint32_t xfer_flags[] = {
	DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_READ,
	DMA_BUF_SYNC_RW, 0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END, 1u << 31,
	DMA_BUF_SYNC_READ | 1u << 8, ~0u,
};

/* dma_buf_{ex,im}port_sync_file(): no bits outside RW, and not 0. */
static bool xfer_valid(uint32_t f)
{
	return !(f & ~DMA_BUF_SYNC_RW) && (f & DMA_BUF_SYNC_RW);
}

static uint32_t xfer_pick(struct ctx *c)
{
	return below(c, 8) ? xfer_flags[below(c, ARRAY_SIZE(xfer_flags))] : (uint32_t)rnd(c);
}

static uint32_t valid_xfer(struct ctx *c)
{
	return xfer_flags[below(c, 3)];
}

/* Import sync_file @s into @fd with valid flags (phase 2 helpers). */
static void import_into(struct ctx *c, int fd, int s)
{
	uint32_t f = valid_xfer(c);

	note(c, OP_IMPORT, import_sync_file(fd, f, s), B_OK | racy(c), NULL, NULL,
	     "flags=%#x source=fresh", f);
}

static void act_export(struct ctx *c)
{
	struct dma_buf_export_sync_file e;
	unsigned int kind = below(c, 10), num;
	int err, before = -1, sfd = -1;
	const char *bad = NULL;
	uint64_t allow;
	struct tgt t, t2;
	void *arg = &e;
	uint32_t f;

	if (!get_target(c, &t))
		return;
	f = xfer_pick(c);
	e.flags = f;
	e.fd = -1;
	if (kind == 8) {
		/*
		 * A read-only argument: the checks pass, the fd is reserved and
		 * the sync_file made, then copy_to_user() fails; the fd must be
		 * given back (put_unused_fd() in dma_buf_export_sync_file()).
		 */
		arg = xfer_valid(f) ? ro_export_ok : ro_export_bad;
		allow = xfer_valid(f) ? B(EFAULT) : B(EINVAL);
		if (c->phase == 1)
			before = next_fd();
	} else if (kind == 9) {
		arg = bad_ptr(c, sizeof(e));
		allow = B(EFAULT);	/* dma_buf_export_sync_file(): copy_from_user() */
	} else {
		allow = xfer_valid(f) ? B_OK : B(EINVAL);
	}
	err = xioctl(t.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, arg);
	if (!err && arg == &e) {
		sfd = e.fd;
		if (sync_file_status(sfd, &num) < 0)
			bad = "bad-sync-file";
	}
	if (before >= 0 && next_fd() != before)
		bad = "bad-fd-leaked";
	note(c, OP_EXPORT, err, allow | racy(c), NULL, bad, "flags=%#x kind=%u", f, kind);
	if (sfd < 0)
		return;
	if (c->phase == 1) {
		sync_add(sfd);
		return;
	}
	if (below(c, 2) && get_target(c, &t2))
		import_into(c, t2.fd, sfd);
	close(sfd);
}

static void act_import(struct ctx *c)
{
	struct dma_buf_import_sync_file imp;
	unsigned int kind = below(c, 12), v = 0;
	bool is_sync = false, fresh = false, pending = false;
	int err, src, i;
	uint64_t allow;
	struct tgt t;
	void *arg = &imp;
	uint32_t f;

	if (!get_target(c, &t))
		return;
	f = xfer_pick(c);
	if ((kind == 0 || kind == 1) && c->phase == 1 && sync_pick(c) < 0)
		kind = 4;
	if ((kind == 2 || kind == 3) && c->timeline < 0)
		kind = 4;
	switch (kind) {
	case 0:
	case 1:
		if (c->phase == 1) {
			src = p1.sync_fd[sync_pick(c)];
		} else {
			src = export_sync_file(t.fd, DMA_BUF_SYNC_RW);
			fresh = true;
		}
		is_sync = src >= 0;
		break;
	case 2:
	case 3:
		/* A new sw_sync point: still pending, or at or below the timeline. */
		pending = kind == 2;
		v = pending ? c->tl_now + 1 + (c->phase == 1 ? below(c, 3) : 0) : c->tl_now;
		src = sw_sync_fence(c->timeline, v);
		if (src < 0) {
			report(c, "sw_sync fence: %s", strerror(-src));
			return;
		}
		is_sync = true;
		fresh = true;
		break;
	case 4:
		src = t.fd;		/* a dma-buf is not a sync_file */
		break;
	case 5:
		src = devnull;
		break;
	case 6:
		src = c->vgem >= 0 ? c->vgem : devnull;
		break;
	case 7:
		src = c->timeline >= 0 ? c->timeline : devnull;
		break;
	case 8:
		src = -1;
		break;
	case 9:
		src = CLOSED_FD;
		break;
	default:
		src = kind == 10 ? 1 << 20 : INT_MAX;
		break;
	}
	imp.flags = f;
	imp.fd = src;
	if (!below(c, 10)) {
		arg = bad_ptr(c, sizeof(imp));
		allow = B(EFAULT);	/* dma_buf_import_sync_file(): copy_from_user() */
	} else if (!xfer_valid(f)) {
		allow = B(EINVAL);	/* dma_buf_import_sync_file(): flags */
	} else if (!is_sync) {
		/* sync_file_get_fence(): not a sync_file (or no such fd) */
		allow = B(EINVAL);
	} else {
		allow = B_OK;
	}
	err = xioctl(t.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, arg);
	note(c, OP_IMPORT, err, allow | racy(c), NULL, NULL, "flags=%#x kind=%u arg=%s", f, kind,
	     arg == &imp ? "ok" : "bad");
	if (pending && c->phase == 1 && !err)
		tok_add(c, false, v);
	if (pending && c->phase == 2) {
		/* Phase 2 signals its own points before the operation ends. */
		i = sw_sync_inc(c->timeline, v - c->tl_now);
		note(c, OP_SIGNAL, i, B_OK, "sw", NULL, "sw_sync point %u", v);
		c->tl_now = v;
	}
	if (fresh && src >= 0)
		close(src);
}

/* Other ioctl commands. */

enum { IO_NOTTY, IO_OK, IO_NBIO, IO_ASYNC, IO_BSZ };

static const struct {
	unsigned long cmd;
	int kind;
} iocs[] = {
	/* dma_buf_ioctl() matches whole numbers: the right nr, wrong size or direction */
	{ _IO(DMA_BUF_BASE, 0), IO_NOTTY },
	{ _IOW(DMA_BUF_BASE, 0, __u32), IO_NOTTY },
	{ _IOR(DMA_BUF_BASE, 0, struct dma_buf_sync), IO_NOTTY },
	{ _IOWR(DMA_BUF_BASE, 0, struct dma_buf_sync), IO_NOTTY },
	{ _IO(DMA_BUF_BASE, 1), IO_NOTTY },
	{ _IOW(DMA_BUF_BASE, 1, __u16), IO_NOTTY },
	{ _IOR(DMA_BUF_BASE, 1, __u64), IO_NOTTY },
	{ _IOW(DMA_BUF_BASE, 1, char[DMA_BUF_NAME_LEN]), IO_NOTTY },
	{ _IOR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file), IO_NOTTY },
	{ _IOW(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file), IO_NOTTY },
	{ _IOR(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file), IO_NOTTY },
	{ _IOWR(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file), IO_NOTTY },
	{ _IO(DMA_BUF_BASE, 4), IO_NOTTY },
	{ _IOWR(DMA_BUF_BASE, 0xff, __u64), IO_NOTTY },
	/* Other drivers' commands: dma_buf_ioctl()'s default */
	{ SW_SYNC_IOC_CREATE_FENCE, IO_NOTTY },
	{ SW_SYNC_IOC_INC, IO_NOTTY },
	{ SYNC_IOC_MERGE, IO_NOTTY },
	{ SYNC_IOC_FILE_INFO, IO_NOTTY },
	{ DRM_IOCTL_VERSION, IO_NOTTY },
	{ DRM_IOCTL_GEM_CLOSE, IO_NOTTY },
	{ DRM_IOCTL_PRIME_FD_TO_HANDLE, IO_NOTTY },
	{ DMA_HEAP_IOCTL_ALLOC, IO_NOTTY },
	{ UDMABUF_CREATE, IO_NOTTY },
	{ UDMABUF_CREATE_LIST, IO_NOTTY },
	{ TCGETS, IO_NOTTY },
	/* do_vfs_ioctl(): not a regular file, so these go on to dma_buf_ioctl() */
	{ FIOQSIZE, IO_NOTTY },
	{ FIONREAD, IO_NOTTY },
	/* ioctl_getflags(): no ->fileattr_get, -ENOIOCTLCMD, then dma_buf_ioctl() */
	{ FS_IOC_GETFLAGS_CMD, IO_NOTTY },
	/* do_vfs_ioctl() answers these for every file */
	{ FIOCLEX, IO_OK },
	{ FIONCLEX, IO_OK },
	{ FIONBIO, IO_NBIO },
	{ FIOASYNC, IO_ASYNC },
	{ FIGETBSZ, IO_BSZ },
};

static bool real_dmabuf_cmd(unsigned long cmd)
{
	return cmd == DMA_BUF_IOCTL_SYNC || cmd == DMA_BUF_SET_NAME_A ||
	       cmd == DMA_BUF_SET_NAME_B || cmd == DMA_BUF_IOCTL_EXPORT_SYNC_FILE ||
	       cmd == DMA_BUF_IOCTL_IMPORT_SYNC_FILE;
}

static void act_ioctl(struct ctx *c)
{
	unsigned long cmd;
	int kind, err, *ip = (int *)c->scratch;
	bool good = below(c, 6) != 0;
	char val[RES_LEN] = "";
	uint64_t allow;
	struct tgt t;
	void *arg;

	if (!get_target(c, &t))
		return;
	if (below(c, 3)) {
		unsigned int i = below(c, ARRAY_SIZE(iocs));

		cmd = iocs[i].cmd;
		kind = iocs[i].kind;
	} else {
		/* Any other 'b' command: dma_buf_ioctl()'s default, before the argument. */
		cmd = _IOC(below(c, 4), DMA_BUF_BASE, below(c, 256), below(c, 1 << 14));
		if (real_dmabuf_cmd(cmd))
			cmd ^= _IOC(0, 0, 0x80, 0);
		kind = IO_NOTTY;
	}
	memset(c->scratch, 0, 64);
	*ip = below(c, 2);
	arg = good ? (void *)ip : bad_ptr(c, sizeof(int));
	switch (kind) {
	case IO_NOTTY:
		allow = B(ENOTTY);
		break;
	case IO_OK:
		allow = B_OK;		/* FIOCLEX/FIONCLEX: set_close_on_exec() */
		break;
	case IO_NBIO:
		allow = good ? B_OK : B(EFAULT);	/* ioctl_fionbio(): get_user() */
		break;
	case IO_ASYNC:
		/* ioctl_fioasync(): turning FASYNC on needs ->fasync, which dma-bufs lack */
		allow = !good ? B(EFAULT) : *ip ? B(ENOTTY) : B_OK;
		break;
	default:
		/* FIGETBSZ: the pseudo filesystem's PAGE_SIZE blocks (init_pseudo()) */
		allow = good ? B_OK : B(EFAULT);
		break;
	}
	err = xioctl(t.fd, cmd, arg);
	if (!err && kind == IO_BSZ)
		snprintf(val, sizeof(val), "bsz=%d", *ip);
	note(c, OP_IOCTL, err, allow | racy(c), val[0] ? val : NULL, NULL, "cmd=%#lx arg=%s",
	     cmd, good ? "ok" : "bad");
}

/* mmap(). */

static void touch(char *p, int prot, unsigned char v)
{
	if (prot & PROT_READ)
		(void)READ_ONCE(p[0]);
	if (prot & PROT_WRITE)
		WRITE_ONCE(p[0], v);
}

static void unkeep(struct ctx *c, unsigned int i)
{
	struct kept *k = &p1.kept[i];

	if (!k->addr)
		return;
	/* The mapping holds the buffer, whether or not its fds are still open. */
	touch(k->addr, k->prot, below(c, 256));
	note(c, OP_MUNMAP, munmap(k->addr, k->len) ? errno : 0, B_OK, NULL, NULL, "len=%zu",
	     k->len);
	k->addr = NULL;
}

static void act_mmap(struct ctx *c)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_EXEC, PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
	};
	static const int flagsets[] = {
		MAP_SHARED, MAP_SHARED, MAP_SHARED, MAP_SHARED, MAP_PRIVATE, MAP_PRIVATE,
		MAP_SHARED_VALIDATE, MAP_SHARED | MAP_POPULATE, MAP_SHARED | MAP_NORESERVE,
		MAP_SHARED_VALIDATE | MAP_POPULATE, MAP_SHARED_VALIDATE | MAP_SYNC, 0,
		MAP_SHARED | MAP_GROWSDOWN, MAP_PRIVATE | MAP_POPULATE, MAP_SHARED | MAP_HUGETLB,
	};
	unsigned long len, off, pages, opages, limit, size;
	int prot, flags, type, err;
	bool shared, must_fail, must_work;
	uint64_t allow;
	struct tgt t;
	long ret;

	if (!get_target(c, &t))
		return;
	/* Phase 2 does not know the size: the arguments come from a guess. */
	size = t.size ? t.size : (1 + below(c, MAX_PAGES)) * PAGE_SZ;
	switch (below(c, 12)) {
	case 0:
		len = 0;
		break;
	case 1:
		len = 1;
		break;
	case 2:
		len = PAGE_SZ;
		break;
	case 3:
	case 4:
		len = size;
		break;
	case 5:
		len = size > PAGE_SZ ? size - PAGE_SZ : PAGE_SZ;
		break;
	case 6:
		len = size + PAGE_SZ;
		break;
	case 7:
		len = 2 * size;
		break;
	case 8:
		len = (1 + below(c, size / PAGE_SZ + 1)) * PAGE_SZ;
		break;
	case 9:
		len = 1 + below(c, size + 2 * PAGE_SZ);
		break;
	case 10:
		len = 1UL << 47;
		break;
	default:
		len = ~0UL;
		break;
	}
	switch (below(c, 14)) {
	case 0:
	case 1:
	case 2:
	case 3:
		off = 0;
		break;
	case 4:
	case 5:
		off = below(c, size / PAGE_SZ) * PAGE_SZ;
		break;
	case 6:
		off = size - PAGE_SZ;
		break;
	case 7:
		off = size;
		break;
	case 8:
		off = size + PAGE_SZ;
		break;
	case 9:
		off = 1UL << 40;
		break;
	case 10:
		off = ~0UL & ~(PAGE_SZ - 1);
		break;
	case 11:
		off = 1;
		break;
	case 12:
		off = 100;
		break;
	default:
		off = PAGE_SZ + 1;
		break;
	}
	prot = prots[below(c, ARRAY_SIZE(prots))];
	flags = flagsets[below(c, ARRAY_SIZE(flagsets))];
	type = flags & MAP_TYPE;
	shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
	pages = len / PAGE_SZ + !!(len % PAGE_SZ);
	opages = off / PAGE_SZ;
	limit = c->phase == 1 ? t.size / PAGE_SZ : MAX_PAGES;
	/*
	 * Refused whatever the exporter: length 0 (do_mmap()), an unaligned
	 * offset (the x86-64 mmap system call), PROT_EXEC (do_mmap(): the
	 * dma-buf pseudo filesystem is SB_I_NOEXEC, EPERM), pages beyond the
	 * buffer (dma_buf_mmap_internal(), or EOVERFLOW/ENOMEM before it), a
	 * mapping type other than shared or private, MAP_GROWSDOWN and
	 * MAP_HUGETLB (EINVAL in do_mmap() and ksys_mmap_pgoff()), and
	 * MAP_SYNC validated (EOPNOTSUPP: no FOP_MMAP_SYNC).
	 */
	must_fail = !len || off % PAGE_SZ || (prot & PROT_EXEC) || opages > limit ||
		    pages > limit - opages ||
		    (!shared && type != MAP_PRIVATE) || (flags & (MAP_GROWSDOWN | MAP_HUGETLB)) ||
		    (type == MAP_SHARED_VALIDATE && (flags & MAP_SYNC));
	/*
	 * A shared mapping inside the buffer without PROT_EXEC works with
	 * every exporter, unless it is writable and the buffer is not (EACCES
	 * in do_mmap()). Phase 2 only knows that the first page is there.
	 */
	must_work = shared && !must_fail && !(flags & MAP_SYNC) &&
		    (c->phase == 1 ? !((prot & PROT_WRITE) && t.rdonly) :
		     !off && len <= PAGE_SZ && !(prot & PROT_WRITE));
	/*
	 * Everything else is one of do_mmap()'s errnos, or the exporters' EINVAL
	 * for a private mapping (mmap_udmabuf(), drm_gem_shmem_mmap(), and the
	 * system heap's remap_pfn_range() of a copy-on-write mapping of more
	 * than one scatterlist entry).
	 */
	allow = B_OK | B(EINVAL) | B(ENOMEM) | B_EOVERFLOW | B_EOPNOTSUPP | B(EACCES) | B(EPERM);
	if (must_work)
		allow = B_OK;
	else if (must_fail)
		allow &= ~B_OK;
	ret = syscall(SYS_mmap, 0UL, len, prot, flags, t.fd, off);
	err = ret == -1 ? errno : 0;
	note(c, OP_MMAP, err, allow | racy(c), NULL, NULL, "len=%#lx off=%#lx prot=%#x flags=%#x",
	     len, off, prot, flags);
	if (err)
		return;
	/* Touched only where a mapping that is there must be valid: the first page. */
	if (shared && !must_fail && (prot & (PROT_READ | PROT_WRITE)))
		touch((char *)ret, prot, below(c, 256));
	if (c->phase == 1 && shared && !must_fail && !below(c, 4)) {
		unsigned int i = p1.kept_next++ % NR_KEPT;

		unkeep(c, i);
		p1.kept[i] = (struct kept){ .addr = (char *)ret, .len = len, .prot = prot };
		return;
	}
	if (munmap((void *)ret, len))
		report(c, "munmap(len=%#lx): %s", len, strerror(errno));
}

static void act_munmap(struct ctx *c)
{
	unsigned int i = below(c, NR_KEPT);

	if (p1.kept[i].addr)
		unkeep(c, i);
}

/* poll() and epoll. */

static void act_poll(struct ctx *c)
{
	static const short evs[] = {
		0, POLLIN, POLLOUT, POLLIN | POLLOUT, POLLIN | POLLOUT, POLLPRI,
		POLLRDNORM | POLLWRNORM, POLLERR | POLLHUP, POLLIN | POLLOUT | POLLPRI | POLLRDHUP,
		-1,
	};
	struct pollfd p;
	char val[RES_LEN];
	const char *bad = NULL;
	short extra;
	struct tgt t;
	int n;

	if (!get_target(c, &t))
		return;
	p.fd = t.fd;
	p.events = evs[below(c, ARRAY_SIZE(evs))];
	p.revents = 0;
	n = poll(&p, 1, 0);
	snprintf(val, sizeof(val), "rev=%#x", (unsigned short)p.revents);
	/* dma_buf_poll() reports only EPOLLIN and EPOLLOUT, of those asked for. */
	extra = p.revents & ~(p.events & (POLLIN | POLLOUT));
	if (c->phase == 2)
		extra &= ~POLLNVAL;	/* closed under us */
	if (n >= 0 && extra)
		bad = "bad-revents";
	note(c, OP_POLL, n < 0 ? errno : 0, B_OK, val, bad, "events=%#x revents=%#x",
	     (unsigned short)p.events, (unsigned short)p.revents);
}

static void act_epoll(struct ctx *c)
{
	static const uint32_t evs[] = {
		EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLIN | EPOLLOUT | EPOLLET,
		EPOLLIN | EPOLLONESHOT, EPOLLPRI, 0, EPOLLIN | EPOLLEXCLUSIVE,
		EPOLLOUT | EPOLLRDHUP,
	};
	struct epoll_event ev = { 0 }, out = { 0 };
	char val[RES_LEN] = "";
	const char *bad = NULL;
	struct tgt t;
	int ep, err, n;

	if (!get_target(c, &t))
		return;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		report(c, "epoll_create1: %s", strerror(errno));
		return;
	}
	ev.events = evs[below(c, ARRAY_SIZE(evs))];
	/* ep_insert() polls the buffer once with a wait queue entry. */
	err = epoll_ctl(ep, EPOLL_CTL_ADD, t.fd, &ev) ? errno : 0;
	if (!err) {
		n = epoll_wait(ep, &out, 1, 0);
		snprintf(val, sizeof(val), "n=%d ev=%#x", n, n > 0 ? out.events : 0);
		if (n < 0 || (n > 0 && (out.events & ~(ev.events & (EPOLLIN | EPOLLOUT)))))
			bad = "bad-epoll";
	}
	note(c, OP_EPOLL, err, B_OK | racy(c), val, bad, "events=%#x got=%#x", ev.events,
	     out.events);
	close(ep);
}

/* lseek(), read() and friends, fstat(), fdinfo. */

static void act_lseek(struct ctx *c)
{
	static const int whences[] = {
		SEEK_SET, SEEK_SET, SEEK_CUR, SEEK_END, SEEK_END, SEEK_DATA, SEEK_HOLE, 5, 100, -1,
	};
	const char *bad = NULL;
	int whence, err;
	struct tgt t;
	off_t off, r;
	bool ok;

	if (!get_target(c, &t))
		return;
	whence = whences[below(c, ARRAY_SIZE(whences))];
	switch (below(c, 10)) {
	case 0:
		off = 1;
		break;
	case 1:
		off = -1;
		break;
	case 2:
		off = PAGE_SZ;
		break;
	case 3:
		off = t.size ? (off_t)t.size : (off_t)PAGE_SZ;
		break;
	case 4:
		off = LLONG_MAX;
		break;
	case 5:
		off = LLONG_MIN;
		break;
	default:
		off = 0;
		break;
	}
	/*
	 * dma_buf_llseek(): only SEEK_SET and SEEK_END, offset 0; ksys_lseek()
	 * refuses a whence above SEEK_MAX before it.
	 */
	ok = (whence == SEEK_SET || whence == SEEK_END) && !off;
	r = lseek(t.fd, off, whence);
	err = r < 0 ? errno : 0;
	if (!err && whence == SEEK_SET && r != 0)
		bad = "bad-offset";
	if (!err && whence == SEEK_END &&
	    (c->phase == 1 ? r != (off_t)t.size : !size_ok(r)))
		bad = "bad-size";
	note(c, OP_LSEEK, err, (ok ? B_OK : B(EINVAL)) | racy(c), NULL, bad,
	     "off=%lld whence=%d got=%lld", (long long)off, whence, (long long)r);
}

static void act_rw(struct ctx *c)
{
	static const size_t lens[] = { 0, 1, PAGE_SZ };
	unsigned int k = below(c, 4), op = OP_READ + k;
	size_t len = lens[below(c, ARRAY_SIZE(lens))];
	off_t pos = below(c, 3) ? (off_t)(below(c, 2) * PAGE_SZ) : -1;
	void *buf = below(c, 4) ? (void *)c->scratch : bad_ptr(c, 8);
	uint64_t allow;
	struct tgt t;
	ssize_t n;

	if (!get_target(c, &t))
		return;
	switch (k) {
	case 0:
		n = read(t.fd, buf, len);
		/* vfs_read(): dma-bufs have neither ->read nor ->read_iter */
		allow = B(EINVAL);
		break;
	case 1:
		n = write(t.fd, buf, len);
		/* vfs_write(): EBADF without FMODE_WRITE, then EINVAL: no ->write */
		allow = t.rdonly == 1 ? B(EBADF) : t.rdonly == 0 ? B(EINVAL) : B(EBADF) | B(EINVAL);
		break;
	case 2:
		n = pread(t.fd, buf, len, pos);
		/* ksys_pread64(): negative offset, then no FMODE_PREAD */
		allow = pos < 0 ? B(EINVAL) : B(ESPIPE);
		break;
	default:
		n = pwrite(t.fd, buf, len, pos);
		allow = pos < 0 ? B(EINVAL) : B(ESPIPE);	/* ksys_pwrite64() */
		break;
	}
	note(c, op, n < 0 ? errno : 0, allow | racy(c), NULL, NULL, "len=%zu pos=%lld ret=%zd",
	     len, (long long)pos, n);
}

static void act_fstat(struct ctx *c)
{
	const char *bad = NULL;
	struct stat st;
	struct tgt t;
	int err;

	if (!get_target(c, &t))
		return;
	err = fstat(t.fd, &st) ? errno : 0;
	/* dma_buf_getfile(): i_size and i_blocks; alloc_anon_inode(): 0600, no type */
	if (!err && ((st.st_mode & S_IFMT) || (st.st_mode & 07777) != 0600 ||
		     st.st_blocks != st.st_size / 512))
		bad = "bad-stat";
	if (!err && (c->phase == 1 ? st.st_size != (off_t)t.size : !size_ok(st.st_size)))
		bad = "bad-size";
	note(c, OP_FSTAT, err, B_OK | racy(c), NULL, bad, "size=%lld mode=%#o",
	     err ? 0LL : (long long)st.st_size, err ? 0 : st.st_mode);
}

static void act_fdinfo(struct ctx *c)
{
	char val[RES_LEN] = "";
	const char *bad = NULL;
	struct fdinfo fi;
	struct tgt t;
	struct obj *o;
	int err;

	if (!get_target(c, &t))
		return;
	err = -fdinfo_read(t.fd, &fi);
	if (!err && c->phase == 1) {
		/* dma_buf_show_fdinfo() */
		o = &p1.obj[t.obj];
		if (fi.size != (long long)o->size)
			bad = "bad-size";
		else if (strcmp(fi.exp_name, exporter_name(o->exp)))
			bad = "bad-exp-name";
		else if (fi.named != o->named || (o->named && strcmp(fi.name, o->name)))
			bad = "bad-name";
		/* The fds, mappings and armed poll callbacks holding the file. */
		snprintf(val, sizeof(val), "count=%ld", fi.count);
	} else if (!err && !size_ok(fi.size)) {
		bad = "bad-size";
	}
	note(c, OP_FDINFO, err, B_OK | (c->phase == 2 ? B(ENOENT) : 0), val, bad,
	     "size=%lld exp_name=%s name=%s", fi.size, fi.exp_name, fi.named ? fi.name : "-");
}

/* A second pool fd, for F_DUPFD_QUERY. */
static bool other_target(struct ctx *c, struct tgt *t)
{
	return get_target(c, t);
}

/* An fd of the buffer that is not in the pool: checked, then kept or closed. */
static void own_dup(struct ctx *c, unsigned int op, int fd, const struct tgt *t)
{
	struct fdinfo fi;
	off_t end;

	end = lseek(fd, 0, SEEK_END);
	if (fdinfo_read(fd, &fi) || end != fi.size ||
	    (c->phase == 1 ? end != (off_t)t->size : !size_ok(end)))
		report(c, "%s: the new fd is not the buffer: lseek %lld, fdinfo size %lld",
		       op_names[op], (long long)end, fi.size);
	if (c->phase == 1)
		p1_place(c, fd, t->obj);
	else
		close(fd);
}

static void act_fcntl(struct ctx *c)
{
	static const int fl_bits[] = { O_NONBLOCK, O_APPEND, O_NOATIME, O_DIRECT, FASYNC };
	char val[RES_LEN] = "";
	const char *bad = NULL;
	struct tgt t, t2;
	int r, arg = 0, i;
	uint64_t allow;

	if (!get_target(c, &t))
		return;
	switch (below(c, 9)) {
	case 0:
		r = fcntl(t.fd, F_GETFD);
		snprintf(val, sizeof(val), "fd=%d", r);
		note(c, OP_GETFD, r < 0 ? errno : 0, B_OK | racy(c), val, NULL, "%s", "");
		break;
	case 1:
		arg = below(c, 2) ? FD_CLOEXEC : 0;
		r = fcntl(t.fd, F_SETFD, arg);
		note(c, OP_SETFD, r < 0 ? errno : 0, B_OK | racy(c), NULL, NULL, "arg=%d", arg);
		break;
	case 2:
		r = fcntl(t.fd, F_GETFL);
		/* dma_buf_getfile() keeps O_ACCMODE and O_NONBLOCK; F_SETFL adds more */
		snprintf(val, sizeof(val), "fl=%#x", r);
		note(c, OP_GETFL, r < 0 ? errno : 0, B_OK | racy(c), val, NULL, "%s", "");
		break;
	case 3:
	case 4:
		for (i = 0; i < (int)ARRAY_SIZE(fl_bits); i++)
			if (below(c, 3) == 0)
				arg |= fl_bits[i];
		/*
		 * setfl(): O_DIRECT needs FMODE_CAN_ODIRECT (EINVAL); O_NOATIME
		 * needs the owner (EPERM, the buffer's creator is); FASYNC is
		 * ignored without ->fasync.
		 */
		allow = arg & O_DIRECT ? B(EINVAL) : B_OK;
		if (arg & O_NOATIME)
			allow |= B(EPERM);
		r = fcntl(t.fd, F_SETFL, arg);
		note(c, OP_SETFL, r < 0 ? errno : 0, allow | racy(c), NULL, NULL, "arg=%#x", arg);
		break;
	case 5:
		if (!other_target(c, &t2))
			break;
		/* f_dupfd_query(): whether both fds are the one struct file of a dma-buf */
		r = fcntl(t.fd, F_DUPFD_QUERY, t2.fd);
		if (r >= 0)
			snprintf(val, sizeof(val), "%s", r ? "same" : "other");
		if (c->phase == 1 && r >= 0 && r != (int)(t.obj == t2.obj))
			bad = "bad-query";
		note(c, OP_QUERY, r < 0 ? errno : 0, B_OK | racy(c), val, bad, "same=%d",
		     t.obj == t2.obj);
		break;
	case 6:
		r = fcntl(t.fd, F_GET_SEALS);
		/* memfd_get_seals(): not a shmem or hugetlbfs file */
		note(c, OP_SEALS, r < 0 ? errno : 0, B(EINVAL) | racy(c), NULL, NULL, "%s", "");
		break;
	default:
		r = fcntl(t.fd, F_DUPFD_CLOEXEC, 0);
		note(c, OP_DUPFD, r < 0 ? errno : 0, B_OK | racy(c), NULL, NULL, "%s", "");
		if (r >= 0)
			own_dup(c, OP_DUPFD, r, &t);
		break;
	}
}

/* PRIME import into vgem: dma_buf_get() and, for other exporters, dma_buf_attach(). */

static void act_prime(struct ctx *c)
{
	unsigned int kind = below(c, 12);
	char path[64];
	uint64_t allow;
	int fd, err, s;
	struct tgt t;
	uint32_t h = 0;

	if (c->vgem < 0 || !get_target(c, &t))
		return;
	fd = t.fd;
	allow = B_OK | racy(c);
	if (kind == 6) {
		fd = devnull;
		allow = B(EINVAL);	/* dma_buf_get(): not a dma-buf */
	} else if (kind == 7) {
		s = c->phase == 1 ? sync_pick(c) : -1;
		fd = s >= 0 ? p1.sync_fd[s] : c->vgem;
		allow = B(EINVAL);	/* dma_buf_get(): a sync_file, or the DRM file itself */
	} else if (kind == 8) {
		fd = -1;
		allow = B(EBADF);	/* dma_buf_get(): fget() */
	} else if (kind == 9) {
		fd = CLOSED_FD;
		allow = B(EBADF);	/* dma_buf_get(): fget() of a closed fd */
	} else if (kind >= 10) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", t.fd);
		fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (c->phase == 1)
				report(c, "open(O_PATH) of a pool fd: %s", strerror(errno));
			return;
		}
		allow = B(EBADF);	/* dma_buf_get(): fget() skips O_PATH files */
	}
	err = -prime_import(c->vgem, fd, &h);
	note(c, OP_PRIME, err, allow, NULL, NULL, "kind=%u", kind);
	if (!err)
		gem_close(c->vgem, h);
	if (kind >= 10)
		close(fd);
}

/* SCM_RIGHTS over the socketpair: the received fd must still be the buffer. */

/* One byte of data in @iov, with room for one fd in @cbuf. */
static void scm_msg(struct msghdr *msg, struct iovec *iov, char *byte, char *cbuf, size_t len)
{
	iov->iov_base = byte;
	iov->iov_len = 1;
	memset(msg, 0, sizeof(*msg));
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = cbuf;
	msg->msg_controllen = len;
	memset(cbuf, 0, len);
}

static int scm_send(int s, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'f';
	struct cmsghdr *cm;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	scm_msg(&msg, &iov, &byte, cbuf, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	n = sendmsg(s, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n == 1 ? 0 : n < 0 ? errno : EPROTO;
}

/* The received fd, or -errno. */
static int scm_recv(int s)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct cmsghdr *cm;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;
	int fd;

	scm_msg(&msg, &iov, &byte, cbuf, sizeof(cbuf));
	n = recvmsg(s, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (n != 1 || (msg.msg_flags & MSG_CTRUNC) || !cm || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void act_scm(struct ctx *c)
{
	const char *bad = NULL;
	struct fdinfo fi;
	struct tgt t;
	int err, fd;
	off_t end;

	if (!get_target(c, &t))
		return;
	/* Phase 2: the queue may be full of the other threads' messages. */
	err = scm_send(sock[0], t.fd);
	note(c, OP_SCM_SEND, err, B_OK | racy(c) | (c->phase == 2 ? B(EAGAIN) : 0), NULL, NULL,
	     "%s", "");
	if (err)
		return;
	/* Phase 2: another thread may have taken it (and this may be another's). */
	fd = scm_recv(sock[1]);
	if (fd >= 0) {
		end = lseek(fd, 0, SEEK_END);
		if (fdinfo_read(fd, &fi) || end != fi.size ||
		    (c->phase == 1 ? end != (off_t)t.size || fd_ino(fd) != p1.obj[t.obj].ino :
		     !size_ok(end)))
			bad = "bad-not-the-buffer";
	}
	note(c, OP_SCM_RECV, fd < 0 ? -fd : 0, B_OK | (c->phase == 2 ? B(EAGAIN) : 0), NULL, bad,
	     "%s", "");
	if (fd < 0)
		return;
	if (c->phase == 1)
		p1_place(c, fd, t.obj);
	else
		close(fd);
}

/* An O_PATH fd of the buffer, and reopening it through /proc. */
static void act_opath(struct ctx *c)
{
	char path[64];
	struct tgt t;
	int p, err;
	long r;

	if (!get_target(c, &t))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t.fd);
	if (!below(c, 3)) {
		/* The anonymous inode keeps inode_init_always()'s no_open() fops. */
		p = open(path, below(c, 2) ? O_RDWR : O_RDONLY);
		err = p < 0 ? errno : 0;
		note(c, OP_REOPEN, err, B(ENXIO) | (c->phase == 2 ? B(ENOENT) : 0), NULL, NULL,
		     "%s", "");
		if (p >= 0)
			close(p);
		return;
	}
	p = open(path, O_PATH | O_CLOEXEC);
	if (p < 0) {
		if (c->phase == 1)
			report(c, "open(O_PATH) of a pool fd: %s", strerror(errno));
		return;
	}
	/* ioctl() and mmap() look fds up with fdget()/fget(), which skip O_PATH files. */
	if (below(c, 2)) {
		err = buf_sync(p, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		note(c, OP_OPATH_IOCTL, err, B(EBADF), NULL, NULL, "%s", "");
	} else {
		r = syscall(SYS_mmap, 0UL, PAGE_SZ, PROT_READ, MAP_SHARED, p, 0UL);
		err = r == -1 ? errno : 0;
		note(c, OP_OPATH_MMAP, err, B(EBADF), NULL, NULL, "%s", "");
		if (!err)
			munmap((void *)r, PAGE_SZ);
	}
	close(p);
}

/* Phase 1: the pool itself. */

static void act_dup3_1(struct ctx *c);

static void act_dup1(struct ctx *c)
{
	struct tgt t;
	int fd;

	if (p1_empty_slot(c) < 0) {
		act_dup3_1(c);
		return;
	}
	if (!get_target(c, &t))
		return;
	fd = dup(t.fd);
	note(c, OP_DUP, fd < 0 ? errno : 0, B_OK, NULL, NULL, "%s", "");
	if (fd >= 0)
		own_dup(c, OP_DUP, fd, &t);
}

static void act_dup3_1(struct ctx *c)
{
	int j, n, k, fl, err, old;
	uint64_t allow;
	struct tgt t;

	if (!get_target(c, &t))
		return;
	n = p1_open_slots();
	k = below(c, n);
	for (j = 0; j < NR_SLOTS; j++)
		if (p1.slot[j].fd >= 0 && !k--)
			break;
	fl = below(c, 6) ? (below(c, 2) ? O_CLOEXEC : 0) : O_NONBLOCK;
	/* ksys_dup3(): only O_CLOEXEC, and not onto itself */
	allow = (fl & ~O_CLOEXEC) || j == t.slot ? B(EINVAL) : B_OK;
	err = dup3(t.fd, p1.slot[j].fd, fl) < 0 ? errno : 0;
	note(c, OP_DUP3, err, allow, NULL, NULL, "flags=%#x self=%d", fl, j == t.slot);
	if (err)
		return;
	/* The old file of slot j lost an fd, the source's gained one. */
	old = p1.slot[j].obj;
	p1.obj[t.obj].nfds++;
	p1_obj_put(old);
	p1.slot[j].obj = t.obj;
}

static void act_close1(struct ctx *c)
{
	struct tgt t;
	int err;

	if (!get_target(c, &t))
		return;
	err = close(t.fd) ? errno : 0;
	note(c, OP_CLOSE, err, B_OK, NULL, NULL, "%s", "");
	p1.slot[t.slot].fd = -1;
	p1_obj_put(t.obj);
	if (p1_open_slots() < 3 || below(c, 2))
		p1_create(c, t.slot, exp_list[below(c, nr_exp)]);
}

static void act_create1(struct ctx *c)
{
	int s = p1_empty_slot(c);

	if (s < 0) {
		act_close1(c);
		return;
	}
	p1_create(c, s, exp_list[below(c, nr_exp)]);
}

static void act_fence1(struct ctx *c)
{
	bool w = below(c, 2);
	unsigned int op = w ? OP_FENCE_W : OP_FENCE_R;
	struct tgt t;
	uint32_t h = 0;
	int err, id;

	if (!get_target(c, &t))
		return;
	/* drm_gem_prime_fd_to_handle(): the GEM object shares the dma-buf's dma_resv. */
	err = -prime_import(c->vgem, t.fd, &h);
	if (err) {
		note(c, op, err, B_OK, NULL, NULL, "import");
		return;
	}
	id = vgem_fence(c->vgem, h, w);
	/* vgem_fence_attach_ioctl(): EBUSY while a conflicting fence is unsignalled */
	note(c, op, id < 0 ? -id : 0, B_OK | B(EBUSY), NULL, NULL, "%s", "attach");
	gem_close(c->vgem, h);
	if (id > 0)
		tok_add(c, true, id);
}

static void act_signal1(struct ctx *c)
{
	int i, n = 0, k;

	for (i = 0; i < NR_TOKENS; i++)
		n += p1.tok[i].pending;
	if (!n) {
		note(c, OP_SIGNAL, 0, B_OK, "none", NULL, "%s", "");
		return;
	}
	k = below(c, n);
	for (i = 0; i < NR_TOKENS; i++)
		if (p1.tok[i].pending && !k--)
			break;
	tok_signal(c, i);
}

static void act_swfence1(struct ctx *c)
{
	bool pending = below(c, 3) != 0;
	uint32_t v = pending ? c->tl_now + 1 + below(c, 3) : c->tl_now;
	int fd = sw_sync_fence(c->timeline, v);

	note(c, OP_SW_FENCE, fd < 0 ? -fd : 0, B_OK, NULL, NULL, "pending=%d", pending);
	if (fd < 0)
		return;
	sync_add(fd);
	if (pending)
		tok_add(c, false, v);
}

static void act_syncinfo1(struct ctx *c)
{
	char val[RES_LEN];
	unsigned int num = 0;
	int i = sync_pick(c), st;

	if (i < 0)
		return;
	/* What dma_resv_get_singleton() put in the sync_file, and its state now. */
	st = sync_file_status(p1.sync_fd[i], &num);
	if (st == 1)
		snprintf(val, sizeof(val), "signaled/%u", num);
	else if (st == 0)
		snprintf(val, sizeof(val), "active/%u", num);
	else
		snprintf(val, sizeof(val), "error%d/%u", st, num);
	note(c, OP_SYNC_INFO, st <= -1000 ? -1000 - st : 0, B_OK, val, NULL, "%s", "");
}

static void act_syncclose1(struct ctx *c)
{
	int i = sync_pick(c);

	if (i < 0)
		return;
	note(c, OP_SYNC_CLOSE, close(p1.sync_fd[i]) ? errno : 0, B_OK, NULL, NULL, "%s", "");
	p1.sync_fd[i] = -1;
}

/* Phase 2: the pool, and fences made and signalled within one operation. */

static void act_create2(struct ctx *c)
{
	int s = p2_take(c, S_EMPTY, S_BUSY), e, fd, err;
	unsigned int pages;

	if (s < 0)
		return;
	e = exp_list[below(c, nr_exp)];
	pages = 1 + below(c, MAX_PAGES);
	fd = make_buf(e, pages, e != EXP_UDMABUF && !below(c, 4), below(c, 3), c->vgem);
	note(c, OP_CREATE_UDMABUF + e, fd < 0 ? -fd : 0, B_OK, NULL, NULL, "pages=%u", pages);
	if (fd >= 0) {
		/* Onto the slot's fd: a racing user sees the old file, none, or this one. */
		err = dup3(fd, slot_base + s, O_CLOEXEC) < 0 ? errno : 0;
		close(fd);
		if (err)
			report(c, "dup3 onto slot %d: %s", s, strerror(err));
	}
	p2_set(s, fd >= 0 ? S_OPEN : S_EMPTY);
}

static void act_close2(struct ctx *c)
{
	int s = p2_take(c, S_OPEN, S_BUSY);

	if (s < 0) {
		act_create2(c);
		return;
	}
	/* Only this thread, holding the slot, closes its fd: other threads only dup3() onto it. */
	note(c, OP_CLOSE, close(slot_base + s) ? errno : 0, B_OK, NULL, NULL, "%s", "");
	p2_set(s, S_EMPTY);
}

static void act_dup2(struct ctx *c)
{
	struct tgt t;
	int fd;

	if (!get_target(c, &t))
		return;
	fd = below(c, 2) ? dup(t.fd) : fcntl(t.fd, F_DUPFD_CLOEXEC, 0);
	note(c, OP_DUP, fd < 0 ? errno : 0, B_OK | B(EBADF), NULL, NULL, "%s", "");
	if (fd >= 0)
		own_dup(c, OP_DUP, fd, &t);
}

static void act_dup3_2(struct ctx *c)
{
	struct tgt t, t2;
	int err;

	if (!get_target(c, &t) || !get_target(c, &t2) || t.fd == t2.fd)
		return;
	/*
	 * Replaces slot t2's file under its users. If t2 is being closed
	 * meanwhile, the fd may be reinstalled in an empty slot: the next
	 * create there replaces it again, and the end closes every slot fd.
	 */
	err = dup3(t.fd, t2.fd, O_CLOEXEC) < 0 ? errno : 0;
	note(c, OP_DUP3, err, B_OK | B(EBADF), NULL, NULL, "%s", "");
}

static void act_fence2(struct ctx *c)
{
	bool w = below(c, 2);
	unsigned int op = w ? OP_FENCE_W : OP_FENCE_R;
	struct tgt t, t2;
	int err, id, s;
	uint32_t h = 0;

	if (!get_target(c, &t))
		return;
	err = -prime_import(c->vgem, t.fd, &h);
	if (err) {
		note(c, op, err, B_OK | B(EBADF), NULL, NULL, "import");
		return;
	}
	id = vgem_fence(c->vgem, h, w);
	note(c, op, id < 0 ? -id : 0, B_OK | B(EBUSY), NULL, NULL, "%s", "attach");
	if (id > 0) {
		/*
		 * Nothing here waits, so the threads that wait (SYNC START)
		 * on this fence wait only until the end of this operation.
		 */
		poll_now(t.fd, POLLIN | POLLOUT);
		if (below(c, 2)) {
			s = export_sync_file(t.fd, valid_xfer(c));
			note(c, OP_EXPORT, s < 0 ? -s : 0, B_OK | B(EBADF), NULL, NULL, "fenced");
			if (s >= 0 && get_target(c, &t2))
				import_into(c, t2.fd, s);
			if (s >= 0)
				close(s);
		}
		note(c, OP_SIGNAL, vgem_signal(c->vgem, id), B_OK, NULL, NULL, "vgem fence %d",
		     id);
	}
	gem_close(c->vgem, h);
}

static void act_swfence2(struct ctx *c)
{
	uint32_t v = c->tl_now + 1;
	struct tgt t;
	int s, err;

	if (!get_target(c, &t))
		return;
	s = sw_sync_fence(c->timeline, v);
	note(c, OP_SW_FENCE, s < 0 ? -s : 0, B_OK, NULL, NULL, "%s", "");
	if (s < 0)
		return;
	import_into(c, t.fd, s);
	poll_now(t.fd, POLLIN | POLLOUT);
	err = sw_sync_inc(c->timeline, 1);
	note(c, OP_SIGNAL, err, B_OK, NULL, NULL, "sw_sync point %u", v);
	c->tl_now = v;
	close(s);
}

#define NEED_VGEM	1
#define NEED_SW		2

struct action {
	const char *name;
	void (*fn)(struct ctx *c);
	unsigned int weight;
	unsigned int needs;
};

static const struct action p1_actions[] = {
	{ "sync", act_sync, 10, 0 },
	{ "set-name", act_name, 8, 0 },
	{ "export-sync-file", act_export, 6, 0 },
	{ "import-sync-file", act_import, 6, 0 },
	{ "ioctl-other", act_ioctl, 6, 0 },
	{ "mmap", act_mmap, 10, 0 },
	{ "munmap-kept", act_munmap, 1, 0 },
	{ "poll", act_poll, 6, 0 },
	{ "epoll", act_epoll, 3, 0 },
	{ "lseek", act_lseek, 5, 0 },
	{ "read-write", act_rw, 4, 0 },
	{ "fstat", act_fstat, 2, 0 },
	{ "fdinfo", act_fdinfo, 3, 0 },
	{ "fcntl", act_fcntl, 5, 0 },
	{ "dup", act_dup1, 3, 0 },
	{ "dup3", act_dup3_1, 2, 0 },
	{ "close", act_close1, 3, 0 },
	{ "create", act_create1, 2, 0 },
	{ "vgem-fence", act_fence1, 5, NEED_VGEM },
	{ "signal", act_signal1, 5, 0 },
	{ "sw-sync-fence", act_swfence1, 3, NEED_SW },
	{ "sync-file-info", act_syncinfo1, 2, 0 },
	{ "sync-file-close", act_syncclose1, 1, 0 },
	{ "prime-import", act_prime, 3, NEED_VGEM },
	{ "scm-rights", act_scm, 2, 0 },
	{ "o-path", act_opath, 1, 0 },
};

static const struct action p2_actions[] = {
	{ "sync", act_sync, 8, 0 },
	{ "set-name", act_name, 6, 0 },
	{ "export-sync-file", act_export, 5, 0 },
	{ "import-sync-file", act_import, 5, 0 },
	{ "ioctl-other", act_ioctl, 4, 0 },
	{ "mmap", act_mmap, 8, 0 },
	{ "poll", act_poll, 5, 0 },
	{ "epoll", act_epoll, 2, 0 },
	{ "lseek", act_lseek, 4, 0 },
	{ "read-write", act_rw, 3, 0 },
	{ "fstat", act_fstat, 2, 0 },
	{ "fdinfo", act_fdinfo, 3, 0 },
	{ "fcntl", act_fcntl, 4, 0 },
	{ "dup", act_dup2, 5, 0 },
	{ "dup3", act_dup3_2, 5, 0 },
	{ "close", act_close2, 6, 0 },
	{ "create", act_create2, 6, 0 },
	{ "vgem-fence", act_fence2, 4, NEED_VGEM },
	{ "sw-sync-fence", act_swfence2, 3, NEED_SW },
	{ "prime-import", act_prime, 3, NEED_VGEM },
	{ "scm-rights", act_scm, 5, 0 },
	{ "o-path", act_opath, 1, 0 },
};

static bool action_ok(const struct action *a)
{
	return !((a->needs & NEED_VGEM) && !have_vgem) && !((a->needs & NEED_SW) && !have_sw);
}

static void run_action(struct ctx *c, const struct action *acts, unsigned int n)
{
	unsigned int i, total = 0, r;

	for (i = 0; i < n; i++)
		if (action_ok(&acts[i]))
			total += acts[i].weight;
	r = below(c, total);
	for (i = 0; i < n; i++) {
		if (!action_ok(&acts[i]))
			continue;
		if (r < acts[i].weight)
			break;
		r -= acts[i].weight;
	}
	cur_act = acts[i].name;
	acts[i].fn(c);
}

static struct ctx *ctx_new(int phase, int id, unsigned long seed)
{
	struct ctx *c = calloc(1, sizeof(*c));
	uint64_t s = seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(id + 1));

	if (!c)
		return NULL;
	c->phase = phase;
	c->id = id;
	c->rng = splitmix64(&s) | 1;
	c->vgem = -1;
	c->timeline = -1;
	c->page = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (c->page == MAP_FAILED || mprotect(c->page + PAGE_SZ, PAGE_SZ, PROT_NONE)) {
		free(c);
		return NULL;
	}
	if (have_vgem)
		c->vgem = drm_open_driver("vgem");
	if (have_sw)
		c->timeline = sw_sync_timeline();
	if ((have_vgem && c->vgem < 0) || (have_sw && c->timeline < 0)) {
		ksft_print_msg("thread %d: cannot open vgem or sw_sync\n", id);
		c->failures++;
	}
	return c;
}

static void ctx_free(struct ctx *c)
{
	if (c->vgem >= 0)
		close(c->vgem);
	if (c->timeline >= 0)
		close(c->timeline);
	munmap(c->page, 2 * PAGE_SZ);
	free(c);
}

static void *worker(void *arg)
{
	struct ctx *c = arg;

	cur_phase = 2;
	cur_thread = c->id;
	for (c->op = 0; c->op < c->nops; c->op++) {
		cur_op = c->op;
		run_action(c, p2_actions, ARRAY_SIZE(p2_actions));
		__atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Phase 1: returns the digest of its table. */
static uint32_t phase1(struct ctx *c, unsigned long nops)
{
	struct tally_ent *s;
	uint32_t h = 2166136261u;
	unsigned int i, n;
	char line[128];

	cur_phase = 1;
	for (i = 0; i < NR_SLOTS; i++)
		p1.slot[i].fd = -1;
	for (i = 0; i < NR_SYNC; i++)
		p1.sync_fd[i] = -1;
	/* Two buffers of each exporter there is, to begin with. */
	for (i = 0; i < 6; i++)
		p1_create(c, i, exp_list[i % nr_exp]);
	for (c->op = 0; c->op < nops; c->op++) {
		cur_op = c->op;
		if (!(c->op % 64))
			alarm(WATCHDOG_S);
		tok_expire(c, false);
		p1_ensure_open(c);
		run_action(c, p1_actions, ARRAY_SIZE(p1_actions));
	}
	cur_act = "phase 1 teardown";
	tok_expire(c, true);
	for (i = 0; i < NR_KEPT; i++)
		unkeep(c, i);
	for (i = 0; i < NR_SYNC; i++)
		if (p1.sync_fd[i] >= 0)
			close(p1.sync_fd[i]);
	for (i = 0; i < NR_SLOTS; i++)
		if (p1.slot[i].fd >= 0)
			close(p1.slot[i].fd);

	s = tally_sorted(&c->tally, &n);
	if (!s)
		ksft_exit_fail_msg("out of memory\n");
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s %s %lu", op_names[s[i].op], s[i].res, s[i].n);
		ksft_print_msg("fuzz-table %s\n", line);
		h = fnv1a(h, line);
		h = fnv1a(h, "\n");
	}
	free(s);
	return h;
}

/* Phase 2: false when it cannot run here. */
static bool phase2(struct ctx *main_c, unsigned long seed, int threads, unsigned long nops,
		   struct tally *sum, unsigned long *failures)
{
	struct ctx *cs[MAX_THREADS] = { NULL };
	pthread_t tids[MAX_THREADS];
	unsigned long last = 0, p;
	sigset_t set, old;
	struct rlimit rl;
	int i, j, fd, made = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < SLOT_BASE + NR_SLOTS + 1 && rl.rlim_max >= SLOT_BASE + NR_SLOTS + 1) {
		rl.rlim_cur = SLOT_BASE + NR_SLOTS + 1;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < SLOT_BASE + NR_SLOTS + 1) {
		ksft_print_msg("RLIMIT_NOFILE %lu is too small for the concurrent phase\n",
			       (unsigned long)rl.rlim_cur);
		return false;
	}
	slot_base = SLOT_BASE;
	for (i = 0; i < NR_SLOTS; i++) {
		cslot[i] = S_EMPTY;
		if (i >= NR_OBJS)
			continue;
		fd = make_buf(exp_list[i % nr_exp], 1 + i % MAX_PAGES, false, 0, main_c->vgem);
		if (fd < 0 || dup3(fd, slot_base + i, O_CLOEXEC) < 0) {
			ksft_print_msg("concurrent phase setup: %s\n",
				       strerror(fd < 0 ? -fd : errno));
			(*failures)++;
		} else {
			cslot[i] = S_OPEN;
		}
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < threads; i++) {
		cs[i] = ctx_new(2, i, seed);
		if (!cs[i])
			ksft_exit_fail_msg("out of memory\n");
		cs[i]->nops = nops / threads + ((unsigned long)i < nops % threads);
	}
	/* The watchdog's SIGALRM goes to the main thread, which watches progress. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&tids[i], NULL, worker, cs[i]))
			break;
		made++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (made < threads) {
		ksft_print_msg("only %d threads started\n", made);
		(*failures)++;
		__atomic_add_fetch(&finished, threads - made, __ATOMIC_RELEASE);
	}
	alarm(WATCHDOG_S);
	cur_act = "waiting for the concurrent phase";
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < threads) {
		usleep(50 * 1000);
		p = __atomic_load_n(&progress, __ATOMIC_RELAXED);
		if (p != last) {
			last = p;
			alarm(WATCHDOG_S);
		}
	}
	for (i = 0; i < made; i++)
		pthread_join(tids[i], NULL);
	alarm(0);
	for (i = 0; i < threads; i++) {
		for (j = 0; j < TALLY_SIZE; j++)
			if (cs[i]->tally.e[j].n)
				tally_add(sum, cs[i]->tally.e[j].op, cs[i]->tally.e[j].res,
					  cs[i]->tally.e[j].n);
		*failures += cs[i]->failures + cs[i]->tally.overflow;
		ksft_print_msg("thread %d: %lu ops, %lu failures\n", i, cs[i]->nops,
			       cs[i]->failures);
		ctx_free(cs[i]);
	}
	/* Every slot fd, whatever its state: dup3() may have refilled an empty one. */
	for (i = 0; i < NR_SLOTS; i++)
		close(slot_base + i);
	/* What is still in flight between the threads. */
	for (i = 0; i < 4 * MAX_THREADS; i++) {
		fd = scm_recv(sock[1]);
		if (fd < 0)
			break;
		close(fd);
	}
	return true;
}

static void print_totals(const struct tally *t1, const struct tally *t2)
{
	struct tally *sum = calloc(1, sizeof(*sum));
	unsigned long per_op[OP_NR] = { 0 };
	const struct tally *ts[2] = { t1, t2 };
	struct tally_ent *s;
	unsigned int i, j, n;

	if (!sum)
		return;
	/* Per result: errnos as they are, every successful value as "ok". */
	for (j = 0; j < 2; j++) {
		for (i = 0; i < TALLY_SIZE; i++) {
			const struct tally_ent *e = &ts[j]->e[i];
			bool keep = e->res[0] == 'E' || !strncmp(e->res, "bad-", 4);

			if (!e->n)
				continue;
			per_op[e->op] += e->n;
			tally_add(sum, 0, keep ? e->res : "ok", e->n);
		}
	}
	for (i = 0; i < OP_NR; i++)
		if (per_op[i])
			ksft_print_msg("total-op %s %lu\n", op_names[i], per_op[i]);
	s = tally_sorted(sum, &n);
	for (i = 0; s && i < n; i++)
		ksft_print_msg("total-result %s %lu\n", s[i].res, s[i].n);
	free(s);
	free(sum);
}

static void bad_args(const char *prog)
{
	fprintf(stderr, "usage: %s [-s SEED] [-n OPS] [-t THREADS]\n", prog);
	exit(KSFT_FAIL);
}

int main(int argc, char **argv)
{
	unsigned long seed = 1, ops = DEFAULT_OPS, n1, fail2 = 0, i;
	struct dma_buf_export_sync_file ro = { .fd = -1 };
	int threads = 4, opt, fds_before, fds_after = -1, e;
	long objs_before, objs_after = -1;
	struct tally_ent *s;
	struct tally *t2;
	struct sigaction sa;
	struct ctx *c;
	struct buf b;
	uint32_t digest;
	bool ok2, ran2;
	unsigned int n;

	while ((opt = getopt(argc, argv, "s:n:t:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			ops = strtoul(optarg, NULL, 0);
			break;
		case 't':
			threads = atoi(optarg);
			if (threads < 0 || threads > MAX_THREADS)
				bad_args(argv[0]);
			break;
		default:
			bad_args(argv[0]);
		}
	}

	ksft_print_header();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);

	/* debugfs, for bufinfo and sw_sync, before counting what exists. */
	have_bufinfo();
	fds_before = count_fds();
	objs_before = bufinfo_objects();

	for (e = 0; e < 3; e++) {
		int r = buf_make(&b, e);

		if (!r)
			buf_free(&b);
		have_exp[e] = !r;
		if (!r)
			exp_list[nr_exp++] = e;
		else if (r == -ENODEV)
			ksft_print_msg("%s: not used\n", exporter_missing(e));
		else
			ksft_print_msg("%s buffers cannot be made: %s\n", exporter_name(e),
				       strerror(-r));
	}
	if (!nr_exp)
		ksft_exit_skip("no dma-buf exporter: udmabuf, system heap and vgem all missing\n");
	have_vgem = avail_exp(EXP_VGEM);
	e = sw_sync_timeline();
	have_sw = e >= 0;
	if (e >= 0)
		close(e);
	else
		ksft_print_msg("no %s: no sw_sync fences\n", SW_SYNC_PATH);
	if (!have_vgem)
		ksft_print_msg("no vgem: no vgem fences or PRIME imports\n");
	if (objs_before < 0)
		ksft_print_msg("no %s: leaks are only checked by the fd count\n", BUFINFO_PATH);

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock))
		ksft_exit_fail_msg("setup: %s\n", strerror(errno));
	ro.flags = DMA_BUF_SYNC_RW;
	ro_export_ok = readonly_copy(&ro, sizeof(ro));
	ro.flags = 0;
	ro_export_bad = readonly_copy(&ro, sizeof(ro));
	if (!ro_export_ok || !ro_export_bad)
		ksft_exit_fail_msg("setup: %s\n", strerror(errno));

	n1 = ops / 2;
	ksft_print_msg("seed %lu, %lu ops: %lu in one thread, %lu in %d threads\n", seed, ops, n1,
		       threads ? ops - n1 : 0, threads);
	ksft_set_plan(3);

	c = ctx_new(1, 0, seed);
	if (!c)
		ksft_exit_fail_msg("out of memory\n");
	digest = phase1(c, n1);
	ksft_print_msg("deterministic: %lu failures\n", c->failures);
	ksft_print_msg("digest deterministic seed=%lu ops=%lu: %08x\n", seed, n1, digest);
	ksft_test_result(!c->failures && !c->tally.overflow, "deterministic seed=%lu ops=%lu\n",
			 seed, n1);

	t2 = calloc(1, sizeof(*t2));
	if (!t2)
		ksft_exit_fail_msg("out of memory\n");
	ran2 = threads > 0 && phase2(c, seed, threads, ops - n1, t2, &fail2);
	if (ran2) {
		/* Diagnostics only: these counts depend on the interleaving. */
		s = tally_sorted(t2, &n);
		for (i = 0; s && i < n; i++)
			ksft_print_msg("concurrent-table %s %s %lu\n", op_names[s[i].op], s[i].res,
				       s[i].n);
		free(s);
		ok2 = !fail2 && !t2->overflow;
		ksft_test_result(ok2, "concurrent seed=%lu threads=%d\n", seed, threads);
	} else {
		ksft_test_result_skip("concurrent seed=%lu threads=%d\n", seed, threads);
	}

	cur_act = "teardown";
	alarm(WATCHDOG_S);
	close(devnull);
	close(sock[0]);
	close(sock[1]);
	munmap(ro_export_ok, PAGE_SZ);
	munmap(ro_export_bad, PAGE_SZ);
	print_totals(&c->tally, t2);
	ctx_free(c);
	free(t2);
	/* A buffer whose last reference is a deferred fput() takes a moment. */
	for (i = 0; i < 100; i++) {
		fds_after = count_fds();
		objs_after = bufinfo_objects();
		if (fds_after == fds_before && objs_after <= objs_before)
			break;
		usleep(20 * 1000);
	}
	if (fds_after != fds_before)
		ksft_print_msg("fds: %d before, %d after\n", fds_before, fds_after);
	if (objs_after > objs_before)
		ksft_print_msg("bufinfo: %ld buffers before, %ld after\n", objs_before,
			       objs_after);
	ksft_test_result(fds_after == fds_before && objs_after <= objs_before,
			 "nothing left behind\n");
	alarm(0);
	ksft_finished();
}
