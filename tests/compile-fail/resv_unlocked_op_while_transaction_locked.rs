// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// While the locks of a reservation transaction are held (its `Locked` lives), an operation that
// takes a reservation lock itself cannot be called.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;
use kernel::sync::ww_mutex::{AcquireCtx, Class};

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let attach = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let locked = AcquireCtx::new(Class::reservation())?
        .lock_all_resv(&mut unlocked, |tx| tx.lock(&attach))?;
    let _access = buf.begin_cpu_access(DataDirection::ToDevice, &unlocked)?; // ~ERROR
    drop(locked);
    Ok(())
}
