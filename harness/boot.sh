#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot.sh CORE JOB: boot the CORE kernel under QEMU (TCG) with the build root as a read-only
# 9p root and out/ as a writable share, run harness/guest/JOB.sh there, and keep the serial
# console in out/console-CORE-JOB.log.
#
# The kernel is the one `build.sh CORE` installed, or the copy in $KERNEL_DIR (bzImage,
# kernel.release, mod/) with the test modules in $TESTMODS_DIR: mutation.sh boots a copy of
# each mutated kernel while it builds the next. With FLAVOUR=bench, make bench's kernel.
#
# The bench job boots one vCPU; with BENCH_MODE=icount (the default) QEMU counts
# instructions: -icount shift=0 runs one instruction per virtual nanosecond, and the guest's
# clocks follow it (sleep=off: idle time is skipped), so a time delta in the guest is an
# instruction count. BENCH_MODE=wall boots plain TCG, for the host's time.
. "$(dirname "$0")/lib.sh"

core=$1 job=$2
check_core "$core"
[ -x "$TOP/harness/guest/$job.sh" ] || die "no guest job '$job'"
B=${KERNEL_DIR:-$(kbuild_dir "$core")}
kernel=$B/bzImage
[ -f "$kernel" ] || die "no kernel at $kernel (run: make kernel CORE=$core)"
release=$(cat "$B/kernel.release")
[ -d "$B/mod/lib/modules/$release" ] || die "modules of $release are not installed in $B/mod"
console=$OUT/console-$core-$job.log
timeout_s=${BOOT_TIMEOUT:-3600}
mkdir -p "$OUT/results/$core"
# The guest binds the modules over /lib/modules, which a fresh build root may not have.
mkdir -p "$BUILD_ROOT/lib/modules"
rm -f "$console"

# 2 GiB of huge pages for udmabuf's hugetlb cases, on top of the guest's own 3 GiB (KASAN's
# shadow takes an eighth of all of it).
# KUnit runs at boot for the tests only; the other jobs boot straight to theirs.
# The test boots also record the dma_buf trace events from the start, KUnit included.
# Hung tasks are reported after 20 minutes, not 2: loading a module of KUnit suites keeps
# modprobe in the kernel (in D state) while each case runs, and dma-fence-chain's
# test_wait_backward alone ran 247, 330 and 508 s under TCG with the sanitizers, as the other
# guest loads the host. KUnit stops a case after 900 s (kunit.timeout, 300 by default), before
# the detector would fire; a hang anywhere else is still reported, with its stack, well within
# the boot's limit of an hour. The limit is a sysctl: a bare hung_task_timeout_secs= is no
# kernel parameter, it only reaches init's environment.
# 4-level paging (no5lvl): with `-cpu max` the guest has LA57, and identify_cpu() clears the
# CPU's feature bits while it probes them again, so an interrupt in that window sees
# pgtable_l5_enabled() false and KASAN reports its 5-level direct-map address as a
# "wild-memory-access" (seen once at 0.007 s, in do_raw_spin_lock under handle_edge_irq).
case $job in
test) kunit=trace_event=dma_buf:* ;;
# The stress job runs only the KUnit modules it loads.
stress) kunit=kunit.filter_glob=dma_buf_* ;;
*) kunit=kunit.enable=0 ;;
esac
append="$kunit no5lvl console=ttyS0 printk.devkmsg=on
 sysctl.kernel.hung_task_timeout_secs=1200 kunit.timeout=900 root=/dev/root rootfstype=9p ro panic=-1 hugepages=1024
 rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose
 init=$TOP/harness/guest/init
 DMABUF_RS_JOB=$job DMABUF_RS_CORE=$core DMABUF_RS_TOP=$TOP DMABUF_RS_OUT=$OUT
 DMABUF_RS_MODULES=$B/mod/lib/modules DMABUF_RS_KSELFTEST=$CACHE/build/kselftest
 DMABUF_RS_DEMO=$CACHE/build/demo DMABUF_RS_TESTMODS=${TESTMODS_DIR:-$(testmods_dir)}
 ${KERNEL_CMDLINE:-}"

stage "boot ($core, $job): QEMU TCG, console: $console"
# -vga std gives bochs-drm, the second DRM device that IGT's PRIME tests import into;
# virtio-gpu is the dynamic importer. No network, no KVM (it hangs on these machines).
# qemu_once: one boot; its status in $status. A guest that stalls while the kernel boots (TCG
# has been seen, rarely, to stop for good at the early clocksource switch) is killed after
# $stall_s seconds without console output and reported as status 125. KUnit's slowest test
# is silent for under three minutes; once the guest job runs, only the overall limit applies.
stall_s=${BOOT_STALL:-360}
smp=2
qemu_extra=()
if [ "$job" = bench ]; then
	smp=1
	case ${BENCH_MODE:-icount} in
	icount) qemu_extra=(-icount shift=0,sleep=off) ;;
	wall) ;;
	*) die "BENCH_MODE must be icount or wall, not '$BENCH_MODE'" ;;
	esac
fi
qemu_once() {
	rm -f "$console"
	in_root timeout -k 10 "$timeout_s" qemu-system-x86_64 \
		-machine pc -accel tcg -cpu max -smp "$smp" -m 5G "${qemu_extra[@]}" \
		-no-reboot -display none -monitor none -vga std -device virtio-gpu-pci \
		-serial "file:$console" \
		-kernel "$kernel" -append "$(echo $append)" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
		-fsdev "local,id=out,path=$OUT,security_model=none,multidevs=remap" \
		-device virtio-9p-pci,fsdev=out,mount_tag=out \
		>"$LOGS/qemu-$core-$job.log" 2>&1 &
	local pid=$! size=-1 quiet=0 now
	while kill -0 "$pid" 2>/dev/null; do
		sleep 10
		grep -q "dmabuf-rs guest:" "$console" 2>/dev/null && continue
		now=$(stat -c %s "$console" 2>/dev/null || echo 0)
		if [ "$now" = "$size" ]; then quiet=$((quiet + 10)); else quiet=0 size=$now; fi
		if [ "$quiet" -ge "$stall_s" ]; then
			pkill -f -- "-serial file:$console" 2>/dev/null
			wait "$pid"
			status=125
			return
		fi
	done
	status=0
	wait "$pid" || status=$?
}
qemu_once
if [ "$status" = 125 ]; then
	note "boot ($core, $job): the kernel stalled for ${stall_s}s while booting; booting again"
	cp "$console" "$console.stalled" 2>/dev/null
	qemu_once
fi
if [ "$status" = 125 ]; then
	die "boot ($core, $job): the kernel stalled twice while booting; console: $console"
fi
if [ "$status" = 124 ]; then
	die "boot ($core, $job): no power-off within ${timeout_s}s; console: $console"
elif [ "$status" != 0 ]; then
	die "boot ($core, $job): QEMU exited with $status; see $LOGS/qemu-$core-$job.log and $console"
fi
grep -q "dmabuf-rs guest: job exited" "$console" ||
	die "boot ($core, $job): the guest job did not finish; console: $console"
note "boot ($core, $job): finished"
