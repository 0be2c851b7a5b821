// SPDX-License-Identifier: GPL-2.0

//! The C entry points: the functions of `include/linux/dma-buf.h` this core implements.
//!
//! Each one checks what a C caller can get wrong ([`Entry`]): its pointers, and the lock rule
//! of the dma-buf locking convention, obtaining the proof of a held lock once; then it calls
//! the typed function of the core. Their prototypes are checked against the header's at build
//! time (`same_prototype!`).

use crate::{
    attach, cpu_access, export, fs, list, map,
    ops::Direction,
    rules::Entry,
    vmap::{self, cleared},
};
use kernel::{
    bindings,
    dma_buf::DmaBuf,
    ffi::{c_int, c_ulong, c_void},
    mm::virt::VmaNew,
    prelude::*,
    task::might_sleep,
};

/// Checks at build time that each entry point has the prototype bindgen made of the header's.
macro_rules! same_prototype {
    ($($name:ident),* $(,)?) => {$(
        const _: () = {
            // Both arms must coerce to one function pointer type.
            let _ = if true { bindings::$name } else { $name };
        };
    )*};
}

same_prototype!(
    dma_buf_export,
    dma_buf_fd,
    dma_buf_fd_install,
    dma_buf_get,
    dma_buf_put,
    dma_buf_iter_begin,
    dma_buf_iter_next,
    dma_buf_dynamic_attach,
    dma_buf_attach,
    dma_buf_detach,
    dma_buf_pin,
    dma_buf_unpin,
    dma_buf_map_attachment,
    dma_buf_map_attachment_unlocked,
    dma_buf_unmap_attachment,
    dma_buf_unmap_attachment_unlocked,
    dma_buf_attach_revocable,
    dma_buf_invalidate_mappings,
    dma_buf_begin_cpu_access,
    dma_buf_end_cpu_access,
    dma_buf_mmap,
    dma_buf_vmap,
    dma_buf_vmap_unlocked,
    dma_buf_vunmap,
    dma_buf_vunmap_unlocked,
);

/// Returns `result` as C returns an `int`: zero or a negative errno.
fn to_int(result: Result) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Returns `result` as C returns a pointer: the pointer or an error pointer.
fn to_ptr<T>(result: Result<core::ptr::NonNull<T>>) -> *mut T {
    match result {
        Ok(p) => p.as_ptr(),
        Err(e) => e.to_ptr(),
    }
}

/// Sets the core up, once, before any buffer is exported (`dma-buf-core.c` makes this a
/// subsys initcall): the buffer list, the `dmabuf` filesystem and debugfs.
///
/// # Safety
///
/// Called once, by the initcall, before any other function of the core.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_core_init() -> c_int {
    // SAFETY: See above.
    unsafe { list::init() };
    if let Err(e) = fs::init() {
        return e.to_errno();
    }
    #[cfg(CONFIG_DEBUG_FS)]
    crate::debugfs::init();
    0
}

/// `dma_buf_export()`: see `include/linux/dma-buf.h`.
///
/// # Safety
///
/// The C contract: `exp_info` describes a buffer whose operations, private data, module and
/// reservation object (if any) outlive it.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_export(
    exp_info: *const bindings::dma_buf_export_info,
) -> *mut bindings::dma_buf {
    static ENTRY: Entry = Entry::new("dma_buf_export");
    to_ptr((|| {
        let info = ENTRY.valid("exp_info", exp_info.cast_mut())?;
        // SAFETY: C callers pass a valid description.
        let info = unsafe { info.as_ref() };
        // SAFETY: The operations, when set, are a static table.
        let ops = unsafe { info.ops.as_ref() };
        let complete = ops.is_some_and(|ops| {
            ops.map_dma_buf.is_some() && ops.unmap_dma_buf.is_some() && ops.release.is_some()
        });
        if info.priv_.is_null() || !complete {
            return Err(ENTRY.bad_arg(format_args!(
                "called without private data, or operations without map_dma_buf, \
                 unmap_dma_buf or release"
            )));
        }
        if ops.is_some_and(|ops| ops.pin.is_some() != ops.unpin.is_some()) {
            return Err(ENTRY.bad_arg(format_args!("called with only one of pin and unpin")));
        }
        // SAFETY: Checked above; the rest is the caller's promise.
        let buf = unsafe { export::export(info) }?;
        core::ptr::NonNull::new(buf.as_raw()).ok_or(EINVAL)
    })())
}

