// SPDX-License-Identifier: GPL-2.0
// expect: ok
//
// The control case: correct use of every API the other cases misuse or rely on. It must build,
// which shows that the others fail for the reason they state and not because the set-up is
// broken or an API they name was renamed.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf, Dynamic, Importer};
use kernel::dma_resv::{Resv, ResvGuard, Unlocked, Usage};
use kernel::faux;
use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex, Reservation, Transaction};
use kernel::workqueue;

struct Moves;

impl Importer for Moves {
    fn invalidate_mappings(&self, _held: &ResvGuard<'_>) {}
}

static CLASS: Class = Class::new_wound_wait(c"cf_acquire", c"cf_mutex");

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let a = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let b = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    let mut locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(&*a)?, tx.lock(&*b)?)))?;
    *locked.0 += 1;
    let ctx = locked.unlock();
    ctx.fini();

    // Reservation objects in a transaction, then unlocked operations once it is over.
    let x = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let y = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    let resvs = AcquireCtx::new(Class::reservation())?
        .lock_all_resv(&mut unlocked, |tx| Ok((tx.lock(&*x)?, tx.lock(&*y)?)))?;
    let _ = resvs.0.fences(Usage::Read).count();
    drop(resvs);

    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let attach = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let second = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    {
        let locked = attach.lock(&mut unlocked);
        let mapping = locked.map(DataDirection::ToDevice)?;
        let _ = mapping.sg_table().iter().count();
    }
    {
        let _unlocked_map = attach.map_unlocked(DataDirection::ToDevice, &unlocked)?;
        let _second_map = second.map_unlocked(DataDirection::ToDevice, &unlocked)?;
        let _access = attach
            .buffer()
            .begin_cpu_access(DataDirection::FromDevice, &unlocked)?;
        let _kernel_map = buf.vmap_unlocked(&unlocked)?;
    }
    {
        // A mapping made unlocked may be kept while the buffer is locked.
        let kept = buf.vmap_unlocked(&unlocked)?;
        let locked = attach.lock(&mut unlocked);
        let _ = (locked.size(), locked.peer2peer(), locked.as_raw());
        drop(locked.vmap()?);
        locked.guard().assert_held();
        drop(locked);
        drop(kept);
    }
    {
        let mut locked = AcquireCtx::new(Class::reservation())?
            .lock_all_resv(&mut unlocked, |tx| Ok((tx.lock(&attach)?, tx.lock(&*x)?)))?;
        let (mine, theirs) = &mut *locked;
        mine.reserve_fences(1)?;
        assert!(!theirs.is_of(buf.resv()));
        let _ = mine.map(DataDirection::ToDevice)?;
    }
    let access = buf.begin_cpu_access(DataDirection::FromDevice, &unlocked)?;
    access.end()?;
    drop((attach, second));

    let mut dynamic =
        Attachment::<Dynamic<Moves>>::new_dynamic(buf.clone(), dev.as_ref(), Moves, &unlocked)?;
    {
        let locked = dynamic.lock(&mut unlocked);
        locked.pin()?;
        let _: &Moves = locked.importer();
        assert!(locked.guard().is_of(buf.resv()));
        locked.unpin()?;
    }
    dynamic = Attachment::new_dynamic(buf.clone(), dev.as_ref(), Moves, &unlocked)?;
    drop(dynamic);

    let mut guard = x.lock(&mut unlocked);
    guard.reserve_fences(1)?;
    assert!(guard.is_of(&x) && !guard.as_raw().is_null());
    if let Some(nested) = guard.try_lock_nested(&y) {
        drop(nested);
    }
    drop(guard);
    let guard = buf.resv().lock(&mut unlocked);
    drop(guard);
    if let Some(guard) = x.try_lock(&mut unlocked) {
        drop(guard);
    }
    drop(x.lock_interruptible(&mut unlocked)?);
    let m = KBox::pin_init(Mutex::new(0u32, &CLASS), GFP_KERNEL)?;
    *m.lock() += 1;
    let value = KBox::new(*m.lock(), GFP_KERNEL)?;
    workqueue::system().try_spawn(GFP_KERNEL, move || {
        let _own = Unlocked::new();
        drop(value)
    })?;
    let _: Option<&mut Transaction<'_, '_>> = None;
    let _: Option<&mut Transaction<'_, '_, Reservation>> = None;
    Ok(())
}
