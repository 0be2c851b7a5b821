// SPDX-License-Identifier: GPL-2.0

//! The address of a kernel mapping, in system or I/O memory (`struct iosys_map`).
//!
//! C header: [`include/linux/iosys-map.h`](srctree/include/linux/iosys-map.h)

use crate::{bindings, ffi::c_void};

/// A kernel address in system or I/O memory (`struct iosys_map`): a pointer, and the flag that
/// says which of the two it points to, and so which member of the address union holds it.
/// Both members are pointers of the same size, so reading either is always defined; the flag
/// says which one means something.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct IosysMap(bindings::iosys_map);

impl IosysMap {
    /// Returns a cleared map: no address, in system memory (`iosys_map_clear()`).
    #[inline]
    pub fn cleared() -> Self {
        // All zeroes: system memory, at a null address.
        Self(bindings::iosys_map::default())
    }

    /// Returns a map of system memory at `vaddr` (`iosys_map_set_vaddr()`).
    #[inline]
    pub fn system(vaddr: *mut c_void) -> Self {
        Self(bindings::iosys_map {
            __bindgen_anon_1: bindings::iosys_map__bindgen_ty_1 { vaddr },
            is_iomem: false,
        })
    }

    /// Returns the map a C function made.
    #[inline]
    pub fn from_raw(raw: bindings::iosys_map) -> Self {
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
        // SAFETY: Both members are pointers of the same size; in system memory, `vaddr` is the
        // one that means something.
        let vaddr = unsafe { self.0.__bindgen_anon_1.vaddr };
        (!self.is_iomem()).then_some(vaddr)
    }

    /// Returns the address, whichever memory it is in.
    #[inline]
    fn address(&self) -> *mut c_void {
        // SAFETY: Both members are pointers of the same size; `is_iomem` says which one means
        // something.
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
