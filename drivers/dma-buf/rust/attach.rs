// SPDX-License-Identifier: GPL-2.0

//! Attachments: attach, detach, pin, unpin and invalidation.
//!
//! A buffer's attachments are on its `attachments` list, which its reservation lock protects.

use crate::{
    ops::{self, ExporterOps},
    trace::trace,
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    dma_buf::{
        core_attachment::{self, NewAttachment},
        DmaBuf, ExportedAttachment,
    },
    dma_resv::{ResvGuard, Unlocked},
    ffi::{c_int, c_void},
    prelude::*,
    sync::aref::ARef,
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Attaches `dev` to `buf` (`dma_buf_dynamic_attach()`), unlocked.
///
/// `importer_ops` makes the attachment dynamic and gives it its peer-to-peer wish.
///
/// # Safety
///
/// `dev` is a live device, `importer_ops` null or static, and both outlive the attachment.
pub(crate) unsafe fn attach(
    buf: &DmaBuf,
    dev: NonNull<bindings::device>,
    importer_ops: *const bindings::dma_buf_attach_ops,
    importer_priv: *mut c_void,
) -> Result<NonNull<bindings::dma_buf_attachment>> {
    let ops = ExporterOps::of(buf).ok_or(EINVAL)?;
    // SAFETY: `dev` and `importer_ops` are as `NewAttachment::new` needs (the caller's
    // guarantee).
    let new = unsafe { NewAttachment::new(buf, dev, importer_ops, importer_priv) }?;
    // A refused attachment is freed with `new`.
    ops.attach(&new.as_exported())?;
    let dynamic = new.as_exported().is_dynamic();
    // The caller does not hold the lock (the entry point refused it otherwise).
    let raw = new.link(&mut Unlocked::new());
    trace!(dma_buf_dynamic_attach(
        buf,
        raw.as_ptr(),
        dynamic,
        dev.as_ptr()
    ));
    Ok(raw)
}

/// Detaches `attach` from its buffer and frees it (`dma_buf_detach()`).
///
/// Unlocked: the lock is taken to take the attachment off the buffer's list, then the
/// exporter's `detach` runs without it. If `lock_held`, the caller holds the lock against the
/// convention (where the C core deadlocks): the attachment leaves the list under the caller's
/// lock at once, so that no invalidation or `bufinfo` reaches it once this returns, and the
/// exporter's `detach`, which may take the lock (DRM's unpins under it), runs from a worker,
/// which frees the attachment after it; the worker holds references to the buffer and the
/// device until then.
///
/// # Safety
///
/// `attach` was returned by [`attach`] and is not used after this call; if `lock_held`, the
/// current task holds the buffer's reservation lock.
pub(crate) unsafe fn detach(attach: ExportedAttachment<'_>, lock_held: bool) {
    let buf = attach.buffer();
    if !lock_held {
        unlink(&attach, &buf.resv().lock(&mut Unlocked::new()));
        // SAFETY: Off the list; the caller gives the attachment up.
        unsafe { finish_detach(attach) };
        return;
    }
    // SAFETY: The current task holds the lock (the caller's guarantee) for the call.
    unsafe { buf.resv().with_held(|held| unlink(&attach, held)) };
    // An attachment's address is never null (its invariant).
    let Some(raw) = NonNull::new(attach.as_raw()) else {
        return;
    };
    let (buf, dev): (ARef<DmaBuf>, ARef<Device>) = (buf.into(), attach.device().into());
    let deferred = KBox::pin_init(
        pin_init!(DeferredDetach {
            work <- new_work!("dma_buf_detach (deferred)"),
            raw,
            _buf: buf,
            _dev: dev,
        }),
        GFP_KERNEL,
    );
    match deferred {
        // A work item in a `KBox` is queued once: nothing to tell the caller.
        Ok(deferred) => workqueue::system().enqueue(deferred),
        // Without memory for the work item, as the C core would: the exporter's `detach` may
        // then deadlock on the caller's lock; the attachment is off the list either way.
        // SAFETY: Off the list; the caller gives the attachment up.
        Err(_) => unsafe { finish_detach(attach) },
    }
}

/// An attachment off its buffer's list whose exporter `detach` and freeing wait for a worker,
/// with references to the buffer and the device for them. Its own work item (and so its own
/// lockdep class, named after it) rather than a closure of `Queue::try_spawn`, whose one class
/// key is shared by every user of that function under different name strings, which lockdep
/// reports as a corrupted class.
#[pin_data]
struct DeferredDetach {
    #[pin]
    work: Work<DeferredDetach>,
    raw: NonNull<bindings::dma_buf_attachment>,
    _buf: ARef<DmaBuf>,
    _dev: ARef<Device>,
}

// SAFETY: The attachment is no one else's any more: its importer gave it up and it is off its
// buffer's list; the buffer and the device may be referenced from any task.
unsafe impl Send for DeferredDetach {}

impl_has_work! {
    impl HasWork<Self> for DeferredDetach { self.work }
}

impl WorkItem for DeferredDetach {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        // SAFETY: The attachment is off its list and given up by its importer; `this` keeps
        // its buffer and device alive until after this.
        unsafe { finish_detach(ExportedAttachment::from_raw(this.raw)) };
        drop(this);
    }
}

