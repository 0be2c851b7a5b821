// SPDX-License-Identifier: GPL-2.0
/*
 * The C part of the Rust dma-buf core: what only C can express.
 *
 * The dma_buf trace events are defined here, with the entry points the Rust crate emits
 * them through (CREATE_RUST_TRACE_POINTS), and the core's set-up runs as a subsys
 * initcall, as the C core's does: before the drivers that export buffers.
 */

#include <linux/dma-buf.h>
#include <linux/init.h>

#define CREATE_TRACE_POINTS
#define CREATE_RUST_TRACE_POINTS
#include <trace/events/dma_buf.h>

#include "dma-buf-core.h"

subsys_initcall(dma_buf_core_init);
