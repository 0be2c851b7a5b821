// SPDX-License-Identifier: GPL-2.0

//! The C entry points: the functions of `include/linux/dma-buf.h` this core implements, and
//! the callbacks of the tables the core gives the VFS and debugfs (the dma-buf file's
//! operations in [`file`], the `dmabuf` filesystem's in [`fs`], bufinfo's).
//!
//! This is the core's C-ABI adapter: what C hands it (raw pointers, an `int` descriptor, a
//! `struct file`) becomes types here, and the rest of the crate is safe code over those types
//! and the abstractions of `kernel::dma_buf`. Each exported function checks what a C caller
//! can get wrong ([`Entry`]): its pointers, and the lock rule of the dma-buf locking
//! convention, obtaining the proof of a held lock once; then it calls the typed function of
//! the core. Their prototypes are checked against the header's at build time
//! (`same_prototype!`).

use crate::{attach, cpu_access, export, map, vmap};
use core::ptr::NonNull;
use kernel::{
    bindings,
    dma_buf::{
        buffer_list::BufferList,
        core_attachment::{self, LinkedAttachment, NewAttachment},
        core_buffer::NewBuffer,
        core_ops::{to_int, Direction},
        core_token::CoreToken,
        DmaBuf, IosysMap,
    },
    dma_resv::ResvGuard,
    ffi::{c_int, c_ulong, c_void},
    mm::virt::VmaNew,
    prelude::*,
    sync::aref::ARef,
    task::might_sleep,
};
use rules::{entry, is_err_or_null, Entry};

#[cfg(CONFIG_DEBUG_FS)]
mod debugfs;
pub(crate) mod file;
pub(crate) mod fs;
mod rules;

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

/// Returns `result` as C returns a pointer: the pointer or an error pointer.
fn to_ptr<T>(result: Result<NonNull<T>>) -> *mut T {
    match result {
        Ok(p) => p.as_ptr(),
        Err(e) => e.to_ptr(),
    }
}

/// The proof that this crate is the dma-buf core, for the operations on state only the core
/// changes and for the calls into exporters and importers.
// SAFETY: This crate is the core, and keeps what `CoreToken::new` asks: the shared kernel
// mapping (`vmap.rs`) and the list of all buffers (`abi/fs.rs`, `abi/file.rs`) change as in
// `dma-buf.c`; the callbacks are called as the convention says (`attach.rs`: `attach` with the
// new attachment, `detach` once, after its unlink; `map.rs`, `vmap.rs`, `attach.rs`: the locked
// ones with the buffer's own guard, which the entry points take from the buffer), and `mmap`
// with a range checked to fit in the buffer (`cpu_access.rs`).
pub(crate) static CORE: CoreToken = unsafe { CoreToken::new() };

/// The list of every exported buffer.
// SAFETY: `dma_buf_core_init()` initialises it before any buffer is exported, and so before
// any other use: bufinfo and the BPF iterator come later, and every export adds its buffer.
pub(crate) static BUFFERS: BufferList = unsafe { BufferList::new() };

/// Sets the core up, once, before any buffer is exported (`dma-buf-core.c` makes this a
/// subsys initcall): the buffer list, the `dmabuf` filesystem and debugfs.
///
/// # Safety
///
/// Called once, by the initcall, before any other function of the core.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_core_init() -> c_int {
    // SAFETY: This is the initcall, which runs once, before any buffer is exported.
    unsafe { BUFFERS.init() };
    // SAFETY: Once, from the initcall.
    if let Err(e) = unsafe { core_attachment::init() }.and_then(|()| fs::init()) {
        return e.to_errno();
    }
    #[cfg(CONFIG_DEBUG_FS)]
    debugfs::init();
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
    static ENTRY: Entry = entry!(dma_buf_export);
    to_ptr((|| {
        let info = ENTRY.valid(exp_info.cast_mut())?;
        // SAFETY: C callers pass a valid description (and not null or an error pointer:
        // checked above).
        let info = unsafe { info.as_ref() };
        // SAFETY: The operations, when set, are a static table (the C contract).
        let ops = unsafe { info.ops.as_ref() };
        let complete = ops.is_some_and(|ops| {
            ops.map_dma_buf.is_some() && ops.unmap_dma_buf.is_some() && ops.release.is_some()
        });
        if info.priv_.is_null() || !complete {
            return Err(ENTRY.bad_arg(
                c"without private data, or operations without map_dma_buf, unmap_dma_buf or \
                  release",
            ));
        }
        if ops.is_some_and(|ops| ops.pin.is_some() != ops.unpin.is_some()) {
            return Err(ENTRY.bad_arg(c"with only one of pin and unpin"));
        }
        // SAFETY: The description is complete (checked above); that its parts outlive the
        // buffer is the caller's promise.
        let new = unsafe { NewBuffer::new(info) }?;
        Ok(ARef::into_raw(export::export(new, info.flags)?).cast())
    })())
}

