// SPDX-License-Identifier: GPL-2.0

//! Export and lifetime of a buffer: `dma_buf_export()` makes the buffer and its file; the
//! file's references are the buffer's (`dma_buf_fd()`, `dma_buf_get()`, `dma_buf_put()`);
//! when the last goes, the file is released, which takes the buffer off the list, and then
//! its dentry, which releases the buffer.

use crate::{fs, trace::trace};
use core::ptr::NonNull;
use kernel::{
    bindings, dma_buf::DmaBuf, error::to_result, ffi::c_int, fs::file::LocalFile, prelude::*,
    sync::aref::ARef,
};

/// A buffer with its own reservation object, for an exporter that brings none.
#[repr(C)]
#[derive(Zeroable)]
struct WithResv {
    buf: bindings::dma_buf,
    resv: bindings::dma_resv,
}

/// A buffer whose exporter brings the reservation object. The byte after it keeps the address
/// just past the buffer inside this allocation, so that a supplied object cannot be there,
/// where [`release`] looks for an embedded one.
#[repr(C)]
#[derive(Zeroable)]
struct WithoutResv {
    buf: bindings::dma_buf,
    _past: u8,
}

// The embedded object is just past the buffer, as `&dmabuf[1]` in C.
const _: () = assert!(core::mem::offset_of!(WithResv, resv) == size_of::<bindings::dma_buf>());

/// Returns the address just past `buf`, where an embedded reservation object is.
fn past(buf: *mut bindings::dma_buf) -> *mut bindings::dma_resv {
    buf.wrapping_add(1).cast()
}

/// Exports a buffer described by `info` (`dma_buf_export()`): a new buffer and its file,
/// holding a reference to the exporter's module, with one reference for the caller.
///
/// # Errors
///
/// `ENOENT` if the exporter's module is going away, `ENOMEM`, or an error of making the file.
///
/// # Safety
///
/// `info` has been checked (operations, private data) and its pointers stay valid for the
/// buffer's life, as `dma_buf_export()` requires.
pub(crate) unsafe fn export(info: &bindings::dma_buf_export_info) -> Result<&DmaBuf> {
    // SAFETY: `owner` is null or a module, which this reference keeps.
    if !unsafe { bindings::try_module_get(info.owner) } {
        return Err(ENOENT);
    }
    let made = (|| {
        let file = fs::new_file(info.size, info.flags)?;
        // SAFETY: The caller's `info` is valid, and `file` new.
        unsafe { make(info, file) }.inspect_err(|_| {
            // The file has no buffer yet: its release and its dentry's do nothing.
            // SAFETY: The new file's only reference.
            unsafe { bindings::fput(file) };
        })
    })();
    // SAFETY: Taken above.
    made.inspect_err(|_| unsafe { bindings::module_put(info.owner) })
}

/// Allocates and sets the buffer of `info` up, with `file` as its file.
///
/// # Safety
///
/// As [`export`]; `file` is a new file of the filesystem, with its only reference.
unsafe fn make(info: &bindings::dma_buf_export_info, file: *mut bindings::file) -> Result<&DmaBuf> {
    let raw = if info.resv.is_null() {
        let this = KBox::new(pin_init::zeroed::<WithResv>(), GFP_KERNEL)?;
        let raw = KBox::into_raw(this).cast::<bindings::dma_buf>();
        // SAFETY: The reservation object just past the buffer, not shared yet.
        unsafe {
            bindings::dma_resv_init(past(raw));
            (*raw).resv = past(raw);
        }
        raw
    } else {
        let this = KBox::new(pin_init::zeroed::<WithoutResv>(), GFP_KERNEL)?;
        let raw = KBox::into_raw(this).cast::<bindings::dma_buf>();
        // SAFETY: The new buffer is not shared yet.
        unsafe { (*raw).resv = info.resv };
        raw
    };
    // SAFETY: The new buffer is not shared yet, and `file` is the new file made for it above.
    unsafe {
        (*raw).priv_ = info.priv_;
        (*raw).ops = info.ops;
        (*raw).size = info.size;
        (*raw).exp_name = info.exp_name;
        (*raw).owner = info.owner;
        bindings::__spin_lock_init(
            &raw mut (*raw).name_lock,
            c"&dmabuf->name_lock".as_char_ptr(),
            kernel::static_lock_class!().as_ptr(),
        );
        bindings::__init_waitqueue_head(
            &raw mut (*raw).poll,
            c"&dmabuf->poll".as_char_ptr(),
            kernel::static_lock_class!().as_ptr(),
        );
        (*raw).cb_in.poll = &raw mut (*raw).poll;
        (*raw).cb_out.poll = &raw mut (*raw).poll;
        bindings::INIT_LIST_HEAD(&raw mut (*raw).attachments);
        (*file).private_data = raw.cast();
        (*(*file).__bindgen_anon_1.f_path.dentry).d_fsdata = raw.cast();
        (*raw).file = file;
    }
    // SAFETY: Exported now; the caller's reference is the file's.
    let buf = unsafe { DmaBuf::from_raw(raw) };
    // SAFETY: A new buffer, which its file's release takes off the list.
    unsafe { crate::abi::BUFFERS.lock().add(buf) };
    trace!(dma_buf_export(buf));
    Ok(buf)
}

