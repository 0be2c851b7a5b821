// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of the Rust dma-buf core.
 *
 * The entry points are defined in Rust (abi.rs, with the prototypes of
 * <linux/dma-buf.h>, checked against them at build time) and exported here in
 * the DMA_BUF namespace, as dma-buf.c does for the C core, so that modules
 * built for either core load on both.
 */

#include <linux/dma-buf.h>
#include <linux/export.h>

/* The functions are defined in Rust; this only exports them. */
#define DMA_BUF_RUST_EXPORT(sym) EXPORT_SYMBOL_NS_GPL(sym, "DMA_BUF")

DMA_BUF_RUST_EXPORT(dma_buf_export);
DMA_BUF_RUST_EXPORT(dma_buf_fd);
DMA_BUF_RUST_EXPORT(dma_buf_fd_install);
DMA_BUF_RUST_EXPORT(dma_buf_get);
DMA_BUF_RUST_EXPORT(dma_buf_put);

DMA_BUF_RUST_EXPORT(dma_buf_dynamic_attach);
DMA_BUF_RUST_EXPORT(dma_buf_attach);
DMA_BUF_RUST_EXPORT(dma_buf_detach);
DMA_BUF_RUST_EXPORT(dma_buf_pin);
DMA_BUF_RUST_EXPORT(dma_buf_unpin);
DMA_BUF_RUST_EXPORT(dma_buf_map_attachment);
DMA_BUF_RUST_EXPORT(dma_buf_map_attachment_unlocked);
DMA_BUF_RUST_EXPORT(dma_buf_unmap_attachment);
DMA_BUF_RUST_EXPORT(dma_buf_unmap_attachment_unlocked);
DMA_BUF_RUST_EXPORT(dma_buf_attach_revocable);
DMA_BUF_RUST_EXPORT(dma_buf_invalidate_mappings);
DMA_BUF_RUST_EXPORT(dma_buf_begin_cpu_access);
DMA_BUF_RUST_EXPORT(dma_buf_end_cpu_access);
DMA_BUF_RUST_EXPORT(dma_buf_mmap);
DMA_BUF_RUST_EXPORT(dma_buf_vmap);
DMA_BUF_RUST_EXPORT(dma_buf_vmap_unlocked);
DMA_BUF_RUST_EXPORT(dma_buf_vunmap);
DMA_BUF_RUST_EXPORT(dma_buf_vunmap_unlocked);
