// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of wound/wait mutexes and lock transactions.

use macros::kunit_tests;

#[kunit_tests(rust_ww_mutex)]
mod cases {
    use crate::{
        prelude::*,
        sync::{
            ww_mutex::{AcquireCtx, Class, Mutex},
            Arc, Completion,
        },
        workqueue,
    };

    static CLASS: Class = Class::new_wound_wait(c"rust_ww_test_acquire", c"rust_ww_test_mutex");
    static OTHER: Class = Class::new_wait_die(c"rust_ww_other_acquire", c"rust_ww_other_mutex");

    fn mutexes(n: u32, class: &'static Class) -> Result<KVec<Pin<KBox<Mutex<u32>>>>> {
        let mut v = KVec::new();
        for i in 0..n {
            v.push(
                KBox::pin_init(Mutex::new(i, class), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(v)
    }

    #[test]
    fn lock_all_takes_every_lock() -> Result {
        let ms = mutexes(8, &CLASS)?;
        let mut locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| {
            let mut guards = KVec::new();
            for m in &ms {
                guards.push(tx.lock(&**m)?, GFP_KERNEL)?;
            }
            Ok(guards)
        })?;
        assert_eq!(locked.ctx().acquired(), 8);
        assert!(ms.iter().all(|m| m.is_locked()));
        for g in locked.iter_mut() {
            **g += 100;
        }
        let ctx = locked.unlock();
        assert_eq!(ctx.acquired(), 0);
        ctx.fini();
        assert!(ms.iter().all(|m| !m.is_locked()));
        for (i, m) in (0u32..).zip(ms.iter()) {
            assert_eq!(*m.lock(), i + 100);
        }
        Ok(())
    }

    #[cfg(CONFIG_DEBUG_WW_MUTEX_SLOWPATH)]
    #[test]
    fn forced_deadlock_on_every_attempt_still_locks_all() -> Result {
        const FORCED: u32 = 8;
        let ms = mutexes(8, &CLASS)?;
        let mut attempts = 0u32;
        let locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| {
            attempts += 1;
            // Every attempt up to `FORCED` gets `EDEADLK` at its first lock taken while
            // another is held, from the C slow-path debugging code.
            if attempts <= FORCED {
                tx.inject_deadlock();
            } else {
                tx.disable_deadlock_injection();
            }
            let mut guards = KVec::new();
            for m in &ms {
                guards.push(tx.lock(&**m)?, GFP_KERNEL)?;
            }
            Ok(guards)
        })?;
        pr_info!("forced backoffs: {}\n", locked.backoffs());
        assert_eq!(locked.backoffs(), FORCED);
        assert_eq!(attempts, FORCED + 1);
        assert_eq!(locked.len(), ms.len());
        assert!(ms.iter().all(|m| m.is_locked()));
        drop(locked);
        assert!(ms.iter().all(|m| !m.is_locked()));
        Ok(())
    }

    #[test]
    fn same_object_twice_is_ealready() -> Result {
        let ms = mutexes(2, &CLASS)?;
        let (a, b) = (&*ms[0], &*ms[1]);

        let twice =
            AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(a)?, tx.lock(b)?, tx.lock(a)?)));
        assert_eq!(twice.err(), Some(EALREADY));
        assert!(!a.is_locked() && !b.is_locked());

        // A caller that expects duplicates skips them and keeps the rest.
        let list = [a, b, a, b];
        let locked = AcquireCtx::new(&CLASS)?.lock_all(|tx| {
            let mut guards = KVec::new();
            for m in list {
                match tx.lock(m) {
                    Ok(g) => guards.push(g, GFP_KERNEL)?,
                    Err(e) if e == EALREADY => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(guards)
        })?;
        assert_eq!(locked.len(), 2);
        assert!(a.is_locked() && b.is_locked());
        Ok(())
    }

    #[test]
    fn other_class_is_rejected() -> Result {
        let mine = mutexes(1, &CLASS)?;
        let other = mutexes(1, &OTHER)?;
        let res =
            AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(&*mine[0])?, tx.lock(&*other[0])?)));
        assert_eq!(res.err(), Some(EINVAL));
        assert!(!mine[0].is_locked() && !other[0].is_locked());
        Ok(())
    }

    #[pin_data]
    struct Held {
        #[pin]
        m: Mutex<u32>,
        #[pin]
        held: Completion,
        #[pin]
        release: Completion,
        #[pin]
        done: Completion,
    }

    /// Spawns a worker that holds `shared.m` until `shared.release` completes.
    ///
    /// Contention must come from another task: a task that holds a mutex of a class and then
    /// starts an acquire context of that class inverts the class's lock order, which lockdep
    /// reports.
    fn hold_in_worker() -> Result<Arc<Held>> {
        let shared = Arc::pin_init(
            pin_init!(Held {
                m <- Mutex::new(0, &CLASS),
                held <- Completion::new(),
                release <- Completion::new(),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let worker = shared.clone();
        workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            let guard = worker.m.lock();
            worker.held.complete_all();
            worker.release.wait_for_completion();
            drop(guard);
            worker.done.complete_all();
        })?;
        shared.held.wait_for_completion();
        Ok(shared)
    }

    fn release_worker(shared: &Held) {
        shared.release.complete_all();
        shared.done.wait_for_completion();
    }

    #[test]
    fn try_lock_contention() -> Result {
        let shared = hold_in_worker()?;
        let ms = mutexes(1, &CLASS)?;
        let (held, free) = (&shared.m, &*ms[0]);

        assert!(held.try_lock().is_none());
        let res = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(free)?, tx.try_lock(held)?)));
        assert_eq!(res.err(), Some(EBUSY));
        assert!(!free.is_locked());

        // A lock the transaction holds is busy for its own `try_lock` too.
        let res = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(free)?, tx.try_lock(free)?)));
        assert_eq!(res.err(), Some(EBUSY));

        release_worker(&shared);
        let locked =
            AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.try_lock(free)?, tx.try_lock(held)?)))?;
        assert!(held.is_locked() && free.is_locked());
        drop(locked);
        assert!(held.try_lock().is_some());
        Ok(())
    }

    #[test]
    fn interruptible_lock_with_pending_signal() -> Result {
        let shared = hold_in_worker()?;

        let current = crate::task::Task::current_raw();
        // SAFETY: `current` is the running task.
        unsafe { crate::bindings::set_notify_signal(current) };
        let plain = shared.m.lock_interruptible().err();
        let in_ctx = AcquireCtx::new(&CLASS)?
            .lock_all(|tx| tx.lock_interruptible(&shared.m))
            .err();
        // SAFETY: Clears the flag set above on the running task.
        unsafe { crate::bindings::clear_notify_signal() };

        release_worker(&shared);
        assert_eq!(plain, Some(EINTR));
        assert_eq!(in_ctx, Some(EINTR));
        // Without a signal the lock is taken once free.
        assert_eq!(*shared.m.lock_interruptible()?, 0);
        Ok(())
    }
}
