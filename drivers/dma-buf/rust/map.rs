// SPDX-License-Identifier: GPL-2.0

//! Device mappings of an attachment: map and unmap, locked and unlocked.

use crate::{
    cpu_access,
    ops::{to_error, Direction, ExporterOps},
    sg_debug,
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    dma_buf::ExportedAttachment,
    dma_resv::{ResvGuard, Usage},
    prelude::*,
};

/// Returns whether the buffer of `attach` is pinned while it is mapped: for static importers
/// of exporters that can pin (dynamic importers pin explicitly, or follow moves).
fn pin_on_map(ops: &ExporterOps<'_>, attach: &ExportedAttachment<'_>) -> bool {
    ops.can_pin() && !attach.is_dynamic()
}

/// Maps the buffer of `attach` for its device (`dma_buf_map_attachment()`), locked.
///
/// Static importers of an exporter that can pin get the buffer pinned for the mapping's
/// lifetime, and wait for the buffer's kernel fences before it is returned; dynamic importers
/// wait themselves.
pub(crate) fn map(
    attach: &ExportedAttachment<'_>,
    dir: Direction,
    held: &ResvGuard<'_>,
) -> Result<NonNull<bindings::sg_table>> {
    let ops = ExporterOps::of(attach.buffer()).ok_or(EINVAL)?;
    let pinned = pin_on_map(&ops, attach);
    if pinned {
        let e = ops.pin(attach, held);
        if e != 0 {
            // An exporter must not make a buffer inaccessible while attachments that
            // prevent it exist.
            if e == EBUSY.to_errno() {
                kernel::do_once_lite! { kernel::warn_on!(true); }
            }
            return Err(to_error(e));
        }
    }
    let mapped = map_pinned(&ops, attach, dir, held);
    if mapped.is_err() && pinned {
        ops.unpin(attach, held);
    }
    mapped
}

/// Maps, after any pin that the mapping needs was taken.
fn map_pinned(
    ops: &ExporterOps<'_>,
    attach: &ExportedAttachment<'_>,
    dir: Direction,
    held: &ResvGuard<'_>,
) -> Result<NonNull<bindings::sg_table>> {
    let table = ops.map(attach, dir, held)?;
    let ready = if attach.is_dynamic() {
        Ok(())
    } else {
        // Static importers do not wait for fences themselves.
        cpu_access::wait_fences(attach.buffer(), Usage::Kernel)
    };
    // SAFETY: `table` was just mapped by the exporter.
    match ready.and_then(|()| unsafe { sg_debug::wrap(table) }) {
        Ok(wrapped) => {
            // SAFETY: `wrapped` has the DMA entries of the mapped table.
            unsafe { sg_debug::check_alignment(wrapped) };
            Ok(wrapped)
        }
        Err(e) => {
            // SAFETY: `table` is the exporter's table for `attach` in `dir`, not given out.
            unsafe { ops.unmap(attach, table, dir, held) };
            Err(e)
        }
    }
}

/// Unmaps a table that [`map`] returned (`dma_buf_unmap_attachment()`), locked.
///
/// # Safety
///
/// `table` was returned by [`map`] for `attach` in `dir` and is not used after this call.
pub(crate) unsafe fn unmap(
    attach: &ExportedAttachment<'_>,
    table: NonNull<bindings::sg_table>,
    dir: Direction,
    held: &ResvGuard<'_>,
) {
    let Some(ops) = ExporterOps::of(attach.buffer()) else {
        return;
    };
    // SAFETY: The caller gives back a table of `map`, which came from `sg_debug::wrap`.
    let table = unsafe { sg_debug::unwrap(table) };
    // SAFETY: `table` is the exporter's table of the mapping the caller gives back.
    unsafe { ops.unmap(attach, table, dir, held) };
    if pin_on_map(&ops, attach) {
        ops.unpin(attach, held);
    }
}
