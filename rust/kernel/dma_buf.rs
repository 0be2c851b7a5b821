// SPDX-License-Identifier: GPL-2.0

//! DMA-BUF: buffers shared between drivers.
//!
//! An exporter ([`Exporter`], [`export`]) makes a buffer that importers ([`Attachment`]) map
//! for their devices. Every buffer has a reservation object ([`Resv`]) whose lock serialises
//! mappings and fence updates, and the dma-buf locking convention says, per function, whether
//! the caller must hold that lock. Here the types say it:
//!
//! - [`Attachment::new`], [`Attachment::new_dynamic`]: must not hold; take `&Unlocked`, which every
//!   lock borrows mutably.
//! - detach (drop of [`Attachment`]): must not hold; [`Attachment::lock`] borrows the attachment;
//!   under a lock held through another handle the detach is deferred to a worker.
//! - pin, unpin: must hold; methods of [`LockedAttachment`], only for dynamic importers.
//! - map, unmap (drop of [`Mapping`]): must hold; [`LockedAttachment::map`]; the [`Mapping`]
//!   borrows the locked attachment.
//! - vmap, vunmap (drop of [`VMap`]): must hold; [`LockedAttachment::vmap`].
//! - `*_unlocked` map and vmap: must not hold; [`Attachment::map_unlocked`],
//!   [`DmaBuf::vmap_unlocked`] take `&Unlocked`; dropped under a later lock, they unmap under it.
//! - begin/end CPU access: must not hold; [`DmaBuf::begin_cpu_access`] takes `&Unlocked`;
//!   [`CpuAccess`] keeps it borrowed until the access ends.
//! - mmap: must not hold; [`DmaBuf::mmap`] takes `&Unlocked`; exporters implement
//!   [`Exporter::mmap`].
//! - fd, fd_install, get, put: must not hold (neither core locks there); [`DmaBuf::into_fd`],
//!   [`DmaBuf::install_fd`], [`DmaBuf::from_fd`], [`ARef`] drop.
//! - invalidate_mappings (exporter): must hold; [`DmaBuf::invalidate_mappings`] takes the guard,
//!   checked to be this buffer's.
//! - exporter pin/unpin/map/unmap/vmap/vunmap callbacks: held by the core; receive a `&ResvGuard`.
//! - exporter attach/detach/CPU access/mmap callbacks: not held; receive `&mut Unlocked`.
//!
//! [`Unlocked`] is the capability of a task that holds no reservation lock: every lock of a
//! reservation object ([`Attachment::lock`], [`Resv::lock`], a reservation transaction) borrows
//! it mutably while its guard lives, so no operation that must not run under a lock compiles
//! then, through whichever handle of whichever buffer. What the types cannot see (a second
//! capability, a leaked guard, a drop under the lock) is checked at run time for the buffer
//! concerned, and by lockdep for others: see Documentation/driver-api/dma-buf-rust.rst, "What
//! the types do not cover".
//!
//! Documentation/driver-api/dma-buf-rust.rst has this list as a table, with the C names.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use crate::{
    bindings,
    dma::DataDirection,
    dma_resv::{Resv, ResvGuard, Unlocked},
    error::from_err_ptr,
    ffi::c_int,
    fs::file::{File, FileDescriptorReservation},
    mm::virt::VmaNew,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

mod attachment;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod buffer_list;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod core_attachment;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod core_buffer;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod core_ops;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod core_poll;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod core_token;
mod exporter;
mod iosys_map;
mod name;
mod sg_table;
mod vmap;
#[cfg(CONFIG_DMABUF_CORE_RUST)]
pub mod vmap_state;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

/// Returns the result of a dma-buf function that returns its exporter's `int`: zero is success
/// and anything else a failure, as C callers test it (`if (ret)`). A positive value, from a
/// buggy exporter, which the core passes on as it is, is `EINVAL`: it is not a success (the
/// core has mapped, pinned or begun nothing for it).
fn exporter_result(ret: c_int) -> Result {
    match ret {
        0 => Ok(()),
        ..0 => Err(Error::from_errno(ret)),
        _ => Err(EINVAL),
    }
}

pub use attachment::{
    Attachment, Dynamic, Importer, Kind, LockedAttachment, Mapping, Static, UnlockedMapping,
};
pub use exporter::{export, ExportedAttachment, Exporter};
pub use iosys_map::IosysMap;
pub use sg_table::SgTable;
pub use vmap::{VMap, VMapUnlocked, Vaddr};

/// Returns the name the exporter of `buf` gave, if it gave one.
///
/// # Safety
///
/// `buf` is an exported buffer, not freed for `'a`.
unsafe fn exp_name<'a>(buf: *mut bindings::dma_buf) -> Option<&'a CStr> {
    // SAFETY: The buffer is exported and valid for `'a` (the caller's guarantee); the
    // exporter's name never changes.
    let name = unsafe { (*buf).exp_name };
    // SAFETY: Not null, so a static NUL-terminated string (the export contract).
    (!name.is_null()).then(|| unsafe { CStr::from_char_ptr(name) })
}

