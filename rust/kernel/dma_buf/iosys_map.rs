// SPDX-License-Identifier: GPL-2.0

//! The address of a kernel mapping, in system or I/O memory (`struct iosys_map`).
//!
//! C header: [`include/linux/iosys-map.h`](srctree/include/linux/iosys-map.h)

use crate::{bindings, ffi::c_void};

/// A kernel address in system or I/O memory (`struct iosys_map`): a pointer, and the flag that
/// says which of the two it points to.
///
/// # Invariants
///
/// `self.0.is_iomem` says which member of the address union is in use.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct IosysMap(bindings::iosys_map);

impl IosysMap {
    /// Returns a cleared map: no address, in system memory (`iosys_map_clear()`).
    #[inline]
    pub fn cleared() -> Self {
        // INVARIANT: All zeroes: system memory, at a null address.
        Self(bindings::iosys_map::default())
    }

    /// Returns a map of system memory at `vaddr` (`iosys_map_set_vaddr()`).
    #[inline]
    pub fn system(vaddr: *mut c_void) -> Self {
        // INVARIANT: System memory, whose address is `vaddr`.
        Self(bindings::iosys_map {
            __bindgen_anon_1: bindings::iosys_map__bindgen_ty_1 { vaddr },
            is_iomem: false,
        })
    }

    /// Returns the map a C function made.
    #[inline]
    pub fn from_raw(raw: bindings::iosys_map) -> Self {
        // INVARIANT: C code keeps `is_iomem` and the member in use together; the two members
        // are pointers of the same size, so reading the other one would read a pointer still.
        Self(raw)
    }

    /// Returns the raw map.
    #[inline]
    pub fn into_raw(self) -> bindings::iosys_map {
        self.0
    }

    /// Returns the raw map, for a C function to fill in or read.
    #[inline]
    pub fn as_raw_mut(&mut self) -> *mut bindings::iosys_map {
        &raw mut self.0
    }

    /// Returns whether the map is of I/O memory.
    #[inline]
    pub fn is_iomem(&self) -> bool {
        self.0.is_iomem
    }

    /// Returns the address of system memory, or `None` for I/O memory.
    #[inline]
    pub fn vaddr(&self) -> Option<*mut c_void> {
        // SAFETY: In system memory, `vaddr` is the member in use (type invariant).
        (!self.is_iomem()).then(|| unsafe { self.0.__bindgen_anon_1.vaddr })
    }

    /// Returns the address, whichever memory it is in.
    #[inline]
    fn address(&self) -> *mut c_void {
        // SAFETY: `is_iomem` says which member is in use (type invariant); both are pointers.
        unsafe {
            if self.is_iomem() {
                self.0.__bindgen_anon_1.vaddr_iomem
            } else {
                self.0.__bindgen_anon_1.vaddr
            }
        }
    }

    /// Returns whether the map has no address (`iosys_map_is_null()`).
    #[inline]
    pub fn is_null(&self) -> bool {
        self.address().is_null()
    }
}

/// Two maps are equal if they are the same address in the same memory
/// (`iosys_map_is_equal()`).
impl PartialEq for IosysMap {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.is_iomem() == other.is_iomem() && self.address() == other.address()
    }
}

impl Eq for IosysMap {}
