// SPDX-License-Identifier: GPL-2.0
// expect: E0597: `m` does not live long enough
//
// A guard cannot outlive the mutex it locks.

use kernel::sync::ww_mutex::{Class, Mutex};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let guard;
    {
        let m = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
        guard = m.lock(); // ~ERROR
    }
    let _value = *guard;
    Ok(())
}
