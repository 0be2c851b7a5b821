// SPDX-License-Identifier: GPL-2.0

//! Reservation objects.
//!
//! A reservation object (`struct dma_resv`) is the lock and the fence list of a buffer shared
//! between devices. Its lock is a wound/wait mutex of the reservation class, so a driver can lock
//! the objects of several buffers, its own and imported ones, in one acquire context
//! ([`AcquireCtx::lock_all`]). Its fences say which jobs still read or write the buffer.
//!
//! [`ResvGuard`] is the proof that the lock is held: functions that need the lock take a
//! reference to it, and the fence list can only be changed through it.
//!
//! [`Unlocked`] is the opposite proof: that the current task holds no reservation lock. The
//! operations that must not run under one (those that take the lock themselves, such as the
//! `_unlocked` forms of dma-buf) take a shared borrow of it, and every lock of a reservation
//! object borrows it mutably for as long as its guard lives. So while this code holds a
//! reservation lock, no such operation compiles, whichever handle of whichever buffer it goes
//! through.
//!
//! [`AcquireCtx::lock_all`]: crate::sync::ww_mutex::AcquireCtx::lock_all
//!
//! C header: [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h)

use crate::{
    bindings,
    dma_fence::Fence,
    error::to_result,
    prelude::*,
    sync::ww_mutex::{AcquireCtx, Acquiring, Class, Lockable, Locked, Reservation, Transaction},
    task::MAX_SCHEDULE_TIMEOUT,
    time::Jiffies,
    types::{NotThreadSafe, Opaque},
};
#[cfg(CONFIG_SYNC_FILE)]
use crate::{fs::File, sync::aref::ARef};
use core::ptr::NonNull;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

/// The flags a mutex keeps in the low bits of its owner word, below the owner's `task_struct`
/// pointer (`MUTEX_FLAGS` of `kernel/locking/mutex.h`, a header private to the locking code).
/// A KUnit case checks [`Resv::held_by_current`] against `mutex_get_owner()`, waiters and
/// hand-off flags set.
#[cfg(not(CONFIG_PREEMPT_RT))]
const MUTEX_FLAGS: usize = 0x07;

/// How the holder of a fence uses the buffer (`enum dma_resv_usage`).
///
/// The usages are ordered: asking for the fences of one usage gives those of every lower usage
/// too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Usage {
    /// Kernel work, such as moves or clears, that everybody must wait for.
    Kernel = bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL,
    /// Implicit write synchronisation: readers wait for these.
    Write = bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE,
    /// Implicit read synchronisation: writers wait for these and for [`Usage::Write`].
    Read = bindings::dma_resv_usage_DMA_RESV_USAGE_READ,
    /// Work that no implicit synchronisation waits for (bookkeeping only).
    Bookkeep = bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
}

impl From<Usage> for bindings::dma_resv_usage {
    fn from(usage: Usage) -> Self {
        usage.as_raw()
    }
}

impl Usage {
    fn as_raw(self) -> bindings::dma_resv_usage {
        // CAST: `Usage` is `repr(u32)` with the values of `enum dma_resv_usage`.
        self as bindings::dma_resv_usage
    }

    /// Returns the usage a new access must wait for: [`Usage::Read`] for a write (it waits for
    /// readers and writers), [`Usage::Write`] for a read (as `dma_resv_usage_rw()`).
    pub fn for_access(write: bool) -> Usage {
        if write {
            Usage::Read
        } else {
            Usage::Write
        }
    }
}

