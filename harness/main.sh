#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# main.sh COMMAND: the commands behind the Makefile (see README.md).
. "$(dirname "$0")/lib.sh"
H=$TOP/harness
cmd=${1:-}
CORE=${CORE:-rust}

# collect OUT [ARGS]: the verdict on the results in OUT (harness/collect.py,
# tests/manifest.toml unless ARGS name another job and manifest).
collect() {
	in_root python3 "$H/collect.py" --kunit "$KSRC/tools/testing/kunit/kunit.py" "$@" c rust
}

# build_all: both kernels, their checks, the test modules and the guest programs.
build_all() {
	"$H/build.sh" c || exit 1
	"$H/exports.sh" c || exit 1
	"$H/build.sh" rust || exit 1
	"$H/exports.sh" rust || exit 1
	"$H/compile_fail.sh" rust || exit 1
	"$H/test_modules.sh" rust || exit 1
	"$H/userspace.sh" c || exit 1
}

# boot_both JOB: the two boots of JOB side by side: each guest spends most of its time on one
# vCPU (KUnit runs its suites one after the other), so together they fill the two cores.
boot_both() {
	local c_boot rust_boot booted=0
	"$H/boot.sh" c "$1" & c_boot=$!
	"$H/boot.sh" rust "$1" & rust_boot=$!
	wait "$c_boot" || booted=1
	wait "$rust_boot" || booted=1
	[ "$booted" = 0 ] || die "a $1 boot failed (see above)"
}

prepare() {
	"$H/root.sh" || exit 1
	"$H/tree.sh" || exit 1
}

case "$cmd" in
root)
	"$H/root.sh" || exit 1
	;;
tree)
	prepare
	;;
kernel)
	check_core "$CORE"
	prepare
	"$H/build.sh" "$CORE" || exit 1
	;;
builddir)
	check_core "$CORE"
	kbuild_tree
	;;
run)
	stage "make run: the Rust-core kernel with a demonstration through C drivers"
	prepare
	"$H/build.sh" rust || exit 1
	"$H/userspace.sh" rust || exit 1
	rm -rf "$OUT/run"
	"$H/boot.sh" rust run || exit 1
	[ -f "$OUT/run/demo.txt" ] || die "the demo wrote nothing; console: $OUT/console-rust-run.log"
	stage "demonstration (guest output, also in $OUT/run/demo.txt):"
	cat "$OUT/run/demo.txt"
	grep -q '^exit status 0$' "$OUT/run/demo.txt" || die "the demonstration failed"
	;;
test)
	stage "make test: both cores, every suite"
	prepare
	rm -rf "$OUT/results"
	mkdir -p "$OUT/results"
	source_id >"$OUT/results/source-id"
	# The compile-fail checks build against the Rust core's tree: the API they check is the
	# same in both (tests/manifest.toml).
	build_all
	boot_both test
	stage "results"
	collect "$OUT" || exit 1
	# The verdict itself: broken copies of these green results must each fail, cause named.
	stage "results: the verdict fails where a run goes wrong (harness/collect_selfcheck.py)"
	in_root python3 "$H/collect_selfcheck.py" "$OUT" "$KSRC/tools/testing/kunit/kunit.py" ||
		die "the collector passed a broken run (see above)"
	;;
stress)
	# Longer than make test, and not part of it: the fault sweeps, the KUnit stress cases and
	# the storm scenarios for STRESS_SECONDS each and the fuzzer for FUZZ_OPS operations with each of four seeds, on
	# both cores, collected against tests/stress-manifest.toml, with a table of figures.
	stage "make stress: faults, stress and fuzz on both cores"
	prepare
	build_all
	rm -rf "$OUT/stress"
	KERNEL_CMDLINE="${KERNEL_CMDLINE:-} DMABUF_RS_STRESS_SECONDS=${STRESS_SECONDS:-60}
 DMABUF_RS_FUZZ_OPS=${FUZZ_OPS:-250000}" \
		BOOT_TIMEOUT=${BOOT_TIMEOUT:-7200} boot_both stress
	stage "results"
	collect "$OUT" --job stress --manifest "$TOP/tests/stress-manifest.toml" || exit 1
	;;
bench)
	# Not part of make test: both cores built as a distribution builds its kernel, in a tree
	# of their own, with the bench module and program; then harness/bench.sh boots them.
	stage "make bench: the Rust core against the C core, operation by operation"
	prepare
	export FLAVOUR=bench
	"$H/build.sh" c || exit 1
	"$H/build.sh" rust || exit 1
	"$H/test_modules.sh" rust || exit 1
	run_logged "$LOGS/bench-headers.log" in_root make -C "$KSRC" O="$(kbuild_tree)" \
		LLVM="$LLVM" headers
	run_logged "$LOGS/bench-user-build.log" in_root "$(host_cc)" -O2 -static -Wall -Wextra \
		-Werror -isystem "$(kbuild_tree)/usr/include" \
		-o "$(testmods_dir)/bench/dmabuf_bench_user" "$TOP/tests/bench/dmabuf_bench_user.c"
	# The BPF buffer iterator and its check (tests/bpf/), which the bench boots run: the
	# bench kernels are the ones with BTF.
	mkdir -p "$(testmods_dir)/bpf"
	run_logged "$LOGS/bench-bpf-prog.log" in_root "$(host_cc)" --target=bpf -O2 -g -Wall \
		-Werror -isystem "$(kbuild_tree)/usr/include" -c -o "$(testmods_dir)/bpf/dmabuf_iter.bpf.o" \
		"$TOP/tests/bpf/dmabuf_iter.bpf.c"
	run_logged "$LOGS/bench-bpf-build.log" in_root "$(host_cc)" -O2 -static -Wall -Wextra \
		-Werror -isystem "$(kbuild_tree)/usr/include" \
		-o "$(testmods_dir)/bpf/dmabuf_bpf_iter" "$TOP/tests/bpf/dmabuf_bpf_iter.c"
	"$H/bench.sh" || exit 1
	;;
compile-fail)
	check_core "$CORE"
	prepare
	"$H/build.sh" "$CORE" || exit 1
	"$H/compile_fail.sh" "$CORE" || exit 1
	;;
mutation)
	prepare
	if [ -n "${ALL:-}" ]; then
		"$H/mutation.sh" --all || exit 1
	elif [ -n "${MUTATION:-}" ]; then
		"$H/mutation.sh" $MUTATION || exit 1
	else
		die "name the mutation (MUTATION=name, several with spaces) or run them all (ALL=1):
$(cd "$TOP/tests/mutations" && ls ./*.patch | sed 's|^\./|    |; s|\.patch$||')"
	fi
	;;
collect)
	collect "$OUT"
	;;
patches)
	"$H/check.sh" --patches-only || exit 1
	;;
check)
	"$H/check.sh" || exit 1
	;;
clean)
	rm -rf "$OUT" "$CACHE/build"
	note "removed $OUT and $CACHE/build (the build root and kernel tree stay; make distclean removes them)"
	;;
distclean)
	rm -rf "$OUT" "$CACHE"
	;;
*)
	die "unknown command '$cmd'"
	;;
esac
