// SPDX-License-Identifier: GPL-2.0

//! The ioctls of a dma-buf file (`include/uapi/linux/dma-buf.h`).

use crate::cpu_access;
use kernel::{
    dma::DataDirection,
    dma_buf::{core_ops::to_error, DmaBuf},
    ioctl::_IOW,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// The ioctl type of dma-buf (`DMA_BUF_BASE`).
// CAST: A byte, widened.
const BASE: u32 = b'b' as u32;
/// `DMA_BUF_IOCTL_SYNC`.
const SYNC: u32 = _IOW::<uapi::dma_buf_sync>(BASE, 0);
/// `DMA_BUF_SET_NAME_A`, the 32-bit `DMA_BUF_SET_NAME`.
const SET_NAME_A: u32 = _IOW::<u32>(BASE, 1);
/// `DMA_BUF_SET_NAME_B`, the 64-bit `DMA_BUF_SET_NAME`.
const SET_NAME_B: u32 = _IOW::<u64>(BASE, 1);
/// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`.
#[cfg(CONFIG_SYNC_FILE)]
const EXPORT_SYNC_FILE: u32 = kernel::ioctl::_IOWR::<uapi::dma_buf_export_sync_file>(BASE, 2);
/// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`.
#[cfg(CONFIG_SYNC_FILE)]
const IMPORT_SYNC_FILE: u32 = _IOW::<uapi::dma_buf_import_sync_file>(BASE, 3);

/// Runs the ioctl `cmd` with argument `arg` on `buf` (`dma_buf_ioctl()`).
///
/// # Errors
///
/// `ENOTTY` for an unknown `cmd`, else the ioctl's error.
pub(crate) fn ioctl(buf: &DmaBuf, cmd: u32, arg: usize) -> Result {
    let user = UserPtr::from_addr(arg);
    match cmd {
        SYNC => sync(buf, user),
        SET_NAME_A | SET_NAME_B => buf.set_name_from_user(user, &crate::abi::CORE),
        #[cfg(CONFIG_SYNC_FILE)]
        EXPORT_SYNC_FILE => crate::sync_file::export(buf, user),
        #[cfg(CONFIG_SYNC_FILE)]
        IMPORT_SYNC_FILE => crate::sync_file::import(buf, user),
        _ => Err(ENOTTY),
    }
}

/// `DMA_BUF_IOCTL_SYNC`: begins or ends CPU access in the direction of the flags of the
/// `struct dma_buf_sync` at `user`.
///
/// # Errors
///
/// `EFAULT` for a bad `user`, `EINVAL` for unknown flags or none of read and write, or the
/// error of beginning or ending the access.
fn sync(buf: &DmaBuf, user: UserPtr) -> Result {
    let flags: u64 = UserSlice::new(user, size_of::<uapi::dma_buf_sync>())
        .reader()
        .read()?;
    if flags & !u64::from(uapi::DMA_BUF_SYNC_VALID_FLAGS_MASK) != 0 {
        return Err(EINVAL);
    }
    let direction = match u32::try_from(flags & u64::from(uapi::DMA_BUF_SYNC_RW)) {
        Ok(uapi::DMA_BUF_SYNC_READ) => DataDirection::FromDevice,
        Ok(uapi::DMA_BUF_SYNC_WRITE) => DataDirection::ToDevice,
        Ok(uapi::DMA_BUF_SYNC_RW) => DataDirection::Bidirectional,
        _ => return Err(EINVAL),
    }
    .into();
    // A task cannot hold the reservation lock across system calls; a buggy exporter's
    // positive result becomes `EINVAL`, a defined error for userspace.
    let done = if flags & u64::from(uapi::DMA_BUF_SYNC_END) != 0 {
        cpu_access::end(buf, direction, false)
    } else {
        cpu_access::begin(buf, direction, false)
    };
    done.map_err(to_error)
}
