// SPDX-License-Identifier: GPL-2.0
/*
 * bufinfo_snapshot: print /sys/kernel/debug/dma_buf/bufinfo while a known set
 * of buffers lives, for comparing its shape between the two dma-buf cores.
 *
 * The buffers: a system heap buffer named "snapshot-heap", imported into vgem
 * (an attached device) with a signalled write fence; a udmabuf buffer named
 * "snapshot-udmabuf" with a read fence; a vgem buffer without a name. Run with
 * no other dma-buf in use; exits non-zero if a buffer cannot be made.
 */
#include "dmabuf_util.h"

static int name(int fd, const char *s)
{
	return ioctl(fd, DMA_BUF_SET_NAME_B, s) ? -errno : 0;
}

int main(void)
{
	struct buf heap, udmabuf, vgem;
	char text[16384];
	ssize_t len;
	int f;

	if (!have_bufinfo()) {
		fprintf(stderr, "bufinfo_snapshot: no %s\n", BUFINFO_PATH);
		return 1;
	}
	if (buf_make(&heap, EXP_HEAP) || buf_make(&udmabuf, EXP_UDMABUF) ||
	    buf_make(&vgem, EXP_VGEM)) {
		fprintf(stderr, "bufinfo_snapshot: cannot make the buffers\n");
		return 1;
	}
	if (name(heap.fd, "snapshot-heap") || name(udmabuf.fd, "snapshot-udmabuf") ||
	    buf_vgem(&heap) || buf_vgem(&udmabuf)) {
		fprintf(stderr, "bufinfo_snapshot: cannot name or import the buffers\n");
		return 1;
	}
	f = vgem_fence(heap.vgem, heap.handle, true);
	if (f < 0 || vgem_signal(heap.vgem, f)) {
		fprintf(stderr, "bufinfo_snapshot: cannot fence the heap buffer\n");
		return 1;
	}
	f = vgem_fence(udmabuf.vgem, udmabuf.handle, false);
	if (f < 0) {
		fprintf(stderr, "bufinfo_snapshot: cannot fence the udmabuf buffer\n");
		return 1;
	}
	len = read_text(BUFINFO_PATH, text, sizeof(text));
	if (len < 0) {
		fprintf(stderr, "bufinfo_snapshot: cannot read %s\n", BUFINFO_PATH);
		return 1;
	}
	fwrite(text, 1, len, stdout);
	vgem_signal(udmabuf.vgem, f);
	buf_free(&heap);
	buf_free(&udmabuf);
	buf_free(&vgem);
	return 0;
}
