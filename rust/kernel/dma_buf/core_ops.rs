// SPDX-License-Identifier: GPL-2.0

//! The dma-buf core's calls into a buffer's exporter (`struct dma_buf_ops`) and into an
//! attachment's importer (`struct dma_buf_attach_ops`), for the dma-buf core in Rust
//! (`CONFIG_DMABUF_CORE_RUST`), whichever language the exporter and the importer are written
//! in.
//!
//! Only the core calls them ([`CoreToken`]): drivers call the functions of
//! `include/linux/dma-buf.h`. The callbacks that the locking convention runs with the
//! reservation lock held take its guard; the others are called without. What else a callback
//! relies on is the core's part of the token's contract (an attachment of the buffer whose
//! operations these are, new for `attach` and unlinked for `detach`, the guard of its lock, a
//! checked `mmap` range), or the `# Safety` of the method for what a pointer must be.

use super::{
    core_attachment::NewAttachment, core_token::CoreToken, DmaBuf, ExportedAttachment, IosysMap,
};
use crate::{
    bindings, dma_resv::ResvGuard, error::from_err_ptr, ffi::c_int, mm::virt::VmaNew, prelude::*,
};
use core::{num::NonZero, ptr::NonNull};

/// A raw `enum dma_data_direction`, passed through from the importer to the exporter as it is.
pub type Direction = bindings::dma_data_direction;

/// The `int` an exporter's callback returned, kept as it is: `Ok` for zero, else `Err` with
/// a negative errno or, from a buggy exporter, a positive value, which the C core passes on to
/// its caller as it is (and so does this core, where it returns an `int`).
///
/// The error is nonzero, so a `Ret` is laid out as the `int` itself, zero for `Ok`: it is
/// returned in one register, and [`to_int`] is no instruction.
pub type Ret = core::result::Result<(), NonZero<c_int>>;

/// Returns `ret` as [`Ret`].
#[inline]
fn ret(ret: c_int) -> Ret {
    NonZero::new(ret).map_or(Ok(()), Err)
}

/// Returns the error of a [`Ret`] for `e`.
#[inline]
pub fn errno(e: Error) -> NonZero<c_int> {
    // An `Error` is never zero.
    NonZero::new(e.to_errno()).unwrap_or(NonZero::<c_int>::MIN)
}

/// Returns `ret` as the `int` C has for it.
#[inline]
pub fn to_int(ret: Ret) -> c_int {
    ret.err().map_or(0, NonZero::get)
}

/// Returns the error an exporter's nonzero `ret` stands for where only an errno can be
/// returned (an error pointer): a positive value is `EINVAL`, with a one-time warning (the C
/// core makes it an error pointer that is none, which the caller then dereferences).
pub fn to_error(ret: NonZero<c_int>) -> Error {
    let ret = ret.get();
    if ret < 0 {
        return Error::from_errno(ret);
    }
    crate::do_once_lite! {
        pr_warn!("dma-buf: an exporter callback returned {ret}, not 0 or a negative errno\n");
        crate::warn_on!(true);
    }
    EINVAL
}

/// The operations of an exported buffer.
///
/// # Invariants
///
/// `ops` is the operations table of `buf`, which an exported buffer always has and never
/// changes, with `map_dma_buf`, `unmap_dma_buf` and `release` set (checked at export).
pub struct ExporterOps<'a> {
    buf: &'a DmaBuf,
    ops: &'a bindings::dma_buf_ops,
}

/// Checks, in kernels with `CONFIG_RUST_DEBUG_ASSERTIONS`, that `attach` is an attachment of
/// `buf`, as the core passes them.
#[inline]
fn debug_check_attached(buf: &DmaBuf, attach: &ExportedAttachment<'_>) {
    debug_assert!(
        core::ptr::eq(attach.buffer(), buf),
        "dma-buf: an attachment of another buffer"
    );
}

/// Checks, in kernels with `CONFIG_RUST_DEBUG_ASSERTIONS`, that `held` is the proof for the
/// lock of `buf`: the core passes each buffer's own guard (the entry points take it from the
/// buffer), and a function of the core given another buffer's would break the convention.
#[inline]
pub(super) fn debug_check_held(buf: &DmaBuf, held: &ResvGuard<'_>) {
    debug_assert!(
        held.is_of(buf.resv()),
        "dma-buf: a guard of another buffer's lock"
    );
}