/// `dma_buf_fd()`: installs the caller's reference at a new file descriptor.
///
/// # Safety
///
/// `dmabuf` is referenced by the caller, who gives the reference up on success.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_fd(dmabuf: *mut bindings::dma_buf, flags: c_int) -> c_int {
    // Not an `Entry`: a null buffer (or one without a file) is an `EINVAL` for C callers,
    // without a warning.
    // SAFETY: `dmabuf` is null or a buffer.
    if dmabuf.is_null() || unsafe { (*dmabuf).file }.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: A referenced, exported buffer (see above).
    let buf = unsafe { DmaBuf::from_raw(dmabuf) };
    // SAFETY: The caller gives its reference up on success.
    unsafe { export::fd(buf, flags) }.unwrap_or_else(|e| e.to_errno())
}

/// `dma_buf_fd_install()`: installs the caller's reference at `fd`, which it reserved.
///
/// # Safety
///
/// `dmabuf` is referenced by the caller, who gives the reference up, and `fd` was reserved by
/// the current task with `get_unused_fd_flags()` and not installed.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_fd_install(dmabuf: *mut bindings::dma_buf, fd: c_int) {
    static ENTRY: Entry = Entry::new("dma_buf_fd_install");
    // SAFETY: C callers pass a referenced buffer.
    if let Ok(buf) = unsafe { ENTRY.buffer(dmabuf) } {
        // SAFETY: See above.
        unsafe { export::install(buf, fd) };
    }
}

/// `dma_buf_get()`: the buffer of the file at `fd`, with a new reference.
#[no_mangle]
pub extern "C" fn dma_buf_get(fd: c_int) -> *mut bindings::dma_buf {
    to_ptr(export::get(fd))
}

/// `dma_buf_put()`: drops a reference.
///
/// # Safety
///
/// The caller gives up one reference to `dmabuf`.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_put(dmabuf: *mut bindings::dma_buf) {
    static ENTRY: Entry = Entry::new("dma_buf_put");
    // SAFETY: C callers pass a referenced buffer.
    if let Ok(buf) = unsafe { ENTRY.buffer(dmabuf) } {
        // SAFETY: The caller gives the reference up.
        unsafe { export::put(buf) };
    }
}

/// `dma_buf_iter_begin()`: the first buffer of the list of all, referenced, or null.
#[no_mangle]
pub extern "C" fn dma_buf_iter_begin() -> *mut bindings::dma_buf {
    // SAFETY: From the head.
    unsafe { list::Locked::lock().next_referenced(None) }.unwrap_or(core::ptr::null_mut())
}

/// `dma_buf_iter_next()`: drops the reference to `dmabuf` and returns the next buffer of the
/// list, referenced, or null.
///
/// # Safety
///
/// `dmabuf` was returned by `dma_buf_iter_begin()` or `dma_buf_iter_next()`, and the caller
/// gives up its reference.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_iter_next(
    dmabuf: *mut bindings::dma_buf,
) -> *mut bindings::dma_buf {
    let list = list::Locked::lock();
    // The buffer stays on the list while the list is locked, even if this drops its last
    // reference: the release that removes it needs the list's lock, and `fput()` defers it.
    // SAFETY: A referenced buffer, which the caller gives up.
    unsafe { export::put(DmaBuf::from_raw(dmabuf)) };
    // SAFETY: `dmabuf` is on the list (see above).
    unsafe { list.next_referenced(Some(dmabuf)) }.unwrap_or(core::ptr::null_mut())
}

