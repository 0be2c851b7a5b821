// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings of a buffer: one per buffer, shared by reference count.
//!
//! The buffer keeps the exporter's mapping in `vmap_ptr` and counts its users in
//! `vmapping_counter`, both protected by the reservation lock: the first `vmap` asks the
//! exporter, the others get the same address, and the last `vunmap` gives it back.

use crate::abi::CORE;
use core::ptr::NonNull;
use kernel::{
    bindings,
    dma_buf::{
        core_ops::{errno, ExporterOps, Ret},
        DmaBuf, IosysMap,
    },
    dma_resv::ResvGuard,
    prelude::*,
};

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
    let ops = ExporterOps::of(buf, &CORE).ok_or(errno(EINVAL))?;
    if !ops.can_vmap() {
        return Err(errno(EINVAL));
    }
    let mut shared = buf.vmap_state(held, &CORE).map_err(errno)?;
    let count = shared.count();
    if count > 0 {
        // A mapping in use is never null; the C core stops the kernel if it is.
        if kernel::warn_on!(shared.map().is_null()) {
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
    let ops = ExporterOps::of(buf, &CORE).ok_or(errno(EINVAL))?;
    let mut shared = buf.vmap_state(held, &CORE).map_err(errno)?;
    if kernel::warn_on!(!shared.map().is_null()) {
        return Err(errno(EINVAL));
    }
    let mut map = IosysMap::cleared();
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
    let mut shared = buf.vmap_state(held, &CORE)?;
    let count = shared.count();
    // SAFETY: `map` is valid for reads (the caller's guarantee); it is copied, not borrowed.
    let given = IosysMap::from_raw(unsafe { map.read() });
    if count == 0 || shared.map().is_null() || shared.map() != given {
        return Err(EINVAL);
    }
    shared.set_count(count - 1);
    if count == 1 {
        if let Some(ops) = ExporterOps::of(buf, &CORE) {
            // SAFETY: `map` is valid for reads and writes (the caller's guarantee).
            unsafe { ops.vunmap(map, held) };
        }
        shared.set_map(IosysMap::cleared());
    }
    Ok(())
}
