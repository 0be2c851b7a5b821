// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `pin` found for struct `LockedAttachment<'_>`
//
// Only dynamic importers pin: a static attachment's locked form has no `pin`.

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::faux;

fn check() -> Result {
    let dev = faux::Registration::new(c"cf", None)?;
    let mut attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref())?;
    attach.lock().pin()?; // ~ERROR
    Ok(())
}
