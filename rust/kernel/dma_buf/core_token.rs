// SPDX-License-Identifier: GPL-2.0

//! The proof that code is the dma-buf core in Rust (`CONFIG_DMABUF_CORE_RUST`), for the
//! operations on a buffer's state that only the core may do.

/// Proof that its holder is the dma-buf core, which the operations on state that the core owns
/// take: the shared kernel mapping of a buffer ([`DmaBuf::vmap_state`]), its name
/// ([`DmaBuf::set_name_from_user`]), the attachment list ([`unlink`]) and the list of all
/// buffers ([`BufferListGuard::listed`]). Drivers may read that state, but changing it would
/// break what the core keeps true of it: they cannot make one.
///
/// [`DmaBuf::vmap_state`]: super::DmaBuf::vmap_state
/// [`DmaBuf::set_name_from_user`]: super::DmaBuf::set_name_from_user
/// [`unlink`]: super::core_attachment::unlink
/// [`BufferListGuard::listed`]: super::buffer_list::BufferListGuard::listed
///
/// # Invariants
///
/// Made only by [`CoreToken::new`], whose caller is the core.
pub struct CoreToken(());

impl CoreToken {
    /// Returns the core's proof.
    ///
    /// # Safety
    ///
    /// The caller is the dma-buf core, which keeps what `dma-buf.c` keeps true of the state
    /// these operations change: a buffer's shared kernel mapping and its count are those of
    /// the exporter's `vmap` and the users it has; an attachment is on its buffer's list from
    /// attach until it is unlinked, once, at detach; a buffer it lists is on the list of all
    /// buffers (from its export until its file's release).
    pub const unsafe fn new() -> Self {
        // INVARIANT: The caller is the core (the caller's guarantee).
        Self(())
    }
}