/// `dma_buf_fd()`: installs the caller's reference at a new file descriptor.
///
/// # Safety
///
/// `dmabuf`, unless null or an error pointer, is referenced by the caller, who gives the
/// reference up on success.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_fd(dmabuf: *mut bindings::dma_buf, flags: c_int) -> c_int {
    // Not an `Entry`: a null buffer (or one without a file) is an `EINVAL` for C callers,
    // without a warning, as in the C core; so is an error pointer, which the C core
    // dereferences (callers pass what `dma_buf_export()` returned, unchecked).
    // SAFETY: `dmabuf` is a buffer if it is neither null nor an error pointer.
    if is_err_or_null(dmabuf) || unsafe { (*dmabuf).file }.is_null() {
        return EINVAL.to_errno();
    }
    // The caller keeps its reference if this fails.
    let fd = match export::reserve_fd(flags) {
        Ok(fd) => fd,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: A referenced, exported buffer (checked above), whose reference the caller gives
    // up now that this succeeds.
    let buf = unsafe { ARef::from_raw(NonNull::new_unchecked(dmabuf.cast::<DmaBuf>())) };
    export::install(buf, fd)
}

/// `dma_buf_fd_install()`: installs the caller's reference at `fd`, which it reserved.
///
/// # Safety
///
/// `dmabuf` is referenced by the caller, who gives the reference up, and `fd` was reserved by
/// the current task with `get_unused_fd_flags()` and not installed.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_fd_install(dmabuf: *mut bindings::dma_buf, fd: c_int) {
    static ENTRY: Entry = entry!(dma_buf_fd_install);
    // SAFETY: C callers pass a referenced buffer.
    if let Ok(buf) = unsafe { ENTRY.buffer(dmabuf) } {
        // SAFETY: The caller gives its reference up.
        let buf = unsafe { ARef::from_raw(NonNull::from(buf)) };
        let file = ARef::into_raw(export::file_for_fd(buf, fd));
        // CAST: A reserved descriptor, non-negative.
        // SAFETY: `fd` is reserved by the current task and not installed (the caller's
        // promise); `fd_install()` takes the file's reference over.
        unsafe { bindings::fd_install(fd as u32, file.as_ptr().cast()) };
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
    static ENTRY: Entry = entry!(dma_buf_put);
    // SAFETY: C callers pass a referenced buffer.
    if let Ok(buf) = unsafe { ENTRY.buffer(dmabuf) } {
        // SAFETY: The caller gives the reference up.
        export::put(unsafe { ARef::from_raw(NonNull::from(buf)) });
    }
}

/// `dma_buf_iter_begin()`: the first buffer of the list of all, referenced, or null.
#[no_mangle]
pub extern "C" fn dma_buf_iter_begin() -> *mut bindings::dma_buf {
    to_raw(BUFFERS.lock().next_referenced(None))
}

/// Returns the reference of `buf` as a pointer for C, or null for `None`.
fn to_raw(buf: Option<ARef<DmaBuf>>) -> *mut bindings::dma_buf {
    buf.map_or(core::ptr::null_mut(), |buf| {
        ARef::into_raw(buf).as_ptr().cast()
    })
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
    let Some(raw) = NonNull::new(dmabuf) else {
        return core::ptr::null_mut();
    };
    let list = BUFFERS.lock();
    // SAFETY: A referenced buffer, whose reference the caller gives up.
    let buf = unsafe { ARef::<DmaBuf>::from_raw(raw.cast()) };
    // The buffer stays on the list while the list is locked, even if this drops its last
    // reference: the release that removes it needs the list's lock, and `fput()` defers it.
    let listed = list.listed(&buf, &CORE);
    drop(buf);
    to_raw(list.next_referenced(Some(listed)))
}

