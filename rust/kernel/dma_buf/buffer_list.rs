// SPDX-License-Identifier: GPL-2.0

//! The list of every exported buffer, newest first (`dmabuf_list` of the C core), for the
//! dma-buf core in Rust (`CONFIG_DMABUF_CORE_RUST`): its debugfs file and the BPF buffer
//! iterator walk it.
//!
//! A buffer is on the list from its export until its file is released, and is freed only
//! after that. The list's mutex protects the list, not the buffers: a buffer on the list may be
//! on its way out (its file's count already zero), so a walk sees [`Listed`] buffers, which it
//! can read while the list is locked, and reference only if their count is not zero yet
//! ([`Listed::get`]).

use crate::{
    bindings,
    dma_buf::{core_token::CoreToken, DmaBuf},
    dma_resv::{Resv, ResvGuard},
    ffi::c_ulong,
    interop::list::CListHead,
    prelude::*,
    seq_file::SeqFile,
    sync::{
        aref::ARef,
        lock::{mutex::MutexBackend, Guard},
        Mutex,
    },
    types::Opaque,
};
use core::ptr::NonNull;

/// The list and its mutex (`dmabuf_list` and `dmabuf_list_mutex`), in a static of the core.
///
/// # Invariants
///
/// After [`BufferList::init`], `lock` is an initialised mutex and `head` an initialised list of
/// the `list_node`s of exported buffers, changed and walked only with `lock` held; a buffer is
/// taken off the list before it is freed.
pub struct BufferList {
    lock: Opaque<bindings::mutex>,
    head: Opaque<bindings::list_head>,
}

// SAFETY: The list is only used with its mutex held (type invariant), by any task.
unsafe impl Sync for BufferList {}

impl BufferList {
    /// Returns a list to be initialised by [`BufferList::init`].
    ///
    /// # Safety
    ///
    /// [`BufferList::init`] is called before any other method, as for a
    /// [`GlobalLock`](crate::sync::GlobalLock); the list is the core's one list of buffers, to
    /// which it adds every buffer it exports.
    pub const unsafe fn new() -> Self {
        Self {
            lock: Opaque::uninit(),
            head: Opaque::uninit(),
        }
    }

    /// Initialises the list.
    ///
    /// # Safety
    ///
    /// Called once, before any other method.
    pub unsafe fn init(&'static self) {
        // SAFETY: The mutex and the list head are static and not in use yet (the caller's
        // guarantee).
        unsafe {
            bindings::__mutex_init(
                self.lock.get(),
                c"dmabuf_list_mutex".as_char_ptr(),
                crate::static_lock_class!().as_ptr(),
            );
            bindings::INIT_LIST_HEAD(self.head.get());
        }
    }

    /// Returns the list's mutex.
    fn mutex(&self) -> &Mutex<()> {
        // SAFETY: The mutex is initialised: `init` runs before any other method (the
        // guarantee of `new`'s caller).
        unsafe { Mutex::<()>::from_raw(self.lock.get()) }
    }

    /// Locks the list.
    pub fn lock(&self) -> BufferListGuard<'_> {
        BufferListGuard {
            list: self,
            _guard: self.mutex().lock(),
        }
    }

    /// Locks the list, unless a signal arrives first.
    ///
    /// # Errors
    ///
    /// `EINTR` if a signal arrived.
    pub fn lock_interruptible(&self) -> Result<BufferListGuard<'_>> {
        let mutex = self.mutex();
        // SAFETY: The mutex is initialised (`mutex()`).
        crate::error::to_result(unsafe { bindings::mutex_lock_interruptible(self.lock.get()) })?;
        Ok(BufferListGuard {
            list: self,
            // SAFETY: The mutex was locked above, by this task.
            _guard: unsafe { Guard::new(mutex, ()) },
        })
    }
}

/// The list, locked.
pub struct BufferListGuard<'a> {
    list: &'a BufferList,
    _guard: Guard<'a, (), MutexBackend>,
}

