// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings of a whole buffer (vmap).
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use super::{exporter_result, DmaBuf, IosysMap};
use crate::{bindings, dma_resv::Unlocked, prelude::*};
use core::{marker::PhantomData, ops::Deref};

/// The kernel address of a vmapped buffer, with bounds-checked accessors; both [`VMap`] and
/// [`VMapUnlocked`] dereference to it.
pub struct Vaddr {
    map: IosysMap,
    size: usize,
}

impl Vaddr {
    /// Returns whether the mapping is I/O memory (then `read` and `write` are refused).
    pub fn is_iomem(&self) -> bool {
        self.map.is_iomem()
    }

    /// Checks that `[offset, offset + len)` is inside the buffer and in system memory, and
    /// returns its address.
    fn range(&self, offset: usize, len: usize) -> Result<*mut u8> {
        let base = self.map.vaddr().ok_or(EOPNOTSUPP)?.cast::<u8>();
        let end = offset.checked_add(len).ok_or(EOVERFLOW)?;
        if end > self.size {
            return Err(EINVAL);
        }
        if base.is_null() {
            // An exporter that reported success without an address.
            return Err(EFAULT);
        }
        Ok(base.wrapping_add(offset))
    }

    /// Copies `dst.len()` bytes at `offset` out of the buffer.
    ///
    /// # Errors
    ///
    /// `EINVAL` or `EOVERFLOW` if the range is not inside the buffer, `EOPNOTSUPP` for I/O
    /// memory, `EFAULT` if the exporter gave no address.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        let src = self.range(offset, dst.len())?;
        // SAFETY: `src` is valid for `dst.len()` bytes of the mapped buffer (checked by
        // `range`); the buffer is memory shared with devices, so it is copied, never referenced.
        unsafe { core::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `src` into the buffer at `offset`.
    ///
    /// # Errors
    ///
    /// As [`Vaddr::read`].
    pub fn write(&self, offset: usize, src: &[u8]) -> Result {
        let dst = self.range(offset, src.len())?;
        // SAFETY: `dst` is valid for `src.len()` bytes of the mapped buffer (checked by
        // `range`); the buffer is memory shared with devices, so it is copied, never referenced.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        Ok(())
    }
}

/// A kernel mapping of a buffer made with the reservation lock held (`dma_buf_vmap()`),
/// unmapped on drop before the lock is released.
pub struct VMap<'l> {
    buf: &'l DmaBuf,
    vaddr: Vaddr,
    _not_send: PhantomData<*mut ()>,
}

impl<'l> VMap<'l> {
    /// # Safety
    ///
    /// The current task holds the reservation lock of `buf` for `'l`.
    pub(super) unsafe fn new(buf: &'l DmaBuf) -> Result<Self> {
        let mut map = IosysMap::cleared();
        // SAFETY: `buf` is referenced and its lock is held (the caller's guarantee).
        exporter_result(unsafe { bindings::dma_buf_vmap(buf.as_raw(), map.as_raw_mut()) })?;
        Ok(Self {
            buf,
            vaddr: Vaddr {
                map,
                size: buf.size(),
            },
            _not_send: PhantomData,
        })
    }
}

impl Deref for VMap<'_> {
    type Target = Vaddr;

    fn deref(&self) -> &Vaddr {
        &self.vaddr
    }
}

impl Drop for VMap<'_> {
    fn drop(&mut self) {
        // SAFETY: The map was made by `dma_buf_vmap()` for `buf`, whose lock is held for `'l`.
        unsafe { bindings::dma_buf_vunmap(self.buf.as_raw(), self.vaddr.map.as_raw_mut()) };
    }
}

/// A kernel mapping made without holding the reservation lock (`dma_buf_vmap_unlocked()`),
/// unmapped on drop with `dma_buf_vunmap_unlocked()`.
pub struct VMapUnlocked<'b> {
    buf: &'b DmaBuf,
    vaddr: Vaddr,
}

impl DmaBuf {
    /// Maps the whole buffer into the kernel's address space, taking the reservation lock for
    /// the call (`dma_buf_vmap_unlocked()`).
    ///
    /// The mapping may be kept while the buffer is locked later: if it is dropped under the
    /// lock, it is unmapped under it (`dma_buf_vunmap()`).
    ///
    /// # Errors
    ///
    /// `EINVAL` if the exporter cannot vmap, or its error; `EDEADLK` if the current task holds
    /// the buffer's reservation lock after all (see [`Unlocked`]).
    pub fn vmap_unlocked(&self, _unlocked: &Unlocked) -> Result<VMapUnlocked<'_>> {
        self.resv().refuse_if_held("dma_buf_vmap_unlocked")?;
        let mut map = IosysMap::cleared();
        // SAFETY: The buffer is referenced; the lock is taken by the call.
        exporter_result(unsafe {
            bindings::dma_buf_vmap_unlocked(self.as_raw(), map.as_raw_mut())
        })?;
        Ok(VMapUnlocked {
            buf: self,
            vaddr: Vaddr {
                map,
                size: self.size(),
            },
        })
    }
}

impl Deref for VMapUnlocked<'_> {
    type Target = Vaddr;

    fn deref(&self) -> &Vaddr {
        &self.vaddr
    }
}

impl Drop for VMapUnlocked<'_> {
    fn drop(&mut self) {
        let (buf, map) = (self.buf.as_raw(), self.vaddr.map.as_raw_mut());
        if self.buf.resv().held_by_current_checked() {
            // The mapping is dropped under the lock, taken after it was made: unmap under it
            // rather than deadlock.
            // SAFETY: The map was made by `dma_buf_vmap_unlocked()` for `buf`, and the current
            // task holds its lock.
            unsafe { bindings::dma_buf_vunmap(buf, map) };
        } else {
            // SAFETY: The map was made by `dma_buf_vmap_unlocked()` for `buf`.
            unsafe { bindings::dma_buf_vunmap_unlocked(buf, map) };
        }
    }
}
