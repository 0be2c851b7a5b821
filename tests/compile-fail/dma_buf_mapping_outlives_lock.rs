// SPDX-License-Identifier: GPL-2.0
// expect: E0597: `locked` does not live long enough
//
// A mapping made under the lock is unmapped under the lock: it cannot outlive the locked
// attachment.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::faux;

fn check() -> Result {
    let dev = faux::Registration::new(c"cf", None)?;
    let mut attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref())?;
    let mapping;
    {
        let locked = attach.lock();
        mapping = locked.map(DataDirection::ToDevice)?; // ~ERROR
    }
    drop(mapping);
    Ok(())
}
