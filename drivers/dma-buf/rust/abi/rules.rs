// SPDX-License-Identifier: GPL-2.0

//! The dma-buf locking convention and argument checks, at run time, for C callers.
//!
//! Rust callers cannot break the convention (`kernel::dma_buf` encodes it in types); C callers
//! can, and in-tree drivers do (etnaviv vmaps, qaic maps and unmaps, amdxdna vmaps and
//! vunmaps, amdgpu's hot-unplug path unmaps, all without the reservation lock). With the C core
//! a broken rule is a lockdep report and then the call as if the rule were kept, or a
//! self-deadlock where the core takes a lock the caller holds. This core keeps one principle:
//! a C caller that breaks a rule gets a warning that names the function, the rule and the
//! caller, and never a result worse than the C core gives it; where the C core deadlocks, the
//! call completes or fails with an errno the caller can act on; and nothing is left behind:
//! teardown and invalidation always complete.
//!
//! Per rule broken, what the caller gets:
//!
//! - a locked function (`dma_buf_pin`, `_unpin`, `_map_attachment`, `_unmap_attachment`, `_vmap`,
//!   `_vunmap`, `_invalidate_mappings`) called without the buffer's reservation lock: the call, as
//!   with the lock held: the core takes the lock with a trylock for the call; if another task holds
//!   it, the call runs without it, as the C core runs it.
//! - `dma_buf_attach` or `_dynamic_attach` called with the lock held by the caller:
//!   `ERR_PTR(-EDEADLK)`, nothing attached: the C core deadlocks, and so may the exporter's
//!   `attach`.
//! - `dma_buf_detach` called with the lock held: the attachment leaves the buffer's list at once,
//!   under the caller's lock (no invalidation reaches it, the caller may free its data); the
//!   exporter's `detach` runs from a worker, so that one that takes the lock waits for the caller
//!   to let go, and the attachment is freed after it; without memory for the worker, `detach` runs
//!   at once, as the C core calls it.
//! - the `_unlocked` map, unmap, vmap and vunmap called with the lock held: the call, completed
//!   under the caller's lock (the C core deadlocks).
//! - `dma_buf_begin_cpu_access`, `_end_cpu_access` or `_mmap` called with the lock held: the call,
//!   as the C core makes it: the core takes no lock there (an exporter callback that takes it
//!   deadlocks, as with the C core).
//! - a null or error pointer, a buffer without operations, an attachment of another buffer, a
//!   vunmap of a mapping that is not the buffer's: `-EINVAL` (`ERR_PTR(-EINVAL)`), nothing for the
//!   `void` functions, `false` from `dma_buf_attach_revocable` (the C core dereferences most of
//!   these, or stops the kernel with `BUG_ON`); `dma_buf_fd` refuses a null or error pointer with
//!   `-EINVAL` and no warning.
//! - `dma_buf_export` without private data, `map_dma_buf`, `unmap_dma_buf` or `release`, or with
//!   only one of `pin` and `unpin`: `ERR_PTR(-EINVAL)`, as in C.
//! - an exporter callback that returns a positive value: passed on where the function returns an
//!   `int`, as in C; `-EINVAL` where it returns a pointer (attach, a static importer's pin in map).
//!
//! An attachment's buffer is the core's own pointer, set at attach: it is checked against
//! NULL, as the C core checks it, not as a buffer argument is.
//!
//! Warnings are counted per call site (the return address into the caller) and kind of
//! misuse: the first at a site is a kernel warning with a backtrace, after a line such as
//! `dma-buf: dma_buf_map_attachment() called from qaic_prepare_import_bo+0x5c/0x120 [qaic]
//! without the buffer's reservation lock, which the dma-buf locking convention requires; taken
//! for the call`; the 10th, 100th, 1000th, ... repeat at the site is one line with its count.
//! The first 256 call sites are counted apart ([`SITES`]), later ones together.

