// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of reservation objects: locking in transactions and fences.

use macros::kunit_tests;

#[kunit_tests(rust_dma_resv)]
mod cases {
    use crate::{
        bindings,
        dma_fence::SoftFence,
        dma_resv::{Resv, Unlocked, Usage, MUTEX_FLAGS},
        prelude::*,
        sync::{
            atomic::{Atomic, Relaxed},
            ww_mutex::{AcquireCtx, Class},
            Arc, Completion,
        },
        task::Task,
        time::{delay::fsleep, Delta},
        workqueue,
    };
    use core::sync::atomic::{AtomicU32, Ordering};

    const ROUNDS: u32 = 200;

    #[pin_data]
    struct Pair {
        #[pin]
        a: Resv,
        #[pin]
        b: Resv,
        backoffs: AtomicU32,
        rounds: AtomicU32,
        #[pin]
        done: Completion,
    }

    /// Locks `first` then `second` in one transaction, `ROUNDS` times; returns the backoffs.
    fn lock_pair(first: &Resv, second: &Resv, rounds: &AtomicU32) -> Result<u32> {
        // Called from a test or a work item, with no reservation lock held.
        let mut unlocked = Unlocked::new();
        let mut backoffs = 0u32;
        for _ in 0..ROUNDS {
            let locked =
                AcquireCtx::new(Class::reservation())?.lock_all_resv(&mut unlocked, |tx| {
                    // Count only backoffs from real contention, not from the injected ones.
                    #[cfg(CONFIG_DEBUG_WW_MUTEX_SLOWPATH)]
                    tx.disable_deadlock_injection();
                    let g1 = tx.lock(first)?;
                    // Give the other thread time to take its first lock.
                    fsleep(Delta::from_micros(50));
                    let g2 = tx.lock(second)?;
                    Ok((g1, g2))
                })?;
            assert!(first.is_locked() && second.is_locked());
            backoffs += locked.backoffs();
            drop(locked);
            rounds.fetch_add(1, Ordering::Relaxed);
        }
        Ok(backoffs)
    }

