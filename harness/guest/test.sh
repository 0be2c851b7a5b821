#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The test job, run in the guest by init: the kselftests and IGT tests whose TAP or
# results.json the host collects. KUnit (the Rust suites and doctests) already ran at boot; it
# and the KUnit modules loaded here are read from the console log. Each suite has a time
# limit; one that hangs is killed, and the host fails it (exit status, short count).
R=$DMABUF_RS_OUT/results/$DMABUF_RS_CORE
KST=$DMABUF_RS_KSELFTEST
mkdir -p "$R"

. "$DMABUF_RS_TOP/harness/guest/lib.sh"

modprobe vgem || step "modprobe vgem failed: the vgem tests will skip"

# The dma_buf trace events, recorded since boot (trace_event=dma_buf:*): the KUnit suites use
# every traced function, so each event must have fired, as often on either core.
trace_events() {
	T=/sys/kernel/tracing
	mountpoint -q $T || mount -t tracefs tracefs $T
	echo 0 >$T/tracing_on
	set -- dma_buf_export dma_buf_fd dma_buf_get dma_buf_put dma_buf_dynamic_attach \
		dma_buf_detach dma_buf_mmap_internal dma_buf_mmap
	echo "TAP version 13"
	echo "1..$#"
	n=0
	for e in "$@"; do
		n=$((n + 1))
		c=$(grep -c " $e: " $T/trace)
		# Both cores must emit as many: collect.py compares the counts.
		if [ "$c" -gt 0 ]; then echo "ok $n $e"; else echo "not ok $n $e"; fi
		echo "# $e: $c events"
	done
	echo >$T/trace
}
step "trace events"
trace_events >"$R/trace-dma_buf.tap" 2>&1

# dma-buf's own KUnit suites (dma-fence, dma-fence-chain, dma-fence-unwrap, dma-resv) test C
# code that is the same whichever core is built: they run on the C core only, where they take
# three minutes of the boot (the Rust boot runs the misuse suite, which the C core cannot).
if [ "$DMABUF_RS_CORE" = c ]; then
	kunit_module dmabuf_kunit modprobe dmabuf_kunit
fi

# stacks_after SECONDS: in the background, after SECONDS, print the state and kernel stack of
# every user task to the log, so that a suite that hangs until its time limit says where.
# stacks_done ends it.
stacks_after() {
	(
		sleep "$1"
		for d in /proc/[0-9]*; do
			# Kernel threads have no command line (and /proc sizes are all 0: no -s).
			cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-120)
			[ -n "$cmd" ] || continue
			echo "dmabuf-rs stacks: ${d#/proc/} $(grep '^State:' "$d/status"): $cmd"
			cat "$d/stack"
		done
	) &
	stacks_pid=$!
}
stacks_done() { kill "$stacks_pid" 2>/dev/null; }

# Our own suite, tools/testing/selftests/dmabuf: one TAP file per program.
fault_knobs
for t in fileops sync name fences mmap prime races storm badinput faults; do
	kselftest "dmabuf-$t" "$KST/dmabuf/$t"
done
# The fuzzer, short: make stress runs it with more operations and seeds.
kselftest dmabuf-fuzz "$KST/dmabuf/fuzz" -s 1 -n "${DMABUF_RS_FUZZ_OPS:-10000}"
# bufinfo with known buffers alive: the host compares its shape between the cores.
step "bufinfo snapshot"
"$KST/dmabuf/bufinfo_snapshot" >"$R/bufinfo-live.txt" 2>&1 ||
	echo "# bufinfo_snapshot exit status $?" >>"$R/bufinfo-live.txt"
kselftest dmabuf-heaps "$KST/dmabuf-heaps/dmabuf-heap"
kselftest udmabuf "$KST/drivers/dma-buf/udmabuf"
# iommufd as a dma-buf importer (its mock domain and revocation), every fixture variant.
kselftest iommufd-dmabuf "$KST/iommu/iommufd" -t dmabuf_simple -t dmabuf_revoke

# vgem_basic@unload: a dma-buf exported by vgem keeps the module (its exporter's owner) loaded;
# the runner loads vgem again for the tests after it.
step "igt"
# The runner lists the subtests of every binary of its test folder (run with --list-subtests)
# before it filters: 359 binaries, longer than the time limit on the sanitizing kernels. Its
# folder here holds the two binaries used, and a test-list.txt naming them.
rm -rf "$R/igt"
igt_tests=/run/igt-tests
mkdir -p $igt_tests
for b in vgem_basic dmabuf_sync_file; do
	ln -sf "/usr/libexec/igt-gpu-tools/$b" "$igt_tests/$b"
