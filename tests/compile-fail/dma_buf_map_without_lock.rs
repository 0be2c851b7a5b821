// SPDX-License-Identifier: GPL-2.0
// expect: E0599: `Attachment` is not an iterator
//
// Mapping an attachment needs its buffer's reservation lock: `map` exists only on the locked
// attachment. (`Attachment` has no `map`, so rustc offers `Iterator::map` and says that it is
// not an iterator.)

use kernel::dma::DataDirection;
use kernel::dma_buf::{Attachment, DmaBuf};
use kernel::dma_resv::Unlocked;
use kernel::faux;

fn check() -> Result {
    let mut unlocked = Unlocked::new();
    let dev = faux::Registration::new(c"cf", None)?;
    let attach = Attachment::new(DmaBuf::from_fd(0)?, dev.as_ref(), &unlocked)?;
    let _mapping = attach.map(DataDirection::ToDevice)?; // ~ERROR
    Ok(())
}
