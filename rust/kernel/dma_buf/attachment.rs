// SPDX-License-Identifier: GPL-2.0

//! The importer side: attachments, their lock and their mappings.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use super::{exporter_result, DmaBuf, VMap};
use crate::{
    bindings,
    device::Device,
    dma::DataDirection,
    dma_fence::Fence,
    dma_resv::{ResvGuard, Unlocked, Usage},
    error::from_err_ptr,
    prelude::*,
    scatterlist::SGTable,
    sync::{
        aref::ARef,
        atomic::{ordering::Relaxed, Atomic},
        ww_mutex::{Class, Lockable, Reservation},
    },
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};
use core::{marker::PhantomData, mem::ManuallyDrop, ptr::NonNull};

/// A dynamic importer: it can be told to drop its mappings while they are in use.
///
/// The exporter calls [`Importer::invalidate_mappings`] (with the reservation lock held) when
/// it moves the buffer; the importer must then stop using its mappings and map again. Dynamic
/// importers may pin the buffer instead, to keep it in place.
pub trait Importer: Send + Sync + Sized {
    /// Whether the importer can use peer-to-peer DMA (`allow_peer2peer`).
    const ALLOW_PEER2PEER: bool = false;

    /// Called when the exporter invalidates the buffer's mappings; `held` proves that the
    /// buffer's reservation lock is held.
    fn invalidate_mappings(&self, held: &ResvGuard<'_>);
}

mod private {
    pub trait Sealed {}
}

/// The kind of an attachment: [`Static`] or [`Dynamic`]; sealed.
pub trait Kind: private::Sealed {
    /// What the attachment keeps for its importer.
    type Data: Send + Sync;
}

/// A static attachment: the exporter pins the buffer for as long as it is mapped.
pub struct Static;

/// A dynamic attachment for importer `T`, told of invalidations.
pub struct Dynamic<T: Importer>(PhantomData<T>);

impl private::Sealed for Static {}
impl Kind for Static {
    type Data = ();
}

impl<T: Importer> private::Sealed for Dynamic<T> {}
impl<T: Importer> Kind for Dynamic<T> {
    type Data = Pin<KBox<T>>;
}

/// Operations table of the dynamic importer `T`.
struct ImporterOps<T: Importer>(PhantomData<T>);

impl<T: Importer> ImporterOps<T> {
    const OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: T::ALLOW_PEER2PEER,
        invalidate_mappings: Some(Self::invalidate_mappings),
    };

    /// # Safety
    ///
    /// `attach` is a dynamic attachment made by [`Attachment::new_dynamic`] for `T`, and the
    /// reservation lock of its buffer is held.
    unsafe extern "C" fn invalidate_mappings(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: `importer_priv` is the `T` that `new_dynamic` pinned, which lives until the
        // attachment is detached, after which the exporter no longer calls this.
        let importer = unsafe { &*(*attach).importer_priv.cast::<T>() };
        // SAFETY: The attachment's buffer is alive while it is attached.
        let buf = unsafe { DmaBuf::from_raw((*attach).dmabuf) };
        // Under the caller's lock, which a C caller breaking the rule may not hold: the importer
        // relies on its proof.
        buf.resv()
            .with_callers_lock("invalidate_mappings", true, |held| {
                importer.invalidate_mappings(held)
            });
    }
}

