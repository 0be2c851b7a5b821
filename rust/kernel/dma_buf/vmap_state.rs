// SPDX-License-Identifier: GPL-2.0

//! The kernel mapping a buffer shares between its users, for the dma-buf core in Rust
//! (`CONFIG_DMABUF_CORE_RUST`): `vmap_ptr` and `vmapping_counter` of `struct dma_buf`, which
//! the buffer's reservation lock protects.

use super::{core_token::CoreToken, DmaBuf, IosysMap};
use crate::{bindings, dma_resv::ResvGuard, prelude::*};
use core::{marker::PhantomData, ptr::NonNull};

/// The shared kernel mapping of a buffer and its count of users, under the buffer's
/// reservation lock.
///
/// Neither field is borrowed: both are read and written by copy, so that a map a C caller
/// passes may be the buffer's own `vmap_ptr`.
///
/// # Invariants
///
/// `buf` is an exported buffer whose reservation lock is held for `'a`.
pub struct VmapState<'a> {
    buf: NonNull<bindings::dma_buf>,
    _held: PhantomData<&'a ResvGuard<'a>>,
}

impl DmaBuf {
    /// Returns the state of the buffer's shared kernel mapping, under `held`, for the core
    /// (`core`), which keeps it consistent with the exporter's `vmap` and `vunmap`.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `held` is not the guard of this buffer's reservation object.
    #[inline]
    pub fn vmap_state<'a>(
        &'a self,
        held: &'a ResvGuard<'_>,
        _core: &CoreToken,
    ) -> Result<VmapState<'a>> {
        if !held.is_of(self.resv()) {
            return Err(EINVAL);
        }
        // INVARIANT: The buffer is exported (`DmaBuf` invariant) and its lock is held for `'a`
        // (`held`, checked above).
        Ok(VmapState {
            buf: NonNull::from(self).cast(),
            _held: PhantomData,
        })
    }
}

impl VmapState<'_> {
    /// Returns the number of users of the mapping.
    #[inline]
    pub fn count(&self) -> u32 {
        // SAFETY: The field is protected by the reservation lock, held (type invariant).
        unsafe { (*self.buf.as_ptr()).vmapping_counter }
    }

    /// Sets the number of users of the mapping.
    #[inline]
    pub fn set_count(&mut self, count: u32) {
        // SAFETY: The field is protected by the reservation lock, held (type invariant); no
        // reference to it exists.
        unsafe { (*self.buf.as_ptr()).vmapping_counter = count };
    }

    /// Returns the mapping (cleared while it has no users).
    #[inline]
    pub fn map(&self) -> IosysMap {
        // SAFETY: The field is protected by the reservation lock, held (type invariant).
        IosysMap::from_raw(unsafe { (*self.buf.as_ptr()).vmap_ptr })
    }

    /// Sets the mapping.
    #[inline]
    pub fn set_map(&mut self, map: IosysMap) {
        // SAFETY: The field is protected by the reservation lock, held (type invariant); no
        // reference to it exists.
        unsafe { (*self.buf.as_ptr()).vmap_ptr = map.into_raw() };
    }

    /// Copies the mapping to `out`, as the memory it is (a `struct iosys_map` copied field by
    /// field would copy its padding in pieces).
    ///
    /// # Safety
    ///
    /// `out` is valid for writes; it may be the buffer's own `vmap_ptr`.
    #[inline]
    pub unsafe fn copy_map_to(&self, out: NonNull<bindings::iosys_map>) {
        // SAFETY: The field is protected by the reservation lock, held (type invariant); `out`
        // is valid for writes (the caller's guarantee); `copy` allows the two to be one.
        unsafe { core::ptr::copy(&raw const (*self.buf.as_ptr()).vmap_ptr, out.as_ptr(), 1) };
    }
}
