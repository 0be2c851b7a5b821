// SPDX-License-Identifier: GPL-2.0

//! The attachments the dma-buf core in Rust makes (`CONFIG_DMABUF_CORE_RUST`): allocated from
//! a slab cache of their own, set up, put on their buffer's list under its reservation lock,
//! and taken off it and freed at detach.
//!
//! An attachment is a fixed-size object allocated and freed on every attach and detach: the C
//! core takes it from `kmalloc-64` with a size known at compile time (`kzalloc()` inlines the
//! cache lookup); a `KBox` goes through `krealloc()`, which finds the size class at run time
//! and frees through `krealloc(p, 0)`. A cache of its own costs neither, and the same memory:
//! its objects are the struct's 64 bytes, and the slab allocator may merge it with
//! `kmalloc-64`.

use super::{core_token::CoreToken, DmaBuf, ExportedAttachment};
use crate::{
    bindings,
    dma_resv::{ResvGuard, Unlocked},
    ffi::c_void,
    prelude::*,
};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};

/// The cache, created by [`init`] before the first export and never destroyed (the core is
/// built in).
static CACHE: AtomicPtr<bindings::kmem_cache> = AtomicPtr::new(core::ptr::null_mut());

/// Creates the cache, once, before any buffer is exported.
///
/// # Errors
///
/// `ENOMEM` if the cache cannot be created.
///
/// # Safety
///
/// Called once: the attachments of a cache are freed to it, so it is never replaced.
pub unsafe fn init() -> Result {
    let size = u32::try_from(size_of::<bindings::dma_buf_attachment>())?;
    let mut args = bindings::kmem_cache_args {
        align: u32::try_from(align_of::<bindings::dma_buf_attachment>())?,
        ..pin_init::zeroed()
    };
    // SAFETY: The name is static and NUL-terminated; `args` is valid for the call.
    let cache = unsafe {
        bindings::__kmem_cache_create_args(c"dma_buf_attachment".as_char_ptr(), size, &mut args, 0)
    };
    if cache.is_null() {
        return Err(ENOMEM);
    }
    CACHE.store(cache, Ordering::Release);
    Ok(())
}

/// A new attachment of a buffer, set up but not on the buffer's list yet, freed if dropped.
///
/// # Invariants
///
/// `raw` is an object of [`CACHE`], owned by `self`: an attachment of `buf`, whose `node` is
/// an empty list.
pub struct NewAttachment<'a> {
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: &'a DmaBuf,
}

impl<'a> NewAttachment<'a> {
    /// Returns a new attachment of `dev` to `buf`; `importer_ops` makes it dynamic and gives
    /// it its peer-to-peer wish.
    ///
    /// # Errors
    ///
    /// `ENOMEM` without memory, or before [`init`] made the cache.
    ///
    /// # Safety
    ///
    /// `dev` is a live device, `importer_ops` null or a static table, and both outlive the
    /// attachment.
    pub unsafe fn new(
        buf: &'a DmaBuf,
        dev: NonNull<bindings::device>,
        importer_ops: *const bindings::dma_buf_attach_ops,
        importer_priv: *mut c_void,
    ) -> Result<Self> {
        let cache = CACHE.load(Ordering::Acquire);
        // No export succeeds before the cache exists; a stray call does not reach the
        // allocator.
        if cache.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `cache` is the cache `init` created, whose objects have the size and the
        // alignment of an attachment.
        let raw = unsafe {
            bindings::kmem_cache_alloc_noprof(cache, bindings::GFP_KERNEL | bindings::__GFP_ZERO)
        };
        let raw = NonNull::new(raw.cast::<bindings::dma_buf_attachment>()).ok_or(ENOMEM)?;
        // SAFETY: `raw` is a new zeroed attachment (all-zero is a valid one: null pointers),
        // not shared with anyone yet; `importer_ops` is null or static (the caller's
        // guarantee).
        unsafe {
            let new = raw.as_ptr();
            bindings::INIT_LIST_HEAD(&raw mut (*new).node);
            (*new).dev = dev.as_ptr();
            (*new).dmabuf = buf.as_raw();
            if let Some(importer) = importer_ops.as_ref() {
                (*new).peer2peer = importer.allow_peer2peer;
            }
            (*new).importer_ops = importer_ops;
            (*new).importer_priv = importer_priv;
        }
        // INVARIANT: Set up above, with an empty `node`, for `buf`.
        Ok(Self { raw, buf })
    }

    /// Returns the attachment as its exporter sees it.
    pub fn as_exported(&self) -> ExportedAttachment<'_> {
        // SAFETY: The attachment is valid while `self` is borrowed (type invariant).
        unsafe { ExportedAttachment::from_raw(self.raw) }
    }

    /// Puts the attachment on its buffer's list, under the buffer's lock, which it takes
    /// (`unlocked`), and hands it over to the importer: [`free`] frees it once [`unlink`] took
    /// it off the list.
    pub fn link(self, unlocked: &mut Unlocked) -> NonNull<bindings::dma_buf_attachment> {
        let buf = self.buf;
        let raw = core::mem::ManuallyDrop::new(self).raw;
        let _held = buf.resv().lock(unlocked);
        // SAFETY: The buffer's list is initialised at export and protected by its lock, held
        // (`_held`); the attachment's node is empty (type invariant).
        unsafe {
            bindings::list_add(
                &raw mut (*raw.as_ptr()).node,
                &raw mut (*buf.as_raw()).attachments,
            )
        };
        raw
    }
}

impl Drop for NewAttachment<'_> {
    fn drop(&mut self) {
        // SAFETY: The attachment is owned by `self` and on no list (type invariant).
        unsafe { free(self.raw) };
    }
}

/// Takes `attach` off its buffer's list of attachments, under `held`, for the core (`core`),
/// which does so once per attachment, at its detach.
///
/// # Errors
///
/// `EINVAL` if `held` is not the guard of the buffer's reservation object.
pub fn unlink(attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>, _core: &CoreToken) -> Result {
    if !held.is_of(attach.buffer().resv()) {
        return Err(EINVAL);
    }
    // SAFETY: With this core, every attachment is made by `NewAttachment` and linked by
    // `link`; the core unlinks it once (`CoreToken`), so its node is on its buffer's list,
    // which the lock protects (`held`, checked above).
    unsafe { bindings::list_del(&raw mut (*attach.as_raw()).node) };
    Ok(())
}

/// Frees an attachment that [`NewAttachment::link`] returned, once [`unlink`] took it off its
/// list.
///
/// # Safety
///
/// `attach` is the attachment of a [`NewAttachment`]: returned by [`NewAttachment::link`] and
/// unlinked since, or never linked; it is not used after this call.
pub unsafe fn free(attach: NonNull<bindings::dma_buf_attachment>) {
    // SAFETY: `attach` is an object of the cache (the caller's guarantee), which `init` created
    // once, before it was allocated.
    unsafe { bindings::kmem_cache_free(CACHE.load(Ordering::Acquire), attach.as_ptr().cast()) };
}
