// SPDX-License-Identifier: GPL-2.0

//! The buffers the dma-buf core in Rust makes (`CONFIG_DMABUF_CORE_RUST`): allocated and set
//! up at export from the exporter's description, with a reservation object of their own if the
//! exporter brings none, published with their file, and released when the file's dentry goes,
//! after the file's last reference.

use super::{buffer_list::BufferListGuard, core_token::CoreToken, DmaBuf};
use crate::{bindings, mm::virt::VmaNew, prelude::*, sync::aref::ARef};
use core::ptr::NonNull;

/// A buffer with its own reservation object, for an exporter that brings none.
#[repr(C)]
#[derive(Zeroable)]
struct WithResv {
    buf: bindings::dma_buf,
    resv: bindings::dma_resv,
}

/// A buffer whose exporter brings the reservation object. The byte after it keeps the address
/// just past the buffer inside this allocation, so that a supplied object cannot be there,
/// where [`free`] looks for an embedded one.
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

/// Returns a new zeroed buffer, with room for a reservation object of its own if `embedded`.
fn alloc(embedded: bool) -> Result<NonNull<bindings::dma_buf>> {
    let raw = if embedded {
        KBox::into_raw(KBox::new(pin_init::zeroed::<WithResv>(), GFP_KERNEL)?).cast()
    } else {
        KBox::into_raw(KBox::new(pin_init::zeroed::<WithoutResv>(), GFP_KERNEL)?).cast()
    };
    // A box is never null.
    NonNull::new(raw).ok_or(ENOMEM)
}

/// A buffer being exported: set up from the exporter's description and holding a reference to
/// the exporter's module, but not published yet; freed, without the exporter's `release`, if
/// dropped.
///
/// # Invariants
///
/// `raw` was allocated by [`alloc`] with room for a reservation object of its own exactly when
/// its `resv` is just past it ([`past`]), is set up as [`NewBuffer::new`] does, is owned by
/// `self`, and holds a reference to its `owner`.
pub struct NewBuffer {
    raw: NonNull<bindings::dma_buf>,
}

impl NewBuffer {
    /// Returns a new buffer described by `info` (`dma_buf_export()` but for its file).
    ///
    /// # Errors
    ///
    /// `ENOENT` if the exporter's module is going away, `ENOMEM` without memory.
    ///
    /// # Safety
    ///
    /// `info` has operations with `map_dma_buf`, `unmap_dma_buf` and `release`, and private
    /// data; its operations, private data, module and reservation object (if any) outlive the
    /// buffer, as `dma_buf_export()` requires.
    pub unsafe fn new(info: &bindings::dma_buf_export_info) -> Result<Self> {
        // SAFETY: `owner` is null or a module that outlives the call (the caller's guarantee).
        if !unsafe { bindings::try_module_get(info.owner) } {
            return Err(ENOENT);
        }
        let embedded = info.resv.is_null();
        let raw = alloc(embedded).inspect_err(|_| {
            // SAFETY: Taken above.
            unsafe { bindings::module_put(info.owner) }
        })?;
        let buf = raw.as_ptr();
        // SAFETY: `buf` is a new zeroed buffer (all-zero is a valid one: null pointers), not
        // shared yet, with room for its reservation object if `embedded`; the static names and
        // lock classes outlive it.
        unsafe {
            if embedded {
                bindings::dma_resv_init(past(buf));
                (*buf).resv = past(buf);
            } else {
                (*buf).resv = info.resv;
            }
            (*buf).priv_ = info.priv_;
            (*buf).ops = info.ops;
            (*buf).size = info.size;
            (*buf).exp_name = info.exp_name;
            (*buf).owner = info.owner;
            bindings::__spin_lock_init(
                &raw mut (*buf).name_lock,
                c"&dmabuf->name_lock".as_char_ptr(),
                crate::static_lock_class!().as_ptr(),
            );
            bindings::__init_waitqueue_head(
                &raw mut (*buf).poll,
                c"&dmabuf->poll".as_char_ptr(),
                crate::static_lock_class!().as_ptr(),
            );
            (*buf).cb_in.poll = &raw mut (*buf).poll;
            (*buf).cb_out.poll = &raw mut (*buf).poll;
            bindings::INIT_LIST_HEAD(&raw mut (*buf).attachments);
        }
        // INVARIANT: Allocated by `alloc` as `embedded` says, which the reservation object tells
        // (an exporter's is never just past the buffer, which is inside its allocation); set up
        // above, with the module reference taken.
        Ok(Self { raw })
    }

    /// Returns the size of the buffer in bytes.
    #[inline]
    pub fn size(&self) -> usize {
        // SAFETY: The buffer is owned by `self` (type invariant).
        unsafe { (*self.raw.as_ptr()).size }
    }

