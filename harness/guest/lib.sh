# SPDX-License-Identifier: GPL-2.0
# Shared by the guest jobs that the host collects (test.sh, stress.sh, bench.sh): sourced with R
# set to the folder the job's results go to.

step() { echo "dmabuf-rs guest: $*"; }

# kunit_module NAME [ARGS]: load a module of KUnit suites, which run as it loads; the host
# parses the KTAP between the markers (kunit.py parse) and rmmods nothing here.
kunit_module() {
	name=$1; shift
	step "kunit module $name"
	echo "dmabuf-rs: $name begin" >/dev/kmsg
	"$@" || step "loading $name failed"
	echo "dmabuf-rs: $name end" >/dev/kmsg
}

# kselftest SUITE BINARY [ARGS]: a kselftest binary's TAP into kselftest-SUITE.tap, with its
# exit status (124: killed by the time limit, DMABUF_RS_KSELFTEST_TIMEOUT seconds).
kselftest() {
	suite=$1; shift
	step "kselftest $suite"
	(cd "$(dirname "$1")" && timeout -k 5 "${DMABUF_RS_KSELFTEST_TIMEOUT:-600}" "$@") \
		>"$R/kselftest-$suite.tap" 2>&1
	echo "# exit status $?" >>"$R/kselftest-$suite.tap"
}

# The allocation-failure sweeps (selftests/dmabuf/faults, tests/faults) fail the Nth
# allocation of one task through fail-nth: failslab and fail_page_alloc must consider every
# allocation (not only those that cannot sleep, and order-0 pages too), and stay quiet. The
# probabilities stay 0, so nothing else fails. faults sets the same itself.
fault_knobs() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	for f in failslab/ignore-gfp-wait fail_page_alloc/ignore-gfp-wait \
		fail_page_alloc/ignore-gfp-highmem; do
		echo N >/sys/kernel/debug/$f || step "cannot set $f"
	done
	for f in failslab/verbose fail_page_alloc/verbose fail_page_alloc/min-order; do
		echo 0 >/sys/kernel/debug/$f || step "cannot set $f"
	done
}

# bufinfo once everything is done and unloaded, then kmemleak (it has no periodic scan in
# these kernels): the second scan reports only what stayed unreferenced across both, as
# kmemleak.rst advises. Any object listed fails the run.
final_checks() {
	cat /sys/kernel/debug/dma_buf/bufinfo >"$R/bufinfo-after.txt" 2>&1
	step "kmemleak scan"
	K=/sys/kernel/debug/kmemleak
	if [ -w $K ]; then
		echo scan >$K && sleep 5 && echo scan >$K
		cat $K >"$R/kmemleak.txt" 2>&1
	else
		echo "# no $K: kmemleak is not in this kernel" >"$R/kmemleak.txt"
	fi
}
