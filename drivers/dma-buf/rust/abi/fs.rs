// SPDX-License-Identifier: GPL-2.0

//! The `dmabuf` pseudo filesystem: each buffer's file is an anonymous inode of it, whose
//! dentry names the buffer (`/proc/<pid>/fd` shows `/dmabuf:<name>`) and releases it when it
//! goes, after the file's last reference.

use super::file::DMA_BUF_FOPS;
use core::{
    mem::ManuallyDrop,
    ptr::NonNull,
    sync::atomic::{AtomicPtr, AtomicU64, Ordering},
};
use kernel::{
    bindings,
    dma_buf::{
        buffer_list::BufferListGuard,
        core_buffer::{self, NewBuffer},
        DmaBuf,
    },
    error::from_err_ptr,
    ffi::{c_char, c_int},
    prelude::*,
    sync::aref::ARef,
    types::Opaque,
    uapi,
};

/// A `struct file_system_type`, which the VFS writes to (its superblock list).
#[repr(transparent)]
struct FsType(Opaque<bindings::file_system_type>);

// SAFETY: The VFS serialises its own changes of the type; Rust never accesses it but by
// pointer.
unsafe impl Sync for FsType {}

/// A `struct dentry_operations` that can be shared.
#[repr(transparent)]
struct DentryOps(bindings::dentry_operations);

// SAFETY: The table is never written; it holds function pointers.
unsafe impl Sync for DentryOps {}

static FS_TYPE: FsType = FsType(Opaque::new(bindings::file_system_type {
    name: kernel::str::as_char_ptr_in_const_context(c"dmabuf"),
    init_fs_context: Some(init_fs_context),
    kill_sb: Some(bindings::kill_anon_super),
    ..pin_init::zeroed()
}));

static DENTRY_OPS: DentryOps = DentryOps(bindings::dentry_operations {
    d_dname: Some(dname),
    d_release: Some(release),
    ..pin_init::zeroed()
});

/// The filesystem's internal mount (`dma_buf_mnt`), set once by [`init`].
static MOUNT: AtomicPtr<bindings::vfsmount> = AtomicPtr::new(core::ptr::null_mut());

/// The last inode number given to a buffer's inode: unique, unlike `get_next_ino()`'s, so
/// that it can name the buffer (bufinfo, `/proc/<pid>/fdinfo`).
static LAST_INO: AtomicU64 = AtomicU64::new(0);

/// Mounts the filesystem, once, before the first export.
///
/// # Errors
///
/// The error of the mount.
pub(crate) fn init() -> Result {
    // SAFETY: The type is static and complete; `kern_mount()` returns a mount or an error
    // pointer.
    let mnt = from_err_ptr(unsafe { bindings::kern_mount(FS_TYPE.0.get()) })?;
    MOUNT.store(mnt, Ordering::Release);
    Ok(())
}

/// Sets a new superblock of the filesystem up (`init_fs_context`).
///
/// # Safety
///
/// Called by the VFS with a new filesystem context.
unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
    // CAST: The magic number, widened to `unsigned long`.
    let magic = bindings::DMA_BUF_MAGIC as usize;
    // SAFETY: `fc` is the context being set up.
    let ctx = unsafe { bindings::init_pseudo(fc, magic) };
    if ctx.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `ctx` is the new pseudo filesystem context; the operations are static.
    unsafe { (*ctx).dops = &DENTRY_OPS.0 };
    0
}

/// A new file of the filesystem, for a buffer that is not published yet; put if dropped.
///
/// # Invariants
///
/// `raw` is a new file of this filesystem with [`DMA_BUF_FOPS`] and no private data, whose only
/// reference is owned by `self`.
pub(crate) struct NewFile {
    raw: NonNull<bindings::file>,
}

