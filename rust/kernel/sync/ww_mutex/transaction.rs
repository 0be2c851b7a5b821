// SPDX-License-Identifier: GPL-2.0

//! Locking a set of wound/wait mutexes with automatic backoff.
//!
//! C header: [`include/linux/ww_mutex.h`](srctree/include/linux/ww_mutex.h)

use super::{AcquireCtx, Acquiring, Class, LockKind, Lockable, Locked, Plain};
use crate::{bindings, error::to_result, prelude::*, types::NotThreadSafe};
use core::{marker::PhantomData, ptr::NonNull};

/// How a transaction waits for a lock.
#[derive(Clone, Copy)]
enum Wait {
    Uninterruptible,
    Interruptible,
    No,
}

/// The lock an attempt lost to an older context, to be taken first by the next attempt.
struct Contended {
    lock: NonNull<bindings::ww_mutex>,
    interruptible: bool,
}

/// One attempt at taking a set of locks, handed to the closure of [`AcquireCtx::lock_all`].
///
/// Every lock taken through it belongs to the transaction's acquire context. When a lock attempt
/// fails with `EDEADLK`, the closure must return that error (`?` does): its guards are dropped,
/// the transaction sleeps on the contended lock and runs the closure again, which gets the
/// contended lock back without waiting when it asks for it. Until the closure has returned, every
/// further lock attempt fails with `EDEADLK` too.
///
/// `'tx` brands one transaction so that two of them cannot be swapped; `'a` is how long the
/// locked objects are borrowed; `K` is the [`LockKind`] of the objects it may lock.
///
/// # Invariants
///
/// `ctx` is an initialised, unfinished acquire context of class `class` owned by the current
/// task, valid for the transaction's lifetime. `contended` and `prelocked` point to mutexes
/// borrowed for `'a`; the current task holds `prelocked` in `ctx`.
pub struct Transaction<'tx, 'a, K: LockKind = Plain> {
    ctx: NonNull<bindings::ww_acquire_ctx>,
    class: &'static Class,
    contended: Option<Contended>,
    prelocked: Option<NonNull<bindings::ww_mutex>>,
    backoffs: u32,
    _brand: PhantomData<fn(&'tx ()) -> &'tx ()>,
    _objects: PhantomData<&'a ()>,
    _kind: PhantomData<K>,
    _not_send: NotThreadSafe,
}

impl<'a, K: LockKind> Transaction<'_, 'a, K> {
    fn take<L: Lockable<Kind = K> + ?Sized>(
        &mut self,
        obj: &'a L,
        wait: Wait,
    ) -> Result<L::Guard<'a>> {
        if self.contended.is_some() {
            // The closure ignored an `EDEADLK`: nothing more may be locked before backing off.
            return Err(EDEADLK);
        }
        if !core::ptr::eq(obj.class(), self.class) {
            return Err(EINVAL);
        }
        let raw = obj.as_raw();
        if self.prelocked.map(NonNull::as_ptr) == Some(raw) {
            self.prelocked = None;
            // SAFETY: The current task holds `prelocked` in this context (type invariant), and
            // hands the duty to unlock it to the guard.
            return Ok(unsafe { obj.assume_locked() });
        }
        let ctx = self.ctx.as_ptr();
        // SAFETY: `raw` is an initialised `struct ww_mutex` of the context's class, borrowed for
        // `'a`, and `ctx` is a valid acquire context of the current task (type invariant).
        let ret = unsafe {
            match wait {
                Wait::Uninterruptible => bindings::ww_mutex_lock(raw, ctx),
                Wait::Interruptible => bindings::ww_mutex_lock_interruptible(raw, ctx),
                Wait::No => {
                    if bindings::ww_mutex_trylock(raw, ctx) == 0 {
                        EBUSY.to_errno()
                    } else {
                        0
                    }
                }
            }
        };
        match to_result(ret) {
            // SAFETY: The lock was just taken by the current task.
            Ok(()) => Ok(unsafe { obj.assume_locked() }),
            Err(e) => {
                if e == EDEADLK {
                    if let Some(lock) = NonNull::new(raw) {
                        // INVARIANT: `raw` is borrowed for `'a`.
                        self.contended = Some(Contended {
                            lock,
                            interruptible: matches!(wait, Wait::Interruptible),
                        });
                    }
                }
                Err(e)
            }
        }
    }

    /// Locks `obj` in the transaction, sleeping until it is available.
    ///
    /// # Errors
    ///
    /// - `EDEADLK`: an older transaction holds `obj`, or has wounded this one; return the error
    ///   from the closure and the transaction retries.
    /// - `EALREADY`: this transaction already holds `obj`.
    /// - `EINVAL`: `obj` is not of the context's class.
    pub fn lock<L: Lockable<Kind = K> + ?Sized>(&mut self, obj: &'a L) -> Result<L::Guard<'a>> {
        self.take(obj, Wait::Uninterruptible)
    }

    /// Locks `obj` in the transaction, unless a signal arrives while waiting.
    ///
    /// After a backoff caused by this call, the transaction waits for `obj` interruptibly too.
    ///
    /// # Errors
    ///
    /// As [`Transaction::lock`], and `EINTR` if a signal is pending while waiting.
    pub fn lock_interruptible<L: Lockable<Kind = K> + ?Sized>(
        &mut self,
        obj: &'a L,
    ) -> Result<L::Guard<'a>> {
        self.take(obj, Wait::Interruptible)
    }

    /// Locks `obj` in the transaction if it is free, without waiting.
    ///
    /// # Errors
    ///
    /// `EBUSY` if `obj` is locked, including by this transaction; `EINVAL` if `obj` is not of
    /// the context's class.
    pub fn try_lock<L: Lockable<Kind = K> + ?Sized>(&mut self, obj: &'a L) -> Result<L::Guard<'a>> {
        self.take(obj, Wait::No)
    }

    /// Returns how many times this transaction has backed off so far.
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// Makes the next lock taken while another is held fail with `EDEADLK`.
    ///
    /// This drives the deadlock injection of `CONFIG_DEBUG_WW_MUTEX_SLOWPATH`, which otherwise
    /// fires at intervals of its own, to test the backoff path.
    #[cfg(CONFIG_DEBUG_WW_MUTEX_SLOWPATH)]
    pub fn inject_deadlock(&mut self) {
        // SAFETY: `ctx` is a valid acquire context owned by the current task (type invariant).
        unsafe { (*self.ctx.as_ptr()).deadlock_inject_countdown = 0 };
    }

    /// Stops `CONFIG_DEBUG_WW_MUTEX_SLOWPATH` from injecting deadlocks into this transaction.
    ///
    /// Backoffs then only come from real contention.
    #[cfg(CONFIG_DEBUG_WW_MUTEX_SLOWPATH)]
    pub fn disable_deadlock_injection(&mut self) {
        // SAFETY: `ctx` is a valid acquire context owned by the current task (type invariant).
        unsafe { (*self.ctx.as_ptr()).deadlock_inject_countdown = u32::MAX };
    }

    /// Unlocks the contended lock taken by the last backoff if the closure did not ask for it.
    fn release_prelocked(&mut self) {
        if let Some(lock) = self.prelocked.take() {
            // SAFETY: The current task holds `lock` (type invariant), and nothing else will
            // unlock it now that it is no longer `prelocked`.
            unsafe { bindings::ww_mutex_unlock(lock.as_ptr()) };
        }
    }
}

