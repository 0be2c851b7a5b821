// SPDX-License-Identifier: GPL-2.0

//! `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` and `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: the buffer's implicit
//! fences as a sync_file, and a sync_file's fences added to them (`CONFIG_SYNC_FILE`).

use kernel::{
    bindings,
    dma_buf::DmaBuf,
    dma_fence::Fence,
    dma_resv::{Unlocked, Usage},
    fs::file::FileDescriptorReservation,
    prelude::*,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// The argument of both ioctls: `flags` (read, write or both) and a sync_file's `fd`.
#[repr(transparent)]
struct Arg<T>(T);

// SAFETY: `struct dma_buf_export_sync_file` is two 32-bit integers, any bit pattern of which is
// valid, without padding.
unsafe impl FromBytes for Arg<uapi::dma_buf_export_sync_file> {}
// SAFETY: Two 32-bit integers without padding: every byte is initialised.
unsafe impl AsBytes for Arg<uapi::dma_buf_export_sync_file> {}
// SAFETY: `struct dma_buf_import_sync_file` is two 32-bit integers, any bit pattern of which is
// valid, without padding.
unsafe impl FromBytes for Arg<uapi::dma_buf_import_sync_file> {}

/// Checks the `flags` of either ioctl: read, write or both, and nothing else.
fn check_flags(flags: u32) -> Result {
    if flags & !uapi::DMA_BUF_SYNC_RW != 0 || flags & uapi::DMA_BUF_SYNC_RW == 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`: a new sync_file, at a new close-on-exec file descriptor
/// written back to `user`, that signals when the fences a CPU access in `flags` would wait
/// for have (all of them for a write, those of writers for a read).
///
/// # Errors
///
/// `EFAULT` for a bad `user`, `EINVAL` for bad flags, `EMFILE` without a free descriptor,
/// `ENOMEM`.
pub(crate) fn export(buf: &DmaBuf, user: UserPtr) -> Result {
    let (mut reader, mut writer) =
        UserSlice::new(user, size_of::<uapi::dma_buf_export_sync_file>()).reader_writer();
    let mut arg: Arg<uapi::dma_buf_export_sync_file> = reader.read()?;
    check_flags(arg.0.flags)?;

    let reservation = FileDescriptorReservation::get_unused_fd_flags(bindings::O_CLOEXEC)?;
    let usage = Usage::for_access(arg.0.flags & uapi::DMA_BUF_SYNC_WRITE != 0);
    let file = buf.resv().to_sync_file(usage)?;

    arg.0.fd = i32::try_from(reservation.reserved_fd()).map_err(|_| EMFILE)?;
    // On failure, dropping `file` releases the sync_file and `reservation` frees the fd.
    writer.write(&arg)?;
    reservation.fd_install(file);
    Ok(())
}

/// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: adds the fences of the sync_file at the `fd` read from
/// `user` to the buffer, as writers' fences if `flags` has write, else as readers'.
///
/// # Errors
///
/// `EFAULT` for a bad `user`, `EINVAL` for bad flags or an fd that is not a sync_file,
/// `ENOMEM`.
pub(crate) fn import(buf: &DmaBuf, user: UserPtr) -> Result {
    let arg: Arg<uapi::dma_buf_import_sync_file> =
        UserSlice::new(user, size_of::<uapi::dma_buf_import_sync_file>())
            .reader()
            .read()?;
    check_flags(arg.0.flags)?;

    let fence = Fence::from_sync_file(arg.0.fd)?;
    let usage = if arg.0.flags & uapi::DMA_BUF_SYNC_WRITE != 0 {
        Usage::Write
    } else {
        Usage::Read
    };

    let mut count = 0u32;
    fence.for_each_unwrapped(|_| count = count.saturating_add(1));
    if count == 0 {
        return Ok(());
    }
    // An ioctl: its task holds no reservation lock.
    let mut unlocked = Unlocked::new();
    let mut held = buf.resv().lock(&mut unlocked);
    // Room for all of them at once, as the C core makes it.
    let mut slots = held.reserve_slots(count)?;
    let mut added = Ok(());
    fence.for_each_unwrapped(|f| {
        // The walk finds the `count` fences again, so this does not fail.
        if added.is_ok() {
            added = slots.add(f, usage);
        }
    });
    added
}
