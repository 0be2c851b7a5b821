// SPDX-License-Identifier: GPL-2.0

//! The buffer's name, set by userspace (`DMA_BUF_SET_NAME`) and read by fdinfo, bufinfo and
//! the trace events.
//!
//! The name is a string allocated with `kmalloc()` (freed with the buffer), which
//! `dmabuf->name_lock` protects: readers hold the lock while they use it, and a new name
//! replaces the old one under the lock.

use kernel::{
    bindings,
    dma_buf::DmaBuf,
    error::from_err_ptr,
    ffi::{c_char, c_long},
    prelude::*,
    uaccess::UserPtr,
    uapi,
};

/// The longest name, with its NUL (`DMA_BUF_NAME_LEN`).
// The widening to `c_long` is lossless (`From` is not `const`).
const NAME_LEN: c_long = uapi::DMA_BUF_NAME_LEN as c_long;

/// Runs `f` with the name lock of `buf` held, passing it the name, if the buffer has one.
pub(crate) fn with_name<R>(buf: &DmaBuf, f: impl FnOnce(Option<&CStr>) -> R) -> R {
    // SAFETY: `buf` is exported (`DmaBuf` invariant).
    unsafe { with_name_raw(buf.as_raw(), f) }
}

/// As [`with_name`], for a buffer that may be unreferenced.
///
/// # Safety
///
/// `raw` is an exported buffer that is not freed during the call (its name lock and name are
/// valid).
pub(crate) unsafe fn with_name_raw<R>(
    raw: *mut bindings::dma_buf,
    f: impl FnOnce(Option<&CStr>) -> R,
) -> R {
    // SAFETY: `raw` is an exported buffer, not freed during the call (the caller's guarantee),
    // whose `name_lock` is initialised at export.
    let lock = unsafe { &raw mut (*raw).name_lock };
    // SAFETY: `lock` is valid; it is released below, on the same task.
    unsafe { bindings::spin_lock(lock) };
    // SAFETY: The buffer is exported; its name is read with the lock held.
    let ptr = unsafe { (*raw).name };
    let name = if ptr.is_null() {
        None
    } else {
        // SAFETY: With the lock held, a name is a NUL-terminated string that stays allocated
        // until the lock is released, after `f` returns.
        Some(unsafe { CStr::from_char_ptr(ptr) })
    };
    let result = f(name);
    // SAFETY: Taken above.
    unsafe { bindings::spin_unlock(lock) };
    result
}

/// Names `buf` after the string at `user`, of at most `DMA_BUF_NAME_LEN` bytes with its NUL.
///
/// # Errors
///
/// `EFAULT` if the string cannot be read, `EINVAL` if it is too long, `ENOMEM`.
pub(crate) fn set_from_user(buf: &DmaBuf, user: UserPtr) -> Result {
    // SAFETY: `strndup_user()` accepts any user address; it returns a copy allocated with
    // `kmalloc()` or an error pointer.
    let name = from_err_ptr(unsafe {
        bindings::strndup_user(user.as_const_ptr().cast::<c_char>(), NAME_LEN)
    })?;
    let raw = buf.as_raw();
    // SAFETY: `name_lock` is the initialised spinlock of an exported buffer.
    let lock = unsafe { &raw mut (*raw).name_lock };
    // SAFETY: `lock` is valid and released below. Under it, the new name replaces the old one,
    // which no reader can use after the lock is released.
    let old = unsafe {
        bindings::spin_lock(lock);
        let old = (*raw).name;
        (*raw).name = name;
        bindings::spin_unlock(lock);
        old
    };
    // SAFETY: `old` is null or the previous name, allocated with `kmalloc()` and now unused.
    unsafe { bindings::kfree(old.cast()) };
    Ok(())
}