impl NewFile {
    /// Returns a new file for a buffer of `size` bytes, with the access mode and non-blocking
    /// flag of `flags` (`dma_buf_getfile()`).
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or another error of making the inode or the file.
    pub(crate) fn new(size: usize, flags: c_int) -> Result<Self> {
        let mnt = MOUNT.load(Ordering::Acquire);
        if mnt.is_null() {
            // Before the initcall, or after it failed.
            return Err(ENODEV);
        }
        // SAFETY: `mnt` is the filesystem's mount, which is never unmounted.
        let inode = from_err_ptr(unsafe { bindings::alloc_anon_inode((*mnt).mnt_sb) })?;
        let bytes = bindings::loff_t::try_from(size).map_err(|_| EINVAL);
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(e) => {
                // SAFETY: The new inode's only reference.
                unsafe { bindings::iput(inode) };
                return Err(e);
            }
        };
        let ino = LAST_INO.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        // SAFETY: The inode is new and not shared yet.
        unsafe {
            (*inode).i_size = bytes;
            bindings::inode_set_bytes(inode, bytes);
            (*inode).i_ino = ino;
        }
        // CAST: Flags that fit in an `int`, as `open()` takes them.
        let flags = flags & (bindings::O_ACCMODE | bindings::O_NONBLOCK) as c_int;
        // SAFETY: `inode` is new and referenced; the name and the operations are static.
        let file = unsafe {
            bindings::alloc_file_pseudo(inode, mnt, c"dmabuf".as_char_ptr(), flags, &DMA_BUF_FOPS.0)
        };
        match from_err_ptr(file).and_then(|file| NonNull::new(file).ok_or(ENOMEM)) {
            // INVARIANT: Made above with the operations, without private data.
            Ok(raw) => Ok(Self { raw }),
            Err(e) => {
                // SAFETY: The file was not made, so the inode's reference is still ours.
                unsafe { bindings::iput(inode) };
                Err(e)
            }
        }
    }

    /// Publishes `buf` with this file, on the list of all buffers (`list`), and returns the
    /// buffer's first reference, which is the file's.
    pub(crate) fn publish(self, buf: NewBuffer, list: &mut BufferListGuard<'_>) -> ARef<DmaBuf> {
        let raw = ManuallyDrop::new(self).raw;
        // SAFETY: `raw` is a new file of the filesystem without private data, whose only
        // reference is given up here (type invariant); its release (`file.rs`) takes the buffer
        // off the list, and its dentry's release ([`release`]) releases the buffer.
        unsafe { buf.publish(raw, list) }
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        // The file has no buffer: its release and its dentry's do nothing.
        // SAFETY: The file's only reference (type invariant).
        unsafe { bindings::fput(self.raw.as_ptr()) };
    }
}

/// Returns the buffer a dentry of the filesystem names, if it has one yet.
///
/// # Safety
///
/// `dentry` is a dentry of this filesystem, live for the call.
unsafe fn buffer(dentry: *mut bindings::dentry) -> Option<NonNull<bindings::dma_buf>> {
    // SAFETY: `dentry` is a live dentry of this filesystem (the caller's guarantee), whose
    // `d_fsdata` is set once, at export.
    NonNull::new(unsafe { (*dentry).d_fsdata }.cast::<bindings::dma_buf>())
}

/// Names the buffer's file `/<dentry name>:<buffer name>` (`d_dname`).
///
/// # Safety
///
/// Called by the VFS with a dentry of this filesystem and a buffer of `buflen` bytes.
unsafe extern "C" fn dname(
    dentry: *mut bindings::dentry,
    buffer: *mut c_char,
    buflen: c_int,
) -> *mut c_char {
    // The buffer's name, copied under its lock, or nothing if it has none or it is too long.
    // CAST: A small length, widened.
    let mut copy = [0u8; uapi::DMA_BUF_NAME_LEN as usize];
    // SAFETY: The dentry is live for the call.
    if let Some(raw) = unsafe { self::buffer(dentry) } {
        // SAFETY: A dentry's buffer lives until the dentry's release.
        let buf = unsafe { DmaBuf::from_raw(raw.as_ptr()) };
        buf.with_name(|name| {
            let bytes = name.map_or(&[][..], |name| name.to_bytes());
            if bytes.len() < copy.len() {
                copy[..bytes.len()].copy_from_slice(bytes);
            }
        });
    }
    // SAFETY: `buffer` has `buflen` bytes; the dentry's name and `copy` are NUL-terminated.
    unsafe {
        bindings::dynamic_dname(
            buffer,
            buflen,
            c"/%s:%s".as_char_ptr(),
            (*dentry).__bindgen_anon_1.d_name.name,
            copy.as_ptr(),
        )
    }
}

/// Releases the buffer of a dentry that goes (`d_release`): after the last reference to its
/// file, so nobody can use the buffer any more.
///
/// # Safety
///
/// Called by the VFS with a dentry of this filesystem, being freed.
unsafe extern "C" fn release(dentry: *mut bindings::dentry) {
    // SAFETY: The dentry is live for the call.
    if let Some(buf) = unsafe { self::buffer(dentry) } {
        // SAFETY: The buffer was published with its file (`NewFile::publish`), which is gone,
        // and with it every reference to the buffer.
        unsafe { core_buffer::release(buf) };
    }
}
