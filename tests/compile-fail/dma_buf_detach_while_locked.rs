// SPDX-License-Identifier: GPL-2.0
// expect: E0505: cannot move out of `attach` because it is borrowed
//
// Detaching (dropping the attachment) must run without the reservation lock: the attachment
// cannot be dropped while it is locked.

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let locked = attach.lock(&mut unlocked);
    drop(attach); // ~ERROR
    drop(locked);
    Ok(())
}