/// An attachment of a buffer to a device (`struct dma_buf_attachment`).
///
/// It keeps a reference to the buffer and detaches when dropped (`dma_buf_detach()`). The
/// operations that need the reservation lock are on [`LockedAttachment`], obtained with
/// [`Attachment::lock`] (or in a transaction, [`AcquireCtx::lock_all_resv`]), which borrows the
/// task's [`Unlocked`] capability mutably: while it is locked, none of the unlocked operations
/// can be called, on it or on any other handle.
///
/// [`AcquireCtx::lock_all_resv`]: crate::sync::ww_mutex::AcquireCtx::lock_all_resv
///
/// # Invariants
///
/// `raw` is an attachment of `buf`, made by `dma_buf_attach()` or `dma_buf_dynamic_attach()`
/// (with `data` as its importer) and not yet detached. `pins` counts the pins taken through
/// this attachment and not yet released. `data` is dropped only in `drop`, after the detach.
pub struct Attachment<K: Kind = Static> {
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: ARef<DmaBuf>,
    /// The importing device, kept alive as long as the attachment (the core and the exporter
    /// use `attach->dev` until detach).
    _dev: ARef<Device>,
    pins: Atomic<u32>,
    data: ManuallyDrop<K::Data>,
}

// SAFETY: An attachment may be used and dropped from any thread: the C functions it calls take
// the buffer's locks themselves, and its importer data is `Send + Sync`.
unsafe impl<K: Kind> Send for Attachment<K> {}

// SAFETY: The shared operations (`map_unlocked`, `buffer`, ...) are thread safe in C.
unsafe impl<K: Kind> Sync for Attachment<K> {}

impl Attachment<Static> {
    /// Attaches `dev` to `buf` as a static importer (`dma_buf_attach()`).
    ///
    /// # Errors
    ///
    /// The exporter's error, such as `EBUSY` or `ENOMEM`; `EDEADLK` if the current task holds
    /// the buffer's reservation lock after all (see [`Unlocked`]).
    pub fn new(buf: ARef<DmaBuf>, dev: &Device, _unlocked: &Unlocked) -> Result<Self> {
        buf.resv().refuse_if_held("dma_buf_attach")?;
        // SAFETY: `buf` is referenced and `dev` is a valid device; the current task does not
        // hold the reservation lock, which the call takes (checked above).
        let raw = from_err_ptr(unsafe { bindings::dma_buf_attach(buf.as_raw(), dev.as_raw()) })?;
        Self::from_parts(raw, buf, dev, ())
    }
}

impl<T: Importer> Attachment<Dynamic<T>> {
    /// Attaches `dev` to `buf` as the dynamic importer `importer` (`dma_buf_dynamic_attach()`).
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or the exporter's error; `EDEADLK` if the current task holds the buffer's
    /// reservation lock after all (see [`Unlocked`]).
    pub fn new_dynamic(
        buf: ARef<DmaBuf>,
        dev: &Device,
        importer: T,
        _unlocked: &Unlocked,
    ) -> Result<Self> {
        buf.resv().refuse_if_held("dma_buf_dynamic_attach")?;
        let data = KBox::pin(importer, GFP_KERNEL)?;
        let priv_ptr: *const T = &*data;
        // SAFETY: `buf` is referenced, `dev` is valid, the operations table is static, and the
        // importer data stays pinned until the attachment is detached (it is kept in `data`);
        // the current task does not hold the reservation lock (checked above).
        let raw = from_err_ptr(unsafe {
            bindings::dma_buf_dynamic_attach(
                buf.as_raw(),
                dev.as_raw(),
                &ImporterOps::<T>::OPS,
                priv_ptr.cast_mut().cast(),
            )
        })?;
        Self::from_parts(raw, buf, dev, data)
    }

    /// Returns the importer.
    pub fn importer(&self) -> &T {
        &self.data
    }
}

impl<K: Kind> Attachment<K> {
    fn from_parts(
        raw: *mut bindings::dma_buf_attachment,
        buf: ARef<DmaBuf>,
        dev: &Device,
        data: K::Data,
    ) -> Result<Self> {
        let raw = NonNull::new(raw).ok_or(EINVAL)?;
        // INVARIANT: `raw` was just attached to `buf` with `data` as its importer.
        Ok(Self {
            raw,
            buf,
            _dev: dev.into(),
            pins: Atomic::new(0),
            data: ManuallyDrop::new(data),
        })
    }

    /// Returns the raw attachment.
    pub fn as_raw(&self) -> *mut bindings::dma_buf_attachment {
        self.raw.as_ptr()
    }

