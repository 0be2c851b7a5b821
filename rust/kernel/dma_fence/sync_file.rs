// SPDX-License-Identifier: GPL-2.0

//! A fence as a sync_file (`CONFIG_SYNC_FILE`): the file userspace waits on or passes to a
//! driver, for a fence of the kernel.
//!
//! C header: [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h)

use super::Fence;
use crate::{bindings, fs::File, prelude::*, sync::aref::ARef};
use core::ptr::NonNull;

impl Fence {
    /// Returns the file of a new sync_file of this fence (`sync_file_create()`), which holds a
    /// reference to the fence; the file's only reference is the returned one.
    ///
    /// # Errors
    ///
    /// `ENOMEM` without memory.
    pub fn to_sync_file(&self) -> Result<ARef<File>> {
        // SAFETY: The fence is referenced for the call (type invariant); the sync_file takes a
        // reference of its own.
        let sync_file = NonNull::new(unsafe { bindings::sync_file_create(self.as_raw()) });
        let sync_file = sync_file.ok_or(ENOMEM)?;
        // SAFETY: A new sync_file's file holds its only reference, which the `ARef` takes over;
        // the file is new, so no `fdget_pos()` is in use on it.
        Ok(unsafe {
            ARef::from_raw(NonNull::from(File::from_raw_file(
                (*sync_file.as_ptr()).file,
            )))
        })
    }

    /// Returns the fence of the sync_file at the file descriptor `fd` of the current task
    /// (`sync_file_get_fence()`).
    ///
    /// # Errors
    ///
    /// `EINVAL` if `fd` is not an open sync_file.
    pub fn from_sync_file(fd: i32) -> Result<ARef<Fence>> {
        // SAFETY: `sync_file_get_fence()` accepts any descriptor; it returns a new reference to
        // the sync_file's fence, or null.
        let fence = NonNull::new(unsafe { bindings::sync_file_get_fence(fd) }).ok_or(EINVAL)?;
        // SAFETY: The new reference, which the `ARef` takes over.
        Ok(unsafe { ARef::from_raw(fence.cast()) })
    }
}