/// Proof that the current task holds no reservation lock, other than through the guards that
/// borrow this capability.
///
/// The dma-buf locking convention forbids some operations while the caller holds a reservation
/// lock, because they take one themselves (for example `dma_buf_map_attachment_unlocked()`,
/// `dma_buf_begin_cpu_access()`, `dma_buf_attach()`). Those operations take `&Unlocked`, and
/// every lock of a reservation object ([`Resv::lock`], [`Attachment::lock`],
/// [`AcquireCtx::lock_all_resv`]) takes `&mut Unlocked` and returns a guard that keeps that
/// borrow: while any guard lives, the borrow checker rejects every such operation, on this
/// buffer or any other, through any handle. All reservation objects share one lock class, so
/// lockdep applies the same rule.
///
/// A capability is made with [`Unlocked::new`] at a place that holds no reservation lock: an
/// ioctl or file operation, a work item, a probe. It is not `Send`: it is a fact about the task
/// that made it. Functions that only use unlocked operations take `&Unlocked`; functions that
/// lock take `&mut Unlocked`; functions that run under a lock take the guard and no capability.
///
/// A task has one capability at a time, handed down from its entry point: a second one (made
/// where a lock is held, or a second at the same entry point) defeats the check, and so does
/// leaking a guard ([`core::mem::forget`]). The operations taking `&Unlocked` then check at run
/// time that the current task does not hold their buffer's lock, warn and fail with `EDEADLK`
/// instead of deadlocking; another buffer's lock only lockdep sees (see
/// Documentation/driver-api/dma-buf-rust.rst, "What the types do not cover").
///
/// [`Attachment::lock`]: crate::dma_buf::Attachment::lock
///
/// # Examples
///
/// ```
/// use kernel::dma_resv::{Resv, Unlocked};
///
/// let mut unlocked = Unlocked::new();
/// let a = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
/// let b = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
/// {
///     let _guard = a.lock(&mut unlocked);
///     // Neither `unlocked` nor a second plain lock can be used here:
///     // `b.lock(&mut unlocked)` does not compile while `_guard` lives.
/// }
/// let _guard = b.lock(&mut unlocked);
/// # Ok::<(), Error>(())
/// ```
pub struct Unlocked {
    _not_send: NotThreadSafe,
}

impl Unlocked {
    /// Makes the capability, where the current task holds no reservation lock.
    ///
    /// Call it once at an entry point (an ioctl, a file operation, a work item, probe) and hand
    /// it down; never in a function that receives a guard or in a callback called with a lock
    /// held, and never a second one while the first is in use.
    // No `Default`: making one is meant to be an explicit act at an entry point, not something
    // a container of it does on its own.
    #[allow(clippy::new_without_default)]
    #[inline]
    pub fn new() -> Self {
        Self {
            _not_send: NotThreadSafe,
        }
    }
}

/// A reservation object (`struct dma_resv`).
///
/// A `Resv` is either owned by Rust ([`Resv::new`], finished on drop) or borrowed from C
/// ([`Resv::from_raw`]).
///
/// # Invariants
///
/// `inner` is an initialised `struct dma_resv`.
///
/// # Examples
///
/// ```
/// use kernel::dma_resv::{Resv, Usage};
///
/// let mut unlocked = kernel::dma_resv::Unlocked::new();
/// let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
/// assert!(!resv.is_locked());
/// {
///     let guard = resv.lock(&mut unlocked);
///     assert!(resv.is_locked());
///     assert_eq!(guard.fences(Usage::Bookkeep).count(), 0);
/// }
/// assert!(resv.test_signaled(Usage::Bookkeep));
/// # Ok::<(), Error>(())
/// ```
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct Resv {
    #[pin]
    inner: Opaque<bindings::dma_resv>,
}

// SAFETY: A `struct dma_resv` is protected by its own lock and RCU, and has no thread affinity.
unsafe impl Send for Resv {}

// SAFETY: Every operation on a shared `Resv` either takes its lock or is safe without it
// (RCU-protected reads of the fence list).
unsafe impl Sync for Resv {}