    /// Returns the attached buffer.
    pub fn buffer(&self) -> &DmaBuf {
        &self.buf
    }

    /// Returns whether peer-to-peer DMA was agreed for this attachment.
    pub fn peer2peer(&self) -> bool {
        // SAFETY: The attachment is valid (type invariant); the field is set at attach time.
        unsafe { (*self.as_raw()).peer2peer }
    }

    /// Locks the buffer's reservation object for the operations that need it.
    ///
    /// The locked attachment borrows `unlocked` (see [`Unlocked`]) and this attachment, which
    /// therefore cannot be dropped (detached) while it is locked.
    pub fn lock<'a>(&'a self, unlocked: &'a mut Unlocked) -> LockedAttachment<'a, K> {
        LockedAttachment {
            attach: self,
            guard: self.buf.resv().lock(unlocked),
        }
    }

    /// Locks the buffer's reservation object unless a signal arrives first.
    ///
    /// # Errors
    ///
    /// `EINTR` if a signal is pending while waiting; `EDEADLK` if the current task holds the
    /// lock after all (see [`Unlocked`]).
    pub fn lock_interruptible<'a>(
        &'a self,
        unlocked: &'a mut Unlocked,
    ) -> Result<LockedAttachment<'a, K>> {
        Ok(LockedAttachment {
            attach: self,
            guard: self.buf.resv().lock_interruptible(unlocked)?,
        })
    }

    /// Maps the buffer for the device, taking the reservation lock for the call
    /// (`dma_buf_map_attachment_unlocked()`).
    ///
    /// The mapping may be kept while the buffer is locked later: if it is dropped under the
    /// lock, it is unmapped under it (`dma_buf_unmap_attachment()`).
    ///
    /// # Errors
    ///
    /// The exporter's error, such as `ENOMEM`; `EDEADLK` if the current task holds the buffer's
    /// reservation lock after all (see [`Unlocked`]).
    pub fn map_unlocked(
        &self,
        dir: DataDirection,
        _unlocked: &Unlocked,
    ) -> Result<UnlockedMapping<'_, K>> {
        self.buf
            .resv()
            .refuse_if_held("dma_buf_map_attachment_unlocked")?;
        // SAFETY: The attachment is valid (type invariant) and the current task does not hold
        // the reservation lock, which the call takes (checked above).
        let table = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment_unlocked(self.as_raw(), dir.into())
        })?;
        let table = NonNull::new(table).ok_or(ENOMEM)?;
        Ok(UnlockedMapping {
            attach: self,
            table,
            dir,
        })
    }
}

impl<K: Kind> Drop for Attachment<K> {
    fn drop(&mut self) {
        let resv = self.buf.resv();
        // The lock is held here only through another handle (this attachment's own lock borrows
        // it): through a second attachment or the buffer's reservation object. Pins are then
        // released under that lock, and the detach, which takes the lock, runs from a worker.
        let held = resv.held_by_current_checked();
        let pins = self.pins.load(Relaxed);
        if pins != 0 {
            let mut unlocked = Unlocked::new();
            // Pins left behind would keep the buffer pinned forever: release them.
            let unpin_all = |_held: &ResvGuard<'_>| {
                for _ in 0..pins {
                    // SAFETY: The attachment is valid and pinned, and the lock is held.
                    unsafe { bindings::dma_buf_unpin(self.as_raw()) };
                }
            };
            if held {
                // SAFETY: The current task holds the lock (just checked) for the call.
                unsafe { resv.with_held(unpin_all) };
            } else {
                // This is a place where the task holds no reservation lock (just checked).
                unpin_all(&resv.lock(&mut unlocked));
            }
        }
        if held {
            self.detach_later();
        } else {
            // SAFETY: The attachment was made for `buf` and is detached only here, after its
            // pins and mappings (which borrow it) are gone; the current task does not hold the
            // lock.
            unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.as_raw()) };
        }
        // SAFETY: `data` is not used again: only `drop` takes it, once. The importer hears
        // nothing more from this attachment: it is detached, or `detach_later` cut it off.
        drop(unsafe { ManuallyDrop::take(&mut self.data) });
    }
}

