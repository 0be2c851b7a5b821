// SPDX-License-Identifier: GPL-2.0

//! `CONFIG_DMABUF_DEBUG`: importers get a copy of the exporter's table with DMA addresses only.
//!
//! An importer must use the DMA addresses of a mapping, never its pages. With
//! `CONFIG_DMABUF_DEBUG` the core hands importers a copy of the table whose entries have no
//! page, so an importer that looks at them fails early; the copy remembers the original, which
//! goes back to the exporter on unmap. Without it the table is passed through.

use core::ptr::NonNull;
use kernel::{bindings, error::to_result, prelude::*, scatterlist::SGTable};

/// The copy given to the importer, and the exporter's table.
#[repr(C)]
struct Wrapper {
    original: NonNull<bindings::sg_table>,
    copy: bindings::sg_table,
}

/// Returns the table to give the importer for the exporter's `table`.
///
/// # Errors
///
/// `ENOMEM`, or `EINVAL` for a table without DMA entries; the exporter's table is then still
/// the caller's.
///
/// # Safety
///
/// `table` is a table that an exporter mapped, with `nents` DMA entries.
pub(crate) unsafe fn wrap(
    table: NonNull<bindings::sg_table>,
) -> Result<NonNull<bindings::sg_table>> {
    if !cfg!(CONFIG_DMABUF_DEBUG) {
        return Ok(table);
    }
    let mut wrapper = KBox::new(
        Wrapper {
            original: table,
            // All-zero is an empty `struct sg_table`.
            copy: pin_init::zeroed(),
        },
        GFP_KERNEL,
    )?;
    let from = table.as_ptr();
    // SAFETY: `from` is a mapped table (the caller's guarantee); `nents` is its number of DMA
    // entries.
    let nents = unsafe { (*from).nents };
    // SAFETY: `copy` is an empty table, which `sg_alloc_table()` fills in.
    to_result(unsafe { bindings::sg_alloc_table(&mut wrapper.copy, nents, bindings::GFP_KERNEL) })?;
    // SAFETY: Both tables have `nents` entries: the copy was just allocated with as many, and
    // the first `nents` entries of the original are its DMA entries (the caller's guarantee).
    // The copy's entries are zeroed (no page, offset or length) and get the DMA address and
    // length only, the length being `length` itself where there is no separate DMA length.
    unsafe {
        let mut to = wrapper.copy.sgl;
        let mut from = (*from).sgl;
        for _ in 0..nents {
            (*to).dma_address = (*from).dma_address;
            #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
            {
                (*to).dma_length = (*from).dma_length;
            }
            #[cfg(not(CONFIG_NEED_SG_DMA_LENGTH))]
            {
                (*to).length = (*from).length;
            }
            to = bindings::sg_next(to);
            from = bindings::sg_next(from);
        }
    }
    let wrapper = KBox::leak(wrapper);
    Ok(NonNull::from(&mut wrapper.copy))
}

/// Returns the exporter's table for the table [`wrap`] gave the importer, freeing the copy.
///
/// # Safety
///
/// `table` was returned by [`wrap`] and is not used after this call.
pub(crate) unsafe fn unwrap(table: NonNull<bindings::sg_table>) -> NonNull<bindings::sg_table> {
    if !cfg!(CONFIG_DMABUF_DEBUG) {
        return table;
    }
    // SAFETY: With `CONFIG_DMABUF_DEBUG`, `wrap` returned the `copy` field of a leaked
    // `Wrapper`, which the caller gives back.
    let mut wrapper =
        unsafe { KBox::from_raw(kernel::container_of!(table.as_ptr(), Wrapper, copy)) };
    // SAFETY: The copy was allocated by `sg_alloc_table()` and nobody uses it any more.
    unsafe { bindings::sg_free_table(&mut wrapper.copy) };
    wrapper.original
}

/// With `CONFIG_DMA_API_DEBUG`, reports a mapping whose DMA segments are not page aligned,
/// which importers may rely on.
pub(crate) fn check_alignment(table: &SGTable) {
    if !cfg!(CONFIG_DMA_API_DEBUG) {
        return;
    }
    let page_mask = u64::try_from(kernel::page::PAGE_SIZE - 1).unwrap_or(u64::MAX);
    for sg in table.iter() {
        let (addr, len) = (sg.dma_address(), sg.dma_len());
        // `dma_addr_t` and `resource_size_t` are 32 bits on some configurations, 64 on this one.
        #[allow(clippy::useless_conversion)]
        let misaligned = (u64::from(addr) | u64::from(len)) & page_mask != 0;
        if misaligned {
            pr_debug!("addr {:#x} or len {:#x} is not page aligned!\n", addr, len);
            break;
        }
    }
}
