// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_BUF_SET_NAME_A/_B: where a buffer's name shows up (fdinfo, bufinfo,
 * the /proc fd link and /proc/self/maps), the DMA_BUF_NAME_LEN limit that
 * strndup_user() enforces, renaming, and bad user pointers.
 */
#include "dmabuf_util.h"

#include <sys/wait.h>

#include "kselftest_harness.h"

FIXTURE(name) {
	struct buf b;
};

/* Every TEST_F() of the fixture runs on a buffer of each of the three exporters. */
FIXTURE_VARIANT(name) {
	enum exporter exp;
};

FIXTURE_VARIANT_ADD(name, udmabuf) {
	.exp = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(name, system_heap) {
	.exp = EXP_HEAP,
};

FIXTURE_VARIANT_ADD(name, vgem) {
	.exp = EXP_VGEM,
};

FIXTURE_SETUP(name)
{
	int ret = buf_make(&self->b, variant->exp);

	if (ret == -ENODEV)
		SKIP(return, "%s", exporter_missing(variant->exp));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(name)
{
	buf_free(&self->b);
}

static int set_name_a(int fd, const char *name)
{
	return xioctl(fd, DMA_BUF_SET_NAME_A, (void *)name);
}

static int set_name_b(int fd, const char *name)
{
	return xioctl(fd, DMA_BUF_SET_NAME_B, (void *)name);
}

/* The name fdinfo shows, or "<unset>" without a name line. */
static const char *fdinfo_name(int fd, char *out, size_t len)
{
	if (fdinfo_field(fd, "name", out, len) != 1)
		snprintf(out, len, "<unset>");
	return out;
}

static const char *fd_link(int fd, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, out, len - 1);
	out[n < 0 ? 0 : n] = '\0';
	return out;
}

TEST_F(name, set_name_a)
{
	char v[64];

	EXPECT_STREQ("<unset>", fdinfo_name(self->b.fd, v, sizeof(v)));
	ASSERT_EQ(0, set_name_a(self->b.fd, "kst-name-a"));
	EXPECT_STREQ("kst-name-a", fdinfo_name(self->b.fd, v, sizeof(v)));
}

TEST_F(name, set_name_b)
{
	char v[64];

	ASSERT_EQ(0, set_name_b(self->b.fd, "kst-name-b"));
	EXPECT_STREQ("kst-name-b", fdinfo_name(self->b.fd, v, sizeof(v)));
}

/* Both encodings name the same thing: the last call wins. */
TEST_F(name, rename_replaces)
{
	char v[64];

	ASSERT_EQ(0, set_name_a(self->b.fd, "first"));
	ASSERT_EQ(0, set_name_b(self->b.fd, "second"));
	EXPECT_STREQ("second", fdinfo_name(self->b.fd, v, sizeof(v)));
	ASSERT_EQ(0, set_name_a(self->b.fd, "3"));
	EXPECT_STREQ("3", fdinfo_name(self->b.fd, v, sizeof(v)));
}

/* DMA_BUF_NAME_LEN (32) includes the NUL: 31 characters fit. */
TEST_F(name, longest_name_fits)
{
	const char *n31 = "0123456789abcdefghijklmnopqrstu";
	char v[64];

	ASSERT_EQ(31, strlen(n31));
	ASSERT_EQ(0, set_name_b(self->b.fd, n31));
	EXPECT_STREQ(n31, fdinfo_name(self->b.fd, v, sizeof(v)));
}

/*
 * strndup_user(buf, DMA_BUF_NAME_LEN) gives EINVAL for 32 characters and
 * more, and the old name stays.
 */
TEST_F(name, too_long_einval)
{
	const char *n32 = "0123456789abcdefghijklmnopqrstuv";
	char longer[300], v[64];

	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ASSERT_EQ(0, set_name_a(self->b.fd, "keep"));
	EXPECT_EQ(EINVAL, set_name_a(self->b.fd, n32));
	EXPECT_EQ(EINVAL, set_name_b(self->b.fd, n32));
	EXPECT_EQ(EINVAL, set_name_b(self->b.fd, longer));
	EXPECT_STREQ("keep", fdinfo_name(self->b.fd, v, sizeof(v)));
}

/* An empty name is a name: fdinfo prints an empty name line. */
TEST_F(name, empty_name)
{
	char v[64] = "junk", l[128];

	ASSERT_EQ(0, set_name_a(self->b.fd, "before"));
	ASSERT_EQ(0, set_name_a(self->b.fd, ""));
	ASSERT_EQ(1, fdinfo_field(self->b.fd, "name", v, sizeof(v)));
	EXPECT_STREQ("", v);
	EXPECT_STREQ("/dmabuf:", fd_link(self->b.fd, l, sizeof(l)));
}

/* strndup_user(): a pointer that cannot be read is EFAULT; the name stays. */
TEST_F(name, bad_pointer_efault)
{
	void *none = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char v[64];

	ASSERT_NE(MAP_FAILED, none);
	ASSERT_EQ(0, set_name_b(self->b.fd, "keep"));
	EXPECT_EQ(EFAULT, set_name_a(self->b.fd, NULL));
	EXPECT_EQ(EFAULT, set_name_b(self->b.fd, NULL));
	EXPECT_EQ(EFAULT, set_name_b(self->b.fd, none));
	EXPECT_EQ(EFAULT, set_name_b(self->b.fd, (const char *)0xffff888000000000UL));
	EXPECT_STREQ("keep", fdinfo_name(self->b.fd, v, sizeof(v)));
	munmap(none, PAGE_SZ);
}

/*
 * A name running into an unmapped page: unterminated within the readable
 * part it faults (EFAULT); with 32 readable bytes and no NUL the length
 * limit is hit first (strnlen_user() reads no further: EINVAL); terminated
 * right before the page end it is fine.
 */
TEST_F(name, name_at_page_end)
{
	char *page = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *end, v[64];

	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, mprotect(page + PAGE_SZ, PAGE_SZ, PROT_NONE));
	end = page + PAGE_SZ;
	memset(page, 'n', PAGE_SZ);

	EXPECT_EQ(EFAULT, set_name_b(self->b.fd, end - 8));
	EXPECT_EQ(EINVAL, set_name_b(self->b.fd, end - 32));
	memcpy(end - 6, "tail!", 6);
	EXPECT_EQ(0, set_name_b(self->b.fd, end - 6));
	EXPECT_STREQ("tail!", fdinfo_name(self->b.fd, v, sizeof(v)));
	munmap(page, 2 * PAGE_SZ);
}

