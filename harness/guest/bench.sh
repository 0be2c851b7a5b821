#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The bench job of `make bench`, run in the guest by init: tests/bench's module times each
# in-kernel dma-buf operation as it loads, then its userspace program each system call on a
# dma-buf (DMABUF_RS_BENCH_ITERS per batch); their figures go to
# out/bench/CORE-MODE-RUN/{kernel,user}.txt for harness/bench_report.py (MODE: icount or
# wall, how the host booted the guest). Then the BPF buffer iterator's check, into bpf.txt.
R=$DMABUF_RS_OUT/bench/$DMABUF_RS_CORE-${DMABUF_RS_BENCH_MODE:-icount}-${DMABUF_RS_BENCH_RUN:-1}
mkdir -p "$R"
. "$DMABUF_RS_TOP/harness/guest/lib.sh"

step "bench module"
insmod "$DMABUF_RS_TESTMODS/bench/dma_buf_bench.ko" iters="${DMABUF_RS_BENCH_ITERS:-2000}" ||
	step "dma_buf_bench failed"
dmesg | grep 'dma_buf_bench: ' >"$R/kernel.txt"
modprobe vgem || step "modprobe vgem failed: the user bench leaves its vgem cases out"
step "bench program"
"$DMABUF_RS_TESTMODS/bench/dmabuf_bench_user" "${DMABUF_RS_BENCH_ITERS:-2000}" >"$R/user.txt" 2>&1
echo "dma_buf_bench: user exit status $?" >>"$R/user.txt"
step "BPF buffer iterator"
# tests/bpf/: the iterator program pinned with bpftool, then its check against bufinfo.
mkdir -p /sys/fs/bpf
mount -t bpf bpf /sys/fs/bpf
B=$DMABUF_RS_TESTMODS/bpf
if bpftool iter pin "$B/dmabuf_iter.bpf.o" /sys/fs/bpf/dmabuf_iter >"$R/bpf.txt" 2>&1; then
	"$B/dmabuf_bpf_iter" /sys/fs/bpf/dmabuf_iter >>"$R/bpf.txt" 2>&1
	echo "dmabuf_bpf_iter: exit status $?" >>"$R/bpf.txt"
else
	echo "dmabuf_bpf_iter: bpftool iter pin failed with exit status $?" >>"$R/bpf.txt"
fi
step "done"