impl<'a> ExporterOps<'a> {
    /// Returns the operations of `buf`, or `None` if it has none (not an exported buffer).
    #[inline]
    pub fn of(buf: &'a DmaBuf, _core: &CoreToken) -> Option<Self> {
        // SAFETY: `buf` is a buffer (`DmaBuf` invariant); the table, when set, is static.
        let ops = unsafe { (*buf.as_raw()).ops.as_ref() }?;
        // INVARIANT: `ops` is the buffer's table.
        Some(Self { buf, ops })
    }

    /// Returns the operations of the buffer of `attach`: an attachment's buffer is exported
    /// (its invariant), so it has them, and the core need not check them again.
    #[inline]
    pub fn of_attached(attach: &'a ExportedAttachment<'_>, _core: &CoreToken) -> Self {
        let buf = attach.buffer();
        // SAFETY: `buf` is an exported buffer (the attachment's invariant): its operations
        // table, checked at export, is set and static.
        let ops = unsafe { &*(*buf.as_raw()).ops };
        // INVARIANT: `ops` is the buffer's table.
        Self { buf, ops }
    }

    /// Returns whether the exporter can pin: it then serves dynamic importers without pinning,
    /// and static importers are pinned while mapped.
    #[inline]
    pub fn can_pin(&self) -> bool {
        self.ops.pin.is_some()
    }

    /// Returns whether the exporter can map the buffer to userspace.
    #[inline]
    pub fn can_mmap(&self) -> bool {
        self.ops.mmap.is_some()
    }

    /// Returns whether the exporter can map the buffer into the kernel.
    #[inline]
    pub fn can_vmap(&self) -> bool {
        self.ops.vmap.is_some()
    }

    /// `attach` (unlocked) of `new`, an attachment of this buffer; succeeds if the exporter has
    /// none.
    #[inline]
    pub fn attach(&self, new: &NewAttachment<'_>) -> Result {
        let attach = new.as_exported();
        debug_check_attached(self.buf, &attach);
        match self.ops.attach {
            // SAFETY: The buffer is exported and `attach` is a new attachment of it (the core's
            // contract, `CoreToken`), not yet on its list (`NewAttachment`), as the callback
            // expects.
            Some(f) => ret(unsafe { f(self.buf.as_raw(), attach.as_raw()) }).map_err(to_error),
            None => Ok(()),
        }
    }

    /// `detach` (unlocked) of `attach`, an attachment of this buffer taken off its list.
    #[inline]
    pub fn detach(&self, attach: &ExportedAttachment<'_>) {
        debug_check_attached(self.buf, attach);
        if let Some(f) = self.ops.detach {
            // SAFETY: `attach` is an attachment of the buffer, taken off its list, detached
            // once (the core's contract, `CoreToken`).
            unsafe { f(self.buf.as_raw(), attach.as_raw()) };
        }
    }

    /// `pin` (locked): its `int` as it is, which `dma_buf_pin()` returns as it is; 0 if the
    /// exporter cannot pin.
    #[inline]
    pub fn pin(&self, attach: &ExportedAttachment<'_>, _held: &ResvGuard<'_>) -> c_int {
        debug_check_attached(self.buf, attach);
        debug_check_held(self.buf, _held);
        match self.ops.pin {
            // SAFETY: `attach` is an attachment of the buffer, whose lock is held (`_held`, the
            // core's contract).
            Some(f) => unsafe { f(attach.as_raw()) },
            None => 0,
        }
    }

    /// `unpin` (locked).
    #[inline]
    pub fn unpin(&self, attach: &ExportedAttachment<'_>, _held: &ResvGuard<'_>) {
        debug_check_attached(self.buf, attach);
        debug_check_held(self.buf, _held);
        if let Some(f) = self.ops.unpin {
            // SAFETY: `attach` is an attachment of the buffer, whose lock is held (`_held`, the
            // core's contract).
            unsafe { f(attach.as_raw()) };
        }
    }

    /// `map_dma_buf` (locked). A null table is `ENOMEM`, as the C core has it.
    #[inline]
    pub fn map(
        &self,
        attach: &ExportedAttachment<'_>,
        dir: Direction,
        _held: &ResvGuard<'_>,
    ) -> Result<NonNull<bindings::sg_table>> {
        debug_check_attached(self.buf, attach);
        debug_check_held(self.buf, _held);
        let f = self.ops.map_dma_buf.ok_or(EINVAL)?;
        // SAFETY: `attach` is an attachment of the buffer, whose lock is held (`_held`, the
        // core's contract).
        let table = from_err_ptr(unsafe { f(attach.as_raw(), dir) })?;
        NonNull::new(table).ok_or(ENOMEM)
    }

