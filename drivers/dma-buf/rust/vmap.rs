// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings of a buffer: one per buffer, shared by reference count.
//!
//! The buffer keeps the exporter's mapping in `vmap_ptr` and counts its users in
//! `vmapping_counter`, both protected by the reservation lock: the first `vmap` asks the
//! exporter, the others get the same address, and the last `vunmap` gives it back.

use crate::ops::ExporterOps;
use kernel::{bindings, dma_buf::DmaBuf, dma_resv::ResvGuard, prelude::*};

/// Returns a cleared (null, system memory) mapping.
pub(crate) fn cleared() -> bindings::iosys_map {
    // SAFETY: All-zero is a cleared `struct iosys_map`: a null system-memory address.
    unsafe { core::mem::zeroed() }
}

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

/// The buffer's shared mapping and its count of users.
struct Shared<'a> {
    counter: &'a mut u32,
    map: &'a mut bindings::iosys_map,
}

fn shared<'a>(buf: &'a DmaBuf, _held: &'a ResvGuard<'_>) -> Shared<'a> {
    let raw = buf.as_raw();
    // SAFETY: Both fields are protected by the buffer's reservation lock, held for `'a`
    // (`_held`), and nothing else borrows them while it is.
    unsafe {
        Shared {
            counter: &mut (*raw).vmapping_counter,
            map: &mut (*raw).vmap_ptr,
        }
    }
}

/// Maps the buffer into the kernel's address space (`dma_buf_vmap()`), locked.
///
/// # Errors
///
/// `EINVAL` if the exporter cannot, or the exporter's error (with a one-time warning, as the C
/// core gives).
pub(crate) fn vmap(buf: &DmaBuf, held: &ResvGuard<'_>) -> Result<bindings::iosys_map> {
    let ops = ExporterOps::of(buf).ok_or(EINVAL)?;
    if !ops.can_vmap() {
        return Err(EINVAL);
    }
    let shared = shared(buf, held);
    if *shared.counter > 0 {
        // A mapping in use is never null; the C core stops the kernel if it is.
        if kernel::warn_on!(is_null(shared.map)) {
            return Err(EINVAL);
        }
        *shared.counter = shared.counter.checked_add(1).ok_or(EOVERFLOW)?;
        return Ok(*shared.map);
    }
    if kernel::warn_on!(!is_null(shared.map)) {
        return Err(EINVAL);
    }
    let mut map = cleared();
    if let Err(e) = ops.vmap(&mut map, held) {
        kernel::do_once_lite! { kernel::warn_on!(true); }
        return Err(e);
    }
    *shared.map = map;
    *shared.counter = 1;
    Ok(map)
}

/// Gives back a mapping [`vmap`] returned (`dma_buf_vunmap()`), locked.
///
/// # Errors
///
/// `EINVAL` if `map` is not the buffer's mapping in use (the C core stops the kernel).
pub(crate) fn vunmap(buf: &DmaBuf, map: &mut bindings::iosys_map, held: &ResvGuard<'_>) -> Result {
    let shared = shared(buf, held);
    if is_null(shared.map) || *shared.counter == 0 || !is_equal(shared.map, map) {
        return Err(EINVAL);
    }
    *shared.counter -= 1;
    if *shared.counter == 0 {
        if let Some(ops) = ExporterOps::of(buf) {
            ops.vunmap(map, held);
        }
        *shared.map = cleared();
    }
    Ok(())
}
