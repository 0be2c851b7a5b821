// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// Inside the locking closure of a reservation transaction, some of its locks are held: an
// operation that takes a reservation lock itself cannot be called there. (rustc reports the
// closure, which captures the capability that the transaction already borrows.)

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;
use kernel::sync::ww_mutex::{AcquireCtx, Class};

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let attach = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let ctx = AcquireCtx::new(Class::reservation())?;
    #[rustfmt::skip]
    let _locked = ctx.lock_all_resv(&mut unlocked, |tx| { // ~ERROR
        let guard = tx.lock(&attach)?;
        let _map = buf.vmap_unlocked(&unlocked)?;
        Ok(guard)
    })?;
    Ok(())
}