    /// Publishes the buffer with `file` as its file: the file's private data and its dentry's
    /// `d_fsdata` become the buffer, whose reference `file`'s is, and the buffer goes on the
    /// list of all buffers (`list`). Returns that reference.
    ///
    /// # Safety
    ///
    /// `file` is a new file of the dma-buf filesystem, whose only reference the caller gives
    /// up, with no private data yet; the file's release takes the buffer off the list, and its
    /// dentry's release calls [`release`].
    pub unsafe fn publish(
        self,
        file: NonNull<bindings::file>,
        list: &mut BufferListGuard<'_>,
    ) -> ARef<DmaBuf> {
        let raw = core::mem::ManuallyDrop::new(self).raw;
        let (buf, file) = (raw.as_ptr(), file.as_ptr());
        // SAFETY: `file` is new and its dentry live (the caller's guarantee); the buffer is
        // owned by `self` (type invariant), given to its file here.
        unsafe {
            (*file).private_data = buf.cast();
            (*(*file).__bindgen_anon_1.f_path.dentry).d_fsdata = buf.cast();
            (*buf).file = file;
        }
        // SAFETY: Exported now, with its file.
        let exported = unsafe { DmaBuf::from_raw(buf) };
        // SAFETY: A new buffer, on no list; the file's release takes it off (the caller's
        // guarantee).
        unsafe { list.add(exported) };
        // SAFETY: The file's only reference, given up by the caller, is the buffer's.
        unsafe { ARef::from_raw(raw.cast()) }
    }
}

impl Drop for NewBuffer {
    fn drop(&mut self) {
        // SAFETY: The buffer is owned by `self` and was never published (type invariant).
        unsafe { free(self.raw) };
    }
}

impl DmaBuf {
    /// Makes `vma`, a mapping that an importer's `mmap` is setting up, one of the buffer's file
    /// from page `pgoff` on (`vma_set_file()`, `vm_pgoff`), for the core's `dma_buf_mmap()`
    /// (`core`), which checked that the range fits in the buffer. The mapping then holds a
    /// reference to the buffer's file, and none to the importer's.
    pub fn redirect_mapping(&self, vma: &VmaNew, pgoff: usize, _core: &CoreToken) {
        // SAFETY: The mapping is being set up (`VmaNew`, not shared, `!Sync`), so its file and
        // page offset may be changed; `vma_set_file()` takes a reference to the buffer's file,
        // referenced for the borrow of `self` (type invariant), and drops the mapping's
        // reference to the importer's. The range fits in the buffer (the core's contract).
        unsafe {
            bindings::vma_set_file(vma.as_ptr(), (*self.as_raw()).file);
            (*vma.as_ptr()).vm_pgoff = pgoff;
        }
    }
}

/// Releases a buffer whose file is gone (the dentry's `d_release`): the exporter's release,
/// its own reservation object, the module reference and the memory.
///
/// Unbalanced kernel mappings or armed poll callbacks would use the buffer after this: as the
/// C core (`BUG_ON()`), this stops rather than corrupt memory. Attachments left would point to
/// freed memory: this warns, as the C core does.
///
/// # Safety
///
/// `raw` was published by [`NewBuffer::publish`], and its file is gone with its last
/// reference, so nobody else reaches it; it is not used after this call.
pub unsafe fn release(raw: NonNull<bindings::dma_buf>) {
    let buf = raw.as_ptr();
    // SAFETY: Nobody else reaches the buffer (the caller's guarantee); its fields are read by
    // pointer, as the exporter's release below gets it too.
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
    // SAFETY: A published buffer's operations are a static table with `release` (`new`'s
    // requirement).
    if let Some(release) = unsafe { ops.as_ref() }.and_then(|ops| ops.release) {
        // SAFETY: The exporter's release, once, for its buffer.
        unsafe { release(buf) };
    }
    // SAFETY: The buffer's initialised attachment list, which nobody else reaches.
    let empty = unsafe { core::ptr::eq((*buf).attachments.next, &raw mut (*buf).attachments) };
    crate::warn_on!(!empty);
    // SAFETY: Made by `NewBuffer::new`, released once (the caller's guarantee).
    unsafe { free(raw) };
}

/// Frees a buffer: its own reservation object, the module reference and the memory.
///
/// # Safety
///
/// `raw` is the buffer of a [`NewBuffer`], which nobody else reaches, and it is not used after
/// this call.
unsafe fn free(raw: NonNull<bindings::dma_buf>) {
    let buf = raw.as_ptr();
    // SAFETY: The buffer is valid and unused (the caller's guarantee).
    let (resv, owner, name) = unsafe { ((*buf).resv, (*buf).owner, (*buf).name) };
    let embedded = core::ptr::eq(resv, past(buf));
    // SAFETY: The buffer's own reservation object if `embedded`, unused now; the module
    // reference taken by `NewBuffer::new`; the name's memory, owned by the buffer (null or from
    // `kmalloc()`).
    unsafe {
        if embedded {
            bindings::dma_resv_fini(resv);
        }
        bindings::module_put(owner);
        bindings::kfree(name.cast());
    }
    // SAFETY: Allocated by `alloc` with the layout `embedded` tells (type invariant of
    // `NewBuffer`), and unused now.
    unsafe {
        if embedded {
            drop(KBox::from_raw(buf.cast::<WithResv>()));
        } else {
            drop(KBox::from_raw(buf.cast::<WithoutResv>()));
        }
    }
}