impl Resv {
    /// Creates an initialiser for a reservation object owned by Rust (`dma_resv_init()`).
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes.
            inner <- Opaque::ffi_init(|slot| unsafe { bindings::dma_resv_init(slot) }),
        })
    }

    /// Borrows a reservation object owned by C.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct dma_resv` that stays initialised and in place for
    /// `'a` (for example the `resv` of a `struct dma_buf` the caller holds a reference to).
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_resv) -> &'a Resv {
        // SAFETY: `Resv` is a transparent wrapper of `struct dma_resv`, which the caller
        // guarantees is initialised and valid for `'a`.
        unsafe { &*ptr.cast::<Resv>() }
    }

    /// Returns the raw `struct dma_resv`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_resv {
        self.inner.get()
    }

    /// Locks the object without an acquire context, sleeping until it is available.
    ///
    /// The guard borrows `unlocked`: while it lives, no operation that must not run under a
    /// reservation lock compiles. A task that already holds this lock (through a capability
    /// made where it should not have been) deadlocks, which lockdep reports as recursive
    /// locking; [`Resv::lock_interruptible`] fails instead.
    #[inline]
    pub fn lock<'a>(&'a self, _unlocked: &'a mut Unlocked) -> ResvGuard<'a> {
        // SAFETY: The object is initialised (type invariant). Without a context the call cannot
        // fail.
        unsafe { bindings::dma_resv_lock(self.as_raw(), core::ptr::null_mut()) };
        // SAFETY: The lock was just taken by the current task.
        unsafe { self.assume_locked() }
    }

    /// Locks the object without an acquire context, unless a signal arrives first.
    ///
    /// # Errors
    ///
    /// `EINTR` if a signal is pending while waiting; `EDEADLK`, with a warning, if the current
    /// task already holds the lock.
    pub fn lock_interruptible<'a>(&'a self, _unlocked: &'a mut Unlocked) -> Result<ResvGuard<'a>> {
        self.refuse_if_held("dma_resv_lock_interruptible")?;
        // SAFETY: The object is initialised (type invariant).
        to_result(unsafe {
            bindings::dma_resv_lock_interruptible(self.as_raw(), core::ptr::null_mut())
        })?;
        // SAFETY: The lock was just taken by the current task.
        Ok(unsafe { self.assume_locked() })
    }

    /// Locks the object if it is free.
    #[inline]
    pub fn try_lock<'a>(&'a self, _unlocked: &'a mut Unlocked) -> Option<ResvGuard<'a>> {
        if !self.try_lock_raw() {
            return None;
        }
        // SAFETY: The lock was just taken by the current task.
        Some(unsafe { self.assume_locked() })
    }

    #[inline]
    fn try_lock_raw(&self) -> bool {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_trylock(self.as_raw()) }
    }

    /// Fails with `EDEADLK`, and warns, if the current task holds the lock: the run-time check
    /// of operations that take `&Unlocked`, for the cases the capability cannot see (one made
    /// under a lock, a leaked guard). The warning is a line, not a `WARN()`: the misuse is
    /// refused before it does anything. So that a caller that retries in a loop does not flood
    /// the log, the 1st, 2nd, 4th, 8th, ... refusal in the kernel's lifetime is told, with the
    /// count.
    ///
    /// `op` names the operation in the warning.
    pub(crate) fn refuse_if_held(&self, op: &str) -> Result {
        if self.held_by_current_checked() {
            Self::refused(op);
            return Err(EDEADLK);
        }
        Ok(())
    }

    #[cold]
    fn refused(op: &str) {
        use crate::sync::atomic::{Atomic, Relaxed};

        static REFUSED: Atomic<u32> = Atomic::new(0);
        let n = REFUSED.fetch_add(1, Relaxed).wrapping_add(1);
        if n.is_power_of_two() {
            pr_warn!(
                "dma_resv: {}() called with the buffer's reservation lock held by this task, \
                 which the dma-buf locking convention forbids: refused with EDEADLK \
                 (refusal {} of this kernel)\n",
                op,
                n
            );
        }
    }

    /// Runs `f` under the lock, for a Rust callback that C calls with the contract that the
    /// caller holds it (an exporter's `pin`, `map_dma_buf`, `vmap` and their reverses, an
    /// importer's `invalidate_mappings`).
    ///
    /// A C caller that breaks the dma-buf locking convention may get such a callback called
    /// without the lock: the C core lets the call through after a lockdep warning, and the Rust
    /// core does where another task holds the lock, as the C core would. The Rust callback
    /// relies on the proof it is given (its guard reaches the fence list), so `f` never runs
    /// unlocked: under the current task's lock if it holds it; else, with a warning, under the
    /// lock taken with a trylock; else, if `wait` (a callback that cannot fail and would leave
    /// state behind if skipped, such as an unmap), under the lock waited for; else not at all,
    /// and the result is `None`. On PREEMPT_RT, where the owner cannot be read, the caller's
    /// contract is trusted.
    ///
    /// `op` names the callback in the warning.
    pub(crate) fn with_callers_lock<R>(
        &self,
        op: &str,
        wait: bool,
        f: impl FnOnce(&ResvGuard<'_>) -> R,
    ) -> Option<R> {
        #[cfg(not(CONFIG_PREEMPT_RT))]
        {
            if !self.held_by_current() {
                return self.callback_without_lock(op, wait, f);
            }
        }
        // SAFETY: The current task holds the lock (checked above), or, on PREEMPT_RT, its
        // caller's contract says it does.
        Some(unsafe { self.with_held(f) })
    }

    #[cfg(not(CONFIG_PREEMPT_RT))]
    #[cold]
    fn callback_without_lock<R>(
        &self,
        op: &str,
        wait: bool,
        f: impl FnOnce(&ResvGuard<'_>) -> R,
    ) -> Option<R> {
        // The current task does not hold this lock (the caller checked). It may hold others, so
        // only the last resort below waits.
        let mut unlocked = Unlocked::new();
        let guard = if self.try_lock_raw() {
            crate::pr_warn_once!(
                "dma_resv: {}() called without the buffer's reservation lock: taken for the call\n",
                op
            );
            // SAFETY: The lock was just taken by the current task.
            unsafe { self.assume_locked() }
        } else if wait {
            crate::pr_warn_once!(
                "dma_resv: {}() called without the buffer's reservation lock, which another \
                 task holds: waited for\n",
                op
            );
            self.lock(&mut unlocked)
        } else {
            crate::pr_warn_once!(
                "dma_resv: {}() called without the buffer's reservation lock, which another \
                 task holds: refused with EBUSY\n",
                op
            );
            return None;
        };
        Some(f(&guard))
    }

    /// [`Resv::held_by_current`] where the owner can be read; `false` on PREEMPT_RT, where only
    /// lockdep sees it.
    pub(crate) fn held_by_current_checked(&self) -> bool {
        #[cfg(not(CONFIG_PREEMPT_RT))]
        {
            self.held_by_current()
        }
        #[cfg(CONFIG_PREEMPT_RT)]
        {
            false
        }
    }

    /// Runs `f` with a proof that the lock is held, for C callbacks called with it held.
    ///
    /// The proof is only lent: the lock stays with the caller.
    ///
    /// # Safety
    ///
    /// The current task holds the lock for the duration of the call.
    #[inline]
    pub unsafe fn with_held<R>(&self, f: impl FnOnce(&ResvGuard<'_>) -> R) -> R {
        // SAFETY: The caller holds the lock; the guard is never dropped, so it stays theirs.
        let held = core::mem::ManuallyDrop::new(unsafe { self.assume_locked() });
        f(&held)
    }

    /// Returns whether the object is locked, by any task.
    pub fn is_locked(&self) -> bool {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_is_locked(self.as_raw()) }
    }

    /// Returns whether the current task holds the lock.
    ///
    /// Rust code proves that with a [`ResvGuard`]; this is for checking C callers at run time,
    /// with or without lockdep. It is the run-time lock rule of every locked dma-buf entry
    /// point, so it is one atomic load and a compare, inline: what `mutex_get_owner()` (out of
    /// line, and not exported to modules) computes.
    #[cfg(not(CONFIG_PREEMPT_RT))]
    #[inline]
    pub fn held_by_current(&self) -> bool {
        use crate::{
            sync::atomic::{Atomic, Relaxed},
            task::Task,
        };

        // SAFETY: The object is initialised (type invariant), so is the mutex of its ww_mutex,
        // whose owner word is only ever accessed atomically.
        let owner = unsafe { Atomic::from_ptr(&raw mut (*self.as_raw()).lock.base.owner.counter) };
        // CAST: The owner word is a `task_struct` pointer (as an `atomic_long_t`, the size of a
        // pointer) with flags in its low bits.
        let owner = owner.load(Relaxed) as usize & !MUTEX_FLAGS;
        owner == Task::current_raw().addr()
    }

    /// Warns (with lockdep) if the current task does not hold the lock.
    #[inline]
    pub fn assert_held(&self) {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_assert_held(self.as_raw()) }
    }

    /// Tells lockdep that the caller may take the lock here (`might_lock()`), so that it learns
    /// the lock's ordering on paths that take it only sometimes, such as an exporter's CPU
    /// access callbacks. Nothing without lockdep, as in C: not even a call to the empty helper
    /// in kernels that do not inline helpers.
    #[inline]
    pub fn might_lock(&self) {
        #[cfg(CONFIG_PROVE_LOCKING)]
        // SAFETY: The object is initialised (type invariant).
        unsafe {
            bindings::dma_resv_might_lock(self.as_raw())
        }
    }

    /// Returns whether every fence of `usage` (and lower usages) has signaled.
    ///
    /// This does not need the lock.
    pub fn test_signaled(&self, usage: Usage) -> bool {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_test_signaled(self.as_raw(), usage.as_raw()) }
    }

    /// Returns the file of a new sync_file that signals once every fence of `usage` (and lower
    /// usages) has: of the one fence, of a new container of them, or of the signalled stub
    /// fence if there is none (`dma_resv_get_singleton()`, `sync_file_create()`). This does not
    /// need the lock.
    ///
    /// # Errors
    ///
    /// `ENOMEM` without memory.
    #[cfg(CONFIG_SYNC_FILE)]
    pub fn to_sync_file(&self, usage: Usage) -> Result<ARef<File>> {
        let mut fence = core::ptr::null_mut();
        // SAFETY: The object is initialised (type invariant); `dma_resv_get_singleton()` takes
        // the fences without the lock and stores a new reference or null in `fence`.
        to_result(unsafe {
            bindings::dma_resv_get_singleton(self.as_raw(), usage.as_raw(), &mut fence)
        })?;
        let fence = match NonNull::new(fence) {
            // SAFETY: The new reference stored above, which the `ARef` takes over.
            Some(fence) => unsafe { ARef::from_raw(fence.cast::<Fence>()) },
            None => Fence::stub(),
        };
        fence.to_sync_file()
    }

    /// Waits for every fence of `usage` (and lower usages) to signal, for at most
    /// `timeout_in_jiffies` ([`MAX_SCHEDULE_TIMEOUT`] waits without limit).
    ///
    /// Returns the jiffies left. This does not need the lock.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if the timeout expired first; `ERESTARTSYS` if `interruptible` and a signal
    /// arrived; `EINVAL` if `timeout_in_jiffies` is too large.
    pub fn wait_timeout(
        &self,
        usage: Usage,
        interruptible: bool,
        timeout_in_jiffies: Jiffies,
    ) -> Result<Jiffies> {
        // Larger timeouts would come back as negative (error) values.
        if c_long::try_from(timeout_in_jiffies).is_err() {
            return Err(EINVAL);
        }
        // SAFETY: The object is initialised (type invariant).
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(
                self.as_raw(),
                usage.as_raw(),
                interruptible,
                timeout_in_jiffies,
            )
        };
        crate::dma_fence::wait_result(ret)
    }

    /// Waits without limit for every fence of `usage` (and lower usages) to signal.
    ///
    /// # Errors
    ///
    /// `ERESTARTSYS` if `interruptible` and a signal arrived.
    pub fn wait(&self, usage: Usage, interruptible: bool) -> Result {
        // SAFETY: The object is initialised (type invariant).
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(
                self.as_raw(),
                usage.as_raw(),
                interruptible,
                MAX_SCHEDULE_TIMEOUT.unsigned_abs(),
            )
        };
        // Without a limit nothing times out: only a negative result is an error, as C callers
        // (`dma_buf_begin_cpu_access()`) test it.
        if ret < 0 {
            return Err(i32::try_from(ret).map_or(EINVAL, Error::from_errno));
        }
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for Resv {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The object is initialised (type invariant) and, being dropped, no longer used.
        unsafe { bindings::dma_resv_fini(self.as_raw()) };
    }
}