    /// `unmap_dma_buf` (locked) of a table that [`ExporterOps::map`] returned.
    ///
    /// # Safety
    ///
    /// `table` was returned by [`ExporterOps::map`] for `attach` in `dir`, and is not used
    /// after this call.
    #[inline]
    pub unsafe fn unmap(
        &self,
        attach: &ExportedAttachment<'_>,
        table: NonNull<bindings::sg_table>,
        dir: Direction,
        _held: &ResvGuard<'_>,
    ) {
        debug_check_attached(self.buf, attach);
        debug_check_held(self.buf, _held);
        if let Some(f) = self.ops.unmap_dma_buf {
            // SAFETY: `table` is the exporter's table for `attach`, mapped in `dir` (the
            // caller's guarantee), and the buffer's lock is held (`_held`).
            unsafe { f(attach.as_raw(), table.as_ptr(), dir) };
        }
    }

    /// `begin_cpu_access` (unlocked); succeeds if the exporter has none.
    #[inline]
    pub fn begin_cpu_access(&self, dir: Direction) -> Ret {
        match self.ops.begin_cpu_access {
            // SAFETY: The buffer is exported; the callback takes any direction.
            Some(f) => ret(unsafe { f(self.buf.as_raw(), dir) }),
            None => Ok(()),
        }
    }

    /// `end_cpu_access` (unlocked); succeeds if the exporter has none.
    #[inline]
    pub fn end_cpu_access(&self, dir: Direction) -> Ret {
        match self.ops.end_cpu_access {
            // SAFETY: The buffer is exported; the callback takes any direction.
            Some(f) => ret(unsafe { f(self.buf.as_raw(), dir) }),
            None => Ok(()),
        }
    }

    /// `mmap` (unlocked) of a mapping whose range the core checked to fit in the buffer.
    #[inline]
    pub fn mmap(&self, vma: &VmaNew) -> Ret {
        let f = self.ops.mmap.ok_or(errno(EINVAL))?;
        // SAFETY: `vma` is being set up for the buffer's file, with a range that fits in the
        // buffer (the core's contract, `CoreToken`).
        ret(unsafe { f(self.buf.as_raw(), vma.as_ptr()) })
    }

    /// `vmap` (locked); `EINVAL` if the exporter cannot.
    #[inline]
    pub fn vmap(&self, map: &mut IosysMap, _held: &ResvGuard<'_>) -> Ret {
        debug_check_held(self.buf, _held);
        let f = self.ops.vmap.ok_or(errno(EINVAL))?;
        // SAFETY: The buffer is exported, its lock is held (`_held`), `map` is writable.
        ret(unsafe { f(self.buf.as_raw(), map.as_raw_mut()) })
    }

    /// `vunmap` (locked) of the mapping [`ExporterOps::vmap`] made.
    ///
    /// # Safety
    ///
    /// `map` is valid for reads and writes for the call and holds the mapping that
    /// [`ExporterOps::vmap`] made, which is unmapped once.
    #[inline]
    pub unsafe fn vunmap(&self, map: NonNull<bindings::iosys_map>, _held: &ResvGuard<'_>) {
        debug_check_held(self.buf, _held);
        if let Some(f) = self.ops.vunmap {
            // SAFETY: `map` holds the buffer's kernel mapping and is valid (the caller's
            // guarantee); the buffer's lock is held (`_held`).
            unsafe { f(self.buf.as_raw(), map.as_ptr()) };
        }
    }
}

/// Tells the importer of `attach` that its mappings are invalid, if it wants to know.
#[inline]
pub fn invalidate(attach: &ExportedAttachment<'_>, _held: &ResvGuard<'_>, _core: &CoreToken) {
    debug_check_held(attach.buffer(), _held);
    // SAFETY: The attachment is live; its importer operations, when set, are static.
    let ops = unsafe { (*attach.as_raw()).importer_ops.as_ref() };
    if let Some(f) = ops.and_then(|ops| ops.invalidate_mappings) {
        // SAFETY: The buffer's lock is held (`_held`, the core's contract), as
        // `invalidate_mappings` expects.
        unsafe { f(attach.as_raw()) };
    }
}
