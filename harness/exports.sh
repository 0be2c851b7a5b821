#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# exports.sh CORE: check, in the kernel tree as last built (for CORE), that the 23 functions of
# the DMA_BUF symbol namespace are exported there and defined by the object of that core:
# dma-buf.o for the C core, the Rust crate for the Rust core; and that the Rust core's kernel
# links no dma-buf.o (and the C core's does). TAP goes to $OUT/results/CORE/build-exports.tap.
. "$(dirname "$0")/lib.sh"

core=$1
check_core "$core"
B=$(kbuild_tree)
RES=$OUT/results/$core
mkdir -p "$RES"
[ -f "$B/Module.symvers" ] || die "no Module.symvers in $B: build the kernel first"

fns="dma_buf_export dma_buf_fd dma_buf_fd_install dma_buf_get dma_buf_put
 dma_buf_dynamic_attach dma_buf_attach dma_buf_detach dma_buf_pin dma_buf_unpin
 dma_buf_map_attachment dma_buf_map_attachment_unlocked dma_buf_unmap_attachment
 dma_buf_unmap_attachment_unlocked dma_buf_attach_revocable dma_buf_invalidate_mappings
 dma_buf_begin_cpu_access dma_buf_end_cpu_access dma_buf_mmap dma_buf_vmap
 dma_buf_vmap_unlocked dma_buf_vunmap dma_buf_vunmap_unlocked"
rust_obj=drivers/dma-buf/rust/dma_buf_core.o
c_obj=drivers/dma-buf/dma-buf.o
want=$c_obj other=$rust_obj
[ "$core" = rust ] && want=$rust_obj other=$c_obj

defined() { # OBJECT: the functions it defines
	[ -f "$B/$1" ] && in_root llvm-nm --defined-only "$B/$1" | awk '$2 == "T" { print $3 }'
}
# Both cores share the build tree, so the other core's object may be there, stale: what the
# kernel links is what drivers/dma-buf/built-in.a lists (a thin archive of absolute paths).
linked() { # OBJECT: whether it is part of the built kernel
	in_root llvm-ar t "$B/drivers/dma-buf/built-in.a" 2>/dev/null | grep -qx "$B/$1"
}
want_defs=$(defined $want)
other_defs=
linked $other && other_defs=$(defined $other)

stage "exports: the DMA_BUF namespace of the $core kernel"
tap=$RES/build-exports.tap
n=0 failed=0
{
	echo "TAP version 13"
	echo "1..24"
} >"$tap"
for fn in $fns; do
	n=$((n + 1))
	if ! awk -v f="$fn" '$2 == f && $4 == "EXPORT_SYMBOL_GPL" && $5 == "DMA_BUF" { ok = 1 }
		END { exit !ok }' "$B/Module.symvers"; then
		result="not ok" why="not exported with EXPORT_SYMBOL_NS_GPL in DMA_BUF"
	elif ! grep -qx "$fn" <<<"$want_defs"; then
		result="not ok" why="not defined by $want"
	elif grep -qx "$fn" <<<"$other_defs"; then
		result="not ok" why="also defined by $other, which is linked too"
	else
		result=ok why="exported in DMA_BUF, defined by $want"
	fi
	[ "$result" = ok ] || failed=$((failed + 1))
	printf '%s %d %s\n# %s\n' "$result" "$n" "$fn" "$why" >>"$tap"
done
# The same name on both cores: only the core's own object is linked.
n=$((n + 1))
if linked $want && ! linked $other; then
	result=ok why="$want is linked, $other is not"
else
	result="not ok" why="linked: $(in_root llvm-ar t "$B/drivers/dma-buf/built-in.a" | grep -E '/(dma-buf|dma_buf_core)\.o$' | tr '\n' ' ')"
	failed=$((failed + 1))
fi
printf '%s %d %s\n# %s\n' "$result" "$n" "only the core's object is linked" "$why" >>"$tap"
note "$((n - failed))/$n DMA_BUF exports as expected (TAP: $tap)"
