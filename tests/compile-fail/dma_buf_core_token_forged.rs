// SPDX-License-Identifier: GPL-2.0
// expect: E0423: cannot initialize a tuple struct which contains private fields
//
// A driver cannot make the core's proof: the state it guards (a buffer's shared kernel
// mapping, its name, its attachment list) is the core's to change, and the only constructor
// is `unsafe`.

use kernel::dma_buf::{core_token::CoreToken, DmaBuf};
use kernel::dma_resv::Unlocked;

fn check() -> Result {
    let buf = DmaBuf::from_fd(0)?;
    let mut unlocked = Unlocked::new();
    let held = buf.resv().lock(&mut unlocked);
    let forged = CoreToken(()); // ~ERROR
    let _state = buf.vmap_state(&held, &forged)?;
    Ok(())
}
