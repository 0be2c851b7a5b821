#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test_modules.sh CORE: build the out-of-tree C test modules of tests/ against the kernel tree
# as last built (for CORE), into $CACHE/build/modules, where the guest loads them from; with
# FLAVOUR=bench, tests/bench against the bench tree, into $CACHE/build/bench-modules.
#
# tests/lock-misuse breaks the dma-buf locking convention on purpose; tests/faults fails the
# allocations of the in-kernel paths; tests/stress runs importers concurrently against one
# exporter. They are built once, against the Rust core's configuration (both kernels are the
# same version, so they load on either); the C core runs only lock-misuse's suite of in-tree
# drivers' misuses (see harness/guest/test.sh).
. "$(dirname "$0")/lib.sh"

core=$1
check_core "$core"
B=$(kbuild_tree)
W=$(testmods_dir)
[ -f "$B/Module.symvers" ] || die "no Module.symvers in $B: build the kernel first"
rm -rf "$W"
mkdir -p "$W"
[ "$core" = rust ] || exit 0

# module DIR NAME: build tests/DIR into $W/DIR, warnings refused.
module() {
	local d=$W/$1
	cp -r "$TOP/tests/$1" "$d"
	in_root make -C "$KSRC" O="$B" LLVM="$LLVM" M="$d" W=1 modules >"$d/build.log" 2>&1 ||
		die "tests/$1 does not build; see $d/build.log"
	if grep -q 'warning:' "$d/build.log"; then
		die "tests/$1 builds with warnings; see $d/build.log"
	fi
	note "built $d/$2.ko"
}
if [ "${FLAVOUR:-}" = bench ]; then
	stage "bench module: tests/bench against the $core bench kernel tree"
	module bench dma_buf_bench
	exit 0
fi
stage "test modules: tests/lock-misuse, faults and stress against the $core kernel tree"
module lock-misuse dma_buf_lock_misuse
module faults dma_buf_faults
module stress dma_buf_stress
