// SPDX-License-Identifier: GPL-2.0
// expect: E0277: `*mut ()` cannot be sent between threads safely
//
// A reservation guard cannot be sent to another thread: the task that locked must unlock.

use kernel::dma_resv::{Resv, Unlocked};
use kernel::workqueue;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let guard = resv.lock(&mut unlocked);
    workqueue::system().try_spawn(GFP_KERNEL, move || drop(guard))?; // ~ERROR
    Ok(())
}
