// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF buffer iterator (kernel/bpf/dmabuf_iter.c, which walks the core's buffer list with
 * dma_buf_iter_begin() and dma_buf_iter_next()): one line per exported buffer with what
 * bufinfo shows of it, tab-separated: inode, size, exporter and name.
 *
 * Pinned by bpftool (`bpftool iter pin`), which locates the fields below in the booted
 * kernel's BTF by name (CO-RE), so that no vmlinux.h is needed to build it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define CORE __attribute__((preserve_access_index))

struct inode {
	unsigned long i_ino;
} CORE;

struct file {
	struct inode *f_inode;
} CORE;

struct dma_buf {
	unsigned long size;	/* size_t: as long as a long on x86_64, as in BPF */
	struct file *file;
	const char *exp_name;
	const char *name;
} CORE;

struct bpf_iter_meta {
	struct seq_file *seq;
} CORE;

struct bpf_iter__dmabuf {
	struct bpf_iter_meta *meta;
	struct dma_buf *dmabuf;
} CORE;

char LICENSE[] SEC("license") = "GPL";

SEC("iter/dmabuf")
int dmabuf_list(struct bpf_iter__dmabuf *ctx)
{
	struct dma_buf *buf = ctx->dmabuf;

	/* The last call of an iteration, after the last buffer. */
	if (!buf)
		return 0;
	/*
	 * bufinfo reads the name under the buffer's name lock, which a BPF program cannot
	 * take; %s copies the string with a fault-safe read, and an unnamed buffer (a NULL
	 * name, which bufinfo shows as "<none>") prints as the empty string.
	 */
	BPF_SEQ_PRINTF(ctx->meta->seq, "%lu\t%lu\t%s\t%s\n", buf->file->f_inode->i_ino,
		       buf->size, buf->exp_name, buf->name);
	return 0;
}
