#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# exports.sh CORE: check, in the kernel tree as last built (for CORE), that the 23 functions of
# the DMA_BUF symbol namespace are exported there and defined by the object of that core:
# dma-buf.o for the C core; for the Rust core, the Rust crate for the functions it implements
# and dma-buf.o for the rest (until the Rust core replaces all of it). TAP goes to
# $OUT/results/CORE/build-exports.tap.
. "$(dirname "$0")/lib.sh"

core=$1
check_core "$core"
B=$(kbuild_tree)
RES=$OUT/results/$core
mkdir -p "$RES"
[ -f "$B/Module.symvers" ] || die "no Module.symvers in $B: build the kernel first"

rust_fns="dma_buf_dynamic_attach dma_buf_attach dma_buf_detach dma_buf_pin dma_buf_unpin
 dma_buf_map_attachment dma_buf_map_attachment_unlocked dma_buf_unmap_attachment
 dma_buf_unmap_attachment_unlocked dma_buf_attach_revocable dma_buf_invalidate_mappings
 dma_buf_begin_cpu_access dma_buf_end_cpu_access dma_buf_mmap dma_buf_vmap
 dma_buf_vmap_unlocked dma_buf_vunmap dma_buf_vunmap_unlocked"
c_fns="dma_buf_export dma_buf_fd dma_buf_fd_install dma_buf_get dma_buf_put"
rust_obj=drivers/dma-buf/rust/dma_buf_core.o
c_obj=drivers/dma-buf/dma-buf.o

defined() { # OBJECT: the functions it defines
	[ -f "$B/$1" ] && in_root llvm-nm --defined-only "$B/$1" | awk '$2 == "T" { print $3 }'
}
rust_defs=$(defined $rust_obj)
c_defs=$(defined $c_obj)

stage "exports: the DMA_BUF namespace of the $core kernel"
tap=$RES/build-exports.tap
n=0 failed=0
{
	echo "TAP version 13"
	echo "1..23"
} >"$tap"
for fn in $rust_fns $c_fns; do
	n=$((n + 1))
	want=$c_obj
	[ "$core" = rust ] && [[ " $(echo $rust_fns) " == *" $fn "* ]] && want=$rust_obj
	if ! awk -v f="$fn" '$2 == f && $4 == "EXPORT_SYMBOL_GPL" && $5 == "DMA_BUF" { ok = 1 }
		END { exit !ok }' "$B/Module.symvers"; then
		result="not ok" why="not exported with EXPORT_SYMBOL_NS_GPL in DMA_BUF"
	elif [ "$want" = $rust_obj ] && ! grep -qx "$fn" <<<"$rust_defs"; then
		result="not ok" why="not defined by $rust_obj"
	elif [ "$want" = $rust_obj ] && grep -qx "$fn" <<<"$c_defs"; then
		result="not ok" why="still defined by $c_obj too"
	elif [ "$want" = $c_obj ] && ! grep -qx "$fn" <<<"$c_defs"; then
		result="not ok" why="not defined by $c_obj"
	else
		result=ok why="exported in DMA_BUF, defined by $want"
	fi
	[ "$result" = ok ] || failed=$((failed + 1))
	printf '%s %d %s\n# %s\n' "$result" "$n" "$fn" "$why" >>"$tap"
done
note "$((n - failed))/$n DMA_BUF exports as expected (TAP: $tap)"
