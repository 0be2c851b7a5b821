// SPDX-License-Identifier: GPL-2.0
// expect: E0382: borrow of moved value: `locked`
//
// A transaction's guards cannot be used after `Locked::unlock` released them.

use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let a = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let b = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(&*a)?, tx.lock(&*b)?)))?;
    let ctx = locked.unlock();
    ctx.fini();
    let _value = *locked.0; // ~ERROR
    Ok(())
}
