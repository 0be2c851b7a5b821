/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C part of the Rust dma-buf core needs from the Rust crate.
 */
#ifndef _DMA_BUF_RUST_CORE_H
#define _DMA_BUF_RUST_CORE_H

/* Sets the core up: the buffer list, the dmabuf filesystem, debugfs (abi.rs). */
int dma_buf_core_init(void);

#endif /* _DMA_BUF_RUST_CORE_H */