impl<K: Kind> Attachment<K> {
    /// The detach of an attachment dropped while the current task holds its buffer's lock
    /// (through another handle): `dma_buf_detach()` would take the lock again, so a worker
    /// calls it once the lock is free.
    ///
    /// Until then the attachment stays on the buffer's list, so an invalidation may still reach
    /// it. Its importer's callback is replaced, under the held lock under which invalidations
    /// run, by one that does nothing: the importer data can then go at once, and the worker
    /// runs no code of the importer's module, which may be gone by then.
    fn detach_later(&self) {
        let raw = self.as_raw();
        // SAFETY: The attachment is valid (type invariant). Its `importer_ops` is read under the
        // buffer's reservation lock, which the current task holds (the caller's check), or by
        // the attachment's owner, which is this function.
        unsafe {
            if !(*raw).importer_ops.is_null() {
                (*raw).importer_ops = &DETACHED_OPS;
            }
        }
        let deferred = KBox::pin_init(
            pin_init!(DeferredDetach {
                work <- new_work!("dma_buf::Attachment::detach_later"),
                raw: self.raw,
                buf: self.buf.clone(),
                _dev: self._dev.clone(),
            }),
            GFP_KERNEL,
        );
        match deferred {
            // A work item in a `KBox` is queued once: nothing to report.
            Ok(deferred) => workqueue::system().enqueue(deferred),
            // Detaching here would deadlock: leave the attachment attached for good, with the
            // references to the buffer and the device its pointers need.
            Err(_) => {
                pr_warn!("dma-buf: no memory to detach an attachment dropped under its lock\n");
                core::mem::forget(self.buf.clone());
                core::mem::forget(self._dev.clone());
            }
        }
    }
}

/// The importer operations of an attachment whose importer is gone, until it is detached.
static DETACHED_OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: false,
    invalidate_mappings: Some(detached_invalidate_mappings),
};

/// An importer that is gone has no mappings to give up.
extern "C" fn detached_invalidate_mappings(_attach: *mut bindings::dma_buf_attachment) {}

/// The detach of an [`Attachment`] dropped while its buffer's reservation lock was held: a
/// worker detaches it without the lock, holding the buffer and the device until then.
#[pin_data]
struct DeferredDetach {
    #[pin]
    work: Work<DeferredDetach>,
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: ARef<DmaBuf>,
    _dev: ARef<Device>,
}

// SAFETY: The attachment belongs to this work item alone (its `Attachment` is gone), and the
// C function it calls may run on any task; the buffer and the device are `Send`.
unsafe impl Send for DeferredDetach {}

impl_has_work! {
    impl HasWork<Self> for DeferredDetach { self.work }
}

impl WorkItem for DeferredDetach {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        // SAFETY: The attachment was made for `buf` and not detached; no one else uses it, and a
        // worker holds no reservation lock.
        unsafe { bindings::dma_buf_detach(this.buf.as_raw(), this.raw.as_ptr()) };
        // The device and the buffer go only now, after the detach.
        drop(this);
    }
}

/// An attachment whose buffer's reservation lock is held by the current task.
///
/// It gives access to the operations that require the lock, and releases the lock when
/// dropped.
#[must_use = "the lock unlocks immediately when the guard is unused"]
pub struct LockedAttachment<'a, K: Kind = Static> {
    attach: &'a Attachment<K>,
    guard: ResvGuard<'a>,
}

impl<'a, K: Kind> LockedAttachment<'a, K> {
    /// Returns the raw attachment.
    pub fn as_raw(&self) -> *mut bindings::dma_buf_attachment {
        self.attach.as_raw()
    }

    /// Returns the size of the attached buffer, in bytes.
    pub fn size(&self) -> usize {
        self.attach.buf.size()
    }

