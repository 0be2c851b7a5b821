// SPDX-License-Identifier: GPL-2.0

//! `poll()` on a dma-buf: whether the implicit fences of its reservation object let the CPU
//! read or write.
//!
//! `EPOLLIN` is ready once the fences of writers have signaled, `EPOLLOUT` once every fence
//! has. A direction that is not ready arms a callback embedded in the buffer (`cb_in`,
//! `cb_out`) on its first unsignaled fence; the callback wakes the buffer's wait queue
//! (`dmabuf->poll`, which `poll()` waits on) when that fence signals. While a callback is armed
//! (`active`, under the wait queue's lock), polls in its direction report not ready without
//! arming it again. An armed callback holds a reference to the buffer's file, so the buffer
//! stays until the callback has run, wherever the fence signals: during the setup below, or
//! after the last close.

use kernel::{
    bindings,
    dma_buf::DmaBuf,
    dma_fence::Fence,
    dma_resv::{ResvGuard, Unlocked, Usage},
    ffi::c_void,
    sync::aref::ARef,
    task::TASK_NORMAL,
};

/// A raw `__poll_t`.
pub(crate) type PollEvents = bindings::__poll_t;

// The events, as `bindings::POLL*` (the same bits as `EPOLL*` for these three on every
// architecture, as Binder uses them); bindgen does not see through the `__poll_t` cast of
// `EPOLL*`.
/// Reading is ready.
const EPOLLIN: PollEvents = bindings::POLLIN;
/// Writing is ready.
const EPOLLOUT: PollEvents = bindings::POLLOUT;
/// The file cannot be polled.
pub(crate) const EPOLLERR: PollEvents = bindings::POLLERR;

/// Polls `buf`, whose file is `file`, with `table` (`dma_buf_poll()`).
///
/// # Safety
///
/// `file` is the buffer's file, referenced for the call, and `table` is null or the poll
/// table of this call.
pub(crate) unsafe fn poll(
    buf: &DmaBuf,
    file: *mut bindings::file,
    table: *mut bindings::poll_table,
) -> PollEvents {
    // SAFETY: `file` and `table` are the file and poll table of this `poll()` call (the
    // caller's guarantee); the wait queue is the buffer's,
    // which outlives the file's registration on it.
    unsafe { bindings::poll_wait(file, &raw mut (*buf.as_raw()).poll, table) };

    // `poll_requested_events()`: every event without a table.
    // SAFETY: `table`, when not null, is valid for the call.
    let requested = unsafe { table.as_ref() }.map_or(!0, |table| table._key);
    let mut events = requested & (EPOLLIN | EPOLLOUT);
    if events == 0 {
        return 0;
    }

    // poll is a file operation: its task holds no reservation lock.
    let mut unlocked = Unlocked::new();
    let held = buf.resv().lock(&mut unlocked);
    if events & EPOLLOUT != 0 && !arm(buf, &held, true) {
        events &= !EPOLLOUT;
    }
    if events & EPOLLIN != 0 && !arm(buf, &held, false) {
        events &= !EPOLLIN;
    }
    events
}

/// Arms the callback of the write (`write`) or read direction of `buf`, unless it is armed
/// already, on the first fence of the direction that has not signaled.
///
/// Returns whether the direction is ready: its callback was idle and no fence is pending.
fn arm(buf: &DmaBuf, held: &ResvGuard<'_>, write: bool) -> bool {
    let raw = buf.as_raw();
    let event = if write { EPOLLOUT } else { EPOLLIN };
    // SAFETY: The buffer is exported; its callbacks and wait queue were set up at export.
    let (dcb, lock) = unsafe {
        let dcb = if write {
            &raw mut (*raw).cb_out
        } else {
            &raw mut (*raw).cb_in
        };
        (dcb, &raw mut (*raw).poll.lock)
    };

    // SAFETY: `lock` is the wait queue's initialised lock, released below; it protects
    // `active`, which marks the callback as armed.
    let busy = unsafe {
        bindings::spin_lock_irq(lock);
        let busy = (*dcb).active != 0;
        if !busy {
            (*dcb).active = event;
        }
        bindings::spin_unlock_irq(lock);
        busy
    };
    if busy {
        return false;
    }

    // The armed callback's reference to the file, dropped when it runs.
    // SAFETY: The file is referenced by the caller, so taking another reference is allowed.
    unsafe { bindings::get_file((*raw).file) };
    for (fence, _) in held.fences(Usage::for_access(write)) {
        // The callback's reference to the fence, dropped when it runs.
        let fence = ARef::into_raw(ARef::<Fence>::from(fence));
        // SAFETY: `fence` is referenced; the callback is idle (`active` was clear) and so not
        // on any fence's list, and the buffer stays until it has run (the file reference).
        let ret = unsafe {
            bindings::dma_fence_add_callback(
                fence.as_ptr().cast(),
                &raw mut (*dcb).cb,
                Some(poll_callback),
            )
        };
        if ret == 0 {
            return false;
        }
        // The fence has signaled: the callback was not added.
        // SAFETY: The reference taken above.
        drop(unsafe { ARef::from_raw(fence) });
    }
    // Every fence has signaled: wake the other pollers, disarm and drop the file reference,
    // as the callback would have.
    // SAFETY: The callback of `buf`, armed above and not on any fence.
    unsafe { poll_callback(core::ptr::null_mut(), &raw mut (*dcb).cb) };
    true
}

/// The callback of `poll`: wakes the pollers of its direction, disarms it, and drops the
/// references it held to `fence` (null when called directly) and the buffer's file.
///
/// # Safety
///
/// `cb` is the `cb` of an armed `cb_in` or `cb_out` of a buffer, removed from its fence (or
/// never added).
unsafe extern "C" fn poll_callback(
    fence: *mut bindings::dma_fence,
    cb: *mut bindings::dma_fence_cb,
) {
    // SAFETY: `cb` is the first field of a buffer's `cb_in` or `cb_out`, whose `poll` points to
    // the wait queue embedded in that buffer.
    let (dcb, wq, dmabuf) = unsafe {
        let dcb = kernel::container_of!(cb, bindings::dma_buf_dma_buf_poll_cb_t, cb);
        let wq = (*dcb).poll;
        (dcb, wq, kernel::container_of!(wq, bindings::dma_buf, poll))
    };
    // SAFETY: The buffer is alive: the armed callback holds a reference to its file. `lock` is
    // the wait queue's; the callback may run in interrupt context, so interrupts are disabled
    // while it is held.
    unsafe {
        let lock = &raw mut (*wq).lock;
        let flags = bindings::spin_lock_irqsave(lock);
        // `wake_up_locked_poll()`: the key is the events (`poll_to_key()`).
        // CAST: `__poll_t` is 32 bits wide, so the widening to a pointer-sized key is lossless.
        let key = core::ptr::without_provenance_mut::<c_void>((*dcb).active as usize);
        bindings::__wake_up_locked_key(wq, TASK_NORMAL, key);
        (*dcb).active = 0;
        bindings::spin_unlock_irqrestore(lock, flags);
    }
    // SAFETY: The references the callback held: the fence's (null when there is none) and the
    // file's, which may be the last and release the buffer, so nothing of it is used after.
    unsafe {
        bindings::dma_fence_put(fence);
        bindings::fput((*dmabuf).file);
    }
}
