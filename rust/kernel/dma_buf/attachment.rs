// SPDX-License-Identifier: GPL-2.0

//! The importer side: attachments, their lock and their mappings.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use super::{DmaBuf, VMap};
use crate::{
    bindings,
    device::Device,
    dma::DataDirection,
    dma_resv::{Resv, ResvGuard},
    error::{from_err_ptr, to_result},
    prelude::*,
    scatterlist::SGTable,
    sync::{
        aref::ARef,
        atomic::{ordering::Relaxed, Atomic},
        ww_mutex::{Class, Lockable},
    },
};
use core::{marker::PhantomData, ptr::NonNull};

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
        // SAFETY: The caller holds the reservation lock.
        unsafe {
            buf.resv()
                .with_held(|held| importer.invalidate_mappings(held))
        };
    }
}

/// An attachment of a buffer to a device (`struct dma_buf_attachment`).
///
/// It keeps a reference to the buffer and detaches when dropped (`dma_buf_detach()`). The
/// operations that need the reservation lock are on [`LockedAttachment`], obtained with
/// [`Attachment::lock`] (or in a ww_mutex transaction through [`Attachment::for_lock`]), which
/// borrows the attachment mutably: while it is locked, none of the unlocked operations here
/// can be called on it.
///
/// # Invariants
///
/// `raw` is an attachment of `buf`, made by `dma_buf_attach()` or `dma_buf_dynamic_attach()`
/// (with `data` as its importer) and not yet detached. `pins` counts the pins taken through
/// this attachment and not yet released.
pub struct Attachment<K: Kind = Static> {
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: ARef<DmaBuf>,
    /// The importing device, kept alive as long as the attachment (the core and the exporter
    /// use `attach->dev` until detach).
    _dev: ARef<Device>,
    pins: Atomic<u32>,
    _data: K::Data,
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
    /// The exporter's error, such as `EBUSY` or `ENOMEM`.
    pub fn new(buf: ARef<DmaBuf>, dev: &Device) -> Result<Self> {
        // SAFETY: `buf` is referenced and `dev` is a valid device. (The call takes the
        // reservation lock: a caller holding it through another handle would deadlock, which
        // lockdep reports, but nothing is corrupted.)
        let raw = from_err_ptr(unsafe { bindings::dma_buf_attach(buf.as_raw(), dev.as_raw()) })?;
        Self::from_parts(raw, buf, dev, ())
    }
}

