// SPDX-License-Identifier: GPL-2.0

//! The core's tracepoints, from `include/trace/events/dma_buf.h`.
//!
//! Events read the buffer's name, so they are emitted with `dmabuf->name_lock` held, as the C
//! core does; with lockdep the lock is taken even when the event is off, so that lockdep sees
//! its ordering on every run. The events themselves are defined by `dma-buf-core.c`, which
//! also makes their Rust entry points (`CREATE_RUST_TRACE_POINTS`).

/// Emits the event `$event` of buffer `$buf`, with its other arguments after it.
macro_rules! trace {
    ($event:ident($buf:expr $(, $arg:expr)* $(,)?)) => {{
        let buf: &kernel::dma_buf::DmaBuf = $buf;
        #[cfg(CONFIG_TRACEPOINTS)]
        {
            kernel::macros::paste! {
                // Tell the build's check for unused tracepoints that this one is used.
                #[link_section = "__tracepoint_check"]
                #[used]
                static CHECK: [u8; stringify!($event).len() + 1] =
                    $crate::trace::name::<{ stringify!($event).len() + 1 }>(stringify!($event));
                // SAFETY: `__tracepoint_*` is a tracepoint defined by C, with its static key.
                let enabled = unsafe {
                    kernel::jump_label::static_branch_unlikely!(
                        kernel::bindings::[< __tracepoint_ $event >],
                        kernel::bindings::tracepoint,
                        key
                    )
                };
                if cfg!(CONFIG_LOCKDEP) || enabled {
                    $crate::trace::out_of_line(move || {
                        buf.with_name(|_| {
                            if enabled {
                                // SAFETY: The buffer is exported and its name lock is held,
                                // as the event's assignment of the name requires.
                                unsafe {
                                    kernel::bindings::[< rust_do_trace_ $event >](
                                        buf.as_raw() $(, $arg)*
                                    )
                                };
                            }
                        })
                    });
                }
            }
        }
        #[cfg(not(CONFIG_TRACEPOINTS))]
        {
            let _ = buf;
            $( let _ = $arg; )*
        }
    }};
}
pub(crate) use trace;

/// Runs `f`, an enabled event's emission, out of line: the code around a disabled event is
/// then a jump over it (the static key) and saves no registers for it, as in C.
#[cfg(CONFIG_TRACEPOINTS)]
#[cold]
#[inline(never)]
pub(crate) fn out_of_line(f: impl FnOnce()) {
    f()
}

/// Returns `name` as a NUL-terminated array of `N` bytes, for the `__tracepoint_check`
/// section.
#[cfg(CONFIG_TRACEPOINTS)]
pub(crate) const fn name<const N: usize>(name: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() && i + 1 < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}