/// What `dma_buf_attach()` and `dma_buf_dynamic_attach()` say of a caller with the lock held.
const ATTACH_REFUSED: &CStr = c"refused with -EDEADLK (the C core deadlocks)";

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
    static ENTRY: Entry = entry!(dma_buf_dynamic_attach);
    to_ptr((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let dev = ENTRY.valid(dev)?;
        // The exporter's `attach` runs without the lock and may take it.
        if ENTRY.caller_holds(buf.resv(), ATTACH_REFUSED) {
            return Err(EDEADLK);
        }
        // SAFETY: The caller guarantees that `dev` and `importer_ops` outlive the attachment,
        // and that `importer_ops` is null or a static table.
        attach::attach(unsafe { NewAttachment::new(buf, dev, importer_ops, importer_priv) }?)
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
    static ENTRY: Entry = entry!(dma_buf_attach);
    to_ptr((|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let dev = ENTRY.valid(dev)?;
        if ENTRY.caller_holds(buf.resv(), ATTACH_REFUSED) {
            return Err(EDEADLK);
        }
        // SAFETY: The caller guarantees that `dev` outlives the attachment.
        attach::attach(unsafe {
            NewAttachment::new(buf, dev, core::ptr::null(), core::ptr::null_mut())
        }?)
    })())
}

