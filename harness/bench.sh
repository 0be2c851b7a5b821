#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh: make bench after the build: BENCH_BOOTS boots of each core's bench kernel, per
# mode of BENCH_MODES, then harness/bench_report.py. The icount boots count instructions, which
# the host's load does not change: C and Rust boot side by side. The wall boots time the
# host's clock: one at a time, alternating C and Rust.
. "$(dirname "$0")/lib.sh"
H=$TOP/harness
export FLAVOUR=bench

# bench_boot CORE MODE RUN: one boot; its console is kept with its figures.
bench_boot() {
	local core=$1 mode=$2 run=$3 dir=$OUT/bench/$1-$2-$3
	KERNEL_CMDLINE="DMABUF_RS_BENCH_MODE=$mode DMABUF_RS_BENCH_RUN=$run
 DMABUF_RS_BENCH_ITERS=${BENCH_ITERS:-2000}" BENCH_MODE=$mode "$H/boot.sh" "$core" bench ||
		return 1
	mkdir -p "$dir"
	cp "$OUT/console-$core-bench.log" "$dir/console.log"
}

rm -rf "$OUT/bench"
mkdir -p "$OUT/bench"
for run in $(seq "${BENCH_BOOTS:-3}"); do
	for mode in ${BENCH_MODES:-icount wall}; do
		case $mode in
		icount)
			bench_boot c icount "$run" & c_boot=$!
			booted=0
			bench_boot rust icount "$run" || booted=1
			wait "$c_boot" || booted=1
			[ "$booted" = 0 ] || die "a bench boot failed (see above)"
			;;
		wall)
			bench_boot c wall "$run" || exit 1
			bench_boot rust wall "$run" || exit 1
			;;
		*)
			die "BENCH_MODES lists icount and wall, not '$mode'"
			;;
		esac
	done
done
# Which build of the Rust kernel was measured, for the report.
if grep -q '^CONFIG_RUST_INLINE_HELPERS=y$' "$(kbuild_dir rust)/config"; then
	echo y
else
	echo n
fi >"$OUT/bench/rust-inline-helpers"
stage "bench: report"
in_root python3 "$H/bench_report.py" "$OUT/bench" || exit 1
