// SPDX-License-Identifier: GPL-2.0
// expect: E0502: cannot borrow `unlocked` as mutable because it is also borrowed as immutable
//
// CPU access ends with `end_cpu_access`, which must run without the reservation lock: the
// buffer cannot be locked while an access begun on it lives.

use kernel::dma::DataDirection;
use kernel::dma_buf::DmaBuf;
use kernel::dma_resv::Unlocked;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let buf = DmaBuf::from_fd(0)?;
    let access = buf.begin_cpu_access(DataDirection::FromDevice, &unlocked)?;
    let guard = buf.resv().lock(&mut unlocked); // ~ERROR
    drop(access);
    drop(guard);
    Ok(())
}
