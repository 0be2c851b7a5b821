// SPDX-License-Identifier: GPL-2.0

//! The dma-buf core in Rust (`CONFIG_DMABUF_CORE_RUST`).
//!
//! C drivers reach it through the functions of `include/linux/dma-buf.h`, defined in [`abi`]
//! and exported from `dma-buf-exports.c`; Rust drivers through `kernel::dma_buf`, which calls
//! the same functions. Each entry point checks what a C caller can get wrong (null and error
//! pointers, the reservation lock rule of the dma-buf locking convention, see [`rules`]) and
//! then calls the typed functions of this crate, which take the same proofs as
//! `kernel::dma_buf`: a `&ResvGuard` where the lock must be held.
//!
//! Implemented here: the importer side of the core (attachments, pinning, device mappings,
//! kernel mappings, CPU access, user mappings and invalidation, with their tracepoints) and
//! the dma-buf file's operations (`file.rs`: mmap, llseek, poll, the ioctls, fdinfo). The rest
//! (export, the buffer list, the file's creation and release, debugfs) still comes from
//! `dma-buf.c`, with these compiled out of it.

/// The prefix of this crate's messages.
const __LOG_PREFIX: &[u8] = b"dma-buf\0";

pub mod abi;
mod attach;
mod cpu_access;
mod file;
mod ioctl;
mod map;
mod name;
mod ops;
mod poll;
mod rules;
mod sg_debug;
#[cfg(CONFIG_SYNC_FILE)]
mod sync_file;
mod trace;
mod vmap;
