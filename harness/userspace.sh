#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# userspace.sh: build the guest programs against the kernel's UAPI headers: the kselftests
# that exercise dma-buf (our own tools/testing/selftests/dmabuf among them) (installed into $CACHE/build/kselftest) and the `make run` demo.
# The UAPI does not depend on the core, so one configured build tree serves both.
. "$(dirname "$0")/lib.sh"

B=$(kbuild_tree)
[ -f "$B/.config" ] || die "$B is not configured (run: make kernel CORE=${1:-c})"
KSELFTEST_TARGETS="dmabuf dmabuf-heaps drivers/dma-buf iommu"

stage "userspace: UAPI headers, kselftests ($KSELFTEST_TARGETS), demo"
run_logged "$LOGS/headers.log" in_root make -C "$KSRC" O="$B" LLVM="$LLVM" headers
rm -rf "$CACHE/build/kselftest.tmp"
run_logged "$LOGS/kselftest-build.log" in_root make -C "$KSRC/tools/testing/selftests" \
	O="$B" LLVM="$LLVM" TARGETS="$KSELFTEST_TARGETS" \
	INSTALL_PATH="$CACHE/build/kselftest.tmp" install
rm -rf "$CACHE/build/kselftest"
mv "$CACHE/build/kselftest.tmp" "$CACHE/build/kselftest"

mkdir -p "$CACHE/build/demo"
run_logged "$LOGS/demo-build.log" in_root "$(host_cc)" -O2 -Wall -Wextra -Werror \
	-isystem "$B/usr/include" -o "$CACHE/build/demo/dmabuf-demo" "$TOP/harness/demo/dmabuf-demo.c"
