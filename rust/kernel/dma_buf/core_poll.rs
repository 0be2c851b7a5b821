// SPDX-License-Identifier: GPL-2.0

//! The poll state of a buffer, for the dma-buf core in Rust (`CONFIG_DMABUF_CORE_RUST`): the
//! callbacks that `poll()` arms on a fence of the buffer (`cb_in`, `cb_out`) to wake the
//! buffer's wait queue (`poll`) when it signals.
//!
//! While a callback is armed (`active`, under the wait queue's lock), polls in its direction
//! report not ready without arming it again. An armed callback holds a reference to the
//! buffer's file, so the buffer stays until the callback has run, wherever the fence signals:
//! while it is armed, or after the last close.

use super::{core_ops::debug_check_held, core_token::CoreToken, DmaBuf};
use crate::{
    bindings,
    dma_fence::Fence,
    dma_resv::{ResvGuard, Usage},
    ffi::c_void,
    sync::aref::ARef,
    task::TASK_NORMAL,
};

/// A raw `__poll_t`.
pub type PollEvents = bindings::__poll_t;

/// A direction a buffer is polled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollDirection {
    /// Reading, ready once the fences of writers have signaled (`EPOLLIN`).
    Read,
    /// Writing, ready once every fence has signaled (`EPOLLOUT`).
    Write,
}

impl PollDirection {
    /// Returns the event of the direction, as `bindings::POLL*` has it (the same bits as
    /// `EPOLL*` for these on every architecture; bindgen does not see through the `__poll_t`
    /// cast of `EPOLL*`).
    #[inline]
    pub const fn event(self) -> PollEvents {
        match self {
            Self::Read => bindings::POLLIN,
            Self::Write => bindings::POLLOUT,
        }
    }
}

impl DmaBuf {
    /// Arms the callback of `dir`, unless it is armed already, on the first fence of the
    /// direction that has not signaled, for the core's `poll()` (`core`); `held` is the guard
    /// of the buffer's lock, whose fences are looked at.
    ///
    /// Returns whether the direction is ready: its callback was idle and no fence is pending.
    pub fn arm_poll(&self, dir: PollDirection, held: &ResvGuard<'_>, _core: &CoreToken) -> bool {
        debug_check_held(self, held);
        let raw = self.as_raw();
        // SAFETY: The buffer is exported (type invariant); its callbacks and wait queue were
        // set up at export.
        let (dcb, lock) = unsafe {
            let dcb = match dir {
                PollDirection::Write => &raw mut (*raw).cb_out,
                PollDirection::Read => &raw mut (*raw).cb_in,
            };
            (dcb, &raw mut (*raw).poll.lock)
        };

        // SAFETY: `lock` is the wait queue's initialised lock, released below; it protects
        // `active`, which marks the callback as armed.
        let busy = unsafe {
            bindings::spin_lock_irq(lock);
            let busy = (*dcb).active != 0;
            if !busy {
                (*dcb).active = dir.event();
            }
            bindings::spin_unlock_irq(lock);
            busy
        };
        if busy {
            return false;
        }

        // The armed callback's reference to the file, dropped when it runs.
        // SAFETY: The buffer's file is referenced for the borrow of `self` (type invariant), so
        // taking another reference is allowed.
        unsafe { bindings::get_file((*raw).file) };
        for (fence, _) in held.fences(Usage::for_access(dir == PollDirection::Write)) {
            // The callback's reference to the fence, dropped when it runs.
            let fence = ARef::into_raw(ARef::<Fence>::from(fence));
            // SAFETY: `fence` is referenced; the callback is idle (`active` was clear, and only
            // this function sets it) and so not on any fence's list, and the buffer stays
            // until it has run (the file reference).
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
        // SAFETY: The callback of the buffer, armed above and not on any fence.
        unsafe { poll_callback(core::ptr::null_mut(), &raw mut (*dcb).cb) };
        true
    }
}

/// The callback armed by [`DmaBuf::arm_poll`]: wakes the pollers of its direction, disarms it,
/// and drops the references it held to `fence` (null when called directly) and the buffer's
/// file.
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
    // the wait queue embedded in that buffer (the caller's guarantee).
    let (dcb, wq, dmabuf) = unsafe {
        let dcb = crate::container_of!(cb, bindings::dma_buf_dma_buf_poll_cb_t, cb);
        let wq = (*dcb).poll;
        (dcb, wq, crate::container_of!(wq, bindings::dma_buf, poll))
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
