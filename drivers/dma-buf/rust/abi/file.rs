// SPDX-License-Identifier: GPL-2.0

//! The dma-buf file: its operations, called by the VFS for the file of each exported buffer,
//! whose private data is the buffer.
//!
//! The files are made at export (`fs.rs`), with this table, by which a dma-buf file is told
//! from others.

use crate::{cpu_access, ioctl, poll};
use kernel::{
    bindings,
    dma_buf::{core_poll::PollEvents, DmaBuf},
    error::from_result,
    ffi::{c_int, c_long, c_uint, c_ulong},
    fs::file::LocalFile,
    mm::virt::VmaNew,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
};

/// A `struct file_operations` that can be shared.
#[repr(transparent)]
pub(crate) struct FileOperations(pub(crate) bindings::file_operations);

// SAFETY: The table is never written; it holds function pointers and a null module.
unsafe impl Sync for FileOperations {}

/// The operations of a dma-buf file (`dma_buf_fops`).
pub(crate) static DMA_BUF_FOPS: FileOperations = FileOperations(bindings::file_operations {
    release: Some(release),
    mmap: Some(mmap),
    llseek: Some(llseek),
    poll: Some(poll),
    unlocked_ioctl: Some(ioctl),
    // `compat_ptr_ioctl()` with CONFIG_COMPAT, else `None`, as the C macro.
    compat_ioctl: bindings::compat_ptr_ioctl,
    show_fdinfo: Some(show_fdinfo),
    ..pin_init::zeroed()
});

/// Returns the buffer of `file`, if it is a dma-buf file (`is_dma_buf_file()`).
///
/// # Safety
///
/// `file` is a file referenced for `'a`.
pub(crate) unsafe fn buffer<'a>(file: *mut bindings::file) -> Option<&'a DmaBuf> {
    // SAFETY: `file` is referenced for `'a` (the caller's guarantee); its operations never
    // change.
    if !core::ptr::eq(unsafe { (*file).f_op }, &DMA_BUF_FOPS.0) {
        return None;
    }
    // SAFETY: A dma-buf file's private data is its exported buffer, which lives until the file's
    // release, after its last reference.
    Some(unsafe { DmaBuf::from_raw((*file).private_data.cast()) })
}

/// Returns the buffer of `file`, if it is a dma-buf file.
pub(crate) fn buffer_of(file: &LocalFile) -> Option<&DmaBuf> {
    // SAFETY: `file` is referenced for the borrow.
    unsafe { buffer(file.as_ptr()) }
}

/// `release()`: the file's last reference is gone, so the buffer leaves the list; its dentry
/// releases it next.
///
/// # Safety
///
/// Called by the VFS: `file` is being released.
unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `file` is valid for the call; its operations never change.
    if !core::ptr::eq(unsafe { (*file).f_op }, &DMA_BUF_FOPS.0) {
        return EINVAL.to_errno();
    }
    // SAFETY: `file` is valid for the call, and a dma-buf file (checked above): its private data
    // is its buffer, or null if the export failed after making the file.
    let buf = unsafe { (*file).private_data }.cast::<bindings::dma_buf>();
    if !buf.is_null() {
        // SAFETY: An exported buffer is on the list until now.
        unsafe { crate::abi::BUFFERS.lock().remove(buf) };
    }
    0
}

/// `mmap()`: maps the buffer from the mapping's page offset.
///
/// # Safety
///
/// Called by the VFS: `file` is referenced and `vma` is a new mapping of it, being set up.
unsafe extern "C" fn mmap(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    from_result(|| {
        // SAFETY: The VFS holds a reference to `file` for the call.
        let buf = unsafe { buffer(file) }.ok_or(EINVAL)?;
        // SAFETY: The mapping is being set up by this `mmap()`.
        let vma = unsafe { VmaNew::from_raw(vma) };
        cpu_access::mmap_file(buf, vma)?;
        Ok(0)
    })
}

