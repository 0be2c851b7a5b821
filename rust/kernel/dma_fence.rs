// SPDX-License-Identifier: GPL-2.0

//! DMA fences.
//!
//! A fence (`struct dma_fence`) signals the completion of a job, usually on a device. It is
//! reference counted ([`ARef<Fence>`]); anyone holding one can test or wait for it, or register a
//! [`CallbackRegistration`] that runs when it signals. Only its creator signals it: a fence made
//! by Rust code is a [`SoftFence`].
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h)

use crate::{
    bindings,
    error::to_result,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    task::MAX_SCHEDULE_TIMEOUT,
    time::Jiffies,
    types::Opaque,
};
use core::{ops::Deref, ptr::NonNull};

#[cfg(CONFIG_SYNC_FILE)]
mod sync_file;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;

/// A DMA fence (`struct dma_fence`).
///
/// # Invariants
///
/// `self.0` is an initialised `struct dma_fence`; a `&Fence` is backed by a reference count held
/// by someone for the borrow's lifetime.
#[repr(transparent)]
pub struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: Fences are designed to be shared between threads and devices: their state changes
// under their own spinlock or with atomic bit operations.
unsafe impl Send for Fence {}

// SAFETY: Every operation on a shared fence is thread safe: its state changes under its own
// spinlock or with atomic bit operations, as for `Send`.
unsafe impl Sync for Fence {}

// SAFETY: `dma_fence_get()` and `dma_fence_put()` manage the fence's reference count, and the
// fence is freed only when that count drops to zero.
unsafe impl AlwaysRefCounted for Fence {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The fence is initialised and its count is non-zero (type invariant).
        unsafe { bindings::dma_fence_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference to a valid fence.
        unsafe { bindings::dma_fence_put(obj.cast().as_ptr()) }
    }
}

impl Fence {
    /// Borrows a fence.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct dma_fence` whose reference count stays above zero
    /// for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_fence) -> &'a Fence {
        // SAFETY: `Fence` is a transparent wrapper of `struct dma_fence`, which the caller
        // guarantees is valid for `'a`.
        unsafe { &*ptr.cast::<Fence>() }
    }

    /// Returns the raw `struct dma_fence`.
    pub fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// Returns the fence's context (timeline).
    pub fn context(&self) -> u64 {
        // SAFETY: The fence is initialised (type invariant) and `context` never changes.
        unsafe { (*self.as_raw()).context }
    }

    /// Returns the fence's sequence number in its context.
    pub fn seqno(&self) -> u64 {
        // SAFETY: The fence is initialised (type invariant) and `seqno` never changes.
        unsafe { (*self.as_raw()).seqno }
    }

    /// Returns whether the fence has signaled (`dma_fence_is_signaled()`).
    ///
    /// This may signal the fence if its driver finds it complete.
    pub fn is_signaled(&self) -> bool {
        // SAFETY: The fence is initialised and referenced (type invariant).
        unsafe { bindings::dma_fence_is_signaled(self.as_raw()) }
    }

    /// Returns the fence's state: `Ok(false)` pending, `Ok(true)` signaled without error, or the
    /// error it signaled with (`dma_fence_get_status()`, which takes the fence's lock).
    pub fn status(&self) -> Result<bool> {
        // SAFETY: The fence is initialised and referenced (type invariant).
        let status = unsafe { bindings::dma_fence_get_status(self.as_raw()) };
        if status < 0 {
            Err(Error::from_errno(status))
        } else {
            Ok(status > 0)
        }
    }

    /// Waits for the fence to signal, for at most `timeout_in_jiffies`.
    ///
    /// Returns the jiffies left.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if the timeout expired first; `ERESTARTSYS` if `interruptible` and a signal
    /// arrived; `EINVAL` if `timeout_in_jiffies` is too large.
    pub fn wait_timeout(
        &self,
        interruptible: bool,
        timeout_in_jiffies: Jiffies,
    ) -> Result<Jiffies> {
        let timeout = c_long::try_from(timeout_in_jiffies).map_err(|_| EINVAL)?;
        // SAFETY: The fence is initialised and referenced (type invariant).
        let ret =
            unsafe { bindings::dma_fence_wait_timeout(self.as_raw(), interruptible, timeout) };
        wait_result(ret)
    }

    /// Waits without limit for the fence to signal.
    ///
    /// # Errors
    ///
    /// `ERESTARTSYS` if `interruptible` and a signal arrived.
    pub fn wait(&self, interruptible: bool) -> Result {
        let max = Jiffies::try_from(MAX_SCHEDULE_TIMEOUT).map_err(|_| EINVAL)?;
        self.wait_timeout(interruptible, max).map(|_| ())
    }

    /// Iterates over the fences inside this one (`dma_fence_unwrap_for_each()`): the members
    /// of a fence array or chain, recursively, or the fence itself if it is neither.
    pub fn unwrapped(&self) -> Unwrapped<'_> {
        Unwrapped {
            cursor: bindings::dma_fence_unwrap::default(),
            head: Some(self),
        }
    }

    /// Calls `f` with each fence inside this one, in the order of [`Fence::unwrapped`], but
    /// borrowed for the call rather than with a reference of its own each, as
    /// `dma_fence_unwrap_for_each()` gives them: the walk holds the chain link it is on, which
    /// keeps the fence alive until the walk moves on, after `f` returns.
    pub fn for_each_unwrapped(&self, mut f: impl FnMut(&Fence)) {
        let mut cursor = bindings::dma_fence_unwrap::default();
        // SAFETY: `self` is referenced for the call and `cursor` is valid for writes.
        let mut fence = unsafe { bindings::dma_fence_unwrap_first(self.as_raw(), &mut cursor) };
        while !fence.is_null() {
            // SAFETY: The walk returned `fence`, which its current chain link (or `self`, for
            // an array or a single fence) references until the walk moves on below.
            f(unsafe { Fence::from_raw(fence) });
            // SAFETY: `cursor` was set up by `dma_fence_unwrap_first()` and the walk has not
            // ended (the last call returned a fence); at its end it drops its chain link.
            fence = unsafe { bindings::dma_fence_unwrap_next(&mut cursor) };
        }
    }

    /// Returns the always-signaled stub fence (`dma_fence_get_stub()`).
    pub fn stub() -> ARef<Fence> {
        // SAFETY: `dma_fence_get_stub()` returns the initialised stub fence with a new reference,
        // which the `ARef` takes over.
        unsafe {
            ARef::from_raw(NonNull::from(Fence::from_raw(
                bindings::dma_fence_get_stub(),
            )))
        }
    }
}