/// A DMA-BUF (`struct dma_buf`), reference counted through its file.
///
/// # Invariants
///
/// `self.0` is an exported `struct dma_buf`; a `&DmaBuf` is backed by a reference to its file
/// held for the borrow's lifetime.
#[repr(transparent)]
pub struct DmaBuf(Opaque<bindings::dma_buf>);

// SAFETY: A dma-buf is designed to be shared between drivers and tasks; its state is protected
// by its reservation lock and its own locks.
unsafe impl Send for DmaBuf {}

// SAFETY: The operations on a shared `&DmaBuf` are thread safe in C: its state is protected by
// its reservation lock and its own locks, which they take or require.
unsafe impl Sync for DmaBuf {}

// SAFETY: `get_dma_buf()` takes a reference to the buffer's file and `dma_buf_put()` drops one;
// the buffer is released when the file's last reference goes.
unsafe impl AlwaysRefCounted for DmaBuf {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The buffer is exported and referenced (type invariant).
        unsafe { bindings::get_dma_buf(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference to an exported buffer.
        unsafe { bindings::dma_buf_put(obj.cast().as_ptr()) };
    }
}

impl DmaBuf {
    /// Borrows a buffer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an exported `struct dma_buf` whose file stays referenced for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf) -> &'a DmaBuf {
        // SAFETY: `DmaBuf` is a transparent wrapper of `struct dma_buf`, valid for `'a` by the
        // caller's guarantee.
        unsafe { &*ptr.cast::<DmaBuf>() }
    }

    /// Takes a reference to the buffer behind the file descriptor `fd` (`dma_buf_get()`).
    ///
    /// # Errors
    ///
    /// `EBADF` if `fd` is not an open file, `EINVAL` if it is not a dma-buf.
    pub fn from_fd(fd: i32) -> Result<ARef<DmaBuf>> {
        // SAFETY: `dma_buf_get()` accepts any integer and returns a referenced buffer or an
        // error pointer.
        let ptr = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        let ptr = NonNull::new(ptr).ok_or(EINVAL)?;
        // SAFETY: `dma_buf_get()` returned a new reference, which the `ARef` takes over.
        Ok(unsafe { ARef::from_raw(ptr.cast()) })
    }

