// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// An operation that takes the reservation lock itself (here `map_unlocked`) cannot be called
// while the attachment is locked: it would deadlock.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let locked = attach.lock(&mut unlocked);
    let _m = attach.map_unlocked(DataDirection::ToDevice, &unlocked)?; // ~ERROR
    drop(locked);
    Ok(())
}
