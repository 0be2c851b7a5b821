#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demonstration job of `make run`, run in the guest by init.
R=$DMABUF_RS_OUT/run
mkdir -p "$R"
modprobe vgem
{
	echo "kernel $(uname -r), dma-buf core: $DMABUF_RS_CORE"
	"$DMABUF_RS_DEMO/dmabuf-demo"
	echo "exit status $?"
} >"$R/demo.txt" 2>&1
cat "$R/demo.txt"