    /// Returns whether peer-to-peer DMA was agreed for this attachment.
    pub fn peer2peer(&self) -> bool {
        self.attach.peer2peer()
    }

    /// Returns the proof that the lock is held, for example to wait for or add fences.
    pub fn guard(&self) -> &ResvGuard<'a> {
        &self.guard
    }

    /// Makes room for `num_fences` more fences in the buffer's reservation object
    /// ([`ResvGuard::reserve_fences`]).
    ///
    /// (The guard is not lent mutably: swapped with the guard of another buffer locked in the
    /// same transaction, it would leave this attachment's buffer unlocked.)
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the fence list cannot grow.
    pub fn reserve_fences(&mut self, num_fences: u32) -> Result {
        self.guard.reserve_fences(num_fences)
    }

    /// Adds `fence` with `usage` to the buffer's reservation object
    /// ([`ResvGuard::add_fence`]).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the fence list cannot grow; the object is then unchanged.
    pub fn add_fence(&mut self, fence: &Fence, usage: Usage) -> Result {
        self.guard.add_fence(fence, usage)
    }

    /// Maps the buffer for the device (`dma_buf_map_attachment()`).
    ///
    /// The mapping is unmapped when the returned [`Mapping`] is dropped, which happens before
    /// the lock is released. For a static attachment the exporter pins the buffer while it is
    /// mapped, and the call waits for the buffer's kernel fences.
    ///
    /// # Errors
    ///
    /// The exporter's error, such as `ENOMEM`.
    pub fn map(&self, dir: DataDirection) -> Result<Mapping<'_, 'a, K>> {
        // SAFETY: The attachment is valid and its buffer's lock is held (type invariants).
        let table = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment(self.attach.as_raw(), dir.into())
        })?;
        let table = NonNull::new(table).ok_or(ENOMEM)?;
        Ok(Mapping {
            locked: self,
            table,
            dir,
        })
    }

    /// Maps the buffer into the kernel's address space (`dma_buf_vmap()`).
    ///
    /// # Errors
    ///
    /// `EINVAL` if the exporter cannot vmap, or its error.
    pub fn vmap(&self) -> Result<VMap<'_>> {
        // SAFETY: The buffer's lock is held for the borrow of `self`.
        unsafe { VMap::new(self.attach.buffer()) }
    }
}

impl<'a, T: Importer> LockedAttachment<'a, Dynamic<T>> {
    /// Returns the importer.
    pub fn importer(&self) -> &T {
        self.attach.importer()
    }

    /// Pins the buffer in place for this dynamic importer (`dma_buf_pin()`).
    ///
    /// Each pin is released by [`LockedAttachment::unpin`], or when the attachment is dropped.
    ///
    /// # Errors
    ///
    /// The exporter's error, such as `EBUSY` or `ENOMEM` (`EINVAL` for a positive value);
    /// `EOVERFLOW` if the attachment holds `u32::MAX` pins already.
    pub fn pin(&self) -> Result {
        let pins = self
            .attach
            .pins
            .load(Relaxed)
            .checked_add(1)
            .ok_or(EOVERFLOW)?;
        // SAFETY: The attachment is dynamic and its buffer's lock is held.
        exporter_result(unsafe { bindings::dma_buf_pin(self.attach.as_raw()) })?;
        // The count changes only under the lock, held here: no read-modify-write needed.
        self.attach.pins.store(pins, Relaxed);
        Ok(())
    }

    /// Releases a pin taken with [`LockedAttachment::pin`] (`dma_buf_unpin()`).
    ///
    /// # Errors
    ///
    /// `EINVAL` if this attachment holds no pin.
    pub fn unpin(&self) -> Result {
        let pins = self.attach.pins.load(Relaxed);
        if pins == 0 {
            return Err(EINVAL);
        }
        self.attach.pins.store(pins - 1, Relaxed);
        // SAFETY: The attachment is dynamic and pinned, and its buffer's lock is held.
        unsafe { bindings::dma_buf_unpin(self.attach.as_raw()) };
        Ok(())
    }

