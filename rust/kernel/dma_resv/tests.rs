// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of reservation objects: locking in transactions and fences.

use macros::kunit_tests;

#[kunit_tests(rust_dma_resv)]
mod cases {
    use crate::{
        dma_fence::SoftFence,
        dma_resv::{Resv, Unlocked, Usage},
        prelude::*,
        sync::{
            ww_mutex::{AcquireCtx, Class},
            Arc, Completion,
        },
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
