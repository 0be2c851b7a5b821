// SPDX-License-Identifier: GPL-2.0

//! `poll()` on a dma-buf: whether the implicit fences of its reservation object let the CPU
//! read or write.
//!
//! `EPOLLIN` is ready once the fences of writers have signaled, `EPOLLOUT` once every fence
//! has. A direction that is not ready arms a callback embedded in the buffer on its first
//! unsignaled fence ([`DmaBuf::arm_poll`]), which wakes the buffer's wait queue (`dmabuf->poll`,
//! which `poll()` waits on) when that fence signals.

use crate::abi::CORE;
use kernel::{
    dma_buf::{
        core_poll::{PollDirection, PollEvents},
        DmaBuf,
    },
    dma_resv::Unlocked,
};

/// The file cannot be polled.
pub(crate) const EPOLLERR: PollEvents = kernel::bindings::POLLERR;

/// Returns the events of `requested` that `buf` is ready for, arming a callback for each
/// direction that is not ready yet (`dma_buf_poll()` once the poll table has the buffer's
/// wait queue).
pub(crate) fn poll(buf: &DmaBuf, requested: PollEvents) -> PollEvents {
    let (read, write) = (PollDirection::Read.event(), PollDirection::Write.event());
    let mut events = requested & (read | write);
    if events == 0 {
        return 0;
    }

    // poll is a file operation: its task holds no reservation lock.
    let mut unlocked = Unlocked::new();
    let held = buf.resv().lock(&mut unlocked);
    if events & write != 0 && !buf.arm_poll(PollDirection::Write, &held, &CORE) {
        events &= !write;
    }
    if events & read != 0 && !buf.arm_poll(PollDirection::Read, &held, &CORE) {
        events &= !read;
    }
    events
}
