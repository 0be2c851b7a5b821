// SPDX-License-Identifier: GPL-2.0
// expect: E0382: borrow of moved value: `guard`
//
// A reservation guard cannot change the fences after it was dropped (unlocked).

use kernel::dma_resv::{Resv, Unlocked};

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let mut guard = resv.lock(&mut unlocked);
    drop(guard);
    guard.reserve_fences(1)?; // ~ERROR
    Ok(())
}
