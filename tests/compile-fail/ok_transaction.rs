// SPDX-License-Identifier: GPL-2.0
// expect: ok
//
// The control case: correct use of the API the other cases misuse. It must build, which shows
// that the others fail for the reason they state and not because the set-up is broken.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::{Resv, Usage};
use kernel::faux;
use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex};

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let a = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let b = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let mut locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(&*a)?, tx.lock(&*b)?)))?;
    *locked.0 += 1;
    let ctx = locked.unlock();
    ctx.fini();

    let x = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let y = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let resvs =
        AcquireCtx::new(Class::reservation())?.lock_all(|tx| Ok((tx.lock(&*x)?, tx.lock(&*y)?)))?;
    let _ = resvs.0.fences(Usage::Read).count();
    drop(resvs);

    let dev = faux::Registration::new(c"cf", None)?;
    let mut attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref())?;
    {
        let locked = attach.lock();
        let mapping = locked.map(DataDirection::ToDevice)?;
        let _ = mapping.sg_table().iter().count();
    }
    let _unlocked = attach.map_unlocked(DataDirection::ToDevice)?;
    let _access = attach
        .buffer()
        .begin_cpu_access(DataDirection::FromDevice)?;
    Ok(())
}
