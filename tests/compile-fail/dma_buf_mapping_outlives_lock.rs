// SPDX-License-Identifier: GPL-2.0
// expect: E0597: `locked` does not live long enough
//
// A mapping made under the lock is unmapped under the lock: it cannot outlive the locked
// attachment.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let mapping;
    {
        let locked = attach.lock(&mut unlocked);
        mapping = locked.map(DataDirection::ToDevice)?; // ~ERROR
    }
    drop(mapping);
    Ok(())
}