/// Takes `attach` off its buffer's list of attachments, under `held`, the lock of its buffer.
fn unlink(attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) {
    // The callers pass the guard of the attachment's buffer.
    kernel::warn_on!(core_attachment::unlink(attach, held, &crate::abi::CORE).is_err());
}

/// The rest of a detach once `attach` is off its buffer's list: the exporter's `detach`,
/// without the lock, then the attachment is freed.
///
/// # Safety
///
/// `attach` was returned by [`attach`], is off its buffer's list and is not used after this
/// call.
unsafe fn finish_detach(attach: ExportedAttachment<'_>) {
    let buf = attach.buffer();
    if let Some(ops) = ExporterOps::of(buf) {
        ops.detach(&attach);
    }
    trace!(dma_buf_detach(
        buf,
        attach.as_raw(),
        attach.is_dynamic(),
        attach.device_raw()
    ));
    // An attachment's address is never null (its invariant).
    if let Some(raw) = NonNull::new(attach.as_raw()) {
        // SAFETY: `attach` came from `NewAttachment` in `attach()`; it is off the list and the
        // caller does not use it again.
        unsafe { core_attachment::free(raw) };
    }
}

/// Pins the buffer for `attach` (`dma_buf_pin()`), locked: 0, or the exporter's nonzero
/// result as it is.
#[inline]
pub(crate) fn pin(attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) -> c_int {
    // As the C core: only dynamic importers pin; warn, but let the exporter decide.
    kernel::warn_on!(!attach.is_dynamic());
    ExporterOps::of_attached(attach).pin(attach, held)
}

/// Releases a pin of `attach` (`dma_buf_unpin()`), locked.
#[inline]
pub(crate) fn unpin(attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) {
    kernel::warn_on!(!attach.is_dynamic());
    ExporterOps::of_attached(attach).unpin(attach, held);
}

/// Tells every importer of `buf` that wants to know that its mappings are invalid
/// (`dma_buf_invalidate_mappings()`), locked.
pub(crate) fn invalidate_mappings(buf: &DmaBuf, held: &ResvGuard<'_>) {
    // The callers hold the lock of `buf`: no other task changes the list while it is walked.
    // An importer's callback that detaches another attachment of `buf` from here (the C core
    // deadlocks there; this core detaches under the caller's lock) unlinks a node the walk may
    // already stand on: not handled yet.
    let Ok(attachments) = buf.attachments(held) else {
        kernel::warn_on!(true);
        return;
    };
    for attach in attachments {
        ops::invalidate(&attach, held);
    }
}
