// SPDX-License-Identifier: GPL-2.0
// expect: E0505: cannot move out of `attach` because it is borrowed
//
// The core cannot free an attachment (drop its `UnlinkedAttachment`) while it still reads it
// through the exporter's view, as a detach's trace event does after the exporter's detach: the
// view borrows the attachment, so the free has to wait until the last read.

use kernel::dma_buf::core_attachment::UnlinkedAttachment;

fn check() -> Result {
    let _finish = |attach: UnlinkedAttachment<'_>| {
        let exported = attach.as_exported();
        drop(attach); // ~ERROR
        exported.is_dynamic()
    };
    Ok(())
}
