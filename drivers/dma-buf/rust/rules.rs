// SPDX-License-Identifier: GPL-2.0

//! The dma-buf locking convention and argument checks, at run time, for C callers.
//!
//! Rust callers cannot break the convention (`kernel::dma_buf` encodes it in types); C callers
//! can, and with the C core a broken rule is a lockdep report at best and a deadlock or a
//! corrupted attachment list at worst. Each C entry point of this core checks its rule first:
//!
//! | rule broken | what the caller gets |
//! | --- | --- |
//! | a locked function (`dma_buf_pin`, `_unpin`, `_map_attachment`, `_unmap_attachment`, `_vmap`, `_vunmap`, `_invalidate_mappings`) called without the buffer's reservation lock | the warning below, then `-EINVAL` (`ERR_PTR(-EINVAL)` for a map); the `void` ones do nothing |
//! | an unlocked function (`dma_buf_attach`, `_dynamic_attach`, `_detach`, the `_unlocked` map and vmap functions, `_begin_cpu_access`, `_end_cpu_access`, `_mmap`) called with the lock held by the caller | the warning below, then `-EDEADLK` (`ERR_PTR(-EDEADLK)`); the `void` ones do nothing: a detach refused this way leaves the attachment attached |
//! | a null or error pointer, a buffer without operations, an attachment of another buffer, a vunmap of a mapping that is not the buffer's | the warning below, then `-EINVAL`, or nothing for the `void` functions |
//!
//! The warning is a kernel warning (with a backtrace that names the caller), printed once per
//! entry point and kind of misuse, after a line such as
//! `dma-buf: dma_buf_pin() called without the buffer's reservation lock held; ...`.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use kernel::{
    bindings,
    dma_buf::{DmaBuf, ExportedAttachment},
    dma_resv::Resv,
    prelude::*,
};

/// The largest errno (`MAX_ERRNO` of `include/linux/err.h`): the last 4095 addresses are
/// error pointers.
const MAX_ERRNO: usize = 4095;

/// A C entry point, with its one-time warnings.
pub(crate) struct Entry {
    name: &'static str,
    lock_warned: AtomicBool,
    arg_warned: AtomicBool,
}

impl Entry {
    /// An entry point called `name` in C.
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            lock_warned: AtomicBool::new(false),
            arg_warned: AtomicBool::new(false),
        }
    }

    #[cold]
    fn warn(&self, warned: &AtomicBool, what: core::fmt::Arguments<'_>) {
        if !warned.swap(true, Relaxed) {
            pr_err!("{}() {}\n", self.name, what);
            kernel::warn_on!(true);
        }
    }

    /// Refuses a bad argument with `EINVAL`, warning once.
    #[cold]
    pub(crate) fn bad_arg(&self, what: core::fmt::Arguments<'_>) -> Error {
        self.warn(&self.arg_warned, what);
        EINVAL
    }

    /// Returns `ptr` if it is neither null nor an error pointer.
    pub(crate) fn valid<T>(&self, what: &str, ptr: *mut T) -> Result<NonNull<T>> {
        if ptr.addr() > usize::MAX - MAX_ERRNO {
            return Err(self.bad_arg(format_args!("called with an error pointer as {what}")));
        }
        NonNull::new(ptr).ok_or_else(|| self.bad_arg(format_args!("called with a NULL {what}")))
    }

    /// Returns the buffer `ptr` points to, if it is a pointer to an exported buffer.
    ///
    /// # Safety
    ///
    /// `ptr`, unless null or an error pointer, points to a buffer referenced for `'a`: what a C
    /// caller of the entry point promises for the duration of the call.
    pub(crate) unsafe fn buffer<'a>(&self, ptr: *mut bindings::dma_buf) -> Result<&'a DmaBuf> {
        let ptr = self.valid("dmabuf", ptr)?;
        // SAFETY: The caller's guarantee.
        let buf = unsafe { DmaBuf::from_raw(ptr.as_ptr()) };
        // SAFETY: `buf` is a buffer; `ops` is set at export and never changes.
        if unsafe { (*buf.as_raw()).ops }.is_null() {
            return Err(self.bad_arg(format_args!("called with a buffer without operations")));
        }
        Ok(buf)
    }

    /// Returns the attachment `ptr` points to, if it is an attachment of an exported buffer.
    ///
    /// # Safety
    ///
    /// `ptr`, unless null or an error pointer, points to an attachment live for `'a`, made by
    /// `dma_buf_dynamic_attach()`: what a C caller promises for the duration of the call.
    pub(crate) unsafe fn attachment<'a>(
        &self,
        ptr: *mut bindings::dma_buf_attachment,
    ) -> Result<ExportedAttachment<'a>> {
        let ptr = self.valid("attachment", ptr)?;
        // SAFETY: `ptr` is a live attachment (the caller's guarantee).
        let dmabuf = unsafe { (*ptr.as_ptr()).dmabuf };
        // SAFETY: A live attachment's buffer is referenced as long as it is attached.
        unsafe { self.buffer(dmabuf) }?;
        // SAFETY: The attachment is live for `'a` and attached to an exported buffer.
        Ok(unsafe { ExportedAttachment::from_raw(ptr) })
    }

    /// Checks that the caller holds `resv`, as this entry point requires.
    ///
    /// # Errors
    ///
    /// `EINVAL` (and a one-time warning) if it does not.
    pub(crate) fn require_held(&self, resv: &Resv) -> Result {
        if resv.held_by_current() {
            return Ok(());
        }
        self.warn(
            &self.lock_warned,
            format_args!(
                "called without the buffer's reservation lock held; the dma-buf locking \
                 convention requires the caller to hold dmabuf->resv (refused with -EINVAL)"
            ),
        );
        Err(EINVAL)
    }

    /// Checks that the caller does not hold `resv`, as this entry point requires.
    ///
    /// # Errors
    ///
    /// `EDEADLK` (and a one-time warning) if it does: the function takes the lock itself, or
    /// calls exporter callbacks that may.
    pub(crate) fn require_unlocked(&self, resv: &Resv) -> Result {
        if !resv.held_by_current() {
            return Ok(());
        }
        self.warn(
            &self.lock_warned,
            format_args!(
                "called with the buffer's reservation lock held; the dma-buf locking \
                 convention requires it to be called without dmabuf->resv (refused with \
                 -EDEADLK)"
            ),
        );
        Err(EDEADLK)
    }
}
