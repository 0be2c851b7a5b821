#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test_modules.sh CORE: build the out-of-tree C test modules of tests/ against the kernel tree
# as last built (for CORE), into $CACHE/build/modules, where the guest loads them from.
#
# tests/lock-misuse breaks the dma-buf locking convention on purpose. It is built once, against
# the Rust core's configuration (both kernels are the same version, so it loads on either);
# the C core runs only its suite of in-tree drivers' misuses (see harness/guest/test.sh).
. "$(dirname "$0")/lib.sh"

core=$1
check_core "$core"
B=$(kbuild_tree)
W=$CACHE/build/modules
[ -f "$B/Module.symvers" ] || die "no Module.symvers in $B: build the kernel first"
rm -rf "$W"
mkdir -p "$W"
[ "$core" = rust ] || exit 0

stage "test modules: tests/lock-misuse against the $core kernel tree"
d=$W/lock-misuse
cp -r "$TOP/tests/lock-misuse" "$d"
in_root make -C "$KSRC" O="$B" LLVM="$LLVM" M="$d" W=1 modules >"$d/build.log" 2>&1 ||
	die "tests/lock-misuse does not build; see $d/build.log"
if grep -q 'warning:' "$d/build.log"; then
	die "tests/lock-misuse builds with warnings; see $d/build.log"
fi
note "built $d/dma_buf_lock_misuse.ko"
