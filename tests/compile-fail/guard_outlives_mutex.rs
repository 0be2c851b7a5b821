// SPDX-License-Identifier: GPL-2.0
// expect: E0597
//
// A guard cannot outlive the mutex it locks.

use kernel::sync::ww_mutex::{Class, Mutex};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let guard;
    {
        let m = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
        guard = m.lock();
    }
    let _value = *guard;
    Ok(())
}
