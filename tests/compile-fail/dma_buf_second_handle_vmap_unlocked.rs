// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// A second handle to the buffer cannot vmap it with `vmap_unlocked`, which takes the lock
// itself, while the buffer's reservation object is locked through the first.

use kernel::dma_buf::DmaBuf;
use kernel::dma_resv::Unlocked;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let buf = DmaBuf::from_fd(0)?;
    let second = buf.clone();
    let guard = buf.resv().lock(&mut unlocked);
    let _map = second.vmap_unlocked(&unlocked)?; // ~ERROR
    drop(guard);
    Ok(())
}
