// SPDX-License-Identifier: GPL-2.0

//! Export and lifetime of a buffer: `dma_buf_export()` makes the buffer and its file; the
//! file's references are the buffer's (`dma_buf_fd()`, `dma_buf_get()`, `dma_buf_put()`);
//! when the last goes, the file is released, which takes the buffer off the list, and then
//! its dentry, which releases the buffer.

use crate::{abi::fs, trace::trace};
use core::ptr::NonNull;
use kernel::{
    bindings,
    dma_buf::{core_buffer::NewBuffer, DmaBuf},
    ffi::c_int,
    fs::file::{File, FileDescriptorReservation, LocalFile},
    prelude::*,
    sync::aref::ARef,
};

/// Exports `new` (`dma_buf_export()`): makes its file with the access mode and non-blocking
/// flag of `flags`, and publishes it, with one reference for the caller.
///
/// # Errors
///
/// `ENOMEM`, or another error of making the file; `new` is then freed.
pub(crate) fn export(new: NewBuffer, flags: c_int) -> Result<ARef<DmaBuf>> {
    let file = fs::NewFile::new(new.size(), flags)?;
    let buf = file.publish(new, &mut crate::abi::BUFFERS.lock());
    trace!(dma_buf_export(&buf));
    Ok(buf)
}

/// Reserves a file descriptor with `flags` for [`install`] (`dma_buf_fd()`).
///
/// # Errors
///
/// `EMFILE` without a free descriptor, or another error of `get_unused_fd_flags()`.
pub(crate) fn reserve_fd(flags: c_int) -> Result<FileDescriptorReservation> {
    // CAST: The open flags, as `get_unused_fd_flags()` takes them; a negative value has high
    // bits that it refuses, as in C.
    FileDescriptorReservation::get_unused_fd_flags(flags as u32)
}

/// Installs `buf` at the descriptor `fd` reserved; the descriptor takes the reference over.
pub(crate) fn install(buf: ARef<DmaBuf>, fd: FileDescriptorReservation) -> c_int {
    // CAST: A reserved descriptor is a non-negative `int`.
    let raw = fd.reserved_fd() as c_int;
    fd.fd_install(file_for_fd(buf, raw));
    raw
}

/// Returns the file of `buf` for the descriptor `fd`, which takes the reference over
/// (`dma_buf_fd()`, `dma_buf_fd_install()`).
pub(crate) fn file_for_fd(buf: ARef<DmaBuf>, fd: c_int) -> ARef<File> {
    trace!(dma_buf_fd(&buf, fd));
    DmaBuf::into_file(buf)
}

/// Returns the buffer of the file at `fd`, with a new reference (`dma_buf_get()`).
///
/// # Errors
///
/// `EBADF` if `fd` is not open, `EINVAL` if it is not a dma-buf.
pub(crate) fn get(fd: c_int) -> Result<NonNull<bindings::dma_buf>> {
    // CAST: A negative `fd` becomes a large one, which `fget()` refuses, as in C.
    let file = LocalFile::fget(fd as u32)?;
    // Not a dma-buf: the reference is dropped with `file`.
    let buf = crate::abi::file::buffer_of(&file).ok_or(EINVAL)?;
    trace!(dma_buf_get(buf, fd));
    let buf = NonNull::from(buf).cast();
    // The file's reference is the buffer's, which the caller takes over.
    let _ = ARef::into_raw(file);
    Ok(buf)
}

/// Drops a reference to `buf` (`dma_buf_put()`).
pub(crate) fn put(buf: ARef<DmaBuf>) {
    trace!(dma_buf_put(&buf));
    drop(DmaBuf::into_file(buf));
}