impl BufferListGuard<'_> {
    /// Adds `buf`, newly exported, at the head.
    ///
    /// # Safety
    ///
    /// `buf` is not on the list, and is taken off it ([`Self::remove`]) before it is freed.
    pub unsafe fn add(&mut self, buf: &DmaBuf) {
        // SAFETY: The list is locked (`self`) and initialised; `buf` is not on it (the caller's
        // guarantee).
        unsafe { bindings::list_add(&raw mut (*buf.as_raw()).list_node, self.list.head.get()) };
    }

    /// Removes `buf`, whose file is being released.
    ///
    /// # Safety
    ///
    /// `buf` was added by [`Self::add`] and not removed yet.
    pub unsafe fn remove(&mut self, buf: *mut bindings::dma_buf) {
        // SAFETY: The list is locked (`self`) and `buf` on it (the caller's guarantee).
        unsafe { bindings::list_del(&raw mut (*buf).list_node) };
    }

    /// Returns the list's sentinel.
    fn head(&self) -> &CListHead {
        // SAFETY: The head is initialised, and changed only by this guard's owner while it is
        // borrowed.
        unsafe { CListHead::from_raw(self.list.head.get()) }
    }

    /// Returns the buffers after `node`, newest first.
    fn after<'a>(&'a self, node: &'a CListHead) -> impl Iterator<Item = &'a Listed> + 'a {
        let head = self.head();
        let mut pos = node.next();
        core::iter::from_fn(move || {
            if pos == head {
                return None;
            }
            let node = pos;
            pos = node.next();
            // SAFETY: Every node but the head is the `list_node` of an exported buffer, which
            // stays allocated while it is on the list (type invariant), so while the list is
            // locked (`self` is borrowed for `'a`).
            Some(unsafe {
                Listed::from_raw(crate::container_of!(
                    node.as_raw(),
                    bindings::dma_buf,
                    list_node
                ))
            })
        })
    }

    /// Returns the buffers, newest first, whatever the state of their files.
    pub fn iter(&self) -> impl Iterator<Item = &Listed> + '_ {
        self.after(self.head())
    }

    /// Returns `buf` as a buffer of the list, for the core (`core`), which lists every buffer
    /// from its export until its file is released, so while it is referenced.
    ///
    /// The buffer stays on the list after `buf` is dropped, while the list is locked: its
    /// release takes the list's lock to remove it, and the last `fput()` defers the release.
    pub fn listed<'a>(&'a self, buf: &DmaBuf, _core: &CoreToken) -> &'a Listed {
        // SAFETY: A referenced buffer is on the list (`CoreToken`), which is locked (`self`) for
        // `'a`: it stays on it for `'a` (above).
        unsafe { Listed::from_raw(buf.as_raw()) }
    }

    /// Returns the first buffer after `after` (from the newest with `None`) whose file can
    /// still be referenced, with a new reference.
    pub fn next_referenced(&self, after: Option<&Listed>) -> Option<ARef<DmaBuf>> {
        let start = match after {
            // SAFETY: A buffer on the list has its `list_node` on the list, which is locked
            // (`self`).
            Some(buf) => unsafe { CListHead::from_raw(&raw mut (*buf.as_raw()).list_node) },
            None => self.head(),
        };
        self.after(start).find_map(Listed::get)
    }
}

/// An exported buffer on the locked list of all buffers, whose file may have no reference
/// left.
///
/// # Invariants
///
/// `self.0` is an exported buffer on the list, and a `&Listed` is only handed out for as long
/// as the list is locked: the buffer is not freed, and its file and reservation object stay
/// allocated, for the borrow.
#[repr(transparent)]
pub struct Listed(Opaque<bindings::dma_buf>);

impl Listed {
    /// Borrows a buffer of the list.
    ///
    /// # Safety
    ///
    /// `raw` is an exported buffer on the list, which is locked for `'a`.
    unsafe fn from_raw<'a>(raw: *mut bindings::dma_buf) -> &'a Self {
        // SAFETY: `Listed` is a transparent wrapper of `struct dma_buf`, valid for `'a` (the
        // caller's guarantee).
        unsafe { &*raw.cast::<Self>() }
    }

