// SPDX-License-Identifier: GPL-2.0

//! Scatter-gather tables made by exporters for their importers.
//!
//! C header: [`include/linux/scatterlist.h`](srctree/include/linux/scatterlist.h)

use crate::{
    bindings,
    device::Device,
    dma::DataDirection,
    error::to_result,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::aref::ARef,
    types::Opaque,
};

/// A scatter-gather table owned by an exporter (`struct sg_table`), built from pages and
/// mapped for the importing device.
///
/// [`Exporter::map_dma_buf`](super::Exporter::map_dma_buf) returns one; the core hands it back
/// to [`Exporter::unmap_dma_buf`](super::Exporter::unmap_dma_buf), and dropping it unmaps and
/// frees it.
///
/// # Invariants
///
/// `table` is an allocated `struct sg_table`; if `mapped` is set, it is DMA-mapped for that
/// device in that direction.
#[repr(C)]
pub struct SgTable {
    // Must stay the first field: the core gets a pointer to it, which is turned back into the
    // whole object.
    table: Opaque<bindings::sg_table>,
    mapped: Option<(ARef<Device>, DataDirection)>,
}

// SAFETY: The table is plain memory owned by this object, and the device reference is
// thread safe.
unsafe impl Send for SgTable {}

// SAFETY: Shared references only read the table.
unsafe impl Sync for SgTable {}

impl SgTable {
    /// Builds a table covering the first `size` bytes of `pages`, merging contiguous pages.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `size` is zero or more than the pages hold; `ENOMEM`.
    pub fn from_pages(pages: &[&Page], size: usize) -> Result<KBox<Self>> {
        let capacity = pages.len().checked_mul(PAGE_SIZE).ok_or(EOVERFLOW)?;
        if size == 0 || size > capacity {
            return Err(EINVAL);
        }
        let n_pages = u32::try_from(pages.len()).map_err(|_| EINVAL)?;
        let mut raw_pages = KVec::with_capacity(pages.len(), GFP_KERNEL)?;
        for page in pages {
            raw_pages.push(page.as_ptr(), GFP_KERNEL)?;
        }
        let this = KBox::new(
            Self {
                table: Opaque::zeroed(),
                mapped: None,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `table` is a zeroed `struct sg_table` owned by `this`, and `raw_pages` holds
        // `n_pages` valid pages covering at least `size` bytes.
        to_result(unsafe {
            bindings::sg_alloc_table_from_pages_segment(
                this.table.get(),
                raw_pages.as_mut_ptr(),
                n_pages,
                0,
                size,
                u32::MAX,
                GFP_KERNEL.as_raw(),
            )
        })?;
        // INVARIANT: The table is now allocated; it is not mapped.
        Ok(this)
    }

    /// Maps the table for `dev` in `dir` (`dma_map_sgtable()`); it is unmapped on drop.
    ///
    /// # Errors
    ///
    /// `EBUSY` if it is already mapped; the DMA API's error, such as `EIO` or `ENOMEM`.
    pub fn dma_map(&mut self, dev: &Device, dir: DataDirection) -> Result {
        if self.mapped.is_some() {
            return Err(EBUSY);
        }
        // SAFETY: The table is allocated (type invariant) and `dev` is a valid device.
        to_result(unsafe {
            bindings::dma_map_sgtable(dev.as_raw(), self.table.get(), dir.into(), 0)
        })?;
        // INVARIANT: The table was just mapped for `dev` in `dir`.
        self.mapped = Some((dev.into(), dir));
        Ok(())
    }

    /// Returns the raw table.
    pub fn as_raw(&self) -> *mut bindings::sg_table {
        self.table.get()
    }

    /// Gives the table to C, as a pointer to its `struct sg_table`.
    pub(super) fn into_raw(this: KBox<Self>) -> *mut bindings::sg_table {
        // The table is the first field of a `repr(C)` struct: both pointers are the same.
        KBox::into_raw(this).cast()
    }

    /// Takes back a table given to C with `into_raw`.
    ///
    /// # Safety
    ///
    /// `ptr` was returned by [`SgTable::into_raw`] and is not used by C any more.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::sg_table) -> KBox<Self> {
        // SAFETY: `ptr` points to the first field of a boxed `SgTable` (the caller's guarantee),
        // which is at the start of the allocation.
        unsafe { KBox::from_raw(ptr.cast()) }
    }
}

impl Drop for SgTable {
    fn drop(&mut self) {
        if let Some((dev, dir)) = self.mapped.take() {
            // SAFETY: The table is mapped for `dev` in `dir` (type invariant).
            unsafe { bindings::dma_unmap_sgtable(dev.as_raw(), self.table.get(), dir.into(), 0) };
        }
        // SAFETY: The table is allocated (type invariant) and freed only here.
        unsafe { bindings::sg_free_table(self.table.get()) };
    }
}
