// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `attach` as immutable because it is also borrowed as mutable
//
// begin_cpu_access must run without the reservation lock: the buffer cannot be reached through
// an attachment that is locked.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::faux;

fn check() -> Result {
    let dev = faux::Registration::new(c"cf", None)?;
    let mut attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref())?;
    let locked = attach.lock();
    let _access = attach // ~ERROR
        .buffer()
        .begin_cpu_access(DataDirection::FromDevice)?;
    drop(locked);
    Ok(())
}