/// `dma_buf_dynamic_attach()`: see `include/linux/dma-buf.h`.
///
/// # Safety
///
/// The C contract: `dmabuf` is referenced, `dev` live, `importer_ops` null or static, and both
/// outlive the attachment.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_dynamic_attach(
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    importer_ops: *const bindings::dma_buf_attach_ops,
    importer_priv: *mut c_void,
) -> *mut bindings::dma_buf_attachment {
    static ENTRY: Entry = Entry::new("dma_buf_dynamic_attach");
    to_ptr((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let dev = ENTRY.valid("device", dev)?;
        ENTRY.require_unlocked(buf.resv())?;
        // SAFETY: The caller guarantees that `dev` and `importer_ops` outlive the attachment.
        unsafe { attach::attach(buf, dev, importer_ops, importer_priv) }
    })())
}

/// `dma_buf_attach()`: a static attachment.
///
/// # Safety
///
/// As [`dma_buf_dynamic_attach`].
#[no_mangle]
pub unsafe extern "C" fn dma_buf_attach(
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
) -> *mut bindings::dma_buf_attachment {
    static ENTRY: Entry = Entry::new("dma_buf_attach");
    to_ptr((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let dev = ENTRY.valid("device", dev)?;
        ENTRY.require_unlocked(buf.resv())?;
        // SAFETY: The caller guarantees that `dev` outlives the attachment.
        unsafe { attach::attach(buf, dev, core::ptr::null(), core::ptr::null_mut()) }
    })())
}

/// `dma_buf_detach()`.
///
/// # Safety
///
/// `attach` was returned by `dma_buf_dynamic_attach()` for `dmabuf` and is not used after.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_detach(
    dmabuf: *mut bindings::dma_buf,
    attach: *mut bindings::dma_buf_attachment,
) {
    static ENTRY: Entry = Entry::new("dma_buf_detach");
    let _: Result = (|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let raw = ENTRY.valid("attachment", attach)?;
        // SAFETY: C callers pass a live attachment; only its buffer pointer is read before it
        // is known to be this buffer's.
        if !core::ptr::eq(unsafe { (*raw.as_ptr()).dmabuf }, buf.as_raw()) {
            return Err(ENTRY.bad_arg(format_args!("called with an attachment of another buffer")));
        }
        // SAFETY: A live attachment of `buf` (checked above).
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        ENTRY.require_unlocked(buf.resv())?;
        // SAFETY: The caller gives up the attachment.
        unsafe { attach::detach(attachment) };
        Ok(())
    })();
}

/// `dma_buf_pin()`.
///
/// # Safety
///
/// `attach` is a live attachment.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_pin(attach: *mut bindings::dma_buf_attachment) -> c_int {
    static ENTRY: Entry = Entry::new("dma_buf_pin");
    to_int((|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let resv = attachment.buffer().resv();
        ENTRY.require_held(resv)?;
        // SAFETY: The current task holds the lock (checked above) for the call.
        unsafe { resv.with_held(|held| attach::pin(&attachment, held)) }
    })())
}

/// `dma_buf_unpin()`.
///
/// # Safety
///
/// `attach` is a live attachment, pinned by `dma_buf_pin()`.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_unpin(attach: *mut bindings::dma_buf_attachment) {
    static ENTRY: Entry = Entry::new("dma_buf_unpin");
    let _: Result = (|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let resv = attachment.buffer().resv();
        ENTRY.require_held(resv)?;
        // SAFETY: The current task holds the lock (checked above) for the call.
        unsafe { resv.with_held(|held| attach::unpin(&attachment, held)) };
        Ok(())
    })();
}

/// `dma_buf_map_attachment()`.
///
/// # Safety
///
/// `attach` is a live attachment.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_map_attachment(
    attach: *mut bindings::dma_buf_attachment,
    direction: Direction,
) -> *mut bindings::sg_table {
    static ENTRY: Entry = Entry::new("dma_buf_map_attachment");
    might_sleep();
    to_ptr((|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let resv = attachment.buffer().resv();
        ENTRY.require_held(resv)?;
        // SAFETY: The current task holds the lock (checked above) for the call.
        unsafe { resv.with_held(|held| map::map(&attachment, direction, held)) }
    })())
}

