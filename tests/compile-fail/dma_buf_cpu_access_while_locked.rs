// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// begin_cpu_access must run without the reservation lock: while an attachment is locked, the
// capability it borrowed is not available, so the buffer reached through the attachment cannot
// begin CPU access.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let locked = attach.lock(&mut unlocked);
    let buf = attach.buffer();
    let _access = buf.begin_cpu_access(DataDirection::FromDevice, &unlocked)?; // ~ERROR
    drop(locked);
    Ok(())
}
