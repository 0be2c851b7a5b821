// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf file operations as userspace sees them on buffers of three
 * exporters: llseek, read/write, fstat, fdinfo, the /proc fd link, bufinfo,
 * and sharing a buffer with another process by fork() and SCM_RIGHTS.
 */
#include "dmabuf_util.h"

#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#ifndef DMA_BUF_MAGIC
#define DMA_BUF_MAGIC 0x444d4142
#endif

FIXTURE(fops) {
	struct buf b;
};

/* Every TEST_F() of the fixture runs on a buffer of each of the three exporters. */
FIXTURE_VARIANT(fops) {
	enum exporter exp;
};

FIXTURE_VARIANT_ADD(fops, udmabuf) {
	.exp = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(fops, system_heap) {
	.exp = EXP_HEAP,
};

FIXTURE_VARIANT_ADD(fops, vgem) {
	.exp = EXP_VGEM,
};

FIXTURE_SETUP(fops)
{
	int ret = buf_make(&self->b, variant->exp);

	if (ret == -ENODEV)
		SKIP(return, "%s", exporter_missing(variant->exp));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(fops)
{
	buf_free(&self->b);
}

/*
 * The references a fresh buffer's file has with one fd open: the fd, plus
 * for vgem two more that live as long as the GEM handle: the object's cached
 * export (obj->dma_buf) and the DRM file's PRIME handle table entry
 * (drm_prime_add_buf_handle()).
 */
static long base_count(const struct buf *b)
{
	return b->exp == EXP_VGEM ? 3 : 1;
}

/* dma_buf_llseek(): SEEK_END with offset 0 reports the size. */
TEST_F(fops, seek_end_gives_size)
{
	ASSERT_EQ((off_t)self->b.size, lseek(self->b.fd, 0, SEEK_END));
	/* It does not move the position: asking again gives the same. */
	ASSERT_EQ((off_t)self->b.size, lseek(self->b.fd, 0, SEEK_END));
}

TEST_F(fops, seek_set_zero)
{
	ASSERT_EQ(0, lseek(self->b.fd, 0, SEEK_SET));
	ASSERT_EQ((off_t)self->b.size, lseek(self->b.fd, 0, SEEK_END));
	ASSERT_EQ(0, lseek(self->b.fd, 0, SEEK_SET));
}

/* Only SEEK_END and SEEK_SET are known to dma_buf_llseek(). */
TEST_F(fops, seek_cur_einval)
{
	errno = 0;
	ASSERT_EQ(-1, lseek(self->b.fd, 0, SEEK_CUR));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ((off_t)self->b.size, lseek(self->b.fd, 0, SEEK_END));
	errno = 0;
	ASSERT_EQ(-1, lseek(self->b.fd, 0, SEEK_CUR));
	ASSERT_EQ(EINVAL, errno);
}

/* dma_buf_llseek(): any offset other than 0 is refused, whatever whence. */
TEST_F(fops, seek_nonzero_offset_einval)
{
	const struct { off_t off; int whence; } c[] = {
		{ 1, SEEK_SET }, { PAGE_SZ, SEEK_SET }, { -1, SEEK_SET },
		{ -1, SEEK_END }, { 1, SEEK_END }, { -(off_t)BUF_SIZE, SEEK_END },
		{ PAGE_SZ, SEEK_CUR },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		errno = 0;
		EXPECT_EQ(-1, lseek(self->b.fd, c[i].off, c[i].whence))
			TH_LOG("offset %lld whence %d", (long long)c[i].off, c[i].whence);
		EXPECT_EQ(EINVAL, errno);
	}
	ASSERT_EQ((off_t)self->b.size, lseek(self->b.fd, 0, SEEK_END));
}

/* SEEK_DATA/SEEK_HOLE reach dma_buf_llseek() and fail there; 5+ fail in ksys_lseek(). */
TEST_F(fops, seek_data_hole_einval)
{
	const int whence[] = { SEEK_DATA, SEEK_HOLE, 5, 1000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(whence); i++) {
		errno = 0;
		EXPECT_EQ(-1, lseek(self->b.fd, 0, whence[i])) TH_LOG("whence %d", whence[i]);
		EXPECT_EQ(EINVAL, errno);
	}
}

/* No ->read/->write: vfs_read()/vfs_write() say EINVAL on an O_RDWR file. */
TEST_F(fops, read_write_einval)
{
	char c[16] = "x";

	errno = 0;
	ASSERT_EQ(-1, read(self->b.fd, c, sizeof(c)));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, write(self->b.fd, c, sizeof(c)));
	ASSERT_EQ(EINVAL, errno);
}

/* alloc_file_pseudo() files have no FMODE_PREAD/PWRITE: ESPIPE. */
TEST_F(fops, pread_pwrite_espipe)
{
	char c[16] = "x";

	errno = 0;
	ASSERT_EQ(-1, pread(self->b.fd, c, sizeof(c), 0));
	ASSERT_EQ(ESPIPE, errno);
	errno = 0;
	ASSERT_EQ(-1, pwrite(self->b.fd, c, sizeof(c), 0));
	ASSERT_EQ(ESPIPE, errno);
}

/* No ->fsync (vfs_fsync_range()), not S_ISREG (do_ftruncate()): EINVAL. */
TEST_F(fops, fsync_ftruncate_einval)
{
	errno = 0;
	ASSERT_EQ(-1, fsync(self->b.fd));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, fdatasync(self->b.fd));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, ftruncate(self->b.fd, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ((off_t)self->b.size, lseek(self->b.fd, 0, SEEK_END));
}

/* dma_buf_getfile(): i_size and i_blocks are the size; the anon inode has no type. */
TEST_F(fops, fstat_reports_size)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->b.fd, &st));
	EXPECT_EQ((off_t)self->b.size, st.st_size);
	EXPECT_EQ((blkcnt_t)(self->b.size / 512), st.st_blocks);
	EXPECT_EQ(0, st.st_mode & S_IFMT);
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_NE(0, st.st_ino);
}

