// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `attachment` found for struct `LockedAttachment<'a, K>`
//
// A locked attachment gives neither the attachment nor its buffer out: through either, an
// operation that takes the lock itself (here `map_unlocked`, given a second capability made
// against the rules) would be reachable while it is held, a deadlock.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let forged = Unlocked::new();
    let locked = attach.lock(&mut unlocked);
    let _mapping = locked.attachment().map_unlocked(DataDirection::ToDevice, &forged)?; // ~ERROR
    drop(locked);
    Ok(())
}
