// SPDX-License-Identifier: GPL-2.0
// expect: E0277: `*mut ()` cannot be sent between threads safely
//
// The capability is a fact about the task that made it: it cannot be moved to a work item,
// which runs on another task (and makes its own).

use kernel::dma_resv::Unlocked;
use kernel::workqueue;

fn check() -> Result {
    let unlocked = Unlocked::new();
    workqueue::system().try_spawn(GFP_KERNEL, move || drop(unlocked))?; // ~ERROR
    Ok(())
}
