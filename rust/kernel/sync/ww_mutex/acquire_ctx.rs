// SPDX-License-Identifier: GPL-2.0

//! Acquire contexts and their phases.
//!
//! C header: [`include/linux/ww_mutex.h`](srctree/include/linux/ww_mutex.h)

use super::Class;
use crate::{
    bindings,
    prelude::*,
    types::{NotThreadSafe, Opaque},
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::{Deref, DerefMut},
};

mod private {
    pub trait Sealed {}
}

/// The phase of an [`AcquireCtx`].
///
/// This trait is sealed: the phases are [`Acquiring`] and [`Done`].
pub trait State: private::Sealed {}

/// Phase of a context that may still take locks (after `ww_acquire_init()`).
pub struct Acquiring;

/// Phase of a context whose locks are all taken (after `ww_acquire_done()`).
///
/// A context in this phase has no method that locks.
pub struct Done;

impl private::Sealed for Acquiring {}
impl State for Acquiring {}
impl private::Sealed for Done {}
impl State for Done {}

/// A wound/wait acquire context (`struct ww_acquire_ctx`).
///
/// The context orders transactions by age: when two of them contend, the younger backs off. It
/// belongs to the task that created it (it is not `Send`), and lockdep sees it as held from its
/// creation to its drop, which calls `ww_acquire_fini()`.
///
/// A new context is [`Acquiring`]; [`AcquireCtx::lock_all`] consumes it, takes a set of locks and
/// hands back the context as [`Done`] inside [`Locked`], together with the guards.
///
/// The context is allocated: a lock taken in it points to it until unlocked, so if a guard is
/// leaked (for example with [`core::mem::forget`]) the context is leaked with it, with a warning,
/// instead of leaving a dangling pointer in the mutex.
///
/// # Invariants
///
/// `inner` is a `struct ww_acquire_ctx` initialised with `class` by the current task and not yet
/// finished. When `S` is [`Done`], `ww_acquire_done()` has been called on it.
pub struct AcquireCtx<S: State = Acquiring> {
    inner: ManuallyDrop<Pin<KBox<Opaque<bindings::ww_acquire_ctx>>>>,
    class: &'static Class,
    _state: PhantomData<S>,
    _not_send: NotThreadSafe,
}

impl AcquireCtx<Acquiring> {
    /// Creates an acquire context for mutexes of `class` (`ww_acquire_init()`).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the context cannot be allocated.
    pub fn new(class: &'static Class) -> Result<Self> {
        let inner = KBox::pin_init(
            // SAFETY: `slot` is valid for writes and `class` is a valid class that outlives the
            // context.
            Opaque::ffi_init(|slot| unsafe { bindings::ww_acquire_init(slot, class.as_raw()) }),
            GFP_KERNEL,
        )?;
        // INVARIANT: The context was just initialised with `class` by the current task.
        Ok(Self {
            inner: ManuallyDrop::new(inner),
            class,
            _state: PhantomData,
            _not_send: NotThreadSafe,
        })
    }

    /// Marks the end of the acquire phase (`ww_acquire_done()`).
    pub(super) fn into_done(self) -> AcquireCtx<Done> {
        // SAFETY: The context is initialised and not finished (type invariant).
        unsafe { bindings::ww_acquire_done(self.as_raw()) };
        let mut this = ManuallyDrop::new(self);
        // INVARIANT: `ww_acquire_done()` was just called; the context moves unchanged.
        AcquireCtx {
            // SAFETY: `this` is never used or dropped again, so its box moves out exactly once.
            inner: ManuallyDrop::new(unsafe { ManuallyDrop::take(&mut this.inner) }),
            class: this.class,
            _state: PhantomData,
            _not_send: NotThreadSafe,
        }
    }
}

impl<S: State> AcquireCtx<S> {
    /// Returns the raw acquire context.
    pub fn as_raw(&self) -> *mut bindings::ww_acquire_ctx {
        self.inner.get()
    }

    /// Returns the class the context was created for.
    pub fn class(&self) -> &'static Class {
        self.class
    }

    /// Returns the number of locks held in this context.
    pub fn acquired(&self) -> u32 {
        // SAFETY: The context is initialised (type invariant), and its `acquired` field is only
        // written by the current task, which owns the context.
        unsafe { (*self.as_raw()).acquired }
    }

    /// Finishes the context (`ww_acquire_fini()`); dropping it does the same.
    pub fn fini(self) {}
}

impl<S: State> Drop for AcquireCtx<S> {
    fn drop(&mut self) {
        if self.acquired() != 0 {
            // A guard taken in this context outlived it: its mutex still points to the context,
            // so the memory must stay. This is a bug in the caller, which lockdep reports too.
            pr_warn!(
                "ww_mutex: acquire context finished with {} locks held; leaking it\n",
                self.acquired()
            );
            crate::warn_on!(true);
            return;
        }
        // SAFETY: The context is initialised and not finished (type invariant), by the current
        // task (it is not `Send`), and holds no lock.
        unsafe { bindings::ww_acquire_fini(self.as_raw()) };
        // SAFETY: `inner` is not used again.
        drop(unsafe { ManuallyDrop::take(&mut self.inner) });
    }
}

/// The locks taken by [`AcquireCtx::lock_all`], with their context.
///
/// It dereferences to the value the locking closure returned (typically a tuple or vector of
/// guards). Dropping it drops that value first, releasing the locks, then finishes the context.
#[must_use = "the locks are released immediately when unused"]
pub struct Locked<R> {
    // Field order matters: `value` holds the guards and must be dropped before `ctx`.
    value: R,
    ctx: AcquireCtx<Done>,
    backoffs: u32,
}

impl<R> Locked<R> {
    pub(super) fn new(value: R, ctx: AcquireCtx<Done>, backoffs: u32) -> Self {
        Self {
            value,
            ctx,
            backoffs,
        }
    }

    /// Returns how many times the transaction backed off before it held every lock.
    ///
    /// Each backoff released all the locks of an attempt and slept on the contended one.
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// Returns the context, which is [`Done`].
    pub fn ctx(&self) -> &AcquireCtx<Done> {
        &self.ctx
    }

    /// Releases the locks and returns the context, to be finished with [`AcquireCtx::fini`].
    pub fn unlock(self) -> AcquireCtx<Done> {
        let Self { value, ctx, .. } = self;
        drop(value);
        ctx
    }
}

impl<R> Deref for Locked<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.value
    }
}

impl<R> DerefMut for Locked<R> {
    fn deref_mut(&mut self) -> &mut R {
        &mut self.value
    }
}
