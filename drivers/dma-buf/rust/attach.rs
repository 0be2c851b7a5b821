// SPDX-License-Identifier: GPL-2.0

//! Attachments: attach, detach, pin, unpin and invalidation.
//!
//! A buffer's attachments are on its `attachments` list, which its reservation lock protects.

use crate::{abi::CORE, trace::trace};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    dma_buf::{
        core_attachment::{
            LinkedAttachment, NewAttachment, OwnedUnlinkedAttachment, UnlinkedAttachment,
        },
        core_ops::{self, ExporterOps},
        DmaBuf, ExportedAttachment,
    },
    dma_resv::{ResvGuard, Unlocked},
    ffi::c_int,
    prelude::*,
    sync::aref::ARef,
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Attaches `new` to its buffer (`dma_buf_dynamic_attach()`), unlocked: the exporter's
/// `attach`, then the attachment goes on the buffer's list, and to the importer.
///
/// # Errors
///
/// The exporter's error; `new` is then freed.
#[inline]
pub(crate) fn attach(new: NewAttachment<'_>) -> Result<NonNull<bindings::dma_buf_attachment>> {
    let buf = new.buffer();
    let ops = ExporterOps::of(buf, &CORE).ok_or(EINVAL)?;
    // A refused attachment is freed with `new`.
    ops.attach(&new)?;
    let (dynamic, dev) = {
        let exported = new.as_exported();
        (exported.is_dynamic(), exported.device_raw())
    };
    // The caller does not hold the lock (the entry point refused it otherwise).
    let raw = new.link(&mut Unlocked::new());
    trace!(dma_buf_dynamic_attach(buf, raw.as_ptr(), dynamic, dev));
    Ok(raw)
}

/// Detaches `attach` from its buffer and frees it (`dma_buf_detach()`), unlocked: the lock is
/// taken to take the attachment off the buffer's list, then the exporter's `detach` runs
/// without it.
#[inline]
pub(crate) fn detach(attach: LinkedAttachment<'_>) {
    let buf = attach.buffer();
    // The guard goes at the end of the statement: the exporter's `detach` runs unlocked.
    let unlinked = unlink(attach, &buf.resv().lock(&mut Unlocked::new()));
    if let Some(unlinked) = unlinked {
        finish_detach(unlinked);
    }
}

/// [`detach`] where the caller holds the lock, `held`, against the convention (where the C
/// core deadlocks): the attachment leaves the list under the caller's lock at once, so that no
/// invalidation or `bufinfo` reaches it once this returns, and the exporter's `detach`, which
/// may take the lock (DRM's unpins under it), runs from a worker, which frees the attachment
/// after it; the worker holds references to the buffer and the device until then.
#[cold]
pub(crate) fn detach_held(attach: LinkedAttachment<'_>, held: &ResvGuard<'_>) {
    let Some(unlinked) = unlink(attach, held) else {
        return;
    };
    let dev: ARef<Device> = unlinked.as_exported().device().into();
    let deferred = KBox::pin_init(
        pin_init!(DeferredDetach {
            work <- new_work!("dma_buf_detach (deferred)"),
            attach: None,
            _dev: dev,
        }),
        GFP_KERNEL,
    );
    match deferred {
        Ok(mut deferred) => {
            *deferred.as_mut().project().attach = Some(unlinked.into_owned());
            // A work item in a `KBox` is queued once: nothing to tell the caller.
            workqueue::system().enqueue(deferred);
        }
        // Without memory for the work item, as the C core would: the exporter's `detach` may
        // then deadlock on the caller's lock; the attachment is off the list either way.
        Err(_) => finish_detach(unlinked),
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
    attach: Option<OwnedUnlinkedAttachment>,
    _dev: ARef<Device>,
}

impl_has_work! {
    impl HasWork<Self> for DeferredDetach { self.work }
}

impl WorkItem for DeferredDetach {
    type Pointer = Pin<KBox<Self>>;

    fn run(mut this: Pin<KBox<Self>>) {
        if let Some(attach) = this.as_mut().project().attach.take() {
            attach.with(finish_detach);
        }
        drop(this);
    }
}

/// Takes `attach` off its buffer's list of attachments, under `held`, the lock of its buffer.
#[inline]
fn unlink<'a>(
    attach: LinkedAttachment<'a>,
    held: &ResvGuard<'_>,
) -> Option<UnlinkedAttachment<'a>> {
    // The callers pass the guard of the attachment's buffer.
    let unlinked = attach.unlink(held);
    kernel::warn_on!(unlinked.is_err());
    unlinked.ok()
}

/// The rest of a detach once `attach` is off its buffer's list: the exporter's `detach`,
/// without the lock, then the attachment is freed.
#[inline]
fn finish_detach(attach: UnlinkedAttachment<'_>) {
    let buf = attach.buffer();
    let exported = attach.as_exported();
    ExporterOps::of_attached(&exported, &CORE).detach(&exported);
    trace!(dma_buf_detach(
        buf,
        exported.as_raw(),
        exported.is_dynamic(),
        exported.device_raw()
    ));
}

/// Pins the buffer for `attach` (`dma_buf_pin()`), locked: 0, or the exporter's nonzero
/// result as it is.
#[inline]
pub(crate) fn pin(attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) -> c_int {
    // As the C core: only dynamic importers pin; warn, but let the exporter decide.
    kernel::warn_on!(!attach.is_dynamic());
    ExporterOps::of_attached(attach, &CORE).pin(attach, held)
}

/// Releases a pin of `attach` (`dma_buf_unpin()`), locked.
#[inline]
pub(crate) fn unpin(attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) {
    kernel::warn_on!(!attach.is_dynamic());
    ExporterOps::of_attached(attach, &CORE).unpin(attach, held);
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
        core_ops::invalidate(&attach, held, &CORE);
    }
}