/// Releases `buf` (the dentry's `d_release`): the exporter's release, its own reservation
/// object, the module reference and the memory.
///
/// # Safety
///
/// `buf` was made by [`export`], and its file is gone: nobody else can reach it.
pub(crate) unsafe fn release(buf: *mut bindings::dma_buf) {
    // Unbalanced kernel mappings or poll callbacks would use the buffer after this: as the C
    // core, stop rather than corrupt memory.
    // SAFETY: The buffer's file is gone, so nobody else reaches it (the caller's guarantee);
    // its fields are read by pointer, as
    // the exporter's release below gets it too.
    let (vmaps, armed, ops) = unsafe {
        (
            (*buf).vmapping_counter,
            (*buf).cb_in.active != 0 || (*buf).cb_out.active != 0,
            (*buf).ops,
        )
    };
    if vmaps != 0 {
        panic!("dma-buf: buffer released with kernel mappings");
    }
    // An armed callback holds a file reference: this is an imbalance of those references.
    if armed {
        panic!("dma-buf: buffer released with a poll callback armed");
    }
    // SAFETY: An exported buffer's operations are a static table, with `release` (checked at
    // export).
    if let Some(release) = unsafe { ops.as_ref() }.and_then(|ops| ops.release) {
        // SAFETY: The exporter's release, once, for its buffer.
        unsafe { release(buf) };
    }
    // SAFETY: The buffer is still allocated (it is freed below) and no one else uses it any
    // more: its last reference and its release are gone.
    let (resv, attachments, owner, name) = unsafe {
        (
            (*buf).resv,
            &raw mut (*buf).attachments,
            (*buf).owner,
            (*buf).name,
        )
    };
    let embedded = core::ptr::eq(resv, past(buf));
    if embedded {
        // SAFETY: The buffer's own reservation object, unused now.
        unsafe { bindings::dma_resv_fini(resv) };
    }
    // Attachments left would point to freed memory: warn, as the C core does (`list_empty()`).
    // SAFETY: The buffer's initialised attachment list.
    kernel::warn_on!(!core::ptr::eq(unsafe { (*attachments).next }, attachments));
    // SAFETY: The reference taken at export, and the name's memory, owned by the buffer.
    unsafe {
        bindings::module_put(owner);
        bindings::kfree(name.cast());
    }
    // SAFETY: Allocated by `make` with the layout `embedded` tells, and unused now.
    unsafe {
        if embedded {
            drop(KBox::from_raw(buf.cast::<WithResv>()));
        } else {
            drop(KBox::from_raw(buf.cast::<WithoutResv>()));
        }
    }
}

/// Installs the caller's reference to `buf` at a new file descriptor with `flags`
/// (`dma_buf_fd()`).
///
/// # Errors
///
/// `EMFILE` without a free descriptor, or another error of `get_unused_fd_flags()`.
///
/// # Safety
///
/// The caller gives up one reference to `buf` if this succeeds.
pub(crate) unsafe fn fd(buf: &DmaBuf, flags: c_int) -> Result<c_int> {
    // CAST: The open flags, as `get_unused_fd_flags()` takes them.
    // SAFETY: Any flags are accepted; the result is a reserved descriptor or an errno.
    let fd = unsafe { bindings::get_unused_fd_flags(flags as u32) };
    to_result(fd)?;
    // SAFETY: `fd` is reserved by this task, which hands the caller's reference over.
    unsafe { install(buf, fd) };
    Ok(fd)
}

/// Installs the caller's reference to `buf` at `fd`, reserved by the caller
/// (`dma_buf_fd_install()`).
///
/// # Safety
///
/// `fd` was reserved by the current task and not installed yet; the caller gives up one
/// reference to `buf`.
pub(crate) unsafe fn install(buf: &DmaBuf, fd: c_int) {
    trace!(dma_buf_fd(buf, fd));
    // CAST: A reserved descriptor, non-negative.
    // SAFETY: `fd` is reserved by the current task and not installed, and the caller gives its
    // reference up (its guarantees); `fd_install()` takes the reference over.
    unsafe { bindings::fd_install(fd as u32, (*buf.as_raw()).file) };
}

/// Returns the buffer of the file at `fd`, with a new reference (`dma_buf_get()`).
///
/// # Errors
///
/// `EBADF` if `fd` is not open, `EINVAL` if it is not a dma-buf.
pub(crate) fn get(fd: c_int) -> Result<NonNull<bindings::dma_buf>> {
    // CAST: A negative `fd` becomes a large one, which `fget()` refuses, as in C.
    let file = LocalFile::fget(fd as u32)?;
    // Not a dma-buf: the reference is dropped with `file`.
    let buf = crate::file::buffer_of(&file).ok_or(EINVAL)?;
    trace!(dma_buf_get(buf, fd));
    let buf = NonNull::from(buf).cast();
    // The file's reference is the buffer's, which the caller takes over.
    let _ = ARef::into_raw(file);
    Ok(buf)
}

/// Drops a reference to `buf` (`dma_buf_put()`).
///
/// # Safety
///
/// The caller gives up one reference to `buf`.
pub(crate) unsafe fn put(buf: &DmaBuf) {
    trace!(dma_buf_put(buf));
    // SAFETY: The caller's reference, of the buffer's file.
    unsafe { bindings::fput((*buf.as_raw()).file) };
}