/* Every buffer has its own inode number on the one dmabuf pseudo filesystem. */
TEST_F(fops, distinct_inodes)
{
	struct stat a, b;
	struct statfs sfs;
	struct buf other;

	ASSERT_EQ(0, buf_make(&other, variant->exp));
	ASSERT_EQ(0, fstat(self->b.fd, &a));
	ASSERT_EQ(0, fstat(other.fd, &b));
	EXPECT_NE(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
	ASSERT_EQ(0, fstatfs(self->b.fd, &sfs));
	EXPECT_EQ(DMA_BUF_MAGIC, (unsigned long)sfs.f_type);
	buf_free(&other);
}

/* dma_buf_show_fdinfo(): size, count and exporter; no name line until named. */
TEST_F(fops, fdinfo_fields)
{
	char v[64];

	ASSERT_EQ(1, fdinfo_field(self->b.fd, "size", v, sizeof(v)));
	EXPECT_EQ(self->b.size, strtoul(v, NULL, 10));
	EXPECT_EQ(base_count(&self->b), fdinfo_long(self->b.fd, "count"));
	ASSERT_EQ(1, fdinfo_field(self->b.fd, "exp_name", v, sizeof(v)));
	EXPECT_STREQ(exporter_name(variant->exp), v);
	EXPECT_EQ(0, fdinfo_field(self->b.fd, "name", v, sizeof(v)));
	ASSERT_EQ(1, fdinfo_field(self->b.fd, "ino", v, sizeof(v)));
	EXPECT_EQ(fd_ino(self->b.fd), strtoull(v, NULL, 10));
}

/* fdinfo's count is the file's reference count: fds and mappings hold one each. */
TEST_F(fops, fdinfo_count_tracks_refs)
{
	long base = base_count(&self->b);
	int dup_fd;
	void *map;

	ASSERT_EQ(base, fdinfo_long(self->b.fd, "count"));
	dup_fd = dup(self->b.fd);
	ASSERT_GE(dup_fd, 0);
	EXPECT_EQ(base + 1, fdinfo_long(self->b.fd, "count"));
	EXPECT_EQ(base + 1, fdinfo_long(dup_fd, "count"));
	map = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(base + 2, fdinfo_long(self->b.fd, "count"));
	ASSERT_EQ(0, munmap(map, self->b.size));
	EXPECT_EQ(base + 1, fdinfo_long(self->b.fd, "count"));
	ASSERT_EQ(0, close(dup_fd));
	EXPECT_EQ(base, fdinfo_long(self->b.fd, "count"));
}

/* dmabuffs_dname(): the fd links to "/dmabuf:<name>", empty name when unnamed. */
TEST_F(fops, proc_fd_link)
{
	char path[64], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->b.fd);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = '\0';
	EXPECT_STREQ("/dmabuf:", link);
}

/* dma_buf_getfile() keeps O_ACCMODE; the exporters asked for cloexec fds. */
TEST_F(fops, file_flags)
{
	int fl = fcntl(self->b.fd, F_GETFL);

	ASSERT_GE(fl, 0);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->b.fd, F_GETFD) & FD_CLOEXEC);
}