    /// Returns the raw `struct dma_buf`.
    pub fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.get()
    }

    /// Returns the raw file of the buffer, which stays allocated while it is on the list.
    fn file(&self) -> *mut bindings::file {
        // SAFETY: The buffer is valid (type invariant); its file is set at export and never
        // changes.
        unsafe { (*self.as_raw()).file }
    }

    /// Returns a new reference to the buffer, unless its file's count is already zero.
    pub fn get(&self) -> Option<ARef<DmaBuf>> {
        // SAFETY: The file's memory stays while the buffer is on the list (type invariant),
        // even with a zero count; `file_ref_get()` only takes a reference from a nonzero one.
        if !unsafe { bindings::file_ref_get(&raw mut (*self.file()).f_ref) } {
            return None;
        }
        // SAFETY: The reference just taken is the file's, so the buffer's, which the `ARef`
        // takes over.
        Some(unsafe { ARef::from_raw(NonNull::from(self).cast()) })
    }

    /// Returns the size of the buffer in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: The buffer is valid (type invariant) and its size never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// Returns the exporter's name, if it gave one.
    pub fn exp_name(&self) -> Option<&CStr> {
        // SAFETY: The buffer is exported and not freed while `self` is borrowed (type
        // invariant).
        unsafe { super::exp_name(self.as_raw()) }
    }

    /// Returns the buffer's reservation object.
    pub fn resv(&self) -> &Resv {
        // SAFETY: The buffer is valid (type invariant); its reservation object is initialised
        // at export and outlives it.
        unsafe { Resv::from_raw((*self.as_raw()).resv) }
    }

    /// Runs `f` with the buffer's name lock held, passing it the name, if the buffer has one.
    pub fn with_name<R>(&self, f: impl FnOnce(Option<&CStr>) -> R) -> R {
        // SAFETY: The buffer is exported and not freed while `self` is borrowed (type
        // invariant).
        unsafe { super::name::with_name_raw(self.as_raw(), f) }
    }

    /// Returns the flags of the buffer's file (`f_flags`).
    pub fn file_flags(&self) -> u32 {
        // SAFETY: The file stays allocated while the buffer is on the list (type invariant).
        // `fcntl()` changes the flags under the file's `f_lock`, which bufinfo does not take, as
        // in C: the read is volatile (`READ_ONCE()`).
        unsafe { (&raw const (*self.file()).f_flags).read_volatile() }
    }

    /// Returns the mode of the buffer's file (`f_mode`).
    pub fn file_mode(&self) -> u32 {
        // SAFETY: As in `file_flags`.
        unsafe { (&raw const (*self.file()).f_mode).read_volatile() }
    }

    /// Returns the number of references to the buffer's file, which may be zero.
    pub fn file_count(&self) -> c_ulong {
        // SAFETY: The file stays allocated while the buffer is on the list (type invariant).
        unsafe { bindings::file_count(self.file()) }
    }

    /// Returns the inode number of the buffer's file, which names the buffer.
    pub fn ino(&self) -> u64 {
        // SAFETY: The file stays allocated while the buffer is on the list (type invariant),
        // and so does its inode, whose number is set at export.
        unsafe { (*(*self.file()).f_inode).i_ino }
    }

    /// Prints the fences of the buffer's reservation object to `seq`, as bufinfo shows them
    /// (`dma_resv_describe()`).
    ///
    /// # Errors
    ///
    /// `EINVAL` if `held` is not the guard of the buffer's reservation object.
    pub fn describe_fences(&self, held: &ResvGuard<'_>, seq: &SeqFile) -> Result {
        if !held.is_of(self.resv()) {
            return Err(EINVAL);
        }
        // SAFETY: The reservation object is locked (`held`, checked above); `seq` is a
        // seq_file this thread writes.
        unsafe { bindings::dma_resv_describe(held.as_raw(), seq.as_raw()) };
        Ok(())
    }

    /// Returns the names of the devices attached to the buffer, newest first, under `held`
    /// (a device may have no name yet).
    ///
    /// The attachments themselves are not handed out: one would give the buffer as a
    /// [`DmaBuf`], which this buffer may not be any more (its file's count may be zero).
    ///
    /// # Errors
    ///
    /// `EINVAL` if `held` is not the guard of the buffer's reservation object.
    pub fn attached_devices<'a>(
        &'a self,
        held: &'a ResvGuard<'_>,
    ) -> Result<impl Iterator<Item = Option<&'a CStr>> + 'a> {
        // SAFETY: The buffer is valid for `'a` (type invariant); the attachments are only used
        // for their devices' names, which live as long as they are attached.
        let attachments = unsafe { super::exporter::attachments(self.as_raw(), held) }?;
        Ok(attachments.map(|attach| attach.device_name()))
    }
}
