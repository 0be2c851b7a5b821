// SPDX-License-Identifier: GPL-2.0
// expect: E0382: use of moved value: `ctx`
//
// `lock_all` consumes the acquiring context: a second set of locks cannot be added to a context
// whose first set is held outside any transaction (it could not be released on backoff).

use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let a = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let b = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let ctx = AcquireCtx::new(&CLASS)?;
    let _first = ctx.lock_all(|tx| tx.lock(&*a))?;
    let _second = ctx.lock_all(|tx| tx.lock(&*b))?; // ~ERROR
    Ok(())
}
