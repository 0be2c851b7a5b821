// SPDX-License-Identifier: GPL-2.0
// expect: E0277: `*mut ()` cannot be sent between threads safely
//
// A ww_mutex guard cannot be sent to another thread: the task that locked must unlock.

use kernel::sync::ww_mutex::{Class, Mutex};
use kernel::workqueue;

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let m = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let guard = m.lock();
    workqueue::system().try_spawn(GFP_KERNEL, move || drop(guard))?; // ~ERROR
    Ok(())
}