/* dma_buf_debug_show() lists the buffer with its size, exporter and inode. */
TEST_F(fops, bufinfo_entry)
{
	struct bufinfo_row row;

	if (!have_bufinfo())
		SKIP(return, "no " BUFINFO_PATH " (CONFIG_DEBUG_FS, debugfs not mountable)");
	ASSERT_EQ(1, bufinfo_find(fd_ino(self->b.fd), &row));
	EXPECT_EQ(self->b.size, row.size);
	EXPECT_STREQ(exporter_name(variant->exp), row.exp_name);
	EXPECT_STREQ("<none>", row.name);
	EXPECT_EQ((unsigned long)base_count(&self->b), row.count);
	EXPECT_EQ(O_RDWR, (int)(row.flags & O_ACCMODE));
	EXPECT_EQ(0, row.attached);
}

/* The last reference gone, the buffer leaves the list bufinfo walks. */
TEST_F(fops, bufinfo_gone_after_close)
{
	unsigned long long ino = fd_ino(self->b.fd);
	struct bufinfo_row row;

	if (!have_bufinfo())
		SKIP(return, "no " BUFINFO_PATH " (CONFIG_DEBUG_FS, debugfs not mountable)");
	ASSERT_EQ(1, bufinfo_find(ino, &row));
	close(self->b.fd);
	self->b.fd = -1;
	if (self->b.vgem >= 0)
		gem_close(self->b.vgem, self->b.handle);
	EXPECT_EQ(0, bufinfo_find(ino, &row));
}

/* A forked child shares the buffer: same inode, same pages both ways. */
TEST_F(fops, fork_shares_buffer)
{
	unsigned long long ino = fd_ino(self->b.fd);
	int status;
	uint32_t *map;
	pid_t pid;

	map = mmap(NULL, self->b.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, self->b.size, 0x1111);
	munmap(map, self->b.size);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t *m;

		if (fd_ino(self->b.fd) != ino)
			_exit(1);
		m = mmap(NULL, self->b.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->b.fd, 0);
		if (m == MAP_FAILED)
			_exit(2);
		if (verify(m, self->b.size, 0x1111) >= 0)
			_exit(3);
		fill(m, self->b.size, 0x2222);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	map = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, verify(map, self->b.size, 0x2222));
	munmap(map, self->b.size);
}

static int send_fd(int sock, int fd, unsigned long long ino)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &ino, .iov_len = sizeof(ino) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == sizeof(ino) ? 0 : -1;
}

static int recv_fd(int sock, unsigned long long *ino)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = ino, .iov_len = sizeof(*ino) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != sizeof(*ino))
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * A process that never had the buffer receives it over a unix socket: the
 * same inode, size and contents, and its writes come back.
 */
TEST_F(fops, scm_rights_passes_buffer)
{
	int sv[2], status;
	uint32_t *map;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned long long ino = 0;
		uint32_t *m;
		int fd;

		/* Drop the inherited buffer: only the passed fd remains. */
		close(self->b.fd);
		close(sv[0]);
		fd = recv_fd(sv[1], &ino);
		if (fd < 0)
			_exit(1);
		if (fd_ino(fd) != ino)
			_exit(2);
		if (lseek(fd, 0, SEEK_END) != (off_t)self->b.size)
			_exit(3);
		m = mmap(NULL, self->b.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(4);
		if (verify(m, self->b.size, 0x3333) >= 0)
			_exit(5);
		fill(m, self->b.size, 0x4444);
		munmap(m, self->b.size);
		close(fd);
		_exit(0);
	}
	close(sv[1]);
	map = mmap(NULL, self->b.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, self->b.size, 0x3333);
	ASSERT_EQ(0, send_fd(sv[0], self->b.fd, fd_ino(self->b.fd)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(sv[0]);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-1, verify(map, self->b.size, 0x4444));
	munmap(map, self->b.size);
}

/* A dup()ed fd is the same file: closing the original keeps the buffer. */
TEST_F(fops, dup_survives_close)
{
	unsigned long long ino = fd_ino(self->b.fd);
	int fd2 = dup(self->b.fd);
	uint32_t *map;

	ASSERT_GE(fd2, 0);
	map = mmap(NULL, self->b.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, self->b.size, 0x5555);
	munmap(map, self->b.size);
	close(self->b.fd);
	self->b.fd = fd2;
	EXPECT_EQ(ino, fd_ino(fd2));
	EXPECT_EQ((off_t)self->b.size, lseek(fd2, 0, SEEK_END));
	map = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, verify(map, self->b.size, 0x5555));
	munmap(map, self->b.size);
}

TEST_HARNESS_MAIN
