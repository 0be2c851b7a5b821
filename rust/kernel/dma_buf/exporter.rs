// SPDX-License-Identifier: GPL-2.0

//! The exporter side: the buffer's operations and `dma_buf_export()`.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use super::{DmaBuf, IosysMap, SgTable};
use crate::{
    bindings,
    device::Device,
    dma::DataDirection,
    dma_resv::{Resv, ResvGuard, Unlocked},
    error::{from_err_ptr, from_result, VTABLE_DEFAULT_ERROR},
    mm::virt::VmaNew,
    prelude::*,
    sync::aref::ARef,
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

/// An attachment as its exporter sees it: in the exporter's callbacks, and walking its buffer's
/// attachments ([`DmaBuf::attachments`]).
///
/// # Invariants
///
/// `raw` is a valid attachment of an exported buffer, for `'a`.
///
/// It is a shared borrow of the attachment, so it can be copied like one.
#[derive(Clone, Copy)]
pub struct ExportedAttachment<'a> {
    raw: NonNull<bindings::dma_buf_attachment>,
    _p: PhantomData<&'a bindings::dma_buf_attachment>,
}

impl ExportedAttachment<'_> {
    /// # Safety
    ///
    /// `raw` is a valid attachment for the returned object's lifetime.
    unsafe fn new<'a>(raw: *mut bindings::dma_buf_attachment) -> Option<ExportedAttachment<'a>> {
        // INVARIANT: The caller guarantees validity.
        Some(ExportedAttachment {
            raw: NonNull::new(raw)?,
            _p: PhantomData,
        })
    }

    /// Borrows an attachment, for the dma-buf core.
    ///
    /// # Safety
    ///
    /// `raw` is a live attachment of an exported buffer for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(
        raw: NonNull<bindings::dma_buf_attachment>,
    ) -> ExportedAttachment<'a> {
        // INVARIANT: The caller guarantees validity.
        ExportedAttachment {
            raw,
            _p: PhantomData,
        }
    }

    /// Returns the raw `struct dma_buf_attachment`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_buf_attachment {
        self.raw.as_ptr()
    }

    /// Returns the attached buffer.
    #[inline]
    pub fn buffer(&self) -> &DmaBuf {
        // SAFETY: The attachment is valid (type invariant) and its buffer outlives it.
        unsafe { DmaBuf::from_raw((*self.raw.as_ptr()).dmabuf) }
    }

    /// Returns the importing device.
    pub fn device(&self) -> &Device {
        // SAFETY: The attachment is valid (type invariant); its importer keeps the device alive
        // for as long as it is attached (the attach contract).
        unsafe { Device::from_raw((*self.raw.as_ptr()).dev) }
    }

    /// Returns the raw importing device, for C functions and trace events.
    #[inline]
    pub fn device_raw(&self) -> *mut bindings::device {
        // SAFETY: The attachment is valid (type invariant); its device is set at attach.
        unsafe { (*self.raw.as_ptr()).dev }
    }

    /// Returns whether the importer is dynamic (it can be told of invalidations).
    #[inline]
    pub fn is_dynamic(&self) -> bool {
        // SAFETY: The attachment is valid (type invariant).
        unsafe { !(*self.raw.as_ptr()).importer_ops.is_null() }
    }

    /// Returns whether peer-to-peer DMA was agreed for this attachment.
    pub fn peer2peer(&self) -> bool {
        // SAFETY: The attachment is valid (type invariant).
        unsafe { (*self.raw.as_ptr()).peer2peer }
    }

    /// Returns whether the importer can give the buffer back in bounded time when told to
    /// (`dma_buf_attach_revocable()`): it implements `invalidate_mappings` and unmaps then.
    pub fn is_revocable(&self) -> bool {
        // As `dma_buf_attach_revocable()`, inline: the Rust core implements that function with
        // this one.
        // SAFETY: The attachment is valid (type invariant); its importer operations, when set,
        // are a static table.
        unsafe { (*self.raw.as_ptr()).importer_ops.as_ref() }
            .is_some_and(|ops| ops.invalidate_mappings.is_some())
    }
}