// SAFETY: `lock` is the `struct ww_mutex` embedded in the object, initialised by
// `dma_resv_init()` with `reservation_ww_class`; `ResvGuard` unlocks it once on drop and is not
// `Send`.
unsafe impl Lockable for Resv {
    type Kind = Reservation;

    type Guard<'a> = ResvGuard<'a>;

    fn as_raw(&self) -> *mut bindings::ww_mutex {
        // SAFETY: The object is initialised (type invariant), so its `lock` field is valid.
        unsafe { &raw mut (*self.inner.get()).lock }
    }

    fn class(&self) -> &'static Class {
        Class::reservation()
    }

    #[inline]
    unsafe fn assume_locked(&self) -> ResvGuard<'_> {
        // INVARIANT: The caller guarantees that the current task holds the lock.
        ResvGuard {
            resv: self,
            _not_send: NotThreadSafe,
        }
    }
}

impl AcquireCtx<Acquiring> {
    /// Takes the reservation locks that `f` asks for, backing off and retrying on contention,
    /// as [`AcquireCtx::lock_all`] does for plain mutexes.
    ///
    /// The context must be of [`Class::reservation`]. The guards borrow `unlocked` for `'a`:
    /// neither inside `f` nor while the returned [`Locked`] lives does an operation that must
    /// not run under a reservation lock compile.
    ///
    /// # Errors
    ///
    /// As [`AcquireCtx::lock_all`]: any error of `f` other than a backoff, `EINTR`; `EINVAL` if
    /// an object is not of the context's class.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{dma_resv::{Resv, Unlocked}, sync::ww_mutex::{AcquireCtx, Class}};
    ///
    /// let mut unlocked = Unlocked::new();
    /// let a = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    /// let b = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
    /// let locked = AcquireCtx::new(Class::reservation())?
    ///     .lock_all_resv(&mut unlocked, |tx| Ok((tx.lock(&*a)?, tx.lock(&*b)?)))?;
    /// assert!(a.is_locked() && b.is_locked());
    /// drop(locked);
    /// assert!(!a.is_locked() && !b.is_locked());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn lock_all_resv<'a, R, F>(self, _unlocked: &'a mut Unlocked, f: F) -> Result<Locked<R>>
    where
        F: for<'tx> FnMut(&mut Transaction<'tx, 'a, Reservation>) -> Result<R>,
    {
        self.run(f)
    }
}

