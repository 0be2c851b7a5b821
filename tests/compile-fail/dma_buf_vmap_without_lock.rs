// SPDX-License-Identifier: GPL-2.0
// expect: E0599: no method named `vmap` found for struct `ARef<DmaBuf>`
//
// `dma_buf_vmap` needs the reservation lock: a buffer offers only `vmap_unlocked`, the locked
// form is on the locked attachment.

use kernel::dma_buf::DmaBuf;

fn check() -> Result {
    let buf = DmaBuf::from_fd(0)?;
    let _map = buf.vmap()?; // ~ERROR
    Ok(())
}
