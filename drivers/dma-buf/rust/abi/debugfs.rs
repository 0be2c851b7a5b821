// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/dma_buf/bufinfo`: every exported buffer, with its fences and the
//! devices attached to it, in the C core's format.

use super::file::{print_c_str, FileOperations};
use kernel::{
    bindings,
    dma_resv::Unlocked,
    error::{from_err_ptr, from_result},
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
    from_result(|| show_buffers(seq))
}

/// Writes every buffer of the list to `seq`, in the C core's format.
///
/// # Errors
///
/// `EINTR` if a signal arrived while waiting for a lock.
fn show_buffers(seq: &SeqFile) -> Result<c_int> {
    let list = crate::abi::BUFFERS.lock_interruptible()?;
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
    // A buffer on the locked list is not freed while the list is locked, but may have no
    // reference left: it is read as a `Listed` buffer, not as a `DmaBuf`.
    list.iter().try_for_each(|buf| -> Result {
        // bufinfo is a file operation: its task holds no reservation lock.
        let mut unlocked = Unlocked::new();
        let held = buf.resv().lock_interruptible(&mut unlocked)?;
        buf.with_name(|name| {
            seq_print!(
                seq,
                "{:08}\t{:08x}\t{:08x}\t{:08}\t",
                buf.size(),
                buf.file_flags(),
                buf.file_mode(),
                isize::try_from(buf.file_count()).unwrap_or(isize::MAX)
            );
            print_c_str(seq, buf.exp_name());
            seq_print!(seq, "\t{:08}\t", buf.ino());
            seq.puts(name.unwrap_or(c"<none>"));
            seq_print!(seq, "\n");
        });
        buf.describe_fences(&held, seq)?;

        seq_print!(seq, "\tAttached Devices:\n");
        let mut attached = 0u32;
        for name in buf.attached_devices(&held)? {
            seq_print!(seq, "\t");
            // A device may have no name yet: printed "(null)", as the C core's "%s" prints it.
            print_c_str(seq, name);
            seq_print!(seq, "\n");
            attached += 1;
        }
        drop(held);
        seq_print!(seq, "Total {} devices attached\n\n", attached);
        count += 1;
        total = total.wrapping_add(buf.size());
        Ok(())
    })?;
    seq_print!(seq, "\nTotal {} objects, {} bytes\n", count, total);
    Ok(0)
}