/// An iterator over the fences inside a fence container, see [`Fence::unwrapped`].
///
/// Each fence comes with its own reference: walking a chain may drop links whose fences have
/// signaled, so a fence returned earlier is not otherwise kept alive by the container.
pub struct Unwrapped<'a> {
    cursor: bindings::dma_fence_unwrap,
    /// The container, until the walk has started.
    head: Option<&'a Fence>,
}

impl Iterator for Unwrapped<'_> {
    type Item = ARef<Fence>;

    fn next(&mut self) -> Option<ARef<Fence>> {
        let fence = match self.head.take() {
            // SAFETY: `head` is referenced for `'a` and `cursor` is valid for writes.
            Some(head) => unsafe {
                bindings::dma_fence_unwrap_first(head.as_raw(), &mut self.cursor)
            },
            // SAFETY: `cursor` was set up by `dma_fence_unwrap_first()` and the walk has not
            // ended; `dma_fence_unwrap_next()` keeps returning NULL once it has.
            None if !self.cursor.chain.is_null() => unsafe {
                bindings::dma_fence_unwrap_next(&mut self.cursor)
            },
            None => core::ptr::null_mut(),
        };
        // SAFETY: The returned fence is referenced by the cursor's current chain link for now;
        // `ARef::from` takes a reference of its own.
        NonNull::new(fence).map(|f| ARef::from(unsafe { Fence::from_raw(f.as_ptr()) }))
    }
}

impl Drop for Unwrapped<'_> {
    fn drop(&mut self) {
        // The cursor holds a reference to the chain link it is on, dropped at the end of the
        // walk: finish it.
        if self.head.is_none() {
            for _ in self.by_ref() {}
        }
    }
}

/// Turns the return value of the C fence waits (jiffies left, 0 on timeout, or an errno) into a
/// `Result`.
pub(crate) fn wait_result(ret: c_long) -> Result<Jiffies> {
    match ret {
        0 => Err(ETIMEDOUT),
        ret if ret < 0 => Err(i32::try_from(ret).map_or(EINVAL, Error::from_errno)),
        ret => Jiffies::try_from(ret).map_err(|_| EINVAL),
    }
}

