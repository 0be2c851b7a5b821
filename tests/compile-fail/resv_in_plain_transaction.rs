// SPDX-License-Identifier: GPL-2.0
// expect: E0271: type mismatch resolving `<Resv as Lockable>::Kind == Plain`
//
// A plain transaction does not borrow the capability, so it cannot lock reservation objects:
// those are locked by `lock_all_resv`, whose guards keep the unlocked operations out of reach.

use kernel::dma_resv::Resv;
use kernel::sync::ww_mutex::{AcquireCtx, Class};

fn check() -> Result {
    let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let _locked = AcquireCtx::new(Class::reservation())?.lock_all(|tx| tx.lock(&*resv))?; // ~ERROR
    Ok(())
}
