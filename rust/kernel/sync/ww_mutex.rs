// SPDX-License-Identifier: GPL-2.0

//! Wound/wait mutexes.
//!
//! A wound/wait mutex ([`Mutex`]) is a sleeping lock that can be taken together with other locks
//! of the same [`Class`] in any order without deadlocking. The locks of one such set are taken
//! inside an acquire context ([`AcquireCtx`]). When two contexts contend in a way that could
//! deadlock, the kernel tells the younger one to back off with `-EDEADLK`: it must release every
//! lock it holds, sleep on the contended lock, then take the rest again.
//!
//! In Rust that dance is done by [`AcquireCtx::lock_all`]: the caller writes down *which* locks
//! to take in a closure, and the transaction runs that closure again after each backoff. The
//! guards of an attempt that must back off are dropped (and so unlocked) by `?`, the contended
//! lock is taken with the slow path before the closure runs again, and the closure gets it back
//! when it asks for it. Locks taken outside the transaction cannot be handed to it, because the
//! acquire context can only lock inside [`AcquireCtx::lock_all`].
//!
//! The type of a context tells its phase: [`Acquiring`] before the locks are taken, [`Done`]
//! after `ww_acquire_done()`, when no further lock may be taken with it. A context is finished
//! (`ww_acquire_fini()`) when it is dropped.
//!
//! Any object that embeds a `struct ww_mutex` can take part in a transaction by implementing
//! [`Lockable`]; [`Mutex`] is the one for data owned by Rust, and
//! [`dma_resv::Resv`](crate::dma_resv::Resv) the one for reservation objects, which are locked
//! in transactions of their own ([`AcquireCtx::lock_all_resv`], see [`LockKind`]).
//!
//! C header: [`include/linux/ww_mutex.h`](srctree/include/linux/ww_mutex.h)

use crate::{
    bindings,
    error::to_result,
    prelude::*,
    str::{as_char_ptr_in_const_context, CStr},
    types::{NotThreadSafe, Opaque},
};
use core::{
    cell::UnsafeCell,
    marker::PhantomPinned,
    ops::{Deref, DerefMut},
};

mod acquire_ctx;
mod transaction;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

pub use acquire_ctx::{AcquireCtx, Acquiring, Done, Locked, State};
pub use transaction::Transaction;

mod kind {
    pub trait Sealed {}
}

/// What a transaction may lock: [`Plain`] or [`Reservation`] objects; sealed.
///
/// Reservation objects are kept apart because the dma-buf locking convention forbids, while one
/// is held, operations that take a reservation lock themselves. Their transactions borrow the
/// task's [`Unlocked`] capability for as long as their guards live
/// ([`AcquireCtx::lock_all_resv`]), which plain transactions do not.
///
/// [`Unlocked`]: crate::dma_resv::Unlocked
pub trait LockKind: kind::Sealed {}

/// Objects locked by a plain transaction ([`AcquireCtx::lock_all`]), such as [`Mutex`].
pub struct Plain;

/// Reservation objects and what locks one (attachments), locked by
/// [`AcquireCtx::lock_all_resv`].
pub struct Reservation;

impl kind::Sealed for Plain {}
impl LockKind for Plain {}
impl kind::Sealed for Reservation {}
impl LockKind for Reservation {}

/// A class of wound/wait mutexes.
///
/// Mutexes that may be locked together in one acquire context must belong to the same class; a
/// context can only lock mutexes of the class it was created with. A class has two lockdep
/// classes, one for its acquire contexts and one for its mutexes, and a counter that orders the
/// contexts by age.
///
/// # Invariants
///
/// `self.0` is a valid `struct ww_class`, initialised as `DEFINE_WW_CLASS` or `DEFINE_WD_CLASS`
/// would, that lives for `'static` whenever a `&'static Class` is handed out.
///
/// # Examples
///
/// ```
/// use kernel::sync::ww_mutex::Class;
///
/// static MY_CLASS: Class = Class::new_wound_wait(c"my_class_acquire", c"my_class_mutex");
/// ```
#[repr(transparent)]
pub struct Class(Opaque<bindings::ww_class>);

// SAFETY: A `struct ww_class` is only modified by atomic operations (its stamp counter) and by
// lockdep, which does its own locking, so it can be shared between threads.
unsafe impl Sync for Class {}

// SAFETY: A `Class` has no thread affinity.
unsafe impl Send for Class {}

