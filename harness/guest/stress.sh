#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The stress job of `make stress`, run in the guest by init: the allocation-failure sweeps
# (selftests/dmabuf/faults, tests/faults), the KUnit stress cases and the scenarios of
# selftests/dmabuf/storm for DMABUF_RS_STRESS_SECONDS each, selftests/dmabuf/races, and the
# fuzzer for DMABUF_RS_FUZZ_OPS operations with each of four seeds; then bufinfo and
# kmemleak. The host collects it as it collects the test job (tests/stress-manifest.toml).
R=$DMABUF_RS_OUT/stress/$DMABUF_RS_CORE
KST=$DMABUF_RS_KSELFTEST
mkdir -p "$R"
. "$DMABUF_RS_TOP/harness/guest/lib.sh"

modprobe vgem || step "modprobe vgem failed: the vgem cases will fail"
fault_knobs

kselftest dmabuf-faults "$KST/dmabuf/faults"
kunit_module faults insmod "$DMABUF_RS_TESTMODS/faults/dma_buf_faults.ko"
rmmod dma_buf_faults || step "rmmod dma_buf_faults failed"

seconds=${DMABUF_RS_STRESS_SECONDS:-60}
kunit_module stress insmod "$DMABUF_RS_TESTMODS/stress/dma_buf_stress.ko" seconds="$seconds"
rmmod dma_buf_stress || step "rmmod dma_buf_stress failed"
DMABUF_RS_KSELFTEST_TIMEOUT=$((3 * seconds + 300)) kselftest dmabuf-storm "$KST/dmabuf/storm" \
	-t "$seconds"
kselftest dmabuf-races "$KST/dmabuf/races"

# The seeds of tests/stress-manifest.toml.
for seed in 1 2 3 4; do
	DMABUF_RS_KSELFTEST_TIMEOUT=3000 kselftest "dmabuf-fuzz-$seed" "$KST/dmabuf/fuzz" \
		-s "$seed" -n "${DMABUF_RS_FUZZ_OPS:-250000}"
done

final_checks
step "done"