    /// Returns the raw `struct dma_buf`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.get()
    }

    /// Returns the buffer's file, whose references are the buffer's: this reference becomes a
    /// reference to the file, which drops the buffer's when it is dropped.
    #[inline]
    pub fn into_file(this: ARef<DmaBuf>) -> ARef<File> {
        // SAFETY: An exported buffer's file is set at export and never changes (type
        // invariant).
        let file = unsafe { (*this.as_raw()).file };
        // SAFETY: The reference of `this`, which is a reference to `file`, is handed over. The
        // file's position is never used, so no `fdget_pos()` races with this: the file has no
        // `read` or `write`, its `llseek` does not move it, and the `File` API does not touch
        // it.
        unsafe {
            let _ = ARef::into_raw(this);
            ARef::from_raw(NonNull::new_unchecked(file.cast::<File>()))
        }
    }

    /// Returns the size of the buffer in bytes.
    #[inline]
    pub fn size(&self) -> usize {
        // SAFETY: The buffer is exported (type invariant) and its size never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// Returns the exporter's name (`exp_name`), if it gave one.
    pub fn exp_name(&self) -> Option<&CStr> {
        // SAFETY: The buffer is exported and referenced for the borrow (type invariant).
        unsafe { exp_name(self.as_raw()) }
    }

    /// Returns whether the exporter can pin, i.e. serves dynamic importers without pinning on
    /// map (`dma_buf_is_dynamic()`).
    #[inline]
    pub fn is_dynamic(&self) -> bool {
        // SAFETY: The buffer is exported (type invariant); its ops never change.
        unsafe { (*(*self.as_raw()).ops).pin.is_some() }
    }

    /// Returns the buffer's reservation object.
    ///
    /// Importers lock it through [`Attachment::lock`], which keeps the unlocked operations out
    /// of reach; this is for exporters and for waiting on or testing the buffer's fences.
    #[inline]
    pub fn resv(&self) -> &Resv {
        // SAFETY: An exported buffer always has a reservation object, which lives as long as
        // the buffer, so at least as long as `self` is borrowed.
        unsafe { Resv::from_raw((*self.as_raw()).resv) }
    }

    /// Tells every dynamic importer that its mappings are invalid
    /// (`dma_buf_invalidate_mappings()`); for exporters moving the buffer.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `held` is not the guard of this buffer's reservation object.
    pub fn invalidate_mappings(&self, held: &ResvGuard<'_>) -> Result {
        if !held.is_of(self.resv()) {
            return Err(EINVAL);
        }
        // SAFETY: The buffer is exported and its reservation lock is held (`held`).
        unsafe { bindings::dma_buf_invalidate_mappings(self.as_raw()) };
        Ok(())
    }

    /// Installs the buffer in a new file descriptor of the current task (`dma_buf_fd()`); the
    /// descriptor takes over this reference.
    ///
    /// `flags` are file descriptor flags, such as `O_CLOEXEC`.
    ///
    /// # Errors
    ///
    /// `EMFILE` if the task has no free descriptor; the reference is then dropped.
    pub fn into_fd(this: ARef<DmaBuf>, flags: u32) -> Result<i32> {
        let flags = i32::try_from(flags).map_err(|_| EINVAL)?;
        let raw = ARef::into_raw(this);
        // SAFETY: `raw` is a referenced buffer; on success the new descriptor owns the reference.
        let fd = unsafe { bindings::dma_buf_fd(raw.as_ptr().cast(), flags) };
        if fd < 0 {
            // SAFETY: On failure the reference is still ours; give it back to an `ARef` to drop.
            drop(unsafe { ARef::from_raw(raw) });
            return Err(Error::from_errno(fd));
        }
        Ok(fd)
    }

    /// Installs the buffer in a file descriptor reserved earlier (`dma_buf_fd_install()`), for
    /// callers that reserve the descriptor before they can fail; the descriptor takes over this
    /// reference. Returns the descriptor.
    ///
    /// # Errors
    ///
    /// `EBADF` if the reserved number does not fit a C `int` (it always does); the reservation
    /// and the reference are then dropped.
    pub fn install_fd(this: ARef<DmaBuf>, reservation: FileDescriptorReservation) -> Result<u32> {
        let fd = reservation.reserved_fd();
        let fd_int = i32::try_from(fd).map_err(|_| EBADF)?;
        let raw = ARef::into_raw(this);
        // SAFETY: The descriptor was reserved by the current task (the reservation is not
        // `Send`) and not used yet; `raw` is a referenced buffer whose reference, like the
        // descriptor, the installation takes over.
        unsafe { bindings::dma_buf_fd_install(raw.as_ptr().cast(), fd_int) };
        // The descriptor is now in use: its reservation must not be released.
        core::mem::forget(reservation);
        Ok(fd)
    }

    /// Maps pages `pgoff..` of the buffer into `vma`, a mapping that the caller's `mmap` file
    /// operation is setting up (`dma_buf_mmap()`). The mapping then refers to the buffer's file.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the exporter cannot map to userspace or the range does not fit in the
    /// buffer, `EOVERFLOW` if `pgoff` plus the mapping's length overflows, `EDEADLK` if the
    /// current task holds the buffer's reservation lock after all (see [`Unlocked`]), or the
    /// exporter's error.
    pub fn mmap(&self, vma: &VmaNew, pgoff: usize, _unlocked: &Unlocked) -> Result {
        self.resv().refuse_if_held("dma_buf_mmap")?;
        // SAFETY: The buffer is exported and referenced (type invariant); `vma` is being set up,
        // so its file and page offset may be changed.
        exporter_result(unsafe { bindings::dma_buf_mmap(self.as_raw(), vma.as_ptr(), pgoff) })
    }

    /// Prepares the buffer for access by the CPU in `dir` (`dma_buf_begin_cpu_access()`).
    ///
    /// The access ends when the returned [`CpuAccess`] is dropped or ended. It keeps
    /// `unlocked` borrowed, so no reservation lock can be taken through this API until then.
    ///
    /// # Errors
    ///
    /// The exporter's error, for example `ERESTARTSYS` when waiting for the device was
    /// interrupted; `EDEADLK` if the current task holds the buffer's reservation lock after all
    /// (see [`Unlocked`]).
    pub fn begin_cpu_access<'a>(
        &'a self,
        dir: DataDirection,
        _unlocked: &'a Unlocked,
    ) -> Result<CpuAccess<'a>> {
        self.resv().refuse_if_held("dma_buf_begin_cpu_access")?;
        // SAFETY: The buffer is exported and referenced (type invariant).
        exporter_result(unsafe { bindings::dma_buf_begin_cpu_access(self.as_raw(), dir.into()) })?;
        Ok(CpuAccess {
            buf: self,
            dir,
            _not_send: PhantomData,
        })
    }
}

/// CPU access to a buffer between `begin_cpu_access` and `end_cpu_access`.
///
/// Dropping it ends the access and ignores the exporter's error; [`CpuAccess::end`] returns it.
#[must_use = "the CPU access ends immediately when unused"]
pub struct CpuAccess<'a> {
    buf: &'a DmaBuf,
    dir: DataDirection,
    _not_send: PhantomData<*mut ()>,
}

impl CpuAccess<'_> {
    /// Ends the access (`dma_buf_end_cpu_access()`).
    ///
    /// # Errors
    ///
    /// The exporter's error.
    pub fn end(self) -> Result {
        let this = core::mem::ManuallyDrop::new(self);
        this.end_raw()
    }

    fn end_raw(&self) -> Result {
        // SAFETY: The buffer is referenced for `'a` and the access was begun in `dir`.
        exporter_result(unsafe {
            bindings::dma_buf_end_cpu_access(self.buf.as_raw(), self.dir.into())
        })
    }
}

impl Drop for CpuAccess<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.end_raw() {
            pr_warn!("dma-buf: end_cpu_access failed: {:?}\n", e);
        }
    }
}
