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

use super::{DmaBuf, ExportedAttachment};
use crate::{
    bindings,
    dma_resv::{ResvGuard, Unlocked},
    ffi::c_void,
    prelude::*,
    sync::aref::ARef,
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
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
    #[inline]
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
    #[inline]
    pub fn as_exported(&self) -> ExportedAttachment<'_> {
        // SAFETY: The attachment is valid while `self` is borrowed (type invariant).
        unsafe { ExportedAttachment::from_raw(self.raw) }
    }

    /// Returns the buffer the attachment is of.
    #[inline]
    pub fn buffer(&self) -> &'a DmaBuf {
        self.buf
    }

    /// Puts the attachment on its buffer's list, under the buffer's lock, which it takes
    /// (`unlocked`), and hands it over to the importer, which gives it back to detach it
    /// ([`LinkedAttachment::from_raw`]).
    #[inline]
    pub fn link(self, unlocked: &mut Unlocked) -> NonNull<bindings::dma_buf_attachment> {
        let buf = self.buf;
        let raw = ManuallyDrop::new(self).raw;
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

/// The states of an attachment that the core took back from its importer
/// ([`TakenAttachment`]).
pub trait TakenState: private::Sealed {
    /// Whether dropping the attachment in this state frees it.
    const FREE_ON_DROP: bool;
}

/// On its buffer's list: dropped, it stays there (the core unlinks it first).
pub enum Linked {}

/// Taken off its buffer's list: dropped, it is freed.
pub enum Unlinked {}

impl TakenState for Linked {
    const FREE_ON_DROP: bool = false;
}

impl TakenState for Unlinked {
    const FREE_ON_DROP: bool = true;
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Linked {}
    impl Sealed for super::Unlinked {}
}

/// An attachment that its importer gave back to be detached, on its buffer's list or taken off
/// it (`S`).
///
/// # Invariants
///
/// `raw` was returned by [`NewAttachment::link`] and is owned by `self`; it is on its
/// buffer's list if `S` is [`Linked`], and on no list if it is [`Unlinked`]; its buffer is
/// referenced for `'a`.
#[must_use = "a linked attachment is unlinked, and an unlinked one detached, before it goes"]
pub struct TakenAttachment<'a, S: TakenState> {
    raw: NonNull<bindings::dma_buf_attachment>,
    _p: PhantomData<(&'a DmaBuf, S)>,
}

/// An attachment on its buffer's list that its importer gave back, to be detached.
pub type LinkedAttachment<'a> = TakenAttachment<'a, Linked>;

/// An attachment taken off its buffer's list, freed when dropped: its exporter's `detach` is
/// called before, by the core.
pub type UnlinkedAttachment<'a> = TakenAttachment<'a, Unlinked>;

// SAFETY: The attachment is owned by `self`, on no list, so no other task reaches it; its
// buffer may be used from any task.
unsafe impl Send for UnlinkedAttachment<'_> {}

impl<'a, S: TakenState> TakenAttachment<'a, S> {
    /// Returns the attachment as its exporter sees it.
    #[inline]
    pub fn as_exported(&self) -> ExportedAttachment<'_> {
        // SAFETY: The attachment is valid while `self` is borrowed (type invariant).
        unsafe { ExportedAttachment::from_raw(self.raw) }
    }

    /// Returns the buffer the attachment is of, which outlives it.
    #[inline]
    pub fn buffer(&self) -> &'a DmaBuf {
        // SAFETY: An attachment's buffer is set at attach; it is referenced for `'a` (type
        // invariant).
        unsafe { DmaBuf::from_raw((*self.raw.as_ptr()).dmabuf) }
    }

    /// Returns the attachment in state `T` with a buffer referenced for `'b`, which the caller
    /// made true.
    #[inline]
    fn into_state<'b, T: TakenState>(self) -> TakenAttachment<'b, T> {
        TakenAttachment {
            raw: ManuallyDrop::new(self).raw,
            _p: PhantomData,
        }
    }
}

impl<'a> LinkedAttachment<'a> {
    /// Takes back an attachment from its importer (`dma_buf_detach()`).
    ///
    /// # Safety
    ///
    /// `raw` was returned by [`NewAttachment::link`] and not taken back since; the importer
    /// gives it up (does not use it after this call), and its buffer is referenced for `'a`.
    #[inline]
    pub unsafe fn from_raw(raw: NonNull<bindings::dma_buf_attachment>) -> Self {
        // INVARIANT: Linked, given up and with a referenced buffer (the caller's guarantee).
        Self {
            raw,
            _p: PhantomData,
        }
    }

    /// Takes the attachment off its buffer's list, under `held`, the guard of the buffer's
    /// lock, which protects the list.
    ///
    /// # Errors
    ///
    /// The attachment itself, still linked, if `held` is not the guard of its buffer's lock.
    #[inline]
    pub fn unlink(self, held: &ResvGuard<'_>) -> Result<UnlinkedAttachment<'a>, Self> {
        if !held.is_of(self.buffer().resv()) {
            return Err(self);
        }
        // SAFETY: The attachment is on its buffer's list (type invariant), which the lock
        // protects (`held`, checked above).
        unsafe { bindings::list_del(&raw mut (*self.raw.as_ptr()).node) };
        // INVARIANT: Off the list now, with the same buffer.
        Ok(self.into_state())
    }
}

impl UnlinkedAttachment<'_> {
    /// Returns the attachment with a reference to its buffer, so that it can outlive the
    /// borrow of the buffer (a detach finished from a worker).
    pub fn into_owned(self) -> OwnedUnlinkedAttachment {
        let buf = ARef::from(self.buffer());
        // INVARIANT: The buffer is referenced by `buf`, which `OwnedUnlinkedAttachment` drops
        // after the attachment.
        OwnedUnlinkedAttachment {
            attach: self.into_state(),
            _buf: buf,
        }
    }
}

impl<S: TakenState> Drop for TakenAttachment<'_, S> {
    fn drop(&mut self) {
        if S::FREE_ON_DROP {
            // SAFETY: The attachment is owned by `self` and, unlinked, on no list (type
            // invariant).
            unsafe { free(self.raw) };
        }
    }
}

/// An attachment taken off its buffer's list with a reference to its buffer
/// ([`UnlinkedAttachment::into_owned`]).
pub struct OwnedUnlinkedAttachment {
    // Dropped before the buffer's reference, which keeps the buffer alive for it.
    attach: UnlinkedAttachment<'static>,
    _buf: ARef<DmaBuf>,
}

impl OwnedUnlinkedAttachment {
    /// Calls `f` with the attachment, and drops the reference to its buffer once `f` has
    /// dropped the attachment.
    pub fn with<R>(self, f: impl FnOnce(UnlinkedAttachment<'_>) -> R) -> R {
        let Self { attach, _buf } = self;
        f(attach)
    }
}

/// Frees an attachment of a [`NewAttachment`], on no list.
///
/// # Safety
///
/// `attach` was allocated by [`NewAttachment::new`], is on no list and is not used after this
/// call.
#[inline]
unsafe fn free(attach: NonNull<bindings::dma_buf_attachment>) {
    // SAFETY: `attach` is an object of the cache (the caller's guarantee), which `init` created
    // once, before it was allocated.
    unsafe { bindings::kmem_cache_free(CACHE.load(Ordering::Acquire), attach.as_ptr().cast()) };
}