impl<'a> ExportedAttachment<'a> {
    /// Returns the name of the importing device, if it has one yet (a device being set up may
    /// not; [`Device::name`] assumes one).
    pub fn device_name(&self) -> Option<&'a CStr> {
        // SAFETY: The attachment is valid for `'a` (type invariant), and so is its device, which
        // its importer keeps alive while it is attached.
        let name = unsafe { bindings::dev_name((*self.raw.as_ptr()).dev) };
        // SAFETY: Not null, so the device's NUL-terminated name, which lives as long as the
        // device.
        (!name.is_null()).then(|| unsafe { CStr::from_char_ptr(name) })
    }
}

/// A `struct dma_buf_attachment` on its buffer's list, for
/// [`CList`](crate::interop::list::CList).
#[repr(transparent)]
struct AttachmentNode(Opaque<bindings::dma_buf_attachment>);

/// Returns the attachments of `buf`, newest first, under `held`.
///
/// # Errors
///
/// `EINVAL` if `held` is not the guard of the buffer's reservation object.
///
/// # Safety
///
/// `buf` is an exported buffer, valid for `'a`.
#[inline]
pub(super) unsafe fn attachments<'a>(
    buf: *mut bindings::dma_buf,
    held: &'a ResvGuard<'_>,
) -> Result<impl Iterator<Item = ExportedAttachment<'a>> + 'a> {
    // SAFETY: The buffer is valid (the caller's guarantee), and so is its reservation object,
    // initialised at export, which outlives it.
    if !held.is_of(unsafe { Resv::from_raw((*buf).resv) }) {
        return Err(EINVAL);
    }
    // SAFETY: The buffer is valid for `'a` (the caller's guarantee); its attachment list is
    // initialised at export and changes only under its reservation lock, held for `'a`
    // (`held`, checked above); its entries are the `node`s of attachments.
    let list = unsafe {
        crate::interop::list::clist_create!(
            &raw mut (*buf).attachments,
            AttachmentNode,
            bindings::dma_buf_attachment,
            node
        )
    };
    // INVARIANT: An attachment on the list is valid while it is on it, so while the lock is
    // held, for `'a`.
    Ok(list.iter().map(|node| ExportedAttachment {
        raw: NonNull::from(node).cast(),
        _p: PhantomData,
    }))
}

impl DmaBuf {
    /// Returns the buffer's attachments, newest first, under its reservation lock.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `held` is not the guard of this buffer's reservation object.
    #[inline]
    pub fn attachments<'a>(
        &'a self,
        held: &'a ResvGuard<'_>,
    ) -> Result<impl Iterator<Item = ExportedAttachment<'a>> + 'a> {
        // SAFETY: The buffer is exported and referenced for `'a` (type invariant).
        unsafe { attachments(self.as_raw(), held) }
    }
}

/// The operations of an exported buffer (`struct dma_buf_ops`).
///
/// The value implementing this trait is the buffer's private data: [`export`] moves it into
/// the buffer, and it is dropped when the buffer is released. The callbacks that the core calls
/// with the reservation lock held receive a `&ResvGuard` proving it; the others run unlocked and
/// receive the [`Unlocked`] capability, to lock the reservation object if they need to (as
/// DRM's detach does to unpin). The proof is checked: if a C importer that breaks the locking
/// convention gets a locked callback called without the lock (the C core lets it through, and
/// the Rust core does where another task holds the lock), the callback runs under the lock
/// taken for it, or, if another task holds it, `pin`, `map_dma_buf` and `vmap` fail with
/// `EBUSY` and the others wait for it.
///
/// `map_dma_buf` and `unmap_dma_buf` are required; `pin` and `unpin` go together, and make the
/// exporter dynamic (it then serves dynamic importers without pinning on map).
#[vtable]
pub trait Exporter: Send + Sync + Sized {
    /// Returns the reservation object the buffer shares with the exporter's own object, if
    /// any; without one the buffer gets its own.
    ///
    /// It must be a field of `self`, so that it lives, pinned, as long as the buffer.
    fn resv(&self) -> Option<&Resv> {
        None
    }

