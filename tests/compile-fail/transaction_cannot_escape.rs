// SPDX-License-Identifier: GPL-2.0
// expect: E0521: borrowed data escapes outside of closure
//
// The transaction cannot leave its closure, so the acquire context cannot lock anything outside
// the retry loop that knows how to back off.

use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex, Transaction};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let a = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let mut escaped: Option<&mut Transaction<'_, '_>> = None;
    let _locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| {
        let guard = tx.lock(&*a)?;
        escaped = Some(tx); // ~ERROR
        Ok(guard)
    })?;
    drop(escaped);
    Ok(())
}