impl Class {
    const fn new(
        acquire_name: &'static CStr,
        mutex_name: &'static CStr,
        is_wait_die: bool,
    ) -> Self {
        // INVARIANT: The fields are set as `__WW_CLASS_INITIALIZER` sets them; the lockdep keys
        // are zeroed, which is their valid state in static storage.
        Self(Opaque::new(bindings::ww_class {
            acquire_name: as_char_ptr_in_const_context(acquire_name),
            mutex_name: as_char_ptr_in_const_context(mutex_name),
            is_wait_die: if is_wait_die { 1 } else { 0 },
            // SAFETY: All the remaining fields (the stamp counter and the lockdep keys) are
            // plain integers and pointers for which zero is the initial value.
            ..unsafe { core::mem::zeroed() }
        }))
    }

    /// Creates a wound-wait class (as `DEFINE_WW_CLASS` does).
    ///
    /// When an older context contends with a younger one, the younger one is wounded: it backs
    /// off at its next lock attempt. Use it where contention is common.
    ///
    /// The class must be stored in a `static`: lockdep keys live in static memory.
    pub const fn new_wound_wait(acquire_name: &'static CStr, mutex_name: &'static CStr) -> Self {
        Self::new(acquire_name, mutex_name, false)
    }

    /// Creates a wait-die class (as `DEFINE_WD_CLASS` does).
    ///
    /// A younger context that would wait for an older one backs off instead. Use it where
    /// contention is rare.
    ///
    /// The class must be stored in a `static`: lockdep keys live in static memory.
    pub const fn new_wait_die(acquire_name: &'static CStr, mutex_name: &'static CStr) -> Self {
        Self::new(acquire_name, mutex_name, true)
    }

    /// The class of every reservation object (`reservation_ww_class`).
    ///
    /// Buffers shared between drivers (`struct dma_resv`) are all of this class, so a driver can
    /// lock several of them, its own and imported ones, in one acquire context.
    pub fn reservation() -> &'static Class {
        // SAFETY: `reservation_ww_class` is a static `struct ww_class` defined by
        // `DEFINE_WW_CLASS`, and `Class` is a transparent wrapper of it.
        unsafe { &*(&raw mut bindings::reservation_ww_class).cast::<Class>() }
    }

    /// Returns the raw `struct ww_class`.
    pub fn as_raw(&self) -> *mut bindings::ww_class {
        self.0.get()
    }
}

/// An object that embeds a `struct ww_mutex` and can be locked in an acquire context.
///
/// # Safety
///
/// Implementers must guarantee that:
/// - [`Lockable::as_raw`] returns a pointer to an initialised `struct ww_mutex` that is not moved
///   or freed while `self` is borrowed, and always the same pointer for the same `self`;
/// - [`Lockable::class`] returns the class that mutex was initialised with;
/// - [`Lockable::Kind`] is [`Reservation`] if the mutex is the lock of a reservation object
///   (`struct dma_resv`), which only a transaction that borrows the
///   [`Unlocked`](crate::dma_resv::Unlocked) capability may lock;
/// - the guard made by [`Lockable::assume_locked`] unlocks that mutex exactly once, when it is
///   dropped, and is not `Send` (a mutex must be unlocked by the task that locked it).
pub unsafe trait Lockable {
    /// The transactions that may lock the object: [`Plain`] or [`Reservation`].
    type Kind: LockKind;

    /// The guard that proves the lock is held and releases it when dropped.
    type Guard<'a>
    where
        Self: 'a;

    /// Returns the raw mutex.
    fn as_raw(&self) -> *mut bindings::ww_mutex;

    /// Returns the class of the mutex.
    fn class(&self) -> &'static Class;

    /// Makes the guard for a lock the caller has just taken.
    ///
    /// # Safety
    ///
    /// The current task holds the lock and gives the duty of unlocking it to the returned guard.
    unsafe fn assume_locked(&self) -> Self::Guard<'_>;
}

/// A wound/wait mutex protecting data of type `T`.
///
/// Without an acquire context it is an ordinary sleeping mutex ([`Mutex::lock`]); with one, it
/// takes part in a deadlock-free transaction ([`AcquireCtx::lock_all`]).
///
/// # Invariants
///
/// `inner` is a `struct ww_mutex` initialised with `class`, and `data` is only accessed while it
/// is locked.
///
/// # Examples
///
/// ```
/// use kernel::sync::ww_mutex::{AcquireCtx, Class, Mutex};
///
/// static CLASS: Class = Class::new_wound_wait(c"example_acquire", c"example_mutex");
///
/// let a = KBox::pin_init(Mutex::new(1u32, &CLASS), GFP_KERNEL)?;
/// let b = KBox::pin_init(Mutex::new(2u32, &CLASS), GFP_KERNEL)?;
///
/// // A single lock needs no context.
/// *a.lock() += 10;
///
/// // Two locks, in any order, backing off on contention as needed.
/// let mut both = AcquireCtx::new(&CLASS)?.lock_all(|tx| Ok((tx.lock(&*a)?, tx.lock(&*b)?)))?;
/// let (x, y) = &mut *both;
/// core::mem::swap(&mut **x, &mut **y);
/// assert_eq!((**x, **y), (2, 11));
/// # Ok::<(), Error>(())
/// ```
#[pin_data]
pub struct Mutex<T: ?Sized> {
    #[pin]
    inner: Opaque<bindings::ww_mutex>,
    class: &'static Class,
    // A `struct mutex` is self-referential (its wait list).
    #[pin]
    _pin: PhantomPinned,
    data: UnsafeCell<T>,
}

