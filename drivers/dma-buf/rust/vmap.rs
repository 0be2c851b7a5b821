// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings of a buffer: one per buffer, shared by reference count.
//!
//! The buffer keeps the exporter's mapping in `vmap_ptr` and counts its users in
//! `vmapping_counter`, both protected by the reservation lock: the first `vmap` asks the
//! exporter, the others get the same address, and the last `vunmap` gives it back.

use crate::ops::{errno, ExporterOps, Ret};
use core::ptr::NonNull;
use kernel::{bindings, dma_buf::DmaBuf, dma_resv::ResvGuard, prelude::*};

/// Returns a cleared (null, system memory) mapping.
pub(crate) fn cleared() -> bindings::iosys_map {
    // SAFETY: All-zero is a cleared `struct iosys_map`: a null system-memory address.
    unsafe { core::mem::zeroed() }
}

/// Returns whether `map` has no address.
fn is_null(map: &bindings::iosys_map) -> bool {
    // SAFETY: `is_iomem` says which member of the address union is in use.
    unsafe {
        if map.is_iomem {
            map.__bindgen_anon_1.vaddr_iomem.is_null()
        } else {
            map.__bindgen_anon_1.vaddr.is_null()
        }
    }
}

/// Returns whether `a` and `b` are the same address in the same address space.
fn is_equal(a: &bindings::iosys_map, b: &bindings::iosys_map) -> bool {
    if a.is_iomem != b.is_iomem {
        return false;
    }
    // SAFETY: Both use the member `is_iomem` selects.
    unsafe {
        if a.is_iomem {
            a.__bindgen_anon_1.vaddr_iomem == b.__bindgen_anon_1.vaddr_iomem
        } else {
            a.__bindgen_anon_1.vaddr == b.__bindgen_anon_1.vaddr
        }
    }
}

/// The buffer's shared mapping and its count of users, read and written through the buffer
/// while its reservation lock is held: no reference to either field is kept, so a caller's
/// `map` may even be the buffer's own `vmap_ptr`.
struct Shared<'a> {
    buf: &'a DmaBuf,
}

impl<'a> Shared<'a> {
    /// The state of `buf`, whose lock `_held` proves held for `'a`.
    fn of(buf: &'a DmaBuf, _held: &'a ResvGuard<'_>) -> Self {
        crate::ops::debug_check_held(buf, _held);
        Self { buf }
    }

    fn count(&self) -> u32 {
        // SAFETY: The field is protected by the reservation lock, held for `'a`.
        unsafe { (*self.buf.as_raw()).vmapping_counter }
    }

    fn set_count(&self, count: u32) {
        // SAFETY: The field is protected by the reservation lock, held for `'a`; no reference to
        // it exists.
        unsafe { (*self.buf.as_raw()).vmapping_counter = count };
    }

    fn map(&self) -> bindings::iosys_map {
        // SAFETY: The field is protected by the reservation lock, held for `'a`.
        unsafe { (*self.buf.as_raw()).vmap_ptr }
    }

    /// Copies the mapping to `out`, as the memory it is (a `struct iosys_map` copied field by
    /// field would copy its padding in pieces).
    ///
    /// # Safety
    ///
    /// `out` is valid for writes; it may be the buffer's own `vmap_ptr`.
    unsafe fn copy_map_to(&self, out: NonNull<bindings::iosys_map>) {
        // SAFETY: The field is protected by the reservation lock, held for `'a`; `out` is valid
        // for writes (the caller's guarantee); `copy` allows the two to be one.
        unsafe { core::ptr::copy(&raw const (*self.buf.as_raw()).vmap_ptr, out.as_ptr(), 1) };
    }

    fn set_map(&self, map: bindings::iosys_map) {
        // SAFETY: The field is protected by the reservation lock, held for `'a`; no reference to
        // it exists.
        unsafe { (*self.buf.as_raw()).vmap_ptr = map };
    }
}

/// Maps the buffer into the kernel's address space (`dma_buf_vmap()`), locked, and writes
/// the mapping to `out`, which is left as it is on failure.
///
/// # Errors
///
/// `-EINVAL` if the exporter cannot, or the exporter's nonzero result as it is (with a
/// one-time warning, as the C core gives).
///
/// # Safety
///
/// `out` is valid for writes for the call.
#[inline]
pub(crate) unsafe fn vmap(
    buf: &DmaBuf,
    out: NonNull<bindings::iosys_map>,
    held: &ResvGuard<'_>,
) -> Ret {
    let ops = ExporterOps::of(buf).ok_or(errno(EINVAL))?;
    if !ops.can_vmap() {
        return Err(errno(EINVAL));
    }
    let shared = Shared::of(buf, held);
    let count = shared.count();
    if count > 0 {
        // A mapping in use is never null; the C core stops the kernel if it is.
        if kernel::warn_on!(is_null(&shared.map())) {
            return Err(errno(EINVAL));
        }
        shared.set_count(count.checked_add(1).ok_or(errno(EOVERFLOW))?);
        // SAFETY: `out` is valid for writes (the caller's guarantee).
        unsafe { shared.copy_map_to(out) };
        return Ok(());
    }
    // SAFETY: `out` is valid for writes (the caller's guarantee).
    unsafe { first_vmap(buf, out, held) }
}

/// [`vmap`] of a buffer that no one has mapped: the exporter's `vmap`.
///
/// Out of line, so that a mapping in use is given out without saving registers, and with
/// its arguments in registers: it finds the operations again.
///
/// # Safety
///
/// As [`vmap`].
#[inline(never)]
unsafe fn first_vmap(buf: &DmaBuf, out: NonNull<bindings::iosys_map>, held: &ResvGuard<'_>) -> Ret {
    let ops = ExporterOps::of(buf).ok_or(errno(EINVAL))?;
    let shared = Shared::of(buf, held);
    if kernel::warn_on!(!is_null(&shared.map())) {
        return Err(errno(EINVAL));
    }
    let mut map = cleared();
    let mapped: Ret = ops.vmap(&mut map, held);
    if let Err(e) = mapped {
        kernel::do_once_lite! { kernel::warn_on!(true); }
        return Err(e);
    }
    shared.set_map(map);
    shared.set_count(1);
    // SAFETY: `out` is valid for writes (the caller's guarantee).
    unsafe { shared.copy_map_to(out) };
    Ok(())
}

/// Gives back a mapping [`vmap`] returned (`dma_buf_vunmap()`), locked.
///
/// The last user's `map` goes to the exporter's `vunmap`, which may clear it (DRM's does).
///
/// # Errors
///
/// `EINVAL` if `map` is not the buffer's mapping in use (the C core stops the kernel).
///
/// # Safety
///
/// `map` is valid for reads and writes for the call; it may be the buffer's own `vmap_ptr`.
pub(crate) unsafe fn vunmap(
    buf: &DmaBuf,
    map: NonNull<bindings::iosys_map>,
    held: &ResvGuard<'_>,
) -> Result {
    let shared = Shared::of(buf, held);
    let count = shared.count();
    // SAFETY: `map` is valid for reads (the caller's guarantee); it is copied, not borrowed.
    let given = unsafe { map.read() };
    if count == 0 || is_null(&shared.map()) || !is_equal(&shared.map(), &given) {
        return Err(EINVAL);
    }
    shared.set_count(count - 1);
    if count == 1 {
        if let Some(ops) = ExporterOps::of(buf) {
            // SAFETY: `map` is valid for reads and writes (the caller's guarantee).
            unsafe { ops.vunmap(map, held) };
        }
        shared.set_map(cleared());
    }
    Ok(())
}
