// SPDX-License-Identifier: GPL-2.0

//! `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` and `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: the buffer's implicit
//! fences as a sync_file, and a sync_file's fences added to them (`CONFIG_SYNC_FILE`).

use kernel::{
    bindings,
    dma_buf::DmaBuf,
    dma_fence::Fence,
    dma_resv::{Unlocked, Usage},
    error::to_result,
    fs::{file::FileDescriptorReservation, File},
    prelude::*,
    sync::aref::ARef,
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
    let mut fence = core::ptr::null_mut();
    // SAFETY: The buffer's reservation object is initialised; the unlocked
    // `dma_resv_get_singleton()` stores a new reference or null in `fence`.
    to_result(unsafe {
        bindings::dma_resv_get_singleton(buf.resv().as_raw(), usage.into(), &mut fence)
    })?;
    let fence = match core::ptr::NonNull::new(fence) {
        // SAFETY: The new reference stored above, which the `ARef` takes over.
        Some(fence) => unsafe { ARef::from_raw(fence.cast::<Fence>()) },
        None => Fence::stub(),
    };

    // SAFETY: `fence` is referenced; the sync_file takes a reference of its own.
    let sync_file = unsafe { bindings::sync_file_create(fence.as_raw()) };
    drop(fence);
    if sync_file.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: A new sync_file's file holds its only reference, which the `ARef` takes over; the
    // file is new, so no `fdget_pos()` is in use on it.
    let file: ARef<File> = unsafe {
        ARef::from_raw(core::ptr::NonNull::from(File::from_raw_file(
            (*sync_file).file,
        )))
    };

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

    // SAFETY: `sync_file_get_fence()` accepts any fd; it returns a new reference to the
    // sync_file's fence, or null.
    let fence = core::ptr::NonNull::new(unsafe { bindings::sync_file_get_fence(arg.0.fd) })
        .ok_or(EINVAL)?;
    // SAFETY: The new reference, which the `ARef` takes over.
    let fence: ARef<Fence> = unsafe { ARef::from_raw(fence.cast()) };
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