/* dma_buf_debug_show() prints the name, "<none>" before there is one. */
TEST_F(name, name_in_bufinfo)
{
	unsigned long long ino = fd_ino(self->b.fd);
	struct bufinfo_row row;

	if (!have_bufinfo())
		SKIP(return, "no " BUFINFO_PATH " (CONFIG_DEBUG_FS, debugfs not mountable)");
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_STREQ("<none>", row.name);
	ASSERT_EQ(0, set_name_a(self->b.fd, "kst-bufinfo"));
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_STREQ("kst-bufinfo", row.name);
	ASSERT_EQ(0, set_name_b(self->b.fd, "kst-renamed"));
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	EXPECT_STREQ("kst-renamed", row.name);
}

/* dmabuffs_dname(): the name follows "dmabuf:" in the fd link. */
TEST_F(name, name_in_fd_link)
{
	const char *n31 = "abcdefghijklmnopqrstuvwxyz01234";
	char l[128], want[64];

	ASSERT_EQ(0, set_name_a(self->b.fd, "linked"));
	EXPECT_STREQ("/dmabuf:linked", fd_link(self->b.fd, l, sizeof(l)));
	ASSERT_EQ(0, set_name_a(self->b.fd, n31));
	snprintf(want, sizeof(want), "/dmabuf:%s", n31);
	EXPECT_STREQ(want, fd_link(self->b.fd, l, sizeof(l)));
}

/* /proc/self/maps names a mapping of the buffer the same way. */
TEST_F(name, name_in_maps)
{
	static char maps[1 << 16];
	char want[64], *line, *save = NULL;
	unsigned long start = 0;
	void *map;
	int found = 0;

	ASSERT_EQ(0, set_name_b(self->b.fd, "mapped-name"));
	map = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_GT(read_text("/proc/self/maps", maps, sizeof(maps)), 0);
	snprintf(want, sizeof(want), "/dmabuf:mapped-name");
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%lx-", &start) == 1 && start == (unsigned long)map) {
			found = 1;
			EXPECT_NE(NULL, strstr(line, want)) TH_LOG("maps line: %s", line);
		}
	}
	EXPECT_EQ(1, found);
	munmap(map, self->b.size);
}

/* The name belongs to the buffer: a dup()ed fd and a child process share it. */
TEST_F(name, name_shared_across_fds)
{
	int fd2 = dup(self->b.fd), status;
	char v[64];
	pid_t pid;

	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, set_name_a(fd2, "via-dup"));
	EXPECT_STREQ("via-dup", fdinfo_name(self->b.fd, v, sizeof(v)));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(set_name_b(self->b.fd, "via-child"));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("via-child", fdinfo_name(fd2, v, sizeof(v)));
	close(fd2);
}

/* Names are stored verbatim: spaces, colons, non-ASCII bytes. */
TEST_F(name, name_verbatim)
{
	const char *n = "a b:c/d\xc3\xa9";
	char v[64];

	ASSERT_EQ(0, set_name_a(self->b.fd, n));
	EXPECT_STREQ(n, fdinfo_name(self->b.fd, v, sizeof(v)));
}

/* Naming is not a write: a read-only heap buffer can be named. */
TEST(name_readonly_buffer)
{
	int fd = heap_alloc(PAGE_SZ, O_RDONLY | O_CLOEXEC);
	char v[64];

	if (fd == -ENODEV)
		SKIP(return, "no " HEAP_PATH " (CONFIG_DMABUF_HEAPS_SYSTEM)");
	ASSERT_GE(fd, 0);
	ASSERT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(0, set_name_a(fd, "read-only"));
	EXPECT_STREQ("read-only", fdinfo_name(fd, v, sizeof(v)));
	close(fd);
}

TEST_HARNESS_MAIN