/// `dma_buf_detach()`.
///
/// Always detaches a valid attachment: with the lock held by the caller, against the
/// convention, the attachment leaves the buffer at once and the exporter's `detach` runs from
/// a worker (see [`attach::detach_held`]).
///
/// # Safety
///
/// `attach` was returned by `dma_buf_dynamic_attach()` for `dmabuf` and is not used after.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_detach(
    dmabuf: *mut bindings::dma_buf,
    attach: *mut bindings::dma_buf_attachment,
) {
    static ENTRY: Entry = entry!(dma_buf_detach);
    let _: Result = (|| {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let raw = ENTRY.valid(attach)?;
        // SAFETY: C callers pass a live attachment (not null or an error pointer: checked
        // above); only its buffer pointer is read before it is known to be this buffer's.
        if !core::ptr::eq(unsafe { (*raw.as_ptr()).dmabuf }, buf.as_raw()) {
            return Err(ENTRY.bad_arg(c"with an attachment of another buffer"));
        }
        let locked = ENTRY.caller_holds(
            buf.resv(),
            c"detached under the caller's lock, the exporter's detach deferred to a worker",
        );
        // SAFETY: A live attachment of `buf` (checked above): every attachment of a buffer of
        // this core is made by `NewAttachment` and linked; the caller gives it up, and its
        // buffer is referenced for the call.
        let attachment = unsafe { LinkedAttachment::from_raw(raw) };
        if locked {
            // SAFETY: The current task holds the lock (checked above) for the call.
            unsafe {
                buf.resv()
                    .with_held(|held| attach::detach_held(attachment, held))
            };
        } else {
            attach::detach(attachment);
        }
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
    static ENTRY: Entry = entry!(dma_buf_pin);
    // SAFETY: C callers pass a live attachment.
    match unsafe { ENTRY.attachment(attach) } {
        Ok(attachment) => ENTRY.run_locked(attachment.buffer().resv(), move |held| {
            attach::pin(&attachment, held)
        }),
        Err(e) => e.to_errno(),
    }
}

/// `dma_buf_unpin()`.
///
/// # Safety
///
/// `attach` is a live attachment, pinned by `dma_buf_pin()`.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_unpin(attach: *mut bindings::dma_buf_attachment) {
    static ENTRY: Entry = entry!(dma_buf_unpin);
    // SAFETY: C callers pass a live attachment.
    if let Ok(attachment) = unsafe { ENTRY.attachment(attach) } {
        ENTRY.run_locked(attachment.buffer().resv(), move |held| {
            attach::unpin(&attachment, held)
        });
    }
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
    static ENTRY: Entry = entry!(dma_buf_map_attachment);
    might_sleep();
    // SAFETY: C callers pass a live attachment.
    match unsafe { ENTRY.attachment(attach) } {
        // The result as C has it in the closure, so that it comes back in a register.
        Ok(attachment) => ENTRY.run_locked(attachment.buffer().resv(), move |held| {
            to_ptr(map::map(&attachment, direction, held))
        }),
        Err(e) => e.to_ptr(),
    }
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
    static ENTRY: Entry = entry!(dma_buf_map_attachment_unlocked);
    might_sleep();
    // SAFETY: C callers pass a live attachment.
    match unsafe { ENTRY.attachment(attach) } {
        // The result as C has it in the closure, so that it comes back in a register.
        Ok(attachment) => ENTRY.lock_for(attachment.buffer().resv(), move |held| {
            to_ptr(map::map(&attachment, direction, held))
        }),
        Err(e) => e.to_ptr(),
    }
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
    static ENTRY: Entry = entry!(dma_buf_unmap_attachment);
    might_sleep();
    let _: Result = (|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let table = ENTRY.valid(sg_table)?;
        ENTRY.run_locked(attachment.buffer().resv(), move |held| {
            // SAFETY: The caller gives back a table of this attachment, mapped in `direction`.
            unsafe { map::unmap(&attachment, table, direction, held) }
        });
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
    static ENTRY: Entry = entry!(dma_buf_unmap_attachment_unlocked);
    might_sleep();
    let _: Result = (|| {
        // SAFETY: C callers pass a live attachment.
        let attachment = unsafe { ENTRY.attachment(attach) }?;
        let table = ENTRY.valid(sg_table)?;
        ENTRY.lock_for(attachment.buffer().resv(), move |held| {
            // SAFETY: The caller gives back a table of this attachment, mapped in `direction`.
            unsafe { map::unmap(&attachment, table, direction, held) }
        });
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
    static ENTRY: Entry = entry!(dma_buf_attach_revocable);
    // SAFETY: C callers pass a live attachment.
    unsafe { ENTRY.attachment(attach) }.is_ok_and(|attachment| attachment.is_revocable())
}

/// `dma_buf_invalidate_mappings()`, for exporters.
///
/// # Safety
///
/// `dmabuf` is referenced.
#[no_mangle]
pub unsafe extern "C" fn dma_buf_invalidate_mappings(dmabuf: *mut bindings::dma_buf) {
    static ENTRY: Entry = entry!(dma_buf_invalidate_mappings);
    // SAFETY: C callers pass a referenced buffer.
    if let Ok(buf) = unsafe { ENTRY.buffer(dmabuf) } {
        ENTRY.run_locked(buf.resv(), move |held| {
            attach::invalidate_mappings(buf, held)
        });
    }
}

/// What the CPU access functions and `dma_buf_mmap()` say of a caller with the lock held.
const CALLED_AS_IN_C: &CStr = c"called the exporter as the C core does";

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
    static ENTRY: Entry = entry!(dma_buf_begin_cpu_access);
    // SAFETY: C callers pass a referenced buffer.
    match unsafe { ENTRY.buffer(dmabuf) } {
        Ok(buf) => ENTRY.unlocked(buf.resv(), CALLED_AS_IN_C, move |locked| {
            to_int(cpu_access::begin(buf, direction, locked))
        }),
        Err(e) => e.to_errno(),
    }
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
    static ENTRY: Entry = entry!(dma_buf_end_cpu_access);
    // SAFETY: C callers pass a referenced buffer.
    match unsafe { ENTRY.buffer(dmabuf) } {
        Ok(buf) => ENTRY.unlocked(buf.resv(), CALLED_AS_IN_C, move |locked| {
            to_int(cpu_access::end(buf, direction, locked))
        }),
        Err(e) => e.to_errno(),
    }
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
    static ENTRY: Entry = entry!(dma_buf_mmap);
    let checked = (|| -> Result<_> {
        // SAFETY: C callers pass a referenced buffer.
        let buf = unsafe { ENTRY.buffer(dmabuf) }?;
        let vma = ENTRY.valid(vma)?;
        // The core takes no lock here; the exporter's `mmap` is called as in the C core.
        ENTRY.caller_holds(buf.resv(), CALLED_AS_IN_C);
        Ok((buf, vma))
    })();
    match checked {
        Ok((buf, vma)) => {
            // SAFETY: The caller's `mmap` is setting the mapping up (the C contract; not null
            // or an error pointer: checked above).
            let vma = unsafe { VmaNew::from_raw(vma.as_ptr()) };
            to_int(cpu_access::mmap(buf, vma, pgoff))
        }
        Err(e) => e.to_errno(),
    }
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
    static ENTRY: Entry = entry!(dma_buf_vmap);
    // SAFETY: The caller's promises, for the call.
    unsafe { vmap_entry(&ENTRY, dmabuf, map, false) }
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
    static ENTRY: Entry = entry!(dma_buf_vmap_unlocked);
    // SAFETY: The caller's promises, for the call.
    unsafe { vmap_entry(&ENTRY, dmabuf, map, true) }
}

/// `dma_buf_vmap()` and, if `unlocked`, `dma_buf_vmap_unlocked()`, for `entry`.
///
/// # Safety
///
/// `dmabuf` is null, an error pointer or a referenced buffer, and `map` null, an error
/// pointer or valid for writes, for the call.
// Inlined into its entry points, so that a warning finds the entry point's frame, and so
// its caller, on the stack.
#[inline(always)]
unsafe fn vmap_entry(
    entry: &Entry,
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
    unlocked: bool,
) -> c_int {
    let map = match entry.valid(map) {
        Ok(map) => map,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: The caller's `map` is valid for writes (not null or an error pointer: checked
    // above); it is cleared on every path.
    unsafe { map.write(IosysMap::cleared().into_raw()) };
    // SAFETY: C callers pass a referenced buffer.
    let buf = match unsafe { entry.buffer(dmabuf) } {
        Ok(buf) => buf,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `map` is valid for writes (see above).
    let vmap = move |held: &ResvGuard<'_>| unsafe { vmap::vmap(buf, map, held) };
    let mapped = if unlocked {
        entry.lock_for(buf.resv(), vmap)
    } else {
        entry.run_locked(buf.resv(), vmap)
    };
    to_int(mapped)
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
    static ENTRY: Entry = entry!(dma_buf_vunmap);
    // SAFETY: The caller's promises, for the call.
    unsafe { vunmap_entry(&ENTRY, dmabuf, map, false) }
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
    static ENTRY: Entry = entry!(dma_buf_vunmap_unlocked);
    // SAFETY: The caller's promises, for the call.
    unsafe { vunmap_entry(&ENTRY, dmabuf, map, true) }
}

/// `dma_buf_vunmap()` and, if `unlocked`, `dma_buf_vunmap_unlocked()`, for `entry`.
///
/// # Safety
///
/// `dmabuf` is null, an error pointer or a referenced buffer, and `map` null, an error
/// pointer or valid for reads and writes, for the call.
// Inlined into its entry points, so that a warning finds the entry point's frame, and so
// its caller, on the stack.
#[inline(always)]
unsafe fn vunmap_entry(
    entry: &Entry,
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
    unlocked: bool,
) {
    // SAFETY: C callers pass a referenced buffer.
    let Ok(buf) = (unsafe { entry.buffer(dmabuf) }) else {
        return;
    };
    let Ok(map) = entry.valid(map) else {
        return;
    };
    // SAFETY: `map` is valid (the caller's promise; not null or an error pointer: checked
    // above).
    let vunmap = move |held: &ResvGuard<'_>| unsafe { vmap::vunmap(buf, map, held) };
    let done = if unlocked {
        entry.lock_for(buf.resv(), vunmap)
    } else {
        entry.run_locked(buf.resv(), vunmap)
    };
    if done.is_err() {
        let _ = entry.bad_arg(c"with a map that is not the buffer's");
    }
}
