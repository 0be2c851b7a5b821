// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of DMA fences and their callbacks.

use macros::kunit_tests;

#[kunit_tests(rust_dma_fence)]
mod cases {
    use crate::{
        dma_fence::{Callback, CallbackRegistration, Fence, SoftFence},
        prelude::*,
        sync::{Arc, Completion},
        workqueue,
    };
    use core::sync::atomic::{AtomicU32, Ordering};

    struct Count(AtomicU32);

    impl Callback for Count {
        fn signaled(&self, fence: &Fence) {
            // The fence is marked signaled before its callbacks run.
            if fence.is_signaled() {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn count() -> Count {
        Count(AtomicU32::new(0))
    }

    struct SharedCount(Arc<AtomicU32>);

    impl Callback for SharedCount {
        fn signaled(&self, _fence: &Fence) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn refcount_status_and_wait() -> Result {
        let fence = SoftFence::new()?;
        let a = fence.get();
        let b = a.clone();
        assert_eq!(a.context(), b.context());
        assert_eq!(a.seqno(), 1);
        assert!(!b.is_signaled());
        assert_eq!(b.wait_timeout(true, 1), Err(ETIMEDOUT));
        fence.signal();
        fence.signal();
        assert!(a.is_signaled());
        assert_eq!(b.status(), Ok(true));
        assert!(b.wait_timeout(false, 10)? > 0);
        drop(fence);
        // Dropping a signaled fence does not change its status.
        assert_eq!(a.status(), Ok(true));

        let other = SoftFence::new()?;
        assert_ne!(other.context(), a.context());
        other.signal_error(EIO);
        assert_eq!(other.status(), Err(EIO));

        assert!(Fence::stub().is_signaled());
        Ok(())
    }

    #[test]
    fn callback_runs_once_and_not_after_removal() -> Result {
        let fence = SoftFence::new()?;
        let reg = KBox::pin_init(CallbackRegistration::new(fence.get(), count()), GFP_KERNEL)?;
        let removed_count = Arc::new(AtomicU32::new(0), GFP_KERNEL)?;
        let removed = KBox::pin_init(
            CallbackRegistration::new(fence.get(), SharedCount(removed_count.clone())),
            GFP_KERNEL,
        )?;
        assert_eq!(reg.data().0.load(Ordering::Relaxed), 0);
        drop(removed);
        fence.signal();
        fence.signal();
        assert_eq!(reg.data().0.load(Ordering::Relaxed), 1);
        assert_eq!(removed_count.load(Ordering::Relaxed), 0);
        assert!(core::ptr::eq(reg.fence(), &*fence));

        let late = KBox::pin_init(CallbackRegistration::new(fence.get(), count()), GFP_KERNEL);
        assert_eq!(late.err(), Some(ENOENT));
        Ok(())
    }

    #[pin_data]
    struct Round {
        fence: SoftFence,
        #[pin]
        done: Completion,
    }

    #[test]
    fn callback_against_concurrent_signal_runs_exactly_once() -> Result {
        const ROUNDS: u32 = 200;
        let (mut installed, mut too_late) = (0u32, 0u32);
        for _ in 0..ROUNDS {
            let round = Arc::pin_init(
                try_pin_init!(Round {
                    fence: SoftFence::new()?,
                    done <- Completion::new(),
                }? Error),
                GFP_KERNEL,
            )?;
            let signaller = round.clone();
            workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
                signaller.fence.signal();
                signaller.done.complete_all();
            })?;
            let reg = KBox::pin_init(
                CallbackRegistration::new(round.fence.get(), count()),
                GFP_KERNEL,
            );
            round.done.wait_for_completion();
            round.fence.wait(false)?;
            match reg {
                Ok(reg) => {
                    assert_eq!(reg.data().0.load(Ordering::Relaxed), 1);
                    installed += 1;
                }
                Err(e) => {
                    assert_eq!(e, ENOENT);
                    too_late += 1;
                }
            }
        }
        pr_info!(
            "callbacks installed before the signal: {}, after: {}\n",
            installed,
            too_late
        );
        assert_eq!(installed + too_late, ROUNDS);
        Ok(())
    }
}
