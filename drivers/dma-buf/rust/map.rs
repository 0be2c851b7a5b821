// SPDX-License-Identifier: GPL-2.0

//! Device mappings of an attachment: map and unmap, locked and unlocked.

use crate::{abi::CORE, cpu_access, sg_debug};
use core::{num::NonZero, ptr::NonNull};
use kernel::{
    bindings,
    dma_buf::{
        core_ops::{to_error, Direction, ExporterOps},
        ExportedAttachment,
    },
    dma_resv::{ResvGuard, Usage},
    ffi::c_int,
    prelude::*,
    scatterlist::SGTable,
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
///
/// Inline in the entry points, so that its result stays in registers; the failures are out
/// of line.
#[inline(always)]
pub(crate) fn map(
    attach: &ExportedAttachment<'_>,
    dir: Direction,
    held: &ResvGuard<'_>,
) -> Result<NonNull<bindings::sg_table>> {
    let ops = ExporterOps::of_attached(attach, &CORE);
    if pin_on_map(&ops, attach) {
        if let Some(e) = NonZero::new(ops.pin(attach, held)) {
            return Err(pin_failed(e));
        }
    }
    // The failures find the operations again, as C does: nothing but the attachment and the
    // table is kept across the exporter's calls.
    let table = match ops.map(attach, dir, held) {
        Ok(table) => table,
        Err(e) => return Err(map_failed(*attach, held, e)),
    };
    let ready = if attach.is_dynamic() {
        Ok(())
    } else {
        // Static importers do not wait for fences themselves.
        cpu_access::wait_fences(attach.buffer(), Usage::Kernel)
    };
    // SAFETY: `table` was just mapped by the exporter.
    match ready.and_then(|()| unsafe { sg_debug::wrap(table) }) {
        Ok(wrapped) => {
            // SAFETY: `wrapped` is the mapped table, which nobody changes while it is mapped.
            sg_debug::check_alignment(unsafe { SGTable::from_raw(wrapped.as_ptr()) });
            Ok(wrapped)
        }
        // SAFETY: `table` is the exporter's table for `attach` in `dir`, not given out.
        Err(e) => Err(unsafe { unmap_failed(*attach, table, dir, held, e) }),
    }
}

/// The error of a static importer's pin in [`map`] that failed with `e`.
#[cold]
fn pin_failed(e: NonZero<c_int>) -> Error {
    // An exporter must not make a buffer inaccessible while attachments that prevent it
    // exist.
    if e.get() == EBUSY.to_errno() {
        kernel::do_once_lite! { kernel::warn_on!(true); }
    }
    to_error(e)
}

/// Undoes the pin of a [`map`] whose exporter's `map_dma_buf` failed with `e`; returns `e`.
///
/// The attachment comes by value, in a register: a reference would keep it in memory on the
/// fast path.
#[cold]
fn map_failed(attach: ExportedAttachment<'_>, held: &ResvGuard<'_>, e: Error) -> Error {
    let ops = ExporterOps::of_attached(&attach, &CORE);
    if pin_on_map(&ops, &attach) {
        ops.unpin(&attach, held);
    }
    e
}

/// Undoes a [`map`] that failed with `e` after the exporter mapped `table`; returns `e`.
///
/// # Safety
///
/// `table` is the exporter's table for `attach` in `dir`, not given out.
#[cold]
unsafe fn unmap_failed(
    attach: ExportedAttachment<'_>,
    table: NonNull<bindings::sg_table>,
    dir: Direction,
    held: &ResvGuard<'_>,
    e: Error,
) -> Error {
    // SAFETY: The caller's guarantee.
    unsafe { ExporterOps::of_attached(&attach, &CORE).unmap(&attach, table, dir, held) };
    map_failed(attach, held, e)
}

/// Unmaps a table that [`map`] returned (`dma_buf_unmap_attachment()`), locked.
///
/// # Safety
///
/// `table` was returned by [`map`] for `attach` in `dir` and is not used after this call.
#[inline]
pub(crate) unsafe fn unmap(
    attach: &ExportedAttachment<'_>,
    table: NonNull<bindings::sg_table>,
    dir: Direction,
    held: &ResvGuard<'_>,
) {
    let ops = ExporterOps::of_attached(attach, &CORE);
    // SAFETY: The caller gives back a table of `map`, which came from `sg_debug::wrap`.
    let table = unsafe { sg_debug::unwrap(table) };
    // SAFETY: `table` is the exporter's table of the mapping the caller gives back.
    unsafe { ops.unmap(attach, table, dir, held) };
    if pin_on_map(&ops, attach) {
        ops.unpin(attach, held);
    }
}
