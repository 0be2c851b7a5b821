// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `lock_all` found for struct `AcquireCtx<kernel::sync::ww_mutex::Done>`
//
// A context whose acquire phase is done (`AcquireCtx<Done>`) has no way to take a lock.

use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let a = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let b = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| tx.lock(&*a))?;
    let done = locked.unlock();
    let _again = done.lock_all(|tx| tx.lock(&*b))?; // ~ERROR
    Ok(())
}