impl AcquireCtx<Acquiring> {
    /// Takes the locks that `f` asks for, backing off and retrying on contention.
    ///
    /// `f` locks through the [`Transaction`] it is given and returns the guards (or anything
    /// that holds them). It runs once per attempt: when one of its lock calls fails with
    /// `EDEADLK` and `f` returns that error, every lock of the attempt has been dropped; the
    /// transaction then waits for the contended lock with the slow path (`ww_mutex_lock_slow()`)
    /// and runs `f` again. A contended lock that `f` does not ask for again is released.
    ///
    /// It locks objects of the [`Plain`] kind; reservation objects are locked with
    /// [`AcquireCtx::lock_all_resv`], whose guards borrow the task's
    /// [`Unlocked`](crate::dma_resv::Unlocked) capability.
    ///
    /// On success the context is marked done (`ww_acquire_done()`): it cannot take more locks.
    ///
    /// # Errors
    ///
    /// Any error `f` returns other than a backoff `EDEADLK` (for example `EALREADY` when it locks
    /// one object twice and does not handle it), and `EINTR` if a signal arrives while an
    /// interruptible backoff waits. On error no lock is held and the context is finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex};
    ///
    /// static CLASS: Class = Class::new_wait_die(c"lock_all_acquire", c"lock_all_mutex");
    ///
    /// let a = KBox::pin_init(Mutex::new(KVec::<u32>::new(), &CLASS), GFP_KERNEL)?;
    /// let b = KBox::pin_init(Mutex::new(KVec::<u32>::new(), &CLASS), GFP_KERNEL)?;
    ///
    /// // Move everything from `a` to `b`, with both locked.
    /// let mut locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| {
    ///     let from = tx.lock(&*a)?;
    ///     let to = tx.lock(&*b)?;
    ///     Ok((from, to))
    /// })?;
    /// let (from, to) = &mut *locked;
    /// to.extend_from_slice(from, GFP_KERNEL)?;
    /// from.clear();
    ///
    /// // One object twice is reported, not a deadlock.
    /// drop(locked);
    /// let twice = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(&*a)?, tx.lock(&*a)?)));
    /// assert_eq!(twice.err(), Some(EALREADY));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn lock_all<'a, R, F>(self, f: F) -> Result<Locked<R>>
    where
        F: for<'tx> FnMut(&mut Transaction<'tx, 'a>) -> Result<R>,
    {
        self.run(f)
    }

