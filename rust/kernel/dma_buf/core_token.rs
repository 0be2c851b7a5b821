// SPDX-License-Identifier: GPL-2.0

//! The proof that code is the dma-buf core in Rust (`CONFIG_DMABUF_CORE_RUST`), for the
//! operations on a buffer's state that only the core may do.

/// Proof that its holder is the dma-buf core, which the operations on state that the core owns
/// take: the shared kernel mapping of a buffer ([`DmaBuf::vmap_state`]), its name
/// ([`DmaBuf::set_name_from_user`]), the list of all buffers ([`BufferListGuard::listed`]),
/// the calls into exporters and importers ([`ExporterOps`]) and the mappings the core
/// redirects to a buffer's file ([`DmaBuf::redirect_mapping`]). Drivers may read that state,
/// but changing it would break what the core keeps true of it, and they reach exporters
/// through the functions of `include/linux/dma-buf.h`: they cannot make one.
///
/// [`DmaBuf::vmap_state`]: super::DmaBuf::vmap_state
/// [`DmaBuf::set_name_from_user`]: super::DmaBuf::set_name_from_user
/// [`BufferListGuard::listed`]: super::buffer_list::BufferListGuard::listed
/// [`ExporterOps`]: super::core_ops::ExporterOps
/// [`DmaBuf::redirect_mapping`]: super::DmaBuf::redirect_mapping
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
    /// the exporter's `vmap` and the users it has; a buffer it lists is on the list of all
    /// buffers (from its export until its file's release); it calls an exporter's and an
    /// importer's callbacks as the dma-buf locking convention says, with attachments of the
    /// buffer whose operations they are (new for `attach`, unlinked for `detach`, once), with
    /// the guard of that buffer's lock, and `mmap` with a range that fits in the buffer, to
    /// which it redirects an importer's mapping.
    pub const unsafe fn new() -> Self {
        // INVARIANT: The caller is the core (the caller's guarantee).
        Self(())
    }
}
