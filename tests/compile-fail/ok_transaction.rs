// SPDX-License-Identifier: GPL-2.0
// expect: ok
//
// The control case: correct use of every API the other cases misuse or rely on. It must build,
// which shows that the others fail for the reason they state and not because the set-up is
// broken or an API they name was renamed.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf, Dynamic, Importer};
use kernel::dma_resv::{Resv, ResvGuard, Usage};
use kernel::faux;
use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex, Transaction};
use kernel::workqueue;

struct Moves;

impl Importer for Moves {
    fn invalidate_mappings(&self, _held: &ResvGuard<'_>) {}
}

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
    {
        let _unlocked = attach.map_unlocked(DataDirection::ToDevice)?;
        let _access = attach
            .buffer()
            .begin_cpu_access(DataDirection::FromDevice)?;
        let _kernel_map = attach.buffer().vmap_unlocked()?;
    }
    {
        let locked = attach.lock();
        let _ = (locked.size(), locked.peer2peer(), locked.as_raw());
        let _map = locked.vmap()?;
        locked.guard().assert_held();
    }
    drop(attach);

    let buf = DmaBuf::from_fd(0)?;
    let mut dynamic = Attachment::<Dynamic<Moves>>::new_dynamic(buf.clone(), dev.as_ref(), Moves)?;
    {
        let locked = dynamic.lock();
        locked.pin()?;
        let _: &Moves = locked.importer();
        assert!(locked.guard().is_of(buf.resv()));
        locked.unpin()?;
    }

    let mut guard = x.lock();
    guard.reserve_fences(1)?;
    assert!(guard.is_of(&x) && !guard.as_raw().is_null());
    drop(guard);
    let m = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    *m.lock() += 1;
    let value = KBox::new(*m.lock(), GFP_KERNEL)?;
    workqueue::system().try_spawn(GFP_KERNEL, move || drop(value))?;
    let _: Option<&mut Transaction<'_, '_>> = None;
    Ok(())
}
