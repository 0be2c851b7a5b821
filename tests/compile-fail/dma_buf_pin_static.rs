// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `pin` found for struct `LockedAttachment<'_>`
//
// Only dynamic importers pin: a static attachment's locked form has no `pin`.

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    attach.lock(&mut unlocked).pin()?; // ~ERROR
    Ok(())
}
