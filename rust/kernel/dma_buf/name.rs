// SPDX-License-Identifier: GPL-2.0

//! The name of a buffer, which userspace sets (`DMA_BUF_SET_NAME`) and fdinfo, bufinfo, the
//! trace events and `/proc/<pid>/fd` show.
//!
//! The name is a string allocated with `kmalloc()` and freed with the buffer, protected by the
//! buffer's `name_lock`: readers hold the lock while they use it, and a new name replaces the
//! old one under the lock.

use crate::{bindings, dma_buf::DmaBuf, prelude::*, sync::SpinLock};

#[cfg(CONFIG_DMABUF_CORE_RUST)]
use crate::{
    dma_buf::core_token::CoreToken,
    error::from_err_ptr,
    ffi::{c_char, c_long},
    uaccess::UserPtr,
    uapi,
};

/// Runs `f` with the name lock of `raw` held, passing it the name, if the buffer has one.
///
/// # Safety
///
/// `raw` is an exported buffer that is not freed during the call.
pub(super) unsafe fn with_name_raw<R>(
    raw: *mut bindings::dma_buf,
    f: impl FnOnce(Option<&CStr>) -> R,
) -> R {
    // SAFETY: The buffer is exported and not freed during the call (the caller's guarantee);
    // its `name_lock` is a spinlock initialised at export.
    let lock = unsafe { SpinLock::<()>::from_raw(&raw mut (*raw).name_lock) };
    let _guard = lock.lock();
    // SAFETY: The buffer is valid (above); its name is read with the lock held.
    let ptr = unsafe { (*raw).name };
    // SAFETY: With the lock held, a name is null or a NUL-terminated string that stays
    // allocated until the lock is released, after `f` returns.
    let name = (!ptr.is_null()).then(|| unsafe { CStr::from_char_ptr(ptr) });
    f(name)
}

impl DmaBuf {
    /// Runs `f` with the buffer's name lock held, passing it the name, if the buffer has one.
    ///
    /// `f` runs under a spinlock: it must not sleep, nor use the name lock again (through
    /// `with_name` or a rename), which would deadlock.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{dma_buf::DmaBuf, prelude::*};
    ///
    /// fn name_len(buf: &DmaBuf) -> usize {
    ///     buf.with_name(|name| name.map_or(0, |name| name.to_bytes().len()))
    /// }
    /// ```
    pub fn with_name<R>(&self, f: impl FnOnce(Option<&CStr>) -> R) -> R {
        // SAFETY: The buffer is exported and referenced for the borrow (type invariant).
        unsafe { with_name_raw(self.as_raw(), f) }
    }

    /// Names the buffer after the string at `user`, of at most `DMA_BUF_NAME_LEN` bytes with
    /// its NUL (`DMA_BUF_SET_NAME`, for the dma-buf core).
    ///
    /// # Errors
    ///
    /// `EFAULT` if the string cannot be read, `EINVAL` if it is too long, `ENOMEM`.
    #[cfg(CONFIG_DMABUF_CORE_RUST)]
    pub fn set_name_from_user(&self, user: UserPtr, _core: &CoreToken) -> Result {
        // CAST: 32, widened (`From` is not `const`).
        const NAME_LEN: c_long = uapi::DMA_BUF_NAME_LEN as c_long;
        // SAFETY: `strndup_user()` accepts any user address; it returns a copy allocated with
        // `kmalloc()` or an error pointer.
        let name = from_err_ptr(unsafe {
            bindings::strndup_user(user.as_const_ptr().cast::<c_char>(), NAME_LEN)
        })?;
        let raw = self.as_raw();
        // SAFETY: The buffer is exported and referenced (type invariant); its `name_lock` is a
        // spinlock initialised at export.
        let lock = unsafe { SpinLock::<()>::from_raw(&raw mut (*raw).name_lock) };
        let guard = lock.lock();
        // SAFETY: The name is replaced under its lock, which readers hold while they use it.
        let old = unsafe { core::ptr::replace(&raw mut (*raw).name, name) };
        drop(guard);
        // SAFETY: `old` is null or the previous name, allocated with `kmalloc()`, which no
        // reader can use any more: they hold the lock while they do.
        unsafe { bindings::kfree(old.cast()) };
        Ok(())
    }
}