/// Work to run when a fence signals.
///
/// `signaled` runs once, in the context that signals the fence: with the fence's spinlock held
/// and interrupts disabled. It must not sleep, nor call what takes the fence's lock (such as
/// [`Fence::status`] or [`SoftFence::signal`] of the same fence); [`Fence::is_signaled`] is
/// fine.
pub trait Callback: Send + Sync {
    /// Called when `fence` signals.
    fn signaled(&self, fence: &Fence);
}

/// A [`Callback`] registered on a fence (`dma_fence_add_callback()`).
///
/// Dropping the registration removes the callback (`dma_fence_remove_callback()`); after that,
/// the callback has either run to completion or will never run. Both take the fence's lock, so a
/// fence signaling concurrently cannot run a callback that is being freed.
///
/// # Invariants
///
/// `cb` was added to `fence` with [`Self::run`], which reaches `data` through `container_of`.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::dma_fence::{Callback, CallbackRegistration, Fence, SoftFence};
///
/// struct Count(AtomicU32);
///
/// impl Callback for Count {
///     fn signaled(&self, _fence: &Fence) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let fence = SoftFence::new()?;
/// let reg = KBox::pin_init(
///     CallbackRegistration::new(fence.get(), Count(AtomicU32::new(0))),
///     GFP_KERNEL,
/// )?;
/// fence.signal();
/// assert_eq!(reg.data().0.load(Ordering::Relaxed), 1);
///
/// // A signaled fence takes no callback.
/// let late = KBox::pin_init(
///     CallbackRegistration::new(fence.get(), Count(AtomicU32::new(0))),
///     GFP_KERNEL,
/// );
/// assert_eq!(late.err(), Some(ENOENT));
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct CallbackRegistration<T: Callback> {
    fence: ARef<Fence>,
    data: T,
    #[pin]
    cb: Opaque<bindings::dma_fence_cb>,
}

// SAFETY: The registration only shares `data` (which is `Send + Sync`) with the signaling
// context, and the fence is thread safe.
unsafe impl<T: Callback> Send for CallbackRegistration<T> {}

// SAFETY: A shared registration gives access to `data` only, which is `Sync`, and to the fence,
// which is thread safe.
unsafe impl<T: Callback> Sync for CallbackRegistration<T> {}

impl<T: Callback> CallbackRegistration<T> {
    /// Creates an initialiser that registers `data` to run when `fence` signals.
    ///
    /// # Errors
    ///
    /// `ENOENT` if the fence has already signaled: the callback is not registered and will never
    /// run.
    pub fn new(fence: ARef<Fence>, data: T) -> impl PinInit<Self, Error> {
        let raw = fence.as_raw();
        try_pin_init!(Self {
            fence,
            data,
            // SAFETY: `raw` is a valid fence, referenced by `fence` for as long as the
            // registration lives, and `slot` is the `cb` field of a registration whose other
            // fields are initialised, as `run` expects. It is removed in `drop` at the latest.
            cb <- Opaque::try_ffi_init(|slot| to_result(unsafe {
                bindings::dma_fence_add_callback(raw, slot, Some(Self::run))
            })),
        }? Error)
    }

    /// Returns the registered data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// Returns the fence.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// # Safety
    ///
    /// `cb` is the `cb` field of a live `CallbackRegistration<T>` and `fence` its fence.
    unsafe extern "C" fn run(fence: *mut bindings::dma_fence, cb: *mut bindings::dma_fence_cb) {
        let cb = cb.cast::<Opaque<bindings::dma_fence_cb>>();
        // SAFETY: The caller guarantees `cb` is the `cb` field of a live registration.
        let this = unsafe { &*crate::container_of!(cb, Self, cb) };
        // SAFETY: The signaling code passes the fence it signals, which is referenced by `this`.
        this.data.signaled(unsafe { Fence::from_raw(fence) });
    }
}

#[pinned_drop]
impl<T: Callback> PinnedDrop for CallbackRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `cb` was added to `fence` (type invariant). Removing it takes the fence's lock,
        // so once this returns the callback is not running and never will.
        unsafe { bindings::dma_fence_remove_callback(self.fence.as_raw(), self.cb.get()) };
    }
}