impl<T: Importer> Attachment<Dynamic<T>> {
    /// Attaches `dev` to `buf` as the dynamic importer `importer` (`dma_buf_dynamic_attach()`).
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or the exporter's error.
    pub fn new_dynamic(buf: ARef<DmaBuf>, dev: &Device, importer: T) -> Result<Self> {
        let data = KBox::pin(importer, GFP_KERNEL)?;
        let priv_ptr: *const T = &*data;
        // SAFETY: `buf` is referenced, `dev` is valid, the operations table is static, and the
        // importer data stays pinned until the attachment is detached (it is kept in `_data`).
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
        &self._data
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
            _data: data,
        })
    }

    /// Returns the raw attachment.
    pub fn as_raw(&self) -> *mut bindings::dma_buf_attachment {
        self.raw.as_ptr()
    }

    /// Returns the attached buffer.
    ///
    /// It borrows the attachment, so the buffer's unlocked operations cannot be reached
    /// through it while the attachment is locked.
    pub fn buffer(&self) -> &DmaBuf {
        &self.buf
    }

    /// Returns whether peer-to-peer DMA was agreed for this attachment.
    pub fn peer2peer(&self) -> bool {
        // SAFETY: The attachment is valid (type invariant); the field is set at attach time.
        unsafe { (*self.as_raw()).peer2peer }
    }

    /// Locks the buffer's reservation object for the operations that need it.
    pub fn lock(&mut self) -> LockedAttachment<'_, K> {
        let guard = self.buf.resv().lock();
        LockedAttachment {
            attach: self,
            guard,
        }
    }

    /// Locks the buffer's reservation object unless a signal arrives first.
    ///
    /// # Errors
    ///
    /// `EINTR` if a signal is pending while waiting.
    pub fn lock_interruptible(&mut self) -> Result<LockedAttachment<'_, K>> {
        let guard = self.buf.resv().lock_interruptible()?;
        Ok(LockedAttachment {
            attach: self,
            guard,
        })
    }

    /// Returns a handle to lock this attachment in a ww_mutex transaction, together with other
    /// buffers (see [`AcquireCtx::lock_all`]).
    ///
    /// [`AcquireCtx::lock_all`]: crate::sync::ww_mutex::AcquireCtx::lock_all
    pub fn for_lock(&mut self) -> ForLock<'_, K> {
        ForLock(self)
    }

    /// Maps the buffer for the device, taking the reservation lock for the call
    /// (`dma_buf_map_attachment_unlocked()`).
    ///
    /// # Errors
    ///
    /// The exporter's error, such as `ENOMEM`.
    pub fn map_unlocked(&self, dir: DataDirection) -> Result<UnlockedMapping<'_, K>> {
        // SAFETY: The attachment is valid (type invariant) and this task does not hold the
        // lock through it (locking borrows the attachment mutably).
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
        let pins = self.pins.load(Relaxed);
        if pins != 0 {
            // Pins left behind would keep the buffer pinned forever: release them.
            let guard = self.buf.resv().lock();
            for _ in 0..pins {
                // SAFETY: The attachment is valid and pinned, and the lock is held.
                unsafe { bindings::dma_buf_unpin(self.as_raw()) };
            }
            drop(guard);
        }
        // SAFETY: The attachment was made for `buf` and is detached only here, after its pins
        // and mappings (which borrow it) are gone.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.as_raw()) };
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
    // No accessor gives the `Attachment` or its `DmaBuf` out: their operations that take the
    // lock themselves (`map_unlocked`, `vmap_unlocked`, `begin_cpu_access`, `mmap`, ...) would
    // then be reachable while it is held.

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

    /// Returns the proof that the lock is held, to change the buffer's fences.
    pub fn guard_mut(&mut self) -> &mut ResvGuard<'a> {
        &mut self.guard
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
    /// The exporter's error, such as `EBUSY` or `ENOMEM`.
    pub fn pin(&self) -> Result {
        // SAFETY: The attachment is dynamic and its buffer's lock is held.
        to_result(unsafe { bindings::dma_buf_pin(self.attach.as_raw()) })?;
        self.attach.pins.add(1, Relaxed);
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

/// A handle that locks an [`Attachment`] in a ww_mutex transaction.
///
/// It borrows the attachment mutably, like [`Attachment::lock`].
pub struct ForLock<'a, K: Kind>(&'a mut Attachment<K>);

// SAFETY: The mutex is the `struct ww_mutex` of the buffer's reservation object, which lives
// as long as the attachment's reference to the buffer; the guard unlocks it once on drop (through
// its `ResvGuard`) and is not `Send`.
unsafe impl<K: Kind> Lockable for ForLock<'_, K> {
    type Guard<'g>
        = LockedAttachment<'g, K>
    where
        Self: 'g;

    fn as_raw(&self) -> *mut bindings::ww_mutex {
        Lockable::as_raw(self.0.buf.resv())
    }

    fn class(&self) -> &'static Class {
        Class::reservation()
    }

    unsafe fn assume_locked(&self) -> LockedAttachment<'_, K> {
        let resv: &Resv = self.0.buf.resv();
        LockedAttachment {
            attach: self.0,
            // SAFETY: The caller holds the lock and hands its release to this guard.
            guard: unsafe { resv.assume_locked() },
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
        // SAFETY: The table was mapped for this attachment in `dir`; the lock is not held, since
        // this mapping borrows the attachment shared, which rules out `Attachment::lock`.
        unsafe {
            bindings::dma_buf_unmap_attachment_unlocked(
                self.attach.as_raw(),
                self.table.as_ptr(),
                self.dir.into(),
            )
        };
    }
}
