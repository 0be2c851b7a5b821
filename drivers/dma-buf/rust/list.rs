// SPDX-License-Identifier: GPL-2.0

//! The list of every exported buffer, newest first, for debugfs and the BPF iterator
//! (`dma_buf_iter_begin()` and `dma_buf_iter_next()`, in `abi.rs`).
//!
//! A buffer is on the list from its export until its file is released. The list's mutex
//! protects the list, not the buffers: one on the list may be on its way out (its file's
//! count already zero), so walkers that keep a buffer beyond the walk take a reference only
//! if the count is not zero yet.

use kernel::{bindings, dma_buf::DmaBuf, prelude::*, types::Opaque};

/// The list and its mutex, as `dmabuf_list` and `dmabuf_list_mutex` of the C core.
///
/// # Invariants
///
/// After [`init`], `lock` is an initialised mutex and `head` an initialised list of the
/// `list_node`s of exported buffers, changed and walked only with `lock` held.
struct BufferList {
    lock: Opaque<bindings::mutex>,
    head: Opaque<bindings::list_head>,
}

// SAFETY: The list is only used with its mutex held (type invariant), from any task.
unsafe impl Sync for BufferList {}

static BUFFERS: BufferList = BufferList {
    lock: Opaque::uninit(),
    head: Opaque::uninit(),
};

/// Initialises the list, once, before the first export.
///
/// # Safety
///
/// Called once, by the core's initcall, before any other function of this module.
pub(crate) unsafe fn init() {
    // SAFETY: The mutex and the list head are static and not in use yet: this runs once, from
    // the initcall, before any other function of this module.
    unsafe {
        bindings::__mutex_init(
            BUFFERS.lock.get(),
            c"dmabuf_list_mutex".as_char_ptr(),
            kernel::static_lock_class!().as_ptr(),
        );
        bindings::INIT_LIST_HEAD(BUFFERS.head.get());
    }
}

/// The list, locked.
pub(crate) struct Locked(());

impl Locked {
    /// Locks the list.
    pub(crate) fn lock() -> Self {
        // SAFETY: The mutex is initialised (`init` runs before any export).
        unsafe { bindings::mutex_lock(BUFFERS.lock.get()) };
        Self(())
    }

    /// Locks the list, unless a signal arrives first.
    #[cfg(CONFIG_DEBUG_FS)]
    ///
    /// # Errors
    ///
    /// `EINTR` if a signal arrived.
    pub(crate) fn lock_interruptible() -> Result<Self> {
        // SAFETY: The mutex is initialised (`init` runs before any export).
        kernel::error::to_result(unsafe {
            bindings::mutex_lock_interruptible(BUFFERS.lock.get())
        })?;
        Ok(Self(()))
    }

    /// Adds `buf`, newly exported, at the head.
    ///
    /// # Safety
    ///
    /// `buf` is not on the list, and is taken off it before it is freed.
    pub(crate) unsafe fn add(&self, buf: &DmaBuf) {
        // SAFETY: The list is locked (`self`); `buf` is not on it (the caller's guarantee).
        unsafe { bindings::list_add(&raw mut (*buf.as_raw()).list_node, BUFFERS.head.get()) };
    }

    /// Removes `buf`, whose file is being released.
    ///
    /// # Safety
    ///
    /// `buf` is on the list.
    pub(crate) unsafe fn remove(&self, buf: *mut bindings::dma_buf) {
        // SAFETY: The list is locked (`self`) and `buf` on it (the caller's guarantee).
        unsafe { bindings::list_del(&raw mut (*buf).list_node) };
    }

    /// Returns the buffer after `after` (the first with `None`), if there is one, whatever
    /// the state of its file.
    ///
    /// # Safety
    ///
    /// `after`, if given, is on the list.
    unsafe fn next(&self, after: Option<*mut bindings::dma_buf>) -> Option<*mut bindings::dma_buf> {
        let head = BUFFERS.head.get();
        // SAFETY: The list is locked (`self`); `after` is on it (the caller's guarantee).
        let node = unsafe {
            match after {
                Some(buf) => (*buf).list_node.next,
                None => (*head).next,
            }
        };
        if core::ptr::eq(node, head) {
            return None;
        }
        // SAFETY: Every node but the head is the `list_node` of an exported buffer.
        Some(unsafe { kernel::container_of!(node, bindings::dma_buf, list_node) })
    }

    /// Calls `f` with each buffer, newest first, with its file's count possibly zero.
    #[cfg(CONFIG_DEBUG_FS)]
    pub(crate) fn for_each(&self, mut f: impl FnMut(*mut bindings::dma_buf) -> Result) -> Result {
        let mut cursor = None;
        // SAFETY: `cursor` is on the list: the list is locked and its buffers stay on it.
        while let Some(buf) = unsafe { self.next(cursor) } {
            f(buf)?;
            cursor = Some(buf);
        }
        Ok(())
    }

    /// Returns the first buffer after `after` (from the head with `None`) whose file can be
    /// referenced, with a new reference.
    ///
    /// # Safety
    ///
    /// `after`, if given, is on the list.
    pub(crate) unsafe fn next_referenced(
        &self,
        mut after: Option<*mut bindings::dma_buf>,
    ) -> Option<*mut bindings::dma_buf> {
        // SAFETY: `after` is on the list (the caller's guarantee), and so is every buffer
        // returned, while the list is locked (`self`).
        while let Some(buf) = unsafe { self.next(after) } {
            // SAFETY: A buffer on the list has its file, whose memory stays while the buffer is
            // on the list, even with a zero count.
            if unsafe { bindings::file_ref_get(&raw mut (*(*buf).file).f_ref) } {
                return Some(buf);
            }
            after = Some(buf);
        }
        None
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: Locked by this task when `self` was made.
        unsafe { bindings::mutex_unlock(BUFFERS.lock.get()) };
    }
}
