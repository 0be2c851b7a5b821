# SPDX-License-Identifier: GPL-2.0
# dmabuf-rs: the Linux dma-buf core in Rust. See README.md.
#
#   make run                   build the Rust-core kernel, boot it, run the demonstration
#   make test                  build both cores, boot each, run every suite, print results
#   make stress                faults, concurrency and fuzz on both cores, longer (STRESS_SECONDS
#                              per stress case, FUZZ_OPS per fuzz seed), with a table of figures
#   make bench                 the cost of each dma-buf operation on both cores, built as
#                              distributions build (BENCH_BOOTS boots of each per mode of
#                              BENCH_MODES, icount and wall; BENCH_ITERS per batch; the Rust
#                              helpers inlined unless BENCH_INLINE_HELPERS=n), with a table in
#                              out/bench/report.md; each boot also checks the BPF buffer
#                              iterator against bufinfo (the bench kernels have BTF)
#   make kernel CORE=rust|c    build one kernel
#   make builddir CORE=rust|c  print its build directory (for out-of-tree modules)
#   make compile-fail CORE=..  check that the misuses in tests/compile-fail do not build
#   make patches               the patch series against Linux 7.2 in out/patches, with a cover
#                              letter (From and Signed-off-by: PATCH_FROM='Name <address>',
#                              else git's user.name and user.email)
#   make check                 rustfmt, clippy and checkpatch on the overlay; the series applied
#                              with git am to a clean 7.2 tree, built after every patch and
#                              checked with checkpatch --strict
#   make mutation MUTATION=..  break the Rust core on purpose (tests/mutations/), check that
#   make mutation ALL=1        the tests each names catch it, or all of them, with a table
#                              (needs a green make test of the same source first)
#   make clean / distclean     remove build trees and results / also the build root

CORE ?= rust
export CORE MUTATION ALL STRESS_SECONDS FUZZ_OPS BENCH_BOOTS BENCH_ITERS BENCH_MODES \
	BENCH_INLINE_HELPERS PATCH_FROM

.PHONY: run test stress bench kernel builddir compile-fail patches check mutation clean distclean root tree collect
run test stress bench kernel builddir compile-fail patches check mutation clean distclean root tree collect:
	@bash harness/main.sh $@