use core::ptr::NonNull;
use core::sync::atomic::{
    compiler_fence, AtomicU32, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use kernel::{
    bindings,
    dma_buf::{DmaBuf, ExportedAttachment},
    dma_resv::{Resv, ResvGuard, Unlocked},
    ffi::c_void,
    prelude::*,
};

/// The largest errno (`MAX_ERRNO` of `include/linux/err.h`): the last 4095 addresses are
/// error pointers.
const MAX_ERRNO: usize = 4095;

/// What a warning is about; a call site's misuses of each kind are counted apart.
#[derive(Clone, Copy)]
enum Kind {
    /// The lock rule.
    Lock = 0,
    /// An argument.
    Arg = 1,
}

/// A C entry point of the core.
pub(crate) struct Entry {
    name: &'static CStr,
    /// The entry point's own code, to find its caller's return address on the stack.
    func: *const c_void,
}

// SAFETY: `func` is only compared with return addresses, never dereferenced or called; the
// rest is immutable.
unsafe impl Sync for Entry {}

/// The [`Entry`] of the entry point `$name`, a function of this crate.
macro_rules! entry {
    ($name:ident) => {
        // CAST: The entry point's address, only compared with return addresses.
        $crate::abi::rules::Entry::new(
            kernel::c_str!(stringify!($name)),
            $name as *const kernel::ffi::c_void,
        )
    };
}
pub(crate) use entry;

impl Entry {
    /// An entry point called `name` in C, whose code is `func`.
    pub(crate) const fn new(name: &'static CStr, func: *const c_void) -> Self {
        Self { name, func }
    }

    /// Warns about a misuse of `kind`: `rule` is what the caller broke, `outcome` what the
    /// core did about it.
    #[cold]
    #[inline(never)]
    fn warn(&self, kind: Kind, rule: &CStr, outcome: &CStr) {
        let site = caller(self.func);
        // A return address identifies a call site; a call instruction is longer than one byte,
        // so `site + 1` is no other site's. Without one, the entry point stands for its sites.
        let base = if site != 0 {
            site
        } else {
            core::ptr::from_ref(self).addr()
        };
        // CAST: `Kind` is 0 or 1.
        let key = base + kind as usize;
        let count = count_at(key);
        if count != 1 && !is_power_of_ten(count) {
            return;
        }
        let format = match (count, site) {
            (1, 0) => c"\x013dma-buf: %s() called %s; %s\n",
            (1, _) => c"\x013dma-buf: %s() called from %pS %s; %s\n",
            (_, 0) => c"\x014dma-buf: %s() called %s; %s (%u times)\n",
            (_, _) => c"\x014dma-buf: %s() called from %pS %s; %s (%u times from there)\n",
        };
        // SAFETY: Each format takes a string, a code address if `site` is known, two strings
        // and (after the first) an unsigned integer, as passed; printk ignores the arguments
        // a format does not use, and the strings are NUL-terminated.
        unsafe {
            if site == 0 {
                bindings::_printk(
                    format.as_char_ptr(),
                    self.name.as_char_ptr(),
                    rule.as_char_ptr(),
                    outcome.as_char_ptr(),
                    count,
                )
            } else {
                bindings::_printk(
                    format.as_char_ptr(),
                    self.name.as_char_ptr(),
                    core::ptr::without_provenance::<c_void>(site),
                    rule.as_char_ptr(),
                    outcome.as_char_ptr(),
                    count,
                )
            }
        };
        if count == 1 {
            kernel::warn_on!(true);
        }
    }

    /// Refuses a bad argument with `EINVAL`, warning: `what` says what is wrong with it.
    ///
    /// Inline, so that [`keep_frame`] lands in the entry point.
    #[inline(always)]
    pub(crate) fn bad_arg(&self, what: &CStr) -> Error {
        self.warn(Kind::Arg, what, c"refused with -EINVAL");
        keep_frame();
        EINVAL
    }

    /// Returns `ptr` if it is neither null nor an error pointer.
    #[inline(always)]
    pub(crate) fn valid<T>(&self, ptr: *mut T) -> Result<NonNull<T>> {
        if is_err_or_null(ptr) {
            return Err(self.bad_arg(c"with a NULL or error pointer"));
        }
        // SAFETY: Not null (checked above).
        Ok(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Returns the buffer `ptr` points to, if it is a pointer to an exported buffer.
    ///
    /// # Safety
    ///
    /// `ptr`, unless null or an error pointer, points to a buffer referenced for `'a`: what a C
    /// caller of the entry point promises for the duration of the call.
    pub(crate) unsafe fn buffer<'a>(&self, ptr: *mut bindings::dma_buf) -> Result<&'a DmaBuf> {
        let ptr = self.valid(ptr)?;
        // SAFETY: `ptr` points to a buffer referenced for `'a` (the caller's guarantee, and not
        // null or an error pointer: checked above).
        let buf = unsafe { DmaBuf::from_raw(ptr.as_ptr()) };
        // SAFETY: `buf` is a buffer; `ops` is set at export and never changes.
        if unsafe { (*buf.as_raw()).ops }.is_null() {
            return Err(self.bad_arg(c"with a buffer without operations"));
        }
        Ok(buf)
    }

    /// Returns the attachment `ptr` points to, if it is an attachment of an exported buffer.
    ///
    /// # Safety
    ///
    /// `ptr`, unless null or an error pointer, points to an attachment live for `'a`, made by
    /// `dma_buf_dynamic_attach()`: what a C caller promises for the duration of the call.
    pub(crate) unsafe fn attachment<'a>(
        &self,
        ptr: *mut bindings::dma_buf_attachment,
    ) -> Result<ExportedAttachment<'a>> {
        let ptr = self.valid(ptr)?;
        // SAFETY: `ptr` is a live attachment (the caller's guarantee; not null or an error
        // pointer, checked above).
        let dmabuf = unsafe { (*ptr.as_ptr()).dmabuf };
        // An attachment the core made has its exported buffer, whose operations are set; the
        // pointer is checked against null as the C core checks it (the rest would only catch a
        // stray pointer that happens to hold an error pointer or a buffer without operations).
        if dmabuf.is_null() {
            return Err(self.bad_arg(c"with a NULL or error pointer"));
        }
        // SAFETY: The attachment is live for `'a`, made by `dma_buf_dynamic_attach()` (the
        // caller's guarantee), so attached to an exported buffer.
        Ok(unsafe { ExportedAttachment::from_raw(ptr) })
    }

    /// Runs `f`, which needs `resv` held, for a C caller: under the caller's lock as the
    /// convention requires; or else, with a warning, under the lock the core takes with a
    /// trylock; or without it if another task holds it, as the C core runs it.
    ///
    /// The convention's case is inline, a load and a compare before `f`
    /// ([`Resv::held_by_current`]); the others are out of line.
    #[inline(always)]
    pub(crate) fn run_locked<R>(&self, resv: &Resv, f: impl FnOnce(&ResvGuard<'_>) -> R) -> R {
        if resv.held_by_current() {
            // SAFETY: The current task holds the lock (just checked) for the call.
            return unsafe { resv.with_held(f) };
        }
        let result = self.broke_locked(resv, f);
        keep_frame();
        result
    }

    #[cold]
    #[inline(never)]
    fn broke_locked<R>(&self, resv: &Resv, f: impl FnOnce(&ResvGuard<'_>) -> R) -> R {
        const RULE: &CStr = c"without the buffer's reservation lock, which the dma-buf locking \
                              convention requires";
        // The caller does not hold this buffer's lock (`run_locked` checked), so it holds no
        // lock of this buffer: the core's own capability, for the trylock.
        let mut unlocked = Unlocked::new();
        if let Some(guard) = resv.try_lock(&mut unlocked) {
            self.warn(Kind::Lock, RULE, c"taken for the call");
            return f(&guard);
        }
        self.warn(
            Kind::Lock,
            RULE,
            c"another task holds it: run without it, as the C core runs it",
        );
        // SAFETY: Not held: this is the C core's behaviour for a caller that breaks the rule
        // while another task holds the lock, kept so that such a caller is not worse off than
        // with it. The state `f` reaches through the proof is the buffer's C fields (its
        // attachment list, mapping count and kernel mapping), which the C core reaches without
        // the lock in the same call; blocking on the lock instead could deadlock a caller that
        // holds a lock the holder wants (etnaviv's object lock). Callbacks written in Rust,
        // which would reach more through the proof, check it themselves
        // (`kernel::dma_resv::Resv::with_callers_lock`) and never run unlocked.
        unsafe { resv.with_held(f) }
    }

    /// Returns whether the caller holds `resv`, against the convention, warning if it does:
    /// `outcome` says what the entry point does then.
    pub(crate) fn caller_holds(&self, resv: &Resv, outcome: &CStr) -> bool {
        if !resv.held_by_current() {
            return false;
        }
        self.broke_unlocked(outcome);
        true
    }

    /// Runs `f` for a C caller of a function that takes no lock: `f(false)`; or, if the caller
    /// holds `resv` against the convention, `f(true)` after a warning (`outcome` says what the
    /// entry point does then).
    ///
    /// The warning's path is out of line and returns by itself, so that the fast path keeps
    /// nothing across it: no registers saved for it.
    #[inline(always)]
    pub(crate) fn unlocked<R>(&self, resv: &Resv, outcome: &CStr, f: impl FnOnce(bool) -> R) -> R {
        if resv.held_by_current() {
            let result = self.broke_unlocked_then(outcome, f);
            keep_frame();
            return result;
        }
        f(false)
    }

    #[cold]
    #[inline(never)]
    fn broke_unlocked_then<R>(&self, outcome: &CStr, f: impl FnOnce(bool) -> R) -> R {
        self.broke_unlocked(outcome);
        f(true)
    }

    #[cold]
    fn broke_unlocked(&self, outcome: &CStr) {
        self.warn(
            Kind::Lock,
            c"with the buffer's reservation lock held, which the dma-buf locking convention \
              forbids",
            outcome,
        );
    }

    /// Runs `f` under `resv`, for a function that takes the lock itself: the lock is taken for
    /// the call, or, if the caller holds it against the convention (warned), the call
    /// completes under the caller's lock instead of deadlocking as in the C core.
    pub(crate) fn lock_for<R>(&self, resv: &Resv, f: impl FnOnce(&ResvGuard<'_>) -> R) -> R {
        if self.caller_holds(resv, c"completed under the caller's lock") {
            // SAFETY: The current task holds the lock (checked above) for the call.
            unsafe { resv.with_held(f) }
        } else {
            // The caller does not hold this lock (checked above): the core takes it.
            f(&resv.lock(&mut Unlocked::new()))
        }
    }
}

/// Keeps the call before it out of tail position, in the entry point it is inlined into.
///
/// A warning finds its call site above the entry point's frame on the stack ([`caller`]); an
/// entry point whose last act is the call that warns (a `void` one refusing an argument, or
/// running a locked function for a caller without the lock) would otherwise jump to it
/// instead, and its frame would be gone. A fence is an instruction that may have side effects,
/// so the compiler cannot drop it or make the call before it a jump; it emits no code.
#[inline(always)]
fn keep_frame() {
    compiler_fence(SeqCst);
}

/// Returns whether `ptr` is null or an error pointer (`IS_ERR_OR_NULL()`), in one compare: null
/// wraps around to the top, next to the error pointers.
#[inline(always)]
pub(crate) fn is_err_or_null<T>(ptr: *const T) -> bool {
    ptr.addr().wrapping_sub(1) >= usize::MAX - MAX_ERRNO
}

/// Returns whether `n` is 10, 100, 1000, ...
fn is_power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

/// A call site that broke a rule, and how often it did.
struct Site {
    key: AtomicUsize,
    count: AtomicU32,
}

/// The number of call sites whose misuses are counted apart; later ones share one count.
const SITES: usize = 256;

/// Counts one more misuse at `key`, and returns how many there were there, this one included.
fn count_at(key: usize) -> u32 {
    static SITE: [Site; SITES] = [const {
        Site {
            key: AtomicUsize::new(0),
            count: AtomicU32::new(0),
        }
    }; SITES];
    static OTHERS: AtomicU32 = AtomicU32::new(0);
    for site in &SITE {
        let known = match site.key.compare_exchange(0, key, Relaxed, Relaxed) {
            Ok(_) => true,
            Err(k) => k == key,
        };
        if known {
            return site.count.fetch_add(1, Relaxed).saturating_add(1);
        }
    }
    OTHERS.fetch_add(1, Relaxed).saturating_add(1)
}

/// Returns the address the entry point at `func` was called from, or 0 if it cannot be told:
/// the return address above the entry point's frame on the current stack.
///
/// It needs a reliable unwinder (ORC or frame pointers); the guessing one finds stale return
/// addresses on the stack, which are then taken for call sites.
#[cfg(all(CONFIG_STACKTRACE, CONFIG_KALLSYMS))]
fn caller(func: *const c_void) -> usize {
    const DEPTH: u32 = 16;
    // CAST: A small constant.
    let mut trace = [0usize; DEPTH as usize];
    // SAFETY: `trace` is writable for `DEPTH` entries.
    let saved = unsafe { bindings::stack_trace_save(trace.as_mut_ptr(), DEPTH, 0) };
    let trace = trace
        .get(..usize::try_from(saved).unwrap_or(0))
        .unwrap_or(&[]);
    let entry = function_of(func.addr());
    if entry == 0 {
        return 0;
    }
    trace
        .iter()
        .position(|&ip| function_of(ip) == entry)
        .and_then(|i| trace.get(i + 1))
        .copied()
        .unwrap_or(0)
}

/// Returns the start of the function that `ip` is in, or 0 if kallsyms does not know it.
#[cfg(all(CONFIG_STACKTRACE, CONFIG_KALLSYMS))]
fn function_of(ip: usize) -> usize {
    let (mut size, mut offset) = (0, 0);
    // SAFETY: `size` and `offset` are writable; the address is only looked up.
    if unsafe { bindings::kallsyms_lookup_size_offset(ip, &mut size, &mut offset) } == 0 {
        return 0;
    }
    ip.saturating_sub(offset)
}

#[cfg(not(all(CONFIG_STACKTRACE, CONFIG_KALLSYMS)))]
fn caller(_func: *const c_void) -> usize {
    0
}
