// SPDX-License-Identifier: GPL-2.0

//! The slab cache of attachments.
//!
//! An attachment is a fixed-size object allocated and freed on every attach and detach: the C
//! core takes it from `kmalloc-64` with a size known at compile time (`kzalloc()` inlines the
//! cache lookup); a `KBox` goes through `krealloc()`, which finds the size class at run time
//! and frees through `krealloc(p, 0)`. A cache of its own costs neither, and the same memory:
//! its objects are the struct's 64 bytes, and the slab allocator may merge it with
//! `kmalloc-64`.

use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{bindings, prelude::*};

/// The cache, created by [`init`] before the first export and never destroyed (the core is
/// built in).
static ATTACHMENTS: AtomicPtr<bindings::kmem_cache> = AtomicPtr::new(core::ptr::null_mut());

/// Creates the cache, once, before any buffer is exported.
///
/// # Errors
///
/// `ENOMEM` if the cache cannot be created.
pub(crate) fn init() -> Result {
    let size = u32::try_from(size_of::<bindings::dma_buf_attachment>())?;
    // SAFETY: All-zero arguments are the defaults (`kmem_cache_create()` with no arguments).
    let mut args: bindings::kmem_cache_args = unsafe { core::mem::zeroed() };
    args.align = u32::try_from(align_of::<bindings::dma_buf_attachment>())?;
    // SAFETY: The name is static and NUL-terminated; `args` is valid for the call.
    let cache = unsafe {
        bindings::__kmem_cache_create_args(c"dma_buf_attachment".as_char_ptr(), size, &mut args, 0)
    };
    if cache.is_null() {
        return Err(ENOMEM);
    }
    ATTACHMENTS.store(cache, Ordering::Release);
    Ok(())
}

/// Returns a new zeroed attachment (all-zero is a valid `struct dma_buf_attachment`: null
/// pointers, an unlinked node), or `None` without memory or before [`init`] made the cache.
pub(crate) fn alloc_attachment() -> Option<NonNull<bindings::dma_buf_attachment>> {
    let cache = ATTACHMENTS.load(Ordering::Acquire);
    // No export succeeds before the cache exists; a stray call does not reach the allocator.
    if cache.is_null() {
        return None;
    }
    // SAFETY: `cache` is the cache `init` created; its objects have the size and alignment of
    // an attachment.
    let new = unsafe {
        bindings::kmem_cache_alloc_noprof(cache, bindings::GFP_KERNEL | bindings::__GFP_ZERO)
    };
    NonNull::new(new.cast())
}

/// Frees an attachment of [`alloc_attachment`].
///
/// # Safety
///
/// `attach` came from [`alloc_attachment`] and is not used after this call.
pub(crate) unsafe fn free_attachment(attach: NonNull<bindings::dma_buf_attachment>) {
    // SAFETY: `attach` is an object of the cache (the caller's guarantee), created by `init`.
    unsafe {
        bindings::kmem_cache_free(ATTACHMENTS.load(Ordering::Acquire), attach.as_ptr().cast())
    };
}