/// Proof that the current task holds the lock of a reservation object.
///
/// Functions that require the lock take a `&ResvGuard<'_>` (or `&mut` to change the fences).
/// The lock is released when the guard is dropped.
///
/// # Invariants
///
/// The current task holds the lock of `resv`.
#[must_use = "the lock unlocks immediately when the guard is unused"]
pub struct ResvGuard<'a> {
    resv: &'a Resv,
    _not_send: NotThreadSafe,
}

impl<'a> ResvGuard<'a> {
    /// Returns whether this guard is the proof for `resv`, for functions that take a guard
    /// together with the object it must lock.
    ///
    /// The guard gives no `&Resv` out: through one, [`Resv::lock`] would be reachable while the
    /// lock is held, a deadlock.
    #[inline]
    pub fn is_of(&self, resv: &Resv) -> bool {
        core::ptr::eq(self.resv, resv)
    }

    /// Returns the raw locked `struct dma_resv`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_resv {
        self.resv.as_raw()
    }

    /// Warns (with lockdep) if the current task does not hold the lock, which it does: for
    /// tests and for callbacks that want lockdep to check their caller.
    pub fn assert_held(&self) {
        self.resv.assert_held();
    }

    /// Locks `other` too if it is free, while this lock is held, as eviction does: a trylock
    /// cannot deadlock, so it needs no acquire context.
    ///
    /// The new guard borrows this one, so this lock stays held until it is dropped. Returns
    /// `None` if `other` is locked, by any task (this one included).
    pub fn try_lock_nested<'g>(&'g mut self, other: &'g Resv) -> Option<ResvGuard<'g>> {
        if !other.try_lock_raw() {
            return None;
        }
        // SAFETY: The lock was just taken by the current task.
        Some(unsafe { other.assume_locked() })
    }

    /// Makes room for `num_fences` more fences (`dma_resv_reserve_fences()`).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the fence list cannot grow.
    pub fn reserve_fences(&mut self, num_fences: u32) -> Result {
        // SAFETY: The object is initialised and locked by the current task (type invariant).
        to_result(unsafe { bindings::dma_resv_reserve_fences(self.resv.as_raw(), num_fences) })
    }

    /// Makes room for `num_fences` more fences, to be added through the returned
    /// [`FenceSlots`] without another reservation each: what a caller that adds several
    /// fences at once (a fence container's, one by one) does in C.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the fence list cannot grow.
    pub fn reserve_slots(&mut self, num_fences: u32) -> Result<FenceSlots<'_, 'a>> {
        self.reserve_fences(num_fences)?;
        Ok(FenceSlots {
            guard: self,
            left: num_fences,
        })
    }

    /// Adds `fence` with `usage` to the object, replacing an older fence of the same context.
    ///
    /// Fence containers (arrays, chains) must be added as their individual fences.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the fence list cannot grow; the object is then unchanged.
    pub fn add_fence(&mut self, fence: &Fence, usage: Usage) -> Result {
        self.reserve_slots(1)?.add(fence, usage)
    }

    /// Iterates over the fences of `usage` and every lower usage, with their usage.
    #[inline]
    pub fn fences(&self, usage: Usage) -> Fences<'_> {
        let mut cursor = bindings::dma_resv_iter::default();
        // SAFETY: `cursor` is valid for writes and the object is initialised.
        unsafe { bindings::dma_resv_iter_begin(&mut cursor, self.resv.as_raw(), usage.as_raw()) };
        Fences {
            cursor,
            started: false,
            _guard: core::marker::PhantomData,
        }
    }
}

