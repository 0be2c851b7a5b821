// SPDX-License-Identifier: GPL-2.0

//! The dma-buf core in Rust (`CONFIG_DMABUF_CORE_RUST`).
//!
//! C drivers reach it through the functions of `include/linux/dma-buf.h`, defined in [`abi`]
//! and exported from `dma-buf-exports.c`; Rust drivers through `kernel::dma_buf`, which calls
//! the same functions. Each entry point checks what a C caller can get wrong (null and error
//! pointers, the reservation lock rule of the dma-buf locking convention, see `abi/rules.rs`)
//! and then calls the typed functions of this crate, which take the same proofs as
//! `kernel::dma_buf`: a `&ResvGuard` where the lock must be held. [`abi`] also holds the
//! callbacks the VFS and debugfs call (`abi/file.rs`, `abi/fs.rs`, `abi/debugfs.rs`): it is
//! the crate's C-ABI adapter, and the modules outside it are safe code over the abstractions
//! of `kernel::dma_buf`, but for the few `unsafe` blocks that say why none fits.
//!
//! Everything of the core is here: export and the buffers' lifetime (`export.rs`), their
//! files and the `dmabuf` filesystem (mmap, llseek, poll, the ioctls, fdinfo), the list of
//! all buffers and debugfs, and the importer side (attachments, pinning, device mappings,
//! kernel mappings, CPU access, user mappings and invalidation).
//! `dma-buf-core.c` defines the trace events and makes [`abi::dma_buf_core_init`] an
//! initcall; `dma-buf.c` is not built.

/// The prefix of this crate's messages.
const __LOG_PREFIX: &[u8] = b"dma-buf\0";

pub mod abi;
mod attach;
mod cpu_access;
mod export;
mod ioctl;
mod map;
mod poll;
mod sg_debug;
#[cfg(CONFIG_SYNC_FILE)]
mod sync_file;
mod trace;
mod vmap;