    #[test]
    fn opposite_order_threads_back_off_and_finish() -> Result {
        let pair = Arc::pin_init(
            pin_init!(Pair {
                a <- Resv::new(),
                b <- Resv::new(),
                backoffs: AtomicU32::new(0),
                rounds: AtomicU32::new(0),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let worker = pair.clone();
        workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            if let Ok(n) = lock_pair(&worker.b, &worker.a, &worker.rounds) {
                worker.backoffs.fetch_add(n, Ordering::Relaxed);
            }
            worker.done.complete_all();
        })?;
        let mine = lock_pair(&pair.a, &pair.b, &pair.rounds);
        pair.done.wait_for_completion();
        let total = mine? + pair.backoffs.load(Ordering::Relaxed);
        pr_info!(
            "opposite-order backoffs: {} in {} rounds\n",
            total,
            2 * ROUNDS
        );
        assert_eq!(pair.rounds.load(Ordering::Relaxed), 2 * ROUNDS);
        assert!(total > 0);
        assert!(!pair.a.is_locked() && !pair.b.is_locked());
        Ok(())
    }

    #[test]
    fn lock_try_lock_and_assert_held() -> Result {
        let mut unlocked = Unlocked::new();
        let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
        let other = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
        let mut guard = resv.lock(&mut unlocked);
        assert!(resv.is_locked());
        resv.assert_held();
        assert!(resv.held_by_current());
        // A trylock under the lock: of the held object it fails, of a free one it succeeds,
        // and its guard releases only that one.
        assert!(guard.try_lock_nested(&resv).is_none());
        let nested = guard.try_lock_nested(&other);
        assert!(nested.is_some() && other.is_locked());
        drop(nested);
        assert!(!other.is_locked() && resv.is_locked());
        assert!(guard.is_of(&resv) && !guard.is_of(&other));
        drop(guard);
        assert!(!resv.is_locked());
        let guard = resv.try_lock(&mut unlocked);
        assert!(guard.is_some());
        drop(guard);
        let guard = resv.lock_interruptible(&mut unlocked)?;
        drop(guard);
        assert!(!resv.is_locked());
        Ok(())
    }

    /// Whether the current task owns the lock of `resv`, as the locking code tells it.
    fn owner_is_current(resv: &Resv) -> bool {
        // SAFETY: `resv` is initialised, so is its mutex; the call only reads its owner word.
        let owner = unsafe { bindings::mutex_get_owner(&raw mut (*resv.as_raw()).lock.base) };
        owner == Task::current_raw().addr()
    }

    /// The flag bits of the owner word of the lock of `resv`.
    fn owner_flags(resv: &Resv) -> usize {
        // SAFETY: `resv` is initialised, so is its mutex, whose owner word is accessed
        // atomically only.
        let word = unsafe { Atomic::from_ptr(&raw mut (*resv.as_raw()).lock.base.owner.counter) };
        // CAST: The owner word is a pointer with flags in its low bits.
        word.load(Relaxed) as usize & MUTEX_FLAGS
    }

    #[pin_data]
    struct Contended {
        #[pin]
        resv: Resv,
        #[pin]
        started: Completion,
        /// What the waiter saw: 1 not held before its lock, 2 held once it had it (both
        /// answers agreeing with `mutex_get_owner()`), 4 not held after its unlock.
        waiter_saw: AtomicU32,
        #[pin]
        done: Completion,
    }

    /// `held_by_current()` reads the mutex's owner word inline, flags masked: it must give
    /// what the locking code's `mutex_get_owner()` gives, unlocked, locked, locked with a
    /// waiter (whose flag is then in the owner word) and for the waiter once it has the lock.
    #[test]
    fn held_by_current_agrees_with_the_locking_code() -> Result {
        let mut unlocked = Unlocked::new();
        let c = Arc::pin_init(
            pin_init!(Contended {
                resv <- Resv::new(),
                started <- Completion::new(),
                waiter_saw: AtomicU32::new(0),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        assert!(!c.resv.held_by_current() && !owner_is_current(&c.resv));
        let guard = c.resv.lock(&mut unlocked);
        assert!(c.resv.held_by_current() && owner_is_current(&c.resv));
        let waiter = c.clone();
        workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            // A work item holds no reservation lock.
            let mut unlocked = Unlocked::new();
            let mut saw = 0;
            if !waiter.resv.held_by_current() && !owner_is_current(&waiter.resv) {
                saw |= 1;
            }
            waiter.started.complete_all();
            let guard = waiter.resv.lock(&mut unlocked);
            if waiter.resv.held_by_current() && owner_is_current(&waiter.resv) {
                saw |= 2;
            }
            drop(guard);
            if !waiter.resv.held_by_current() && !owner_is_current(&waiter.resv) {
                saw |= 4;
            }
            waiter.waiter_saw.store(saw, Ordering::Relaxed);
            waiter.done.complete_all();
        })?;
        c.started.wait_for_completion();
        // The waiter sets its flag once it queues on the lock: give it up to a second.
        let mut flags = 0;
        for _ in 0..1000 {
            flags = owner_flags(&c.resv);
            if flags != 0 {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        let held = c.resv.held_by_current() && owner_is_current(&c.resv);
        drop(guard);
        c.done.wait_for_completion();
        assert_ne!(flags, 0);
        assert!(held);
        assert_eq!(c.waiter_saw.load(Ordering::Relaxed), 7);
        assert!(!c.resv.held_by_current() && !c.resv.is_locked());
        Ok(())
    }

    #[pin_data]
    struct Holder {
        #[pin]
        resv: Resv,
        #[pin]
        locked: Completion,
        #[pin]
        release: Completion,
    }

    /// A Rust callback that C calls with the contract "the caller holds the lock" never runs
    /// unlocked: under the current task's lock; else under a trylock; else, held by another
    /// task, refused, or, for a callback that must run, once the lock is free.
    #[test]
    fn a_callback_without_its_lock_never_runs_unlocked() -> Result {
        let mut unlocked = Unlocked::new();
        let h = Arc::pin_init(
            pin_init!(Holder {
                resv <- Resv::new(),
                locked <- Completion::new(),
                release <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let under_lock =
            |held: &crate::dma_resv::ResvGuard<'_>| held.is_of(&h.resv) && h.resv.held_by_current();
        {
            let _guard = h.resv.lock(&mut unlocked);
            assert_eq!(
                h.resv.with_callers_lock("test", false, under_lock),
                Some(true)
            );
            assert!(h.resv.held_by_current());
        }
        // Free: taken for the call, and released after it.
        assert_eq!(
            h.resv.with_callers_lock("test", false, under_lock),
            Some(true)
        );
        assert!(!h.resv.is_locked());
        // Held by another task.
        let holder = h.clone();
        workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            let mut unlocked = Unlocked::new();
            let guard = holder.resv.lock(&mut unlocked);
            holder.locked.complete_all();
            holder.release.wait_for_completion();
            // Let the waiter below queue on the lock first.
            fsleep(Delta::from_millis(20));
            drop(guard);
        })?;
        h.locked.wait_for_completion();
        let mut ran = false;
        let refused = h.resv.with_callers_lock("test", false, |_| ran = true);
        assert!(refused.is_none() && !ran);
        h.release.complete_all();
        assert_eq!(
            h.resv.with_callers_lock("test", true, under_lock),
            Some(true)
        );
        assert!(!h.resv.is_locked());
        Ok(())
    }

    /// A capability made where the lock is held (the hole the types leave, named in the docs)
    /// is caught at run time: the lock is refused rather than taken twice.
    #[test]
    fn lock_under_a_forged_capability_is_refused() -> Result {
        let mut unlocked = Unlocked::new();
        let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
        let guard = resv.lock(&mut unlocked);
        let mut forged = Unlocked::new();
        assert!(matches!(resv.lock_interruptible(&mut forged), Err(e) if e == EDEADLK));
        assert!(resv.is_locked());
        drop(guard);
        assert!(!resv.is_locked());
        Ok(())
    }

    #[test]
    fn fences_add_iterate_and_signal() -> Result {
        let mut unlocked = Unlocked::new();
        let resv = KBox::pin_init(Resv::new(), GFP_KERNEL)?;
        let write = SoftFence::new()?;
        let read = SoftFence::new()?;
        let book = SoftFence::new()?;
        {
            let mut guard = resv.lock(&mut unlocked);
            guard.add_fence(&write, Usage::Write)?;
            guard.add_fence(&read, Usage::Read)?;
            guard.add_fence(&book, Usage::Bookkeep)?;
            // A later fence of the same context replaces the earlier one.
            guard.add_fence(&read, Usage::Read)?;

            assert_eq!(guard.fences(Usage::Kernel).count(), 0);
            assert_eq!(guard.fences(Usage::Write).count(), 1);
            assert_eq!(guard.fences(Usage::Read).count(), 2);
            assert_eq!(guard.fences(Usage::Bookkeep).count(), 3);
            for (fence, usage) in guard.fences(Usage::Bookkeep) {
                let expected = if fence.context() == write.context() {
                    Usage::Write
                } else if fence.context() == read.context() {
                    Usage::Read
                } else {
                    Usage::Bookkeep
                };
                assert_eq!(usage, expected);
            }
        }

        assert!(!resv.test_signaled(Usage::Write));
        assert_eq!(resv.wait_timeout(Usage::Write, false, 1), Err(ETIMEDOUT));
        write.signal();
        assert!(resv.test_signaled(Usage::Write));
        assert!(!resv.test_signaled(Usage::Read));
        read.signal();
        assert!(resv.test_signaled(Usage::Read));
        assert!(resv.wait_timeout(Usage::Read, true, 100)? > 0);
        assert!(!resv.test_signaled(Usage::Bookkeep));
        drop(book);
        assert!(resv.test_signaled(Usage::Bookkeep));
        resv.wait(Usage::Bookkeep, false)?;
        Ok(())
    }

    #[test]
    fn usage_for_access() {
        assert_eq!(Usage::for_access(true), Usage::Read);
        assert_eq!(Usage::for_access(false), Usage::Write);
        assert!(Usage::Kernel < Usage::Write && Usage::Read < Usage::Bookkeep);
    }
}
