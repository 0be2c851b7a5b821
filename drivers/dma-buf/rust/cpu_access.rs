// SPDX-License-Identifier: GPL-2.0

//! CPU access to a buffer: begin and end from the kernel, mappings to userspace.

use crate::{abi::CORE, trace::trace};
use kernel::{
    dma::DataDirection,
    dma_buf::{
        core_ops::{errno, to_error, Direction, ExporterOps, Ret},
        DmaBuf,
    },
    dma_resv::Usage,
    mm::virt::VmaNew,
    page::PAGE_SHIFT,
    prelude::*,
};

/// Prepares the buffer for CPU access in `dir` (`dma_buf_begin_cpu_access()`), unlocked: the
/// exporter's preparation, then a wait for the implicit fences the access must follow.
///
/// `lock_held` says that the caller holds the reservation lock, against the convention (and
/// warned): lockdep is then not told that the lock may be taken here, which it would report
/// as recursive locking.
///
/// # Errors
///
/// The exporter's nonzero result as it is (then nothing is waited for, as in the C core), or
/// the wait's error.
pub(crate) fn begin(buf: &DmaBuf, dir: Direction, lock_held: bool) -> Ret {
    if !lock_held {
        buf.resv().might_lock();
    }
    ExporterOps::of(buf, &CORE)
        .ok_or(errno(EINVAL))?
        .begin_cpu_access(dir)?;
    // The exporter may have waited already; waiting again for signaled fences is cheap.
    let write = matches!(
        DataDirection::try_from(dir),
        Ok(DataDirection::Bidirectional | DataDirection::ToDevice)
    );
    wait_fences(buf, Usage::for_access(write)).map_err(errno)
}

/// Waits, interruptibly and without limit, for the fences of `usage` of `buf`.
///
/// As in the C core, only a negative result of the wait is an error.
pub(crate) fn wait_fences(buf: &DmaBuf, usage: Usage) -> Result {
    buf.resv().wait(usage, true)
}

/// Ends CPU access in `dir` (`dma_buf_end_cpu_access()`), unlocked; `lock_held` as for
/// [`begin`].
///
/// # Errors
///
/// The exporter's nonzero result, as it is.
pub(crate) fn end(buf: &DmaBuf, dir: Direction, lock_held: bool) -> Ret {
    if !lock_held {
        buf.resv().might_lock();
    }
    ExporterOps::of(buf, &CORE)
        .ok_or(errno(EINVAL))?
        .end_cpu_access(dir)
}

/// Maps pages `pgoff..` of the buffer into `vma` (`dma_buf_mmap()`), unlocked: the mapping
/// then refers to the buffer's file and the exporter fills it in.
///
/// # Errors
///
/// `EINVAL` if the exporter cannot map to userspace or the range runs past the buffer,
/// `EOVERFLOW` if its end overflows, or the exporter's nonzero result as it is.
pub(crate) fn mmap(buf: &DmaBuf, vma: &VmaNew, pgoff: usize) -> Ret {
    let ops = ExporterOps::of(buf, &CORE).ok_or(errno(EINVAL))?;
    if !ops.can_mmap() {
        return Err(errno(EINVAL));
    }
    let end = pgoff.checked_add(pages(vma)).ok_or(errno(EOVERFLOW))?;
    if end > buf.size() >> PAGE_SHIFT {
        return Err(errno(EINVAL));
    }
    buf.redirect_mapping(vma, pgoff, &CORE);
    trace!(dma_buf_mmap(buf));
    ops.mmap(vma)
}

/// Maps the buffer into `vma`, a mapping of its own file, from the mapping's page offset
/// (`mmap()` on the dma-buf file).
///
/// # Errors
///
/// `EINVAL` if the exporter cannot map to userspace or the range runs past the buffer, or the
/// exporter's error.
pub(crate) fn mmap_file(buf: &DmaBuf, vma: &VmaNew) -> Result {
    let ops = ExporterOps::of(buf, &CORE).ok_or(EINVAL)?;
    if !ops.can_mmap() {
        return Err(EINVAL);
    }
    let pgoff = vma.pgoff();
    // `mmap()` has refused offsets whose end overflows already.
    let end = pgoff.checked_add(pages(vma)).ok_or(EINVAL)?;
    if end > buf.size() >> PAGE_SHIFT {
        return Err(EINVAL);
    }
    trace!(dma_buf_mmap_internal(buf));
    // A positive result of a buggy exporter would reach the mm core as an error of its own.
    ops.mmap(vma).map_err(to_error)
}

/// Returns the number of pages of `vma` (`vma_pages()`).
fn pages(vma: &VmaNew) -> usize {
    (vma.end() - vma.start()) >> PAGE_SHIFT
}