/// Operations of the fences made by [`SoftFence`].
static SOFT_FENCE_OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
    get_driver_name: Some(soft_fence_driver_name),
    get_timeline_name: Some(soft_fence_timeline_name),
    // SAFETY: The other operations are optional; null means the core's default (a fence freed
    // with `kfree_rcu()` on its last reference, as `SoftFence` allocates it with `kmalloc`).
    ..unsafe { core::mem::zeroed() }
};

extern "C" fn soft_fence_driver_name(_fence: *mut bindings::dma_fence) -> *const c_char {
    c"rust".as_char_ptr()
}

extern "C" fn soft_fence_timeline_name(_fence: *mut bindings::dma_fence) -> *const c_char {
    c"soft".as_char_ptr()
}

/// A fence made and signaled by Rust code.
///
/// The owner of a `SoftFence` signals it; anyone else gets a reference with [`SoftFence::get`]
/// and can wait for it. A `SoftFence` dropped without signaling signals with `ECANCELED`, so
/// nobody waits forever.
///
/// # Invariants
///
/// `fence` was initialised with [`SOFT_FENCE_OPS`]; only this object signals it.
///
/// # Examples
///
/// ```
/// use kernel::dma_fence::SoftFence;
///
/// let fence = SoftFence::new()?;
/// let shared = fence.get();
/// assert_eq!(shared.status(), Ok(false));
/// assert_eq!(shared.wait_timeout(false, 1), Err(ETIMEDOUT));
/// fence.signal();
/// assert_eq!(shared.status(), Ok(true));
/// shared.wait(false)?;
///
/// let cancelled = SoftFence::new()?.get();
/// assert_eq!(cancelled.status(), Err(ECANCELED));
/// # Ok::<(), Error>(())
/// ```
pub struct SoftFence {
    fence: ARef<Fence>,
}

impl SoftFence {
    /// Creates an unsignaled fence on a new context.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the fence cannot be allocated.
    pub fn new() -> Result<Self> {
        let slot = KBox::new(Opaque::<bindings::dma_fence>::uninit(), GFP_KERNEL)?;
        let raw = KBox::into_raw(slot).cast::<bindings::dma_fence>();
        // SAFETY: `raw` is a `kmalloc` allocation the size of a fence, starting with it, so the
        // default release (`kfree_rcu()`) frees it; a null lock selects the fence's inline lock.
        unsafe {
            bindings::dma_fence_init(
                raw,
                &SOFT_FENCE_OPS,
                core::ptr::null_mut(),
                bindings::dma_fence_context_alloc(1),
                1,
            )
        };
        // SAFETY: `dma_fence_init()` set the reference count to one, which the `ARef` takes over.
        let fence = unsafe { ARef::from_raw(NonNull::from(Fence::from_raw(raw))) };
        // INVARIANT: The fence was just initialised with `SOFT_FENCE_OPS`.
        Ok(Self { fence })
    }

    /// Returns a new reference to the fence.
    pub fn get(&self) -> ARef<Fence> {
        self.fence.clone()
    }

    /// Signals the fence, running its callbacks; does nothing if it already signaled.
    pub fn signal(&self) {
        // SAFETY: The fence is valid and referenced.
        unsafe { bindings::dma_fence_signal(self.fence.as_raw()) };
    }

    /// Signals the fence with `error`; does nothing if it already signaled.
    pub fn signal_error(&self, error: Error) {
        let raw = self.fence.as_raw();
        // SAFETY: The fence is valid and referenced. Its lock keeps it from signaling between
        // the check and the signal, and `error` is a negative errno as `dma_fence_set_error()`
        // requires.
        unsafe {
            let flags = bindings::dma_fence_lock_irqsave(raw);
            if !bindings::dma_fence_test_signaled_flag(raw) {
                bindings::dma_fence_set_error(raw, error.to_errno());
                bindings::dma_fence_signal_locked(raw);
            }
            bindings::dma_fence_unlock_irqrestore(raw, flags);
        }
    }
}

impl Deref for SoftFence {
    type Target = Fence;

    fn deref(&self) -> &Fence {
        &self.fence
    }
}

impl Drop for SoftFence {
    fn drop(&mut self) {
        self.signal_error(ECANCELED);
    }
}
