// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/dma_buf/bufinfo`: every exported buffer, with its fences and the
//! devices attached to it, in the C core's format.

use crate::{file::FileOperations, list, name};
use kernel::{
    bindings,
    dma_resv::{Resv, Unlocked},
    error::from_err_ptr,
    ffi::{c_int, c_void},
    prelude::*,
    seq_file::SeqFile,
    seq_print,
};

/// The operations of the file (`DEFINE_SHOW_ATTRIBUTE()`).
static BUFINFO_FOPS: FileOperations = FileOperations(bindings::file_operations {
    open: Some(open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    ..pin_init::zeroed()
});

/// Creates the directory and its file, once, at init. A failure only loses the file.
pub(crate) fn init() {
    // SAFETY: A static name; the directory goes in the debugfs root.
    let dir =
        unsafe { bindings::debugfs_create_dir(c"dma_buf".as_char_ptr(), core::ptr::null_mut()) };
    let Ok(dir) = from_err_ptr(dir) else {
        return;
    };
    // SAFETY: A static name and operations, in the directory made above.
    let file = unsafe {
        bindings::debugfs_create_file_full(
            c"bufinfo".as_char_ptr(),
            0o444,
            dir,
            core::ptr::null_mut(),
            core::ptr::null(),
            &BUFINFO_FOPS.0,
        )
    };
    if from_err_ptr(file).is_err() {
        pr_debug!("dma_buf: debugfs: failed to create node bufinfo\n");
        // SAFETY: The directory made above, unused.
        unsafe { bindings::debugfs_remove(dir) };
    }
}

/// Opens the file as a single-record seq_file.
///
/// # Safety
///
/// Called by the VFS with an inode of debugfs and its new file.
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: The VFS passes a live debugfs inode and the file being opened on it.
    unsafe { bindings::single_open(file, Some(show), (*inode).i_private) }
}

/// Writes the file's content.
///
/// # Safety
///
/// Called by seq_file with the seq_file being written.
unsafe extern "C" fn show(m: *mut bindings::seq_file, _data: *mut c_void) -> c_int {
    // SAFETY: `m` is being written by this call.
    let seq = unsafe { SeqFile::from_raw(m) };
    let list = match list::Locked::lock_interruptible() {
        Ok(list) => list,
        Err(e) => return e.to_errno(),
    };
    seq_print!(seq, "\nDma-buf Objects:\n");
    seq_print!(
        seq,
        "{:<8}\t{:<8}\t{:<8}\t{:<8}\texp_name\t{:<8}\tname\n",
        "size",
        "flags",
        "mode",
        "count",
        "ino"
    );
    let mut count = 0u32;
    let mut total = 0usize;
    let walked = list.for_each(|raw| {
        // A buffer on the locked list is exported, and not freed while the list is locked,
        // but may have no reference left: it is read by pointer, not as a `DmaBuf`.
        // SAFETY: The buffer is not freed while the list is locked; the size never changes, and
        // the reservation object is initialised
        // and outlives the buffer.
        let (size, resv) = unsafe { ((*raw).size, Resv::from_raw((*raw).resv)) };
        // bufinfo is a file operation: its task holds no reservation lock.
        let mut unlocked = Unlocked::new();
        let held = resv.lock_interruptible(&mut unlocked)?;
        // SAFETY: The buffer's file stays while it is on the list.
        let (file, flags, mode, ino) = unsafe {
            let file = (*raw).file;
            (
                file,
                (*file).f_flags,
                (*file).f_mode,
                (*(*file).f_inode).i_ino,
            )
        };
        // SAFETY: `file` is the buffer's, whose memory stays while the buffer is on the locked
        // list.
        let refs = unsafe { bindings::file_count(file) };
        let print = |name: Option<&CStr>| {
            seq_print!(
                seq,
                "{:08}\t{:08x}\t{:08x}\t{:08}\t",
                size,
                flags,
                mode,
                isize::try_from(refs).unwrap_or(isize::MAX)
            );
            // SAFETY: The buffer is exported; its exporter's name is null or a static string.
            let exp_name = unsafe { (*raw).exp_name };
            // SAFETY: Not null (checked), so a static NUL-terminated string (the line above).
            let exp_name = (!exp_name.is_null()).then(|| unsafe { CStr::from_char_ptr(exp_name) });
            // SAFETY: `m` is being written by this call.
            unsafe { crate::file::print_c_str(m, exp_name) };
            seq_print!(seq, "\t{:08}\t", ino);
            // SAFETY: `m` is being written by this call.
            unsafe { crate::file::print_c_str(m, Some(name.unwrap_or(c"<none>"))) };
            seq_print!(seq, "\n");
        };
        // SAFETY: The buffer is on the list, which is locked, so it is not freed.
        unsafe { name::with_name_raw(raw, print) };
        // SAFETY: The object is locked (`held`); `m` is being written by this call.
        unsafe { bindings::dma_resv_describe(held.as_raw(), m) };

        seq_print!(seq, "\tAttached Devices:\n");
        let mut attached = 0u32;
        // SAFETY: The attachment list changes only with the lock held, which `held` is.
        let head = unsafe { &raw mut (*raw).attachments };
        // SAFETY: The list is locked (`held`), so its head's `next` is a live node: the head
        // itself or an attachment's `node`.
        let mut node = unsafe { (*head).next };
        while !core::ptr::eq(node, head) {
            // SAFETY: The node is an attachment's, on the list while the lock is held
            // (`held`); an attachment's device outlives it. A device may have no name yet:
            // printed "(null)", as the C core's "%s" prints it.
            unsafe {
                let attach = kernel::container_of!(node, bindings::dma_buf_attachment, node);
                let dev_name = bindings::dev_name((*attach).dev);
                seq_print!(seq, "\t");
                crate::file::print_c_str(
                    m,
                    (!dev_name.is_null()).then(|| CStr::from_char_ptr(dev_name)),
                );
                seq_print!(seq, "\n");
                node = (*node).next;
            }
            attached += 1;
        }
        drop(held);
        seq_print!(seq, "Total {} devices attached\n\n", attached);
        count += 1;
        total = total.wrapping_add(size);
        Ok(())
    });
    if let Err(e) = walked {
        return e.to_errno();
    }
    seq_print!(seq, "\nTotal {} objects, {} bytes\n", count, total);
    0
}