/// Room for fences in a locked reservation object, made by [`ResvGuard::reserve_slots`].
///
/// # Invariants
///
/// The object has room for at least `left` more fences: each [`FenceSlots::add`] takes at most
/// one of the slots reserved (`dma_resv_add_fence()` replaces a fence of the same context in
/// place, or takes a free slot), and the guard it borrows keeps the object locked.
pub struct FenceSlots<'g, 'a> {
    guard: &'g mut ResvGuard<'a>,
    left: u32,
}

impl FenceSlots<'_, '_> {
    /// Adds `fence` with `usage`, as [`ResvGuard::add_fence`]: into a reserved slot while
    /// there is one, and through a reservation of its own after.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the reserved slots are used up and the fence list cannot grow; the object is
    /// then unchanged.
    pub fn add(&mut self, fence: &Fence, usage: Usage) -> Result {
        let Some(left) = self.left.checked_sub(1) else {
            return self.guard.add_fence(fence, usage);
        };
        // SAFETY: The object is locked by the current task (the guard's invariant) and has room
        // for one more fence (the type invariant); `fence` is valid, and the object takes its own
        // reference to it.
        unsafe {
            bindings::dma_resv_add_fence(self.guard.resv.as_raw(), fence.as_raw(), usage.as_raw())
        };
        // INVARIANT: The call took at most one of the slots.
        self.left = left;
        Ok(())
    }
}