/// `llseek()`: only the size can be found out, with `SEEK_END`, and `SEEK_SET` goes back to
/// the start; the offset must be zero.
///
/// # Safety
///
/// Called by the VFS: `file` is referenced.
unsafe extern "C" fn llseek(
    file: *mut bindings::file,
    offset: bindings::loff_t,
    whence: c_int,
) -> bindings::loff_t {
    from_result(|| {
        // SAFETY: The VFS holds a reference to `file` for the call.
        let buf = unsafe { buffer(file) }.ok_or(EBADF)?;
        let base = match u32::try_from(whence) {
            Ok(bindings::SEEK_END) => i64::try_from(buf.size()).unwrap_or(i64::MAX),
            Ok(bindings::SEEK_SET) => 0,
            _ => return Err(EINVAL),
        };
        if offset != 0 {
            return Err(EINVAL);
        }
        Ok(base)
    })
}

/// `poll()`: see [`poll`](crate::poll).
///
/// # Safety
///
/// Called by the VFS: `file` is referenced and `table` is null or the call's poll table.
unsafe extern "C" fn poll(
    file: *mut bindings::file,
    table: *mut bindings::poll_table,
) -> PollEvents {
    // SAFETY: The VFS holds a reference to `file` for the call; a dma-buf file's private data is
    // its buffer (or null, which is refused).
    let dmabuf = unsafe { (*file).private_data }.cast::<bindings::dma_buf>();
    // SAFETY: `dmabuf`, when not null, is the file's exported buffer.
    if dmabuf.is_null() || unsafe { (*dmabuf).resv }.is_null() {
        return poll::EPOLLERR;
    }
    // SAFETY: The file's buffer, alive while the file is.
    let buf = unsafe { DmaBuf::from_raw(dmabuf) };
    // SAFETY: `file` and `table` are the file and poll table of this `poll()` call; the wait
    // queue is the buffer's, which outlives the file's registration on it.
    unsafe { bindings::poll_wait(file, &raw mut (*dmabuf).poll, table) };
    // `poll_requested_events()`: every event without a table.
    // SAFETY: `table`, when not null, is valid for the call.
    let requested = unsafe { table.as_ref() }.map_or(!0, |table| table._key);
    poll::poll(buf, requested)
}

/// `unlocked_ioctl()`: see [`ioctl`](crate::ioctl).
///
/// # Safety
///
/// Called by the VFS: `file` is a referenced dma-buf file.
unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: The VFS holds a reference to `file` for the call; a dma-buf file's private data is
    // its buffer, alive while the file is.
    let buf = unsafe { DmaBuf::from_raw((*file).private_data.cast()) };
    from_result(|| ioctl::ioctl(buf, cmd, arg).map(|()| 0))
}

/// `show_fdinfo()`: the buffer's size, the file's references (without procfs' own), the
/// exporter's name and the buffer's name, if it has one.
///
/// # Safety
///
/// Called by procfs: `m` is the seq_file being written and `file` a referenced dma-buf file.
unsafe extern "C" fn show_fdinfo(m: *mut bindings::seq_file, file: *mut bindings::file) {
    // SAFETY: Procfs holds a reference to `file` for the call; a dma-buf file's private data is
    // its buffer, alive while the file is.
    let buf = unsafe { DmaBuf::from_raw((*file).private_data.cast()) };
    // SAFETY: `m` is valid and written only by this call.
    let seq = unsafe { SeqFile::from_raw(m) };
    seq_print!(seq, "size:\t{}\n", buf.size());
    // SAFETY: `file` is referenced; reading its count needs no lock.
    let count = unsafe { bindings::file_count(file) };
    seq_print!(seq, "count:\t{}\n", file_references(count));
    seq_print!(seq, "exp_name:\t");
    print_c_str(seq, buf.exp_name());
    seq_print!(seq, "\n");
    buf.with_name(|name| {
        if let Some(name) = name {
            seq_print!(seq, "name:\t");
            seq.puts(name);
            seq_print!(seq, "\n");
        }
    });
}

/// Returns the references of a file other than the one procfs holds to show it, from its
/// `file_count()`.
fn file_references(count: c_ulong) -> isize {
    count
        .checked_sub(1)
        .map_or(-1, |count| isize::try_from(count).unwrap_or(isize::MAX))
}

/// Writes `s` as it is to `seq`, or `(null)` as `printf()` would for none.
pub(crate) fn print_c_str(seq: &SeqFile, s: Option<&CStr>) {
    seq.puts(s.unwrap_or(c"(null)"));
}
