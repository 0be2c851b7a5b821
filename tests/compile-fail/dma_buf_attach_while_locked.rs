// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// Attaching takes the reservation lock: a new attachment of a buffer cannot be made while the
// buffer is locked through an existing one.

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let first = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let locked = first.lock(&mut unlocked);
    let _second = Attachment::new(buf, dev.as_ref(), &unlocked)?; // ~ERROR
    drop(locked);
    Ok(())
}