done
printf 'TESTLIST\nvgem_basic dmabuf_sync_file\nEND TESTLIST\n' >$igt_tests/test-list.txt
stacks_after 600
timeout -k 5 900 igt_runner -o -s \
	-t '^igt@vgem_basic@dmabuf-' -t '^igt@vgem_basic@unload$' -t '^igt@dmabuf_sync_file@' \
	$igt_tests "$R/igt" >"$R/igt-runner.log" 2>&1
stacks_done
timeout -k 5 120 igt_results "$R/igt" >>"$R/igt-runner.log" 2>&1

# Allocation failures on the in-kernel paths (tests/faults), on both cores: KUnit sweeps, each
# printing its sequence of outcomes, which the host compares.
kunit_module faults insmod "$DMABUF_RS_TESTMODS/faults/dma_buf_faults.ko"
rmmod dma_buf_faults || step "rmmod dma_buf_faults failed"
# Concurrent importers against one exporter (tests/stress), on both cores, each case for
# DMABUF_RS_STRESS_SECONDS (make stress runs them longer).
kunit_module stress insmod "$DMABUF_RS_TESTMODS/stress/dma_buf_stress.ko" \
	seconds="${DMABUF_RS_STRESS_SECONDS:-2}"
rmmod dma_buf_stress || step "rmmod dma_buf_stress failed"

# What C callers that break the locking convention get (tests/lock-misuse): KUnit suites that
# run when the module loads. dma_buf_driver_patterns (in-tree drivers' misuses, which the C core
# tolerates) runs on both cores; dma_buf_lock_misuse (every misuse, several of which deadlock
# the C core) on the Rust core only, so the C core filters it out. The warnings are expected,
# between the markers. No KUnit module loads after this one, so the filter stays.
step "lock-misuse"
if [ "$DMABUF_RS_CORE" = c ]; then
	printf %s dma_buf_driver_patterns >/sys/module/kunit/parameters/filter_glob ||
		step "cannot filter the KUnit suites of dma_buf_lock_misuse"
fi
kunit_module lock-misuse insmod "$DMABUF_RS_TESTMODS/lock-misuse/dma_buf_lock_misuse.ko" \
	core="$DMABUF_RS_CORE"
rmmod dma_buf_lock_misuse || step "rmmod dma_buf_lock_misuse failed"

# i915's mock selftests: no Intel GPU, firmware or PCI device (a fake device, see
# drivers/gpu/drm/i915/selftests/mock_gem_device.c), run inside i915's module init. Only the
# dma-buf group by default; DMABUF_RS_I915_MOCK="dmabuf objects ..." or "all" (slow under TCG)
# on the kernel command line (KERNEL_CMDLINE) picks others. Module init succeeds whatever the
# outcome: the verdict is the module parameter mock_selftests afterwards, -25 (-ENOTTY) when
# every enabled test passed, else the first error. Runs last: the unsafe parameter taints the
# kernel (U), and the module stays loaded as a dummy until the rmmod.
i915_mock() {
	log=$R/i915-mock.log
	step "i915 mock selftests"
	[ -d /sys/module/i915 ] && rmmod i915
	groups=${DMABUF_RS_I915_MOCK:-dmabuf}
	[ "$groups" = all ] && groups=
	# A group's switch is named after its line in i915_mock_selftests.h (igt__30__mock_dmabuf
	# in 7.2); a wrong name would be ignored with a warning and every group would run.
	params=
	for g in $groups; do
		p=$(modinfo -F parmtype i915 | sed -n "s/^\(igt__[0-9]*__mock_$g\):.*/\1/p")
		if [ -z "$p" ]; then
			echo "# no mock selftest group '$g' in i915" >"$log"
			return
		fi
		params="$params $p=1"
	done
	echo "dmabuf-rs: i915-mock begin" >/dev/kmsg
	# shellcheck disable=SC2086 # $params is a list of words
	timeout -k 10 "${DMABUF_RS_I915_MOCK_TIMEOUT:-300}" modprobe i915 mock_selftests=-1 $params
	rc=$?
	echo "dmabuf-rs: i915-mock end" >/dev/kmsg
	{
		dmesg | sed -n '/dmabuf-rs: i915-mock begin/,/dmabuf-rs: i915-mock end/p'
		echo "# modprobe exit status $rc"
		echo "# mock_selftests=$(cat /sys/module/i915/parameters/mock_selftests 2>/dev/null ||
			echo none)"
	} >"$log" 2>&1
	if [ -d /sys/module/i915 ]; then
		rmmod i915 || step "rmmod i915 failed"
	fi
}
i915_mock

final_checks
step "done"
