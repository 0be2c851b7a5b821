// SPDX-License-Identifier: GPL-2.0
// expect: E0499: cannot borrow `unlocked` as mutable more than once at a time
//
// The reservation object reached through a second handle cannot be locked again while it is
// locked (a self-deadlock), nor can any other reservation object be locked without an acquire
// context (which could deadlock against another task).

use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let attach = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let locked = attach.lock(&mut unlocked);
    let _again = buf.resv().lock(&mut unlocked); // ~ERROR
    drop(locked);
    Ok(())
}