impl Drop for ResvGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: The current task holds the lock (type invariant) and releases it only here.
        unsafe { bindings::dma_resv_unlock(self.resv.as_raw()) };
    }
}

/// An iterator over the fences of a locked reservation object.
///
/// It borrows the guard, so the fence list cannot change (or be unlocked) while it runs.
pub struct Fences<'g> {
    cursor: bindings::dma_resv_iter,
    started: bool,
    _guard: core::marker::PhantomData<&'g ResvGuard<'g>>,
}

impl<'g> Iterator for Fences<'g> {
    type Item = (&'g Fence, Usage);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: `cursor` was set up by `dma_resv_iter_begin()` for an object whose lock is held
        // for `'g` (the borrowed guard), as the locked iterator requires.
        let fence = unsafe {
            if self.started {
                bindings::dma_resv_iter_next(&mut self.cursor)
            } else {
                self.started = true;
                bindings::dma_resv_iter_first(&mut self.cursor)
            }
        };
        let fence = NonNull::new(fence)?;
        let usage = match self.cursor.fence_usage {
            bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL => Usage::Kernel,
            bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE => Usage::Write,
            bindings::dma_resv_usage_DMA_RESV_USAGE_READ => Usage::Read,
            _ => Usage::Bookkeep,
        };
        // SAFETY: The object holds a reference to the fence while it is in the list, which
        // cannot change while the lock is held for `'g`.
        Some((unsafe { Fence::from_raw(fence.as_ptr()) }, usage))
    }
}
