// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `resv` found for struct `ResvGuard<'a>`
//
// A reservation guard does not give its object out: through it, `lock` (given a second
// capability made against the rules) would be reachable while the lock is held, a deadlock.

use kernel::dma_resv::{Resv, Unlocked};

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let mut forged = Unlocked::new();
    let guard = resv.lock(&mut unlocked);
    let _again = guard.resv().lock(&mut forged); // ~ERROR
    drop(guard);
    Ok(())
}
