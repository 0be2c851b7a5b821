// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `guard_mut` found for mutable reference `&mut LockedAttachment<'_>`
//
// A locked attachment lends its guard shared only: swapped (`mem::swap`) with the guard of
// another buffer locked in the same transaction, a guard lent mutably would unlock this
// attachment's buffer while its `map`, `vmap` and `pin` stayed callable. Fences are changed
// through `LockedAttachment::reserve_fences` and `add_fence`.

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::{Resv, Unlocked};
use kernel::faux;
use kernel::sync::ww_mutex::{AcquireCtx, Class};

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let other = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let mut locked = AcquireCtx::new(Class::reservation())?.lock_all_resv(&mut unlocked, |tx| {
        Ok((tx.lock(&attach)?, tx.lock(&*other)?))
    })?;
    let (mine, theirs) = &mut *locked;
    core::mem::swap(mine.guard_mut(), theirs); // ~ERROR
    Ok(())
}
