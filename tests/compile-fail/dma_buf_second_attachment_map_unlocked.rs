// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// Another attachment of the same buffer cannot map with `map_unlocked`, which takes the lock
// itself, while the first attachment is locked.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let first = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let second = Attachment::new(buf, dev.as_ref(), &unlocked)?;
    let locked = first.lock(&mut unlocked);
    let _m = second.map_unlocked(DataDirection::ToDevice, &unlocked)?; // ~ERROR
    drop(locked);
    Ok(())
}