    /// A device attaches (unlocked).
    fn attach(&self, _attach: &ExportedAttachment<'_>, _unlocked: &mut Unlocked) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A device detaches (unlocked).
    fn detach(&self, _attach: &ExportedAttachment<'_>, _unlocked: &mut Unlocked) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Pins the buffer in place for `attach` (locked).
    fn pin(&self, _attach: &ExportedAttachment<'_>, _held: &ResvGuard<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Releases a pin of `attach` (locked).
    fn unpin(&self, _attach: &ExportedAttachment<'_>, _held: &ResvGuard<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps the buffer for the attached device (locked).
    fn map_dma_buf(
        &self,
        attach: &ExportedAttachment<'_>,
        dir: DataDirection,
        held: &ResvGuard<'_>,
    ) -> Result<KBox<SgTable>>;

    /// Unmaps a table returned by [`Exporter::map_dma_buf`] (locked). Dropping it is enough
    /// for tables mapped with [`SgTable::dma_map`].
    fn unmap_dma_buf(
        &self,
        _attach: &ExportedAttachment<'_>,
        table: KBox<SgTable>,
        _dir: DataDirection,
        _held: &ResvGuard<'_>,
    ) {
        drop(table);
    }

    /// Prepares the buffer for CPU access in `dir` (unlocked).
    fn begin_cpu_access(&self, _dir: DataDirection, _unlocked: &mut Unlocked) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Ends CPU access in `dir` (unlocked).
    fn end_cpu_access(&self, _dir: DataDirection, _unlocked: &mut Unlocked) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps pages `pgoff..` of the buffer into the user address range of `vma` (unlocked).
    ///
    /// The core has checked that the range fits in the buffer. Called when userspace maps the
    /// buffer's file and when an importer forwards its own mapping ([`DmaBuf::mmap`]).
    fn mmap(&self, _vma: &VmaNew, _pgoff: usize, _unlocked: &mut Unlocked) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps the whole buffer into the kernel's address space and returns the address of its
    /// first byte (locked). The mapping must stay valid until `vunmap`.
    fn vmap(&self, _held: &ResvGuard<'_>) -> Result<NonNull<u8>> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Releases a mapping returned by [`Exporter::vmap`] (locked).
    fn vunmap(&self, _vaddr: NonNull<u8>, _held: &ResvGuard<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The callbacks and operations table of exporter `E`.
struct Ops<E: Exporter>(PhantomData<E>);

impl<E: Exporter> Ops<E> {
    const OPS: bindings::dma_buf_ops = {
        assert!(
            E::HAS_PIN == E::HAS_UNPIN,
            "an exporter implements both pin and unpin, or neither"
        );
        assert!(
            E::HAS_VMAP == E::HAS_VUNMAP,
            "an exporter implements both vmap and vunmap, or neither"
        );
        bindings::dma_buf_ops {
            attach: if E::HAS_ATTACH {
                Some(Self::attach)
            } else {
                None
            },
            detach: if E::HAS_DETACH {
                Some(Self::detach)
            } else {
                None
            },
            pin: if E::HAS_PIN { Some(Self::pin) } else { None },
            unpin: if E::HAS_UNPIN {
                Some(Self::unpin)
            } else {
                None
            },
            map_dma_buf: Some(Self::map_dma_buf),
            unmap_dma_buf: Some(Self::unmap_dma_buf),
            release: Some(Self::release),
            begin_cpu_access: if E::HAS_BEGIN_CPU_ACCESS {
                Some(Self::begin_cpu_access)
            } else {
                None
            },
            end_cpu_access: if E::HAS_END_CPU_ACCESS {
                Some(Self::end_cpu_access)
            } else {
                None
            },
            mmap: if E::HAS_MMAP { Some(Self::mmap) } else { None },
            vmap: if E::HAS_VMAP { Some(Self::vmap) } else { None },
            vunmap: if E::HAS_VUNMAP {
                Some(Self::vunmap)
            } else {
                None
            },
        }
    };

    /// # Safety
    ///
    /// `buf` is a live buffer exported by [`export`] for `E`.
    unsafe fn exporter<'a>(buf: *mut bindings::dma_buf) -> &'a E {
        // SAFETY: `priv` is the boxed `E` that `export` set, freed only by `release`.
        unsafe { &*(*buf).priv_.cast::<E>() }
    }

    /// # Safety
    ///
    /// `attach` is a live attachment of a buffer exported by [`export`] for `E`.
    unsafe fn parts<'a>(
        attach: *mut bindings::dma_buf_attachment,
    ) -> Option<(&'a E, ExportedAttachment<'a>)> {
        // SAFETY: The caller guarantees that `attach` and its buffer are live.
        unsafe {
            Some((
                Self::exporter((*attach).dmabuf),
                ExportedAttachment::new(attach)?,
            ))
        }
    }

    /// Runs `f` with the proof of the lock of `attach`'s buffer, which the core's contract
    /// says the caller holds, and which a C caller breaking the rule may not: see
    /// [`Resv::with_callers_lock`], which `op` and `wait` are for. `None` if `f` did not run.
    ///
    /// # Safety
    ///
    /// `attach` is a live attachment.
    unsafe fn with_held<R>(
        attach: *mut bindings::dma_buf_attachment,
        op: &str,
        wait: bool,
        f: impl FnOnce(&ResvGuard<'_>) -> R,
    ) -> Option<R> {
        // SAFETY: The attachment is live (the caller's guarantee), and so is its buffer.
        unsafe { Self::with_buf_held((*attach).dmabuf, op, wait, f) }
    }

    /// # Safety
    ///
    /// `attach` is a live attachment of a buffer exported for `E`, and the reservation lock is
    /// not held (the core's contract for `attach`).
    unsafe extern "C" fn attach(
        _buf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a live attachment of a buffer exported for `E`.
            let (e, a) = unsafe { Self::parts(attach) }.ok_or(EINVAL)?;
            // The core calls `attach` without the reservation lock.
            e.attach(&a, &mut Unlocked::new())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `attach` is a live attachment of a buffer exported for `E`, and the reservation lock is
    /// not held.
    unsafe extern "C" fn detach(
        _buf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) {
        // SAFETY: The core passes a live attachment of a buffer exported for `E`.
        if let Some((e, a)) = unsafe { Self::parts(attach) } {
            // The core calls `detach` without the reservation lock.
            e.detach(&a, &mut Unlocked::new());
        }
    }

    /// # Safety
    ///
    /// `attach` is a live attachment of a buffer exported for `E`, whose reservation lock the
    /// caller holds.
    unsafe extern "C" fn pin(attach: *mut bindings::dma_buf_attachment) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a live attachment of a buffer exported for `E`.
            let (e, a) = unsafe { Self::parts(attach) }.ok_or(EINVAL)?;
            // SAFETY: The attachment is live.
            unsafe { Self::with_held(attach, "pin", false, |held| e.pin(&a, held)) }
                .unwrap_or(Err(EBUSY))?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `attach` is a live, pinned attachment of a buffer exported for `E`, whose reservation
    /// lock the caller holds.
    unsafe extern "C" fn unpin(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: The core passes a live attachment of a buffer exported for `E`.
        if let Some((e, a)) = unsafe { Self::parts(attach) } {
            // SAFETY: The attachment is live.
            unsafe { Self::with_held(attach, "unpin", true, |held| e.unpin(&a, held)) };
        }
    }

    /// # Safety
    ///
    /// `attach` is a live attachment of a buffer exported for `E`, whose reservation lock the
    /// caller holds.
    unsafe extern "C" fn map_dma_buf(
        attach: *mut bindings::dma_buf_attachment,
        dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table {
        let result = (|| {
            // SAFETY: The core passes a live attachment of a buffer exported for `E`.
            let (e, a) = unsafe { Self::parts(attach) }.ok_or(EINVAL)?;
            let dir = DataDirection::try_from(dir)?;
            // SAFETY: The attachment is live.
            let table = unsafe {
                Self::with_held(attach, "map_dma_buf", false, |held| {
                    e.map_dma_buf(&a, dir, held)
                })
            }
            .unwrap_or(Err(EBUSY))?;
            Ok::<_, Error>(SgTable::into_raw(table))
        })();
        match result {
            Ok(table) => table,
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// `attach` is a live attachment of a buffer exported for `E`, whose reservation lock the
    /// caller holds, and `table` was returned by `map_dma_buf` for it.
    unsafe extern "C" fn unmap_dma_buf(
        attach: *mut bindings::dma_buf_attachment,
        table: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    ) {
        // SAFETY: The core hands back a table that `map_dma_buf` returned, and no longer uses it.
        let table = unsafe { SgTable::from_raw(table) };
        // SAFETY: The core passes a live attachment of a buffer exported for `E`.
        let Some((e, a)) = (unsafe { Self::parts(attach) }) else {
            return;
        };
        let dir = DataDirection::try_from(dir).unwrap_or(DataDirection::Bidirectional);
        // SAFETY: The attachment is live.
        unsafe {
            Self::with_held(attach, "unmap_dma_buf", true, |held| {
                e.unmap_dma_buf(&a, table, dir, held)
            })
        };
    }

    /// # Safety
    ///
    /// `buf` was exported for `E` and has no user left; it is released once.
    unsafe extern "C" fn release(buf: *mut bindings::dma_buf) {
        // SAFETY: `priv` is the boxed `E` that `export` set; the core releases a buffer once,
        // after its last user, so nothing else uses it.
        drop(unsafe { KBox::from_raw((*buf).priv_.cast::<E>()) });
    }

    /// # Safety
    ///
    /// `buf` is a live buffer exported for `E`; the reservation lock is not held.
    unsafe extern "C" fn begin_cpu_access(
        buf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a live buffer exported for `E`.
            let e = unsafe { Self::exporter(buf) };
            // The core calls `begin_cpu_access` without the reservation lock.
            e.begin_cpu_access(DataDirection::try_from(dir)?, &mut Unlocked::new())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `buf` is a live buffer exported for `E`; the reservation lock is not held.
    unsafe extern "C" fn end_cpu_access(
        buf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a live buffer exported for `E`.
            let e = unsafe { Self::exporter(buf) };
            // The core calls `end_cpu_access` without the reservation lock.
            e.end_cpu_access(DataDirection::try_from(dir)?, &mut Unlocked::new())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `buf` is a live buffer exported for `E`, `vma` a mapping being set up for its file, and
    /// the reservation lock is not held.
    unsafe extern "C" fn mmap(
        buf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a live buffer exported for `E`.
            let e = unsafe { Self::exporter(buf) };
            // SAFETY: The core calls `mmap` from the file's `mmap` or from `dma_buf_mmap()`, in
            // both cases while the new mapping is being set up.
            let vma = unsafe { VmaNew::from_raw(vma) };
            // SAFETY: `vma` is valid (above); its page offset is set before the call.
            let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
            // The core calls `mmap` without the reservation lock.
            e.mmap(vma, pgoff, &mut Unlocked::new())?;
            Ok(0)
        })
    }

    /// [`Ops::with_held`] for the lock of `buf`.
    ///
    /// # Safety
    ///
    /// `buf` is live.
    unsafe fn with_buf_held<R>(
        buf: *mut bindings::dma_buf,
        op: &str,
        wait: bool,
        f: impl FnOnce(&ResvGuard<'_>) -> R,
    ) -> Option<R> {
        // SAFETY: The buffer is live (the caller's guarantee).
        unsafe { DmaBuf::from_raw(buf) }
            .resv()
            .with_callers_lock(op, wait, f)
    }

    /// # Safety
    ///
    /// `buf` is a live buffer exported for `E` whose reservation lock the caller holds, and `map`
    /// is valid for writes.
    unsafe extern "C" fn vmap(buf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a live buffer exported for `E`.
            let e = unsafe { Self::exporter(buf) };
            // SAFETY: The buffer is live.
            let vaddr = unsafe { Self::with_buf_held(buf, "vmap", false, |held| e.vmap(held)) }
                .unwrap_or(Err(EBUSY))?;
            // SAFETY: `map` is valid for writes (the caller's guarantee).
            unsafe { map.write(IosysMap::system(vaddr.as_ptr().cast()).into_raw()) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `buf` is a live buffer exported for `E` whose reservation lock the caller holds, and `map`
    /// was filled in by `vmap`.
    unsafe extern "C" fn vunmap(buf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) {
        // SAFETY: The core passes a live buffer exported for `E` and the map `vmap` filled in.
        let (e, map) = unsafe { (Self::exporter(buf), IosysMap::from_raw(map.read())) };
        // A map that `vmap` filled in is of system memory.
        if let Some(vaddr) = map
            .vaddr()
            .and_then(|vaddr| NonNull::new(vaddr.cast::<u8>()))
        {
            // SAFETY: The buffer is live.
            unsafe { Self::with_buf_held(buf, "vunmap", true, |held| e.vunmap(vaddr, held)) };
        }
    }
}

/// Exports the exporter that `exporter` initialises as a new buffer of `size` bytes
/// (`dma_buf_export()`).
///
/// The buffer uses the reservation object [`Exporter::resv`] returns, or gets its own; `name` is
/// the exporter's name shown in debugfs and fdinfo, `flags` the flags of the buffer's file (such
/// as `O_RDWR`), `module` the module that owns the operations. The exporter is pinned in memory
/// and dropped when the buffer is released.
///
/// # Errors
///
/// `EINVAL` if `size` is zero or `flags` too large, `ENOMEM`, or the initialiser's error. On
/// error the exporter is dropped, or never made if the error came before its initialiser ran.
pub fn export<E: Exporter>(
    module: &'static ThisModule,
    name: &'static CStr,
    exporter: impl PinInit<E, Error>,
    size: usize,
    flags: u32,
) -> Result<ARef<DmaBuf>> {
    if size == 0 {
        return Err(EINVAL);
    }
    let flags = i32::try_from(flags).map_err(|_| EINVAL)?;
    let data = KBox::pin_init(exporter, GFP_KERNEL)?;
    let resv = data.resv().map_or(core::ptr::null_mut(), Resv::as_raw);
    // SAFETY: The exporter stays pinned: the box is only turned back into a `KBox` to drop it.
    let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
    let info = bindings::dma_buf_export_info {
        exp_name: name.as_char_ptr(),
        owner: module.as_ptr(),
        ops: &Ops::<E>::OPS,
        size,
        flags,
        resv,
        priv_: data.cast(),
    };
    // SAFETY: `info` is fully initialised: the operations table is static and complete as the
    // core requires (map, unmap and release set; pin and unpin together), `priv` is the boxed
    // exporter that `release` frees, and `resv` is null or a field of it, so it lives as long
    // as the buffer.
    match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
        Ok(buf) => {
            let buf = NonNull::new(buf).ok_or(ENOMEM)?;
            // SAFETY: `dma_buf_export()` returned a buffer with one reference (its file), which
            // the `ARef` takes over.
            Ok(unsafe { ARef::from_raw(buf.cast()) })
        }
        Err(e) => {
            // SAFETY: The export failed, so the core did not keep `data`.
            drop(unsafe { KBox::from_raw(data) });
            Err(e)
        }
    }
}