/// `dma_buf_map_attachment_unlocked()`.
///
/// # Safety
///
/// `attach` is a live attachment.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_map_attachment_unlocked(
    attach: *mut bindings::dma_buf_attachment,
    direction: Direction,
) -> *mut bindings::sg_table {
    static ENTRY: Entry = Entry::new("dma_buf_map_attachment_unlocked");
    might_sleep();
    to_ptr((|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let resv = attachment.buffer().resv();
        ENTRY.require_unlocked(resv)?;
        let held = resv.lock();
        map::map(&attachment, direction, &held)
    })())
}

/// `dma_buf_unmap_attachment()`.
///
/// # Safety
///
/// `sg_table` was returned by `dma_buf_map_attachment()` for `attach` in `direction` and is
/// not used after.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_unmap_attachment(
    attach: *mut bindings::dma_buf_attachment,
    sg_table: *mut bindings::sg_table,
    direction: Direction,
) {
    static ENTRY: Entry = Entry::new("dma_buf_unmap_attachment");
    might_sleep();
    let _: Result = (|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let table = ENTRY.valid("sg_table", sg_table)?;
        let resv = attachment.buffer().resv();
        ENTRY.require_held(resv)?;
        // SAFETY: The current task holds the lock (checked above) for the call, and the caller
        // gives back a table of this attachment.
        unsafe { resv.with_held(|held| map::unmap(&attachment, table, direction, held)) };
        Ok(())
    })();
}

/// `dma_buf_unmap_attachment_unlocked()`.
///
/// # Safety
///
/// As [`dma_buf_unmap_attachment`].
#[no_mangle]
pub unsafe extern "C" fn dma_buf_unmap_attachment_unlocked(
    attach: *mut bindings::dma_buf_attachment,
    sg_table: *mut bindings::sg_table,
    direction: Direction,
) {
    static ENTRY: Entry = Entry::new("dma_buf_unmap_attachment_unlocked");
    might_sleep();
    let _: Result = (|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let table = ENTRY.valid("sg_table", sg_table)?;
        let resv = attachment.buffer().resv();
        ENTRY.require_unlocked(resv)?;
        // SAFETY: The caller gives back a table of this attachment.
        unsafe { map::unmap(&attachment, table, direction, &resv.lock()) };
        Ok(())
    })();
}

/// `dma_buf_attach_revocable()`.
///
/// # Safety
///
/// `attach` is a live attachment.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_attach_revocable(
    attach: *mut bindings::dma_buf_attachment,
) -> bool {
    static ENTRY: Entry = Entry::new("dma_buf_attach_revocable");
    // SAFETY: C callers pass a live attachment.
    unsafe { ENTRY.attachment(attach) }.is_ok_and(|attachment| attach::revocable(&attachment))
}

/// `dma_buf_invalidate_mappings()`, for exporters.
///
/// # Safety
///
/// `dmabuf` is referenced.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_invalidate_mappings(dmabuf: *mut bindings::dma_buf) {
    static ENTRY: Entry = Entry::new("dma_buf_invalidate_mappings");
    let _: Result = (|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        ENTRY.require_held(buf.resv())?;
        // SAFETY: The current task holds the lock (checked above) for the call.
        unsafe {
            buf.resv()
                .with_held(|held| attach::invalidate_mappings(buf, held))
        };
        Ok(())
    })();
}

/// `dma_buf_begin_cpu_access()`.
///
/// # Safety
///
/// `dmabuf` is referenced.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_begin_cpu_access(
    dmabuf: *mut bindings::dma_buf,
    direction: Direction,
) -> c_int {
    static ENTRY: Entry = Entry::new("dma_buf_begin_cpu_access");
    to_int((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        ENTRY.require_unlocked(buf.resv())?;
        cpu_access::begin(buf, direction)
    })())
}