    /// Returns how many pins this attachment holds.
    pub fn pins(&self) -> u32 {
        self.attach.pins.load(Relaxed)
    }
}

// SAFETY: The mutex is the `struct ww_mutex` of the buffer's reservation object, which lives
// as long as the attachment's reference to the buffer; the guard unlocks it once on drop (through
// its `ResvGuard`) and is not `Send`.
unsafe impl<K: Kind> Lockable for Attachment<K> {
    type Kind = Reservation;

    type Guard<'g>
        = LockedAttachment<'g, K>
    where
        Self: 'g;

    fn as_raw(&self) -> *mut bindings::ww_mutex {
        Lockable::as_raw(self.buf.resv())
    }

    fn class(&self) -> &'static Class {
        Class::reservation()
    }

    unsafe fn assume_locked(&self) -> LockedAttachment<'_, K> {
        LockedAttachment {
            attach: self,
            // SAFETY: The caller holds the lock and hands its release to this guard.
            guard: unsafe { self.buf.resv().assume_locked() },
        }
    }
}

/// A mapping of a locked attachment (`dma_buf_map_attachment()`), unmapped on drop.
pub struct Mapping<'l, 'a, K: Kind> {
    locked: &'l LockedAttachment<'a, K>,
    table: NonNull<bindings::sg_table>,
    dir: DataDirection,
}

impl<K: Kind> Mapping<'_, '_, K> {
    /// Returns the scatter-gather table of DMA addresses for the device.
    pub fn sg_table(&self) -> &SGTable {
        // SAFETY: The table was returned by the map call and stays valid until it is unmapped
        // in `drop`.
        unsafe { SGTable::from_raw(self.table.as_ptr()) }
    }

    /// Returns the direction of the mapping.
    pub fn direction(&self) -> DataDirection {
        self.dir
    }
}

impl<K: Kind> Drop for Mapping<'_, '_, K> {
    fn drop(&mut self) {
        // SAFETY: The table was mapped for this attachment in `dir`, and the lock is held (the
        // mapping borrows the locked attachment).
        unsafe {
            bindings::dma_buf_unmap_attachment(
                self.locked.attach.as_raw(),
                self.table.as_ptr(),
                self.dir.into(),
            )
        };
    }
}

/// A mapping made without holding the lock (`dma_buf_map_attachment_unlocked()`), unmapped on
/// drop with `dma_buf_unmap_attachment_unlocked()`.
pub struct UnlockedMapping<'a, K: Kind> {
    attach: &'a Attachment<K>,
    table: NonNull<bindings::sg_table>,
    dir: DataDirection,
}

impl<K: Kind> UnlockedMapping<'_, K> {
    /// Returns the scatter-gather table of DMA addresses for the device.
    pub fn sg_table(&self) -> &SGTable {
        // SAFETY: The table was returned by the map call and stays valid until it is unmapped
        // in `drop`.
        unsafe { SGTable::from_raw(self.table.as_ptr()) }
    }
}

impl<K: Kind> Drop for UnlockedMapping<'_, K> {
    fn drop(&mut self) {
        let (attach, table, dir) = (self.attach.as_raw(), self.table.as_ptr(), self.dir.into());
        if self.attach.buf.resv().held_by_current_checked() {
            // The mapping is dropped under the lock, taken after it was made: unmap under it
            // rather than deadlock.
            // SAFETY: The table was mapped for this attachment in `dir`, and the current task
            // holds the lock.
            unsafe { bindings::dma_buf_unmap_attachment(attach, table, dir) };
        } else {
            // SAFETY: The table was mapped for this attachment in `dir`; the current task does
            // not hold the lock, which the call takes.
            unsafe { bindings::dma_buf_unmap_attachment_unlocked(attach, table, dir) };
        }
    }
}