// SAFETY: A `Mutex` can be moved to another thread when the data it protects can.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

// SAFETY: A `Mutex` serialises access to its data, so it can be shared when the data can be sent.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// Creates an initialiser for a mutex of `class` protecting `data`.
    pub fn new(data: T, class: &'static Class) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes, and `class` is a valid class that outlives the
            // mutex.
            inner <- Opaque::ffi_init(|slot| unsafe {
                bindings::ww_mutex_init(slot, class.as_raw())
            }),
            class,
            _pin: PhantomPinned,
            data: UnsafeCell::new(data),
        })
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex without an acquire context, sleeping until it is available.
    pub fn lock(&self) -> Guard<'_, T> {
        // SAFETY: `inner` is an initialised `struct ww_mutex`. Without a context the call cannot
        // fail.
        unsafe { bindings::ww_mutex_lock(self.inner.get(), core::ptr::null_mut()) };
        // SAFETY: The lock was just taken by this task.
        unsafe { self.assume_locked() }
    }

    /// Locks the mutex without an acquire context, unless a signal arrives first.
    ///
    /// # Errors
    ///
    /// `EINTR` if a signal is pending while waiting for the mutex.
    pub fn lock_interruptible(&self) -> Result<Guard<'_, T>> {
        // SAFETY: `inner` is an initialised `struct ww_mutex`.
        to_result(unsafe {
            bindings::ww_mutex_lock_interruptible(self.inner.get(), core::ptr::null_mut())
        })?;
        // SAFETY: The lock was just taken by this task.
        Ok(unsafe { self.assume_locked() })
    }

    /// Locks the mutex without an acquire context if it is free.
    pub fn try_lock(&self) -> Option<Guard<'_, T>> {
        // SAFETY: `inner` is an initialised `struct ww_mutex`.
        if unsafe { bindings::ww_mutex_trylock(self.inner.get(), core::ptr::null_mut()) } == 0 {
            return None;
        }
        // SAFETY: The lock was just taken by this task.
        Some(unsafe { self.assume_locked() })
    }

    /// Returns whether the mutex is locked, by any task.
    pub fn is_locked(&self) -> bool {
        // SAFETY: `inner` is an initialised `struct ww_mutex`.
        unsafe { bindings::ww_mutex_is_locked(self.inner.get()) }
    }
}

// SAFETY: `inner` is pinned with `self` and was initialised with `class`; `Guard` unlocks it once
// on drop and is not `Send`.
unsafe impl<T: ?Sized> Lockable for Mutex<T> {
    type Kind = Plain;

    type Guard<'a>
        = Guard<'a, T>
    where
        Self: 'a;

    fn as_raw(&self) -> *mut bindings::ww_mutex {
        self.inner.get()
    }

    fn class(&self) -> &'static Class {
        self.class
    }

    unsafe fn assume_locked(&self) -> Guard<'_, T> {
        // INVARIANT: The caller guarantees that the lock is held.
        Guard {
            mutex: self,
            _not_send: NotThreadSafe,
        }
    }
}

/// Proof that a [`Mutex`] is locked, giving access to its data.
///
/// The mutex is unlocked when the guard is dropped.
///
/// # Invariants
///
/// The current task holds `mutex`.
#[must_use = "the lock unlocks immediately when the guard is unused"]
pub struct Guard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    _not_send: NotThreadSafe,
}

// SAFETY: A shared guard only gives shared access to the data, which is fine from any thread when
// the data is `Sync`.
unsafe impl<T: ?Sized + Sync> Sync for Guard<'_, T> {}

impl<T: ?Sized> Deref for Guard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The lock is held (type invariant), so nobody else accesses the data.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The lock is held (type invariant), and `&mut self` makes this the only access
        // through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The current task holds the lock (type invariant) and releases it only here.
        unsafe { bindings::ww_mutex_unlock(self.mutex.inner.get()) };
    }
}
