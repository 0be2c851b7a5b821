// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as immutable because it is also borrowed as mutable
//
// A second handle to the buffer, an `ARef<DmaBuf>` cloned before the lock, cannot begin CPU
// access while the attachment is locked: the handle is free, the capability is not.

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let buf = DmaBuf::from_fd(0)?;
    let attach = Attachment::new(buf.clone(), dev.as_ref(), &unlocked)?;
    let locked = attach.lock(&mut unlocked);
    let _access = buf.begin_cpu_access(DataDirection::FromDevice, &unlocked)?; // ~ERROR
    drop(locked);
    Ok(())
}