/// `dma_buf_end_cpu_access()`.
///
/// # Safety
///
/// `dmabuf` is referenced.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_end_cpu_access(
    dmabuf: *mut bindings::dma_buf,
    direction: Direction,
) -> c_int {
    static ENTRY: Entry = Entry::new("dma_buf_end_cpu_access");
    to_int((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        ENTRY.require_unlocked(buf.resv())?;
        cpu_access::end(buf, direction)
    })())
}

/// `dma_buf_mmap()`.
///
/// # Safety
///
/// `dmabuf` is referenced and `vma` is a mapping being set up by the caller's `mmap`.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_mmap(
    dmabuf: *mut bindings::dma_buf,
    vma: *mut bindings::vm_area_struct,
    pgoff: c_ulong,
) -> c_int {
    static ENTRY: Entry = Entry::new("dma_buf_mmap");
    to_int((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let vma = ENTRY.valid("vma", vma)?;
        ENTRY.require_unlocked(buf.resv())?;
        // SAFETY: The caller's `mmap` is setting the mapping up.
        let vma = unsafe { VmaNew::from_raw(vma.as_ptr()) };
        cpu_access::mmap(buf, vma, pgoff)
    })())
}

/// `dma_buf_vmap()`.
///
/// # Safety
///
/// `dmabuf` is referenced and `map` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_vmap(
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
) -> c_int {
    static ENTRY: Entry = Entry::new("dma_buf_vmap");
    to_int((|| {
        let mut map = ENTRY.valid("map", map)?;
        // SAFETY: The caller's `map` is valid for writes; it is cleared on every path.
        let map = unsafe { map.as_mut() };
        *map = cleared();
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        ENTRY.require_held(buf.resv())?;
        // SAFETY: The current task holds the lock (checked above) for the call.
        *map = unsafe { buf.resv().with_held(|held| vmap::vmap(buf, held)) }?;
        Ok(())
    })())
}

/// `dma_buf_vmap_unlocked()`.
///
/// # Safety
///
/// As [`dma_buf_vmap`].
#[no_mangle]
pub unsafe extern "C" fn dma_buf_vmap_unlocked(
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
) -> c_int {
    static ENTRY: Entry = Entry::new("dma_buf_vmap_unlocked");
    to_int((|| {
        let mut map = ENTRY.valid("map", map)?;
        // SAFETY: The caller's `map` is valid for writes; it is cleared on every path.
        let map = unsafe { map.as_mut() };
        *map = cleared();
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        ENTRY.require_unlocked(buf.resv())?;
        *map = vmap::vmap(buf, &buf.resv().lock())?;
        Ok(())
    })())
}

/// `dma_buf_vunmap()`.
///
/// # Safety
///
/// `dmabuf` is referenced and `map` is valid.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_vunmap(
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
) {
    static ENTRY: Entry = Entry::new("dma_buf_vunmap");
    let _: Result = (|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let map = ENTRY.valid("map", map)?;
        ENTRY.require_held(buf.resv())?;
        // SAFETY: The current task holds the lock (checked above) for the call, and C callers
        // pass a valid `map`.
        unsafe { buf.resv().with_held(|held| vmap::vunmap(buf, map, held)) }
            .map_err(|_| ENTRY.bad_arg(format_args!("called with a map that is not the buffer's")))
    })();
}

/// `dma_buf_vunmap_unlocked()`.
///
/// # Safety
///
/// As [`dma_buf_vunmap`].
#[no_mangle]
pub unsafe extern "C" fn dma_buf_vunmap_unlocked(
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
) {
    static ENTRY: Entry = Entry::new("dma_buf_vunmap_unlocked");
    let _: Result = (|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let map = ENTRY.valid("map", map)?;
        ENTRY.require_unlocked(buf.resv())?;
        let held = buf.resv().lock();
        // SAFETY: C callers pass a valid `map`.
        unsafe { vmap::vunmap(buf, map, &held) }
            .map_err(|_| ENTRY.bad_arg(format_args!("called with a map that is not the buffer's")))
    })();
}