    /// The retry loop of [`AcquireCtx::lock_all`], for transactions of any [`LockKind`].
    pub(crate) fn run<'a, K: LockKind, R, F>(self, mut f: F) -> Result<Locked<R>>
    where
        F: for<'tx> FnMut(&mut Transaction<'tx, 'a, K>) -> Result<R>,
    {
        let ctx = NonNull::new(self.as_raw()).ok_or(EINVAL)?;
        // INVARIANT: `ctx` is the initialised context of `self`, which outlives `tx`.
        let mut tx = Transaction {
            ctx,
            class: self.class(),
            contended: None,
            prelocked: None,
            backoffs: 0,
            _brand: PhantomData,
            _objects: PhantomData,
            _kind: PhantomData,
            _not_send: NotThreadSafe,
        };
        loop {
            let err = match f(&mut tx) {
                Ok(value) if tx.contended.is_none() => {
                    tx.release_prelocked();
                    let backoffs = tx.backoffs;
                    return Ok(Locked::new(value, self.into_done(), backoffs));
                }
                // `f` swallowed an `EDEADLK`: drop what it returned and back off anyway.
                Ok(value) => {
                    drop(value);
                    EDEADLK
                }
                Err(e) => e,
            };
            tx.release_prelocked();
            let contended = match tx.contended.take() {
                Some(contended) if err == EDEADLK => contended,
                _ => return Err(err),
            };
            if self.acquired() != 0 {
                // A guard of this transaction was kept outside `f`: the context cannot back
                // off while it holds a lock, and dropping it reports the leak.
                pr_warn!("ww_mutex: a lock was kept across a transaction backoff\n");
                return Err(EDEADLK);
            }
            let (lock, ctx) = (contended.lock.as_ptr(), tx.ctx.as_ptr());
            let ret = if contended.interruptible {
                // SAFETY: `lock` is an initialised mutex borrowed for `'a` (type invariant of
                // `tx`), `ctx` holds no lock, and `lock` is the one `ctx` last got `EDEADLK` for.
                unsafe { bindings::ww_mutex_lock_slow_interruptible(lock, ctx) }
            } else {
                // SAFETY: As for the interruptible form: `lock` is initialised and borrowed for
                // `'a`, `ctx` holds no lock and last got `EDEADLK` for `lock`.
                unsafe { bindings::ww_mutex_lock_slow(lock, ctx) };
                0
            };
            to_result(ret)?;
            // INVARIANT: The current task now holds `lock` in `ctx`.
            tx.prelocked = Some(contended.lock);
            tx.backoffs = tx.backoffs.saturating_add(1);
        }
    }
}
