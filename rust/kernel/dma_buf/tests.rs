// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of `kernel::dma_buf`: a Rust exporter of system memory and Rust importers.
//!
//! They go through the C ABI of `include/linux/dma-buf.h`, so they test whichever core the
//! kernel was built with.

use macros::kunit_tests;

#[kunit_tests(rust_dma_buf)]
mod cases {
    use crate::{
        bindings,
        device::Device,
        dma::DataDirection,
        dma_buf::{
            export, Attachment, DmaBuf, Dynamic, ExportedAttachment, Exporter, Importer, IosysMap,
            SgTable,
        },
        dma_fence::{Fence, SoftFence},
        dma_resv::{Resv, ResvGuard, Unlocked, Usage},
        faux,
        fs::file::FileDescriptorReservation,
        mm::virt::VmaNew,
        page::{BorrowedPage, Page, PAGE_SIZE},
        prelude::*,
        scatterlist::SGTable,
        sync::{
            aref::ARef,
            ww_mutex::{AcquireCtx, Class},
            Arc, Completion,
        },
        time::{delay::fsleep, Delta},
        uaccess::{UserPtr, UserSlice},
        workqueue, ThisModule,
    };
    use core::{
        ptr::NonNull,
        sync::atomic::{AtomicI32, AtomicU32, Ordering::Relaxed},
    };

    const PAGES: usize = 4;
    const SIZE: usize = PAGES * PAGE_SIZE;

    /// What the exporter saw, shared with the test.
    #[derive(Default)]
    struct Calls {
        attach: AtomicU32,
        attach_p2p: AtomicU32,
        attach_revocable: AtomicU32,
        detach: AtomicU32,
        pin: AtomicU32,
        unpin: AtomicU32,
        map: AtomicU32,
        unmap: AtomicU32,
        begin: AtomicU32,
        end: AtomicU32,
        /// The directions `begin_cpu_access` and `end_cpu_access` were called with, as a set
        /// of [`dir_bit`]s.
        begin_dirs: AtomicU32,
        end_dirs: AtomicU32,
        vmap: AtomicU32,
        vunmap: AtomicU32,
        mmap: AtomicU32,
        released: AtomicU32,
        /// Errors to return instead of doing the operation (0: none).
        fail_attach: AtomicI32,
        fail_pin: AtomicI32,
        fail_map: AtomicI32,
        fail_begin: AtomicI32,
        fail_end: AtomicI32,
    }

    /// Returns the error injected in `knob`, if any.
    fn injected(knob: &AtomicI32) -> Result {
        match knob.load(Relaxed) {
            0 => Ok(()),
            errno => Err(Error::from_errno(errno)),
        }
    }

    fn inject(knob: &AtomicI32, error: Error) {
        knob.store(error.to_errno(), Relaxed);
    }

    fn count(c: &AtomicU32) -> u32 {
        c.load(Relaxed)
    }

    /// `dir` as one bit of a set of directions.
    fn dir_bit(dir: DataDirection) -> u32 {
        1 << bindings::dma_data_direction::from(dir)
    }

    /// `SIZE` bytes of vmalloc memory, freed on drop.
    struct Backing {
        mem: *mut u8,
        cap: usize,
        pages: KVec<NonNull<bindings::page>>,
    }

    impl Backing {
        fn new() -> Result<Self> {
            let (mem, _, cap) = VVec::from_elem(0u8, SIZE, GFP_KERNEL)?.into_raw_parts();
            let mut this = Self {
                mem,
                cap,
                pages: KVec::new(),
            };
            for i in 0..PAGES {
                let addr = mem.wrapping_add(i * PAGE_SIZE);
                // SAFETY: `addr` is inside the vmalloc area just allocated.
                let page = unsafe { bindings::vmalloc_to_page(addr.cast()) };
                this.pages
                    .push(NonNull::new(page).ok_or(ENOMEM)?, GFP_KERNEL)?;
            }
            Ok(this)
        }
    }

    impl Drop for Backing {
        fn drop(&mut self) {
            // SAFETY: `mem` came from `into_raw_parts` of a vector of `SIZE` bytes of capacity
            // `cap`.
            drop(unsafe { VVec::from_raw_parts(self.mem, SIZE, self.cap) });
        }
    }

    /// Exports `SIZE` bytes of vmalloc memory, with every operation implemented, and its own
    /// reservation object if `own_resv`.
    #[pin_data(PinnedDrop)]
    struct TestExporter {
        backing: Backing,
        calls: Arc<Calls>,
        own_resv: bool,
        #[pin]
        resv: Resv,
    }

    // SAFETY: The memory is owned by the exporter and only accessed through the buffer's
    // operations, which the core serialises as the tests use them.
    unsafe impl Send for TestExporter {}
    // SAFETY: Shared references reach the memory only through the buffer's operations, which
    // the core serialises as the tests use them; the counters are atomic.
    unsafe impl Sync for TestExporter {}

    impl TestExporter {
        fn new(calls: Arc<Calls>, own_resv: bool) -> Result<impl PinInit<Self, Error>> {
            let backing = Backing::new()?;
            Ok(try_pin_init!(Self {
                backing,
                calls,
                own_resv,
                resv <- Resv::new(),
            }? Error))
        }

        fn byte(&self, offset: usize) -> u8 {
            // SAFETY: The tests read inside the buffer while no device writes it.
            unsafe { self.backing.mem.add(offset).read_volatile() }
        }
    }

    #[pinned_drop]
    impl PinnedDrop for TestExporter {
        fn drop(self: Pin<&mut Self>) {
            self.calls.released.fetch_add(1, Relaxed);
        }
    }

    #[vtable]
    impl Exporter for TestExporter {
        fn attach(&self, attach: &ExportedAttachment<'_>, _unlocked: &mut Unlocked) -> Result {
            injected(&self.calls.fail_attach)?;
            self.calls.attach.fetch_add(1, Relaxed);
            if attach.peer2peer() {
                self.calls.attach_p2p.fetch_add(1, Relaxed);
            }
            if attach.is_revocable() {
                self.calls.attach_revocable.fetch_add(1, Relaxed);
            }
            Ok(())
        }

        fn detach(&self, _attach: &ExportedAttachment<'_>, _unlocked: &mut Unlocked) {
            self.calls.detach.fetch_add(1, Relaxed);
        }

        fn pin(&self, _attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) -> Result {
            held.assert_held();
            injected(&self.calls.fail_pin)?;
            self.calls.pin.fetch_add(1, Relaxed);
            Ok(())
        }

        fn unpin(&self, _attach: &ExportedAttachment<'_>, held: &ResvGuard<'_>) {
            held.assert_held();
            self.calls.unpin.fetch_add(1, Relaxed);
        }

        fn map_dma_buf(
            &self,
            attach: &ExportedAttachment<'_>,
            dir: DataDirection,
            held: &ResvGuard<'_>,
        ) -> Result<KBox<SgTable>> {
            held.assert_held();
            injected(&self.calls.fail_map)?;
            let mut borrowed = KVec::with_capacity(PAGES, GFP_KERNEL)?;
            for page in self.backing.pages.iter() {
                // SAFETY: The page belongs to the exporter's memory, alive as long as `self`.
                borrowed.push(unsafe { BorrowedPage::from_raw(*page) }, GFP_KERNEL)?;
            }
            let mut refs: KVec<&Page> = KVec::with_capacity(PAGES, GFP_KERNEL)?;
            for page in borrowed.iter() {
                refs.push(page, GFP_KERNEL)?;
            }
            let mut table = SgTable::from_pages(&refs, SIZE)?;
            table.dma_map(attach.device(), dir)?;
            self.calls.map.fetch_add(1, Relaxed);
            Ok(table)
        }

        fn unmap_dma_buf(
            &self,
            _attach: &ExportedAttachment<'_>,
            table: KBox<SgTable>,
            _dir: DataDirection,
            held: &ResvGuard<'_>,
        ) {
            held.assert_held();
            self.calls.unmap.fetch_add(1, Relaxed);
            drop(table);
        }

        fn begin_cpu_access(&self, dir: DataDirection, _unlocked: &mut Unlocked) -> Result {
            injected(&self.calls.fail_begin)?;
            self.calls.begin.fetch_add(1, Relaxed);
            self.calls.begin_dirs.fetch_or(dir_bit(dir), Relaxed);
            Ok(())
        }

        fn end_cpu_access(&self, dir: DataDirection, _unlocked: &mut Unlocked) -> Result {
            injected(&self.calls.fail_end)?;
            self.calls.end.fetch_add(1, Relaxed);
            self.calls.end_dirs.fetch_or(dir_bit(dir), Relaxed);
            Ok(())
        }

        fn vmap(&self, held: &ResvGuard<'_>) -> Result<NonNull<u8>> {
            held.assert_held();
            self.calls.vmap.fetch_add(1, Relaxed);
            NonNull::new(self.backing.mem).ok_or(ENOMEM)
        }

        fn vunmap(&self, _vaddr: NonNull<u8>, held: &ResvGuard<'_>) {
            held.assert_held();
            self.calls.vunmap.fetch_add(1, Relaxed);
        }

        fn mmap(&self, vma: &VmaNew, pgoff: usize, _unlocked: &mut Unlocked) -> Result {
            self.calls.mmap.fetch_add(1, Relaxed);
            let map = vma.set_mixedmap();
            let pages = (vma.end() - vma.start()) / PAGE_SIZE;
            for i in 0..pages {
                let page = self.backing.pages.get(pgoff + i).ok_or(EINVAL)?;
                // SAFETY: The page belongs to the exporter's memory, alive as long as `self`;
                // the mapping takes its own reference.
                let page = unsafe { BorrowedPage::from_raw(*page) };
                map.vm_insert_page(vma.start() + i * PAGE_SIZE, &page)?;
            }
            Ok(())
        }

        fn resv(&self) -> Option<&Resv> {
            self.own_resv.then_some(&self.resv)
        }
    }

    /// An importer that is an exporter too: its buffer's user mappings show `inner` from
    /// page `shift` on, through `dma_buf_mmap()`, as DRM PRIME does for imported objects. A
    /// `locking` one breaks the rule: its `mmap` holds the inner buffer's lock and passes
    /// `inner.mmap()` a capability made under it, which the inner buffer must refuse.
    struct Forwarder {
        inner: ARef<DmaBuf>,
        shift: usize,
        locking: bool,
    }

    #[vtable]
    impl Exporter for Forwarder {
        fn map_dma_buf(
            &self,
            _attach: &ExportedAttachment<'_>,
            _dir: DataDirection,
            _held: &ResvGuard<'_>,
        ) -> Result<KBox<SgTable>> {
            Err(EOPNOTSUPP)
        }

        fn mmap(&self, vma: &VmaNew, pgoff: usize, unlocked: &mut Unlocked) -> Result {
            let pgoff = pgoff.checked_add(self.shift).ok_or(EOVERFLOW)?;
            if self.locking {
                let _guard = self.inner.resv().lock(unlocked);
                return self.inner.mmap(vma, pgoff, &Unlocked::new());
            }
            self.inner.mmap(vma, pgoff, unlocked)
        }
    }

    /// An exporter without `mmap`.
    struct Unmappable;

    #[vtable]
    impl Exporter for Unmappable {
        fn map_dma_buf(
            &self,
            _attach: &ExportedAttachment<'_>,
            _dir: DataDirection,
            _held: &ResvGuard<'_>,
        ) -> Result<KBox<SgTable>> {
            Err(EOPNOTSUPP)
        }
    }

    /// A dynamic importer that counts invalidations.
    struct TestImporter {
        invalidations: Arc<AtomicU32>,
    }

    impl Importer for TestImporter {
        fn invalidate_mappings(&self, held: &ResvGuard<'_>) {
            held.assert_held();
            self.invalidations.fetch_add(1, Relaxed);
        }
    }

    /// A [`TestImporter`] and its count of invalidations.
    fn new_importer() -> Result<(TestImporter, Arc<AtomicU32>)> {
        let invalidations = Arc::new(AtomicU32::new(0), GFP_KERNEL)?;
        let importer = TestImporter {
            invalidations: invalidations.clone(),
        };
        Ok((importer, invalidations))
    }

    /// A dynamic importer that can do peer-to-peer DMA.
    struct P2pImporter;

    impl Importer for P2pImporter {
        const ALLOW_PEER2PEER: bool = true;

        fn invalidate_mappings(&self, _held: &ResvGuard<'_>) {}
    }

    /// A faux device able to DMA anywhere, as the importing device.
    fn device() -> Result<faux::Registration> {
        let reg = faux::Registration::new(c"rust-dma-buf-test", None)?;
        let dev: &Device = reg.as_ref();
        let raw = dev.as_raw();
        // SAFETY: `raw` is a registered device that nothing else configures; pointing its DMA
        // mask at its coherent mask is what `dma_coerce_mask_and_coherent()` does.
        let ret = unsafe {
            (*raw).dma_mask = &raw mut (*raw).coherent_dma_mask;
            bindings::dma_set_mask_and_coherent(raw, u64::MAX)
        };
        crate::error::to_result(ret)?;
        Ok(reg)
    }

    fn module() -> &'static ThisModule {
        static THIS: ThisModule = {
            // SAFETY: The kernel crate is built in: its module pointer is null.
            unsafe { ThisModule::from_ptr(core::ptr::null_mut()) }
        };
        &THIS
    }

    fn new_buffer() -> Result<(ARef<DmaBuf>, Arc<Calls>)> {
        new_buffer_with(false)
    }

    fn new_buffer_with(own_resv: bool) -> Result<(ARef<DmaBuf>, Arc<Calls>)> {
        let calls = Arc::new(Calls::default(), GFP_KERNEL)?;
        let exporter = TestExporter::new(calls.clone(), own_resv)?;
        let buf = export(module(), c"rust-test", exporter, SIZE, bindings::O_RDWR)?;
        Ok((buf, calls))
    }

    /// Exports `SIZE` bytes, readable and writable, with `exporter` as the buffer's operations:
    /// a value made beforehand, with nothing to initialise in place.
    fn export_value<E: Exporter>(name: &'static CStr, exporter: E) -> Result<ARef<DmaBuf>> {
        let init: Result<E> = Ok(exporter);
        export(module(), name, init, SIZE, bindings::O_RDWR)
    }

    /// What most cases start from: an importing device and a buffer of the test exporter,
    /// with the exporter's call counts.
    struct Fixture {
        reg: faux::Registration,
        buf: ARef<DmaBuf>,
        calls: Arc<Calls>,
    }

    impl Fixture {
        /// Registers the device and exports the buffer, which gets its own reservation object.
        fn new() -> Result<Self> {
            Self::new_with(false)
        }

        /// [`Fixture::new`], with the exporter's reservation object if `own_resv`.
        fn new_with(own_resv: bool) -> Result<Self> {
            let reg = device()?;
            let (buf, calls) = new_buffer_with(own_resv)?;
            Ok(Self { reg, buf, calls })
        }

        /// [`Fixture::new`] with a static importer attached, for a task that holds no
        /// reservation lock.
        fn attached() -> Result<(Unlocked, Self, Attachment)> {
            let unlocked = Unlocked::new();
            let fixture = Self::new()?;
            let attach = Attachment::new(fixture.buf.clone(), fixture.reg.as_ref(), &unlocked)?;
            Ok((unlocked, fixture, attach))
        }
    }

    /// Runs the deferred `fput`s: the last `fput` of a file is deferred on kernel threads.
    fn flush_delayed_fput() {
        // SAFETY: Callable from any sleeping context.
        unsafe { bindings::flush_delayed_fput() };
    }

    /// `Ok` if `done`; otherwise says that `what` did not happen and fails the case with
    /// `EBUSY`, as something still holds the buffer or attachment.
    ///
    /// For the helpers below, which end cases: an `assert!` is KUnit's only in the case
    /// functions themselves, elsewhere it would panic.
    fn done_or_busy(done: bool, what: &str) -> Result {
        if done {
            return Ok(());
        }
        pr_err!("rust_dma_buf: {what} did not happen\n");
        Err(EBUSY)
    }

    /// Drops the last reference to `buf` and waits for its release.
    ///
    /// # Errors
    ///
    /// `EBUSY` if the exporter was not asked to release the buffer: a reference was left.
    fn release(buf: ARef<DmaBuf>, calls: &Calls) -> Result {
        drop(buf);
        flush_delayed_fput();
        done_or_busy(count(&calls.released) == 1, "the release of the buffer")
    }

    /// Drops `attach`, the buffer's only attachment, and releases `buf`.
    ///
    /// # Errors
    ///
    /// `EBUSY` if the exporter did not see the attachment detach, or [`release`]'s.
    fn detach_and_release(attach: Attachment, buf: ARef<DmaBuf>, calls: &Calls) -> Result {
        drop(attach);
        done_or_busy(count(&calls.detach) == 1, "the detach of the attachment")?;
        release(buf, calls)
    }

    #[test]
    fn static_attach_map_unmap_detach() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        assert_eq!(buf.size(), SIZE);
        assert!(buf.is_dynamic());

        let attach = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        assert_eq!(count(&calls.attach), 1);
        {
            let locked = attach.lock(&mut unlocked);
            let mapping = locked.map(DataDirection::Bidirectional)?;
            let mut total = 0usize;
            for entry in mapping.sg_table().iter() {
                assert_ne!(entry.dma_address(), 0);
                total += usize::try_from(entry.dma_len())?;
            }
            assert_eq!(total, SIZE);
            // A static importer of a pinning exporter is pinned while mapped.
            assert_eq!((count(&calls.map), count(&calls.pin)), (1, 1));
            drop(mapping);
            assert_eq!((count(&calls.unmap), count(&calls.unpin)), (1, 1));
        }
        // The unlocked variants take the lock themselves.
        let mapping = attach.map_unlocked(DataDirection::ToDevice, &unlocked)?;
        assert_eq!(mapped_bytes(mapping.sg_table()), Ok(SIZE));
        drop(mapping);
        assert_eq!((count(&calls.map), count(&calls.unmap)), (2, 2));

        detach_and_release(attach, buf, &calls)
    }

    #[test]
    fn dynamic_attach_pin_and_invalidate() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let (importer, invalidations) = new_importer()?;
        let attach = Attachment::<Dynamic<TestImporter>>::new_dynamic(
            buf.clone(),
            reg.as_ref(),
            importer,
            &unlocked,
        )?;
        {
            let locked = attach.lock(&mut unlocked);
            locked.pin()?;
            assert_eq!((count(&calls.pin), locked.pins()), (1, 1));
            let mapping = locked.map(DataDirection::FromDevice)?;
            // A dynamic importer pins itself: mapping does not pin again.
            assert_eq!(count(&calls.pin), 1);
            drop(mapping);
            locked.unpin()?;
            assert_eq!(count(&calls.unpin), 1);
            assert_eq!(locked.unpin(), Err(EINVAL));
            assert_eq!(count(&calls.unpin), 1);

            buf.invalidate_mappings(locked.guard())?;
            assert_eq!(invalidations.load(Relaxed), 1);
        }
        assert_eq!(invalidations.load(Relaxed), 1);

        // Two buffers locked together in one transaction; the guard of the other buffer's
        // reservation object is refused.
        let (other, other_calls) = new_buffer()?;
        {
            let locked = AcquireCtx::new(Class::reservation())?
                .lock_all_resv(&mut unlocked, |tx| {
                    Ok((tx.lock(&attach)?, tx.lock(other.resv())?))
                })?;
            let (mine, theirs) = &*locked;
            assert_eq!(buf.invalidate_mappings(theirs), Err(EINVAL));
            buf.invalidate_mappings(mine.guard())?;
            assert_eq!(invalidations.load(Relaxed), 2);
        }
        release(other, &other_calls)?;

        // A pin left behind is released when the attachment goes.
        attach.lock(&mut unlocked).pin()?;
        drop(attach);
        assert_eq!((count(&calls.pin), count(&calls.unpin)), (2, 2));
        assert_eq!(count(&calls.detach), 1);
        release(buf, &calls)
    }

    #[test]
    fn exporter_supplies_its_reservation_object() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new_with(true)?;
        let exporter: &TestExporter = {
            // SAFETY: `buf` was exported with a `TestExporter` as its private data.
            unsafe { &*(*buf.as_raw()).priv_.cast::<TestExporter>() }
        };
        assert!(core::ptr::eq(buf.resv(), &exporter.resv));
        let attach = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        {
            let locked = attach.lock(&mut unlocked);
            assert!(exporter.resv.is_locked());
            drop(locked.map(DataDirection::ToDevice)?);
        }
        assert!(!exporter.resv.is_locked());
        drop(attach);
        release(buf, &calls)?;

        // Without one, the buffer gets its own.
        let (buf, calls) = new_buffer()?;
        // SAFETY: `buf` was exported with a `TestExporter` as its private data.
        let exporter = unsafe { &*(*buf.as_raw()).priv_.cast::<TestExporter>() };
        assert!(!core::ptr::eq(buf.resv(), &exporter.resv));
        release(buf, &calls)
    }

    #[test]
    fn peer2peer_is_offered_by_the_importer() -> Result {
        let unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let p2p = Attachment::new_dynamic(buf.clone(), reg.as_ref(), P2pImporter, &unlocked)?;
        assert!(p2p.peer2peer());
        let plain = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        assert!(!plain.peer2peer());
        assert_eq!((count(&calls.attach), count(&calls.attach_p2p)), (2, 1));
        // Only the dynamic importer can be revoked.
        assert_eq!(count(&calls.attach_revocable), 1);
        drop(p2p);
        drop(plain);
        assert_eq!(count(&calls.detach), 2);
        release(buf, &calls)
    }

    #[test]
    fn vmap_and_cpu_access() -> Result {
        let (mut unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        {
            let locked = attach.lock(&mut unlocked);
            let map = locked.vmap()?;
            assert!(!map.is_iomem());
            map.write(PAGE_SIZE - 2, &[1, 2, 3, 4])?;
            let mut back = [0u8; 4];
            map.read(PAGE_SIZE - 2, &mut back)?;
            assert_eq!(back, [1, 2, 3, 4]);
            assert_eq!(map.write(SIZE - 1, &[0, 0]), Err(EINVAL));
            assert_eq!(map.read(usize::MAX, &mut back), Err(EOVERFLOW));
            // A second vmap shares the first one: the exporter is asked once.
            let again = locked.vmap()?;
            assert_eq!(count(&calls.vmap), 1);
            drop(again);
            drop(map);
            assert_eq!(count(&calls.vunmap), 1);
        }
        {
            let exporter: &TestExporter = {
                // SAFETY: `buf` was exported with a `TestExporter` as its private data.
                unsafe { &*(*buf.as_raw()).priv_.cast::<TestExporter>() }
            };
            assert_eq!(exporter.byte(PAGE_SIZE + 1), 4);

            let map = attach.buffer().vmap_unlocked(&unlocked)?;
            let mut byte = [0u8];
            map.read(PAGE_SIZE, &mut byte)?;
            assert_eq!(byte, [3]);
        }

        let access = attach
            .buffer()
            .begin_cpu_access(DataDirection::FromDevice, &unlocked)?;
        assert_eq!((count(&calls.begin), count(&calls.end)), (1, 0));
        let from = dir_bit(DataDirection::FromDevice);
        assert_eq!(count(&calls.begin_dirs), from);
        access.end()?;
        assert_eq!(count(&calls.end), 1);
        assert_eq!(count(&calls.end_dirs), from);
        drop(
            attach
                .buffer()
                .begin_cpu_access(DataDirection::ToDevice, &unlocked)?,
        );
        assert_eq!((count(&calls.begin), count(&calls.end)), (2, 2));
        // The exporter sees the direction each access was begun and ended with.
        let both = from | dir_bit(DataDirection::ToDevice);
        assert_eq!(
            (count(&calls.begin_dirs), count(&calls.end_dirs)),
            (both, both)
        );

        drop(attach);
        release(buf, &calls)
    }

    #[test]
    fn fd_round_trip() -> Result {
        let (buf, calls) = new_buffer()?;
        let fd = DmaBuf::into_fd(buf.clone(), bindings::O_CLOEXEC)?;
        let again = DmaBuf::from_fd(fd)?;
        assert!(core::ptr::eq(again.as_raw(), buf.as_raw()));
        drop(again);
        // SAFETY: `fd` is the descriptor made above, not used any more.
        assert_eq!(unsafe { bindings::close_fd(u32::try_from(fd)?) }, 0);
        assert_eq!(DmaBuf::from_fd(fd).err(), Some(EBADF));
        assert_eq!(DmaBuf::from_fd(-1).err(), Some(EBADF));

        // A descriptor reserved first, installed later.
        let reservation = FileDescriptorReservation::get_unused_fd_flags(bindings::O_CLOEXEC)?;
        let fd = DmaBuf::install_fd(buf.clone(), reservation)?;
        let fd_int = i32::try_from(fd)?;
        let again = DmaBuf::from_fd(fd_int)?;
        assert!(core::ptr::eq(again.as_raw(), buf.as_raw()));
        drop(again);
        // SAFETY: `fd` is the descriptor installed above, not used any more.
        assert_eq!(unsafe { bindings::close_fd(fd) }, 0);
        release(buf, &calls)
    }

    #[test]
    fn bad_export_is_refused() -> Result {
        let calls = Arc::new(Calls::default(), GFP_KERNEL)?;
        let exporter = TestExporter::new(calls.clone(), false)?;
        let res = export(module(), c"rust-test", exporter, 0, bindings::O_RDWR);
        assert_eq!(res.err(), Some(EINVAL));
        // The size is checked first: the initialiser was dropped without making an exporter.
        assert_eq!(count(&calls.released), 0);
        Ok(())
    }

    const PROT_READ: usize = 0x1;
    const PROT_WRITE: usize = 0x2;
    const MAP_SHARED: usize = 0x1;

    /// Maps `pages` pages of `buf`'s file from page `pgoff` into the test's address space, as
    /// `mmap(2)` on its descriptor would, and returns the address or the errno.
    fn map_file(buf: &DmaBuf, pages: usize, pgoff: usize) -> Result<usize> {
        // SAFETY: Called from a KUnit test, so the current test is set.
        let test = unsafe { bindings::kunit_get_current_test() };
        // SAFETY: `test` is the running test; the buffer's file is referenced by `buf`, and
        // `vm_mmap()` takes its own reference for the mapping. KUnit gives the test thread an
        // address space on first use.
        let addr = unsafe {
            bindings::kunit_vm_mmap(
                test,
                (*buf.as_raw()).file,
                0,
                pages * PAGE_SIZE,
                PROT_READ | PROT_WRITE,
                MAP_SHARED,
                pgoff * PAGE_SIZE,
            )
        };
        // `vm_mmap()` returns an address or a negative errno.
        if addr > usize::MAX - 4095 {
            return Err(Error::from_errno(-i32::try_from(addr.wrapping_neg())?));
        }
        if addr == 0 {
            return Err(ENOMEM);
        }
        Ok(addr)
    }

    /// Unmaps what `map_file` mapped, dropping the mapping's file reference.
    fn unmap_file(addr: usize, pages: usize) {
        // SAFETY: `addr` was mapped by `map_file` in the current address space.
        let ret = unsafe { bindings::vm_munmap(addr, pages * PAGE_SIZE) };
        assert_eq!(ret, 0);
    }

    fn read_user(addr: usize, out: &mut [u8]) -> Result {
        UserSlice::new(UserPtr::from_addr(addr), out.len())
            .reader()
            .read_slice(out)
    }

    /// Fills each page of `buf` with its page number plus one.
    fn fill_pages(buf: &DmaBuf) -> Result {
        let unlocked = Unlocked::new();
        let map = buf.vmap_unlocked(&unlocked)?;
        for page in 0..PAGES {
            let byte = u8::try_from(page + 1)?;
            map.write(page * PAGE_SIZE, &[byte; 16])?;
        }
        Ok(())
    }

    #[test]
    fn mmap_of_the_file_shows_the_pages() -> Result {
        let (buf, calls) = new_buffer()?;
        fill_pages(&buf)?;

        let addr = map_file(&buf, PAGES, 0)?;
        assert_eq!(count(&calls.mmap), 1);
        let mut bytes = [0u8; 16];
        for page in 0..PAGES {
            read_user(addr + page * PAGE_SIZE, &mut bytes)?;
            assert_eq!(bytes, [u8::try_from(page + 1)?; 16]);
        }
        unmap_file(addr, PAGES);

        // From an offset: the third page only.
        let addr = map_file(&buf, 1, 2)?;
        read_user(addr, &mut bytes)?;
        assert_eq!(bytes, [3u8; 16]);
        unmap_file(addr, 1);

        // Past the end: refused before the exporter is asked.
        assert_eq!(map_file(&buf, 2, PAGES - 1), Err(EINVAL));
        assert_eq!(count(&calls.mmap), 2);

        release(buf, &calls)
    }

    #[test]
    fn mmap_forwarded_by_an_importer() -> Result {
        let (inner, calls) = new_buffer()?;
        fill_pages(&inner)?;
        let forwarder = Forwarder {
            inner: inner.clone(),
            shift: 1,
            locking: false,
        };
        let outer = export_value(c"rust-fwd", forwarder)?;

        // Pages 0..3 of the outer buffer are pages 1..4 of the inner one.
        let addr = map_file(&outer, PAGES - 1, 0)?;
        let mut bytes = [0u8; 16];
        for page in 0..PAGES - 1 {
            read_user(addr + page * PAGE_SIZE, &mut bytes)?;
            assert_eq!(bytes, [u8::try_from(page + 2)?; 16]);
        }
        unmap_file(addr, PAGES - 1);
        assert_eq!(count(&calls.mmap), 1);

        // The whole outer buffer would run past the inner one: `dma_buf_mmap()` refuses.
        assert_eq!(map_file(&outer, PAGES, 0), Err(EINVAL));
        assert_eq!(count(&calls.mmap), 1);

        // An inner buffer whose exporter cannot mmap.
        let unmappable = export_value(c"rust-nommap", Unmappable)?;
        let outer2 = export_value(
            c"rust-fwd",
            Forwarder {
                inner: unmappable,
                shift: 0,
                locking: false,
            },
        )?;
        assert_eq!(map_file(&outer2, 1, 0), Err(EINVAL));

        drop((outer, outer2));
        flush_delayed_fput();
        // The forwarder's reference to the inner buffer went with the outer buffer.
        release(inner, &calls)
    }

    /// Returns the number of bytes a mapping covers.
    fn mapped_bytes(table: &SGTable) -> Result<usize> {
        let mut total = 0usize;
        for entry in table.iter() {
            total += usize::try_from(entry.dma_len())?;
        }
        Ok(total)
    }

    #[test]
    fn every_dynamic_importer_is_told_of_invalidation() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let mut counters = KVec::new();
        let mut dynamic = KVec::new();
        for _ in 0..3 {
            let (importer, invalidations) = new_importer()?;
            dynamic.push(
                Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &unlocked)?,
                GFP_KERNEL,
            )?;
            counters.push(invalidations, GFP_KERNEL)?;
        }
        let fixed = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        assert_eq!(count(&calls.attach), 4);

        for _ in 0..2 {
            buf.invalidate_mappings(&buf.resv().lock(&mut unlocked))?;
        }
        for c in counters.iter() {
            assert_eq!(c.load(Relaxed), 2);
        }

        // A detached importer hears nothing more; the others do.
        drop(dynamic.pop());
        buf.invalidate_mappings(&buf.resv().lock(&mut unlocked))?;
        let seen: KVec<u32> = {
            let mut v = KVec::new();
            for c in counters.iter() {
                v.push(c.load(Relaxed), GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(&seen[..], &[3, 3, 2]);

        drop(dynamic);
        drop(fixed);
        assert_eq!(count(&calls.detach), 4);
        release(buf, &calls)
    }

    const ROUNDS: u32 = 100;

    #[test]
    fn importers_map_while_the_exporter_invalidates() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let stop = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        let mut workers = KVec::new();
        for _ in 0..2 {
            let (importer, invalidations) = new_importer()?;
            let attach = Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &unlocked)?;
            let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
            let good = Arc::new(AtomicU32::new(0), GFP_KERNEL)?;
            let (worker_done, worker_good) = (done.clone(), good.clone());
            let detach = stop.clone();
            workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
                // A work item holds no reservation lock.
                let mut unlocked = Unlocked::new();
                for _ in 0..ROUNDS {
                    let locked = attach.lock(&mut unlocked);
                    let mapped = locked.map(DataDirection::Bidirectional);
                    if let Ok(mapping) = &mapped {
                        if mapped_bytes(mapping.sg_table()) == Ok(SIZE) {
                            worker_good.fetch_add(1, Relaxed);
                        }
                    }
                    drop(mapped);
                }
                // Attached until the exporter is done invalidating.
                detach.wait_for_completion();
                drop(attach);
                worker_done.complete_all();
            })?;
            workers.push((done, good, invalidations), GFP_KERNEL)?;
        }
        // Invalidate while they map; both importers stay attached throughout, so each hears
        // every invalidation.
        for _ in 0..ROUNDS {
            buf.invalidate_mappings(&buf.resv().lock(&mut unlocked))?;
        }
        stop.complete_all();
        for (done, good, invalidations) in workers.iter() {
            done.wait_for_completion();
            assert_eq!(good.load(Relaxed), ROUNDS);
            assert_eq!(invalidations.load(Relaxed), ROUNDS);
        }
        assert_eq!(count(&calls.map), 2 * ROUNDS);
        assert_eq!(count(&calls.unmap), 2 * ROUNDS);
        assert_eq!(count(&calls.detach), 2);
        assert!(!buf.resv().is_locked());
        release(buf, &calls)
    }

    #[test]
    fn failed_map_releases_the_pin_of_a_static_importer() -> Result {
        let (mut unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        inject(&calls.fail_map, ENOSPC);
        assert!(
            matches!(attach.lock(&mut unlocked).map(DataDirection::ToDevice), Err(e) if e == ENOSPC)
        );
        assert_eq!((count(&calls.pin), count(&calls.unpin)), (1, 1));
        assert_eq!(count(&calls.map), 0);

        // Once the exporter maps again, so does the importer.
        calls.fail_map.store(0, Relaxed);
        drop(attach.map_unlocked(DataDirection::ToDevice, &unlocked)?);
        assert_eq!((count(&calls.pin), count(&calls.unpin)), (2, 2));
        drop(attach);
        release(buf, &calls)
    }

    #[test]
    fn failed_pin_fails_a_static_map() -> Result {
        let (unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        inject(&calls.fail_pin, ENOMEM);
        let mapped = attach.map_unlocked(DataDirection::FromDevice, &unlocked);
        assert_eq!(mapped.err(), Some(ENOMEM));
        // The exporter was not asked to map, nor to unpin what it did not pin.
        assert_eq!(
            (count(&calls.pin), count(&calls.map), count(&calls.unpin)),
            (0, 0, 0)
        );
        drop(attach);
        release(buf, &calls)
    }

    /// Adds an unsignaled fence of `usage` to `buf` and signals it after `ms` milliseconds from
    /// another thread.
    fn fence_signaled_later(buf: &DmaBuf, usage: Usage, ms: i64) -> Result<ARef<Fence>> {
        let mut unlocked = Unlocked::new();
        let fence = SoftFence::new()?;
        {
            let mut held = buf.resv().lock(&mut unlocked);
            held.reserve_fences(1)?;
            held.add_fence(&fence, usage)?;
        }
        let shared = fence.get();
        workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            fsleep(Delta::from_millis(ms));
            fence.signal();
        })?;
        Ok(shared)
    }

    #[test]
    fn static_importers_wait_for_kernel_fences() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let fence = fence_signaled_later(&buf, Usage::Kernel, 2000)?;

        // A dynamic importer waits itself: its mapping comes back at once.
        let (importer, _) = new_importer()?;
        let dynamic = Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &unlocked)?;
        drop(dynamic.lock(&mut unlocked).map(DataDirection::ToDevice)?);
        assert!(!fence.is_signaled());

        // A static importer's mapping waits for the buffer's kernel work.
        let fixed = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        drop(fixed.map_unlocked(DataDirection::ToDevice, &unlocked)?);
        assert!(fence.is_signaled());

        drop((dynamic, fixed));
        release(buf, &calls)
    }

    #[test]
    fn cpu_writes_wait_for_readers_and_cpu_reads_do_not() -> Result {
        let unlocked = Unlocked::new();
        let (buf, calls) = new_buffer()?;
        let reader = fence_signaled_later(&buf, Usage::Read, 2000)?;

        // Reading with the CPU waits for writers only.
        buf.begin_cpu_access(DataDirection::FromDevice, &unlocked)?
            .end()?;
        assert!(!reader.is_signaled());
        let from = dir_bit(DataDirection::FromDevice);
        assert_eq!(
            (count(&calls.begin_dirs), count(&calls.end_dirs)),
            (from, from)
        );

        // Writing waits for the reader too.
        buf.begin_cpu_access(DataDirection::ToDevice, &unlocked)?
            .end()?;
        assert!(reader.is_signaled());
        assert_eq!((count(&calls.begin), count(&calls.end)), (2, 2));
        let both = from | dir_bit(DataDirection::ToDevice);
        assert_eq!(
            (count(&calls.begin_dirs), count(&calls.end_dirs)),
            (both, both)
        );
        release(buf, &calls)
    }

    #[test]
    fn cpu_access_errors_come_from_the_exporter() -> Result {
        let unlocked = Unlocked::new();
        let (buf, calls) = new_buffer()?;
        inject(&calls.fail_begin, EAGAIN);
        let access = buf.begin_cpu_access(DataDirection::ToDevice, &unlocked);
        assert_eq!(access.err(), Some(EAGAIN));
        assert_eq!((count(&calls.begin), count(&calls.end)), (0, 0));

        calls.fail_begin.store(0, Relaxed);
        inject(&calls.fail_end, EIO);
        let access = buf.begin_cpu_access(DataDirection::ToDevice, &unlocked)?;
        assert_eq!(access.end(), Err(EIO));
        assert_eq!((count(&calls.begin), count(&calls.end)), (1, 0));
        calls.fail_end.store(0, Relaxed);
        release(buf, &calls)
    }

    #[test]
    fn an_attachment_keeps_its_buffer() -> Result {
        let unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let attach = Attachment::new(buf, reg.as_ref(), &unlocked)?;
        flush_delayed_fput();
        // The importer's handle was the last one but the attachment's: still there.
        assert_eq!(count(&calls.released), 0);
        let mapping = attach.map_unlocked(DataDirection::Bidirectional, &unlocked)?;
        assert_eq!(mapped_bytes(mapping.sg_table())?, SIZE);
        drop(mapping);
        drop(attach);
        flush_delayed_fput();
        assert_eq!(count(&calls.released), 1);
        assert_eq!(count(&calls.detach), 1);
        Ok(())
    }

    #[test]
    fn a_refused_attach_leaves_nothing_attached() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        inject(&calls.fail_attach, EBUSY);
        assert!(
            matches!(Attachment::new(buf.clone(), reg.as_ref(), &unlocked), Err(e) if e == EBUSY)
        );
        let (importer, _) = new_importer()?;
        assert!(matches!(
            Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &unlocked),
            Err(e) if e == EBUSY
        ));
        assert_eq!((count(&calls.attach), count(&calls.detach)), (0, 0));

        // Nothing was left on the buffer's list: an invalidation reaches only a later one.
        calls.fail_attach.store(0, Relaxed);
        let (importer, invalidations) = new_importer()?;
        let attach = Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &unlocked)?;
        buf.invalidate_mappings(&buf.resv().lock(&mut unlocked))?;
        assert_eq!(invalidations.load(Relaxed), 1);
        drop(attach);
        assert_eq!((count(&calls.attach), count(&calls.detach)), (1, 1));
        release(buf, &calls)
    }

    #[test]
    fn each_mapping_of_a_static_importer_pins() -> Result {
        let (mut unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        {
            let locked = attach.lock(&mut unlocked);
            let first = locked.map(DataDirection::ToDevice)?;
            let second = locked.map(DataDirection::FromDevice)?;
            assert_eq!((count(&calls.map), count(&calls.pin)), (2, 2));
            drop(first);
            assert_eq!((count(&calls.unmap), count(&calls.unpin)), (1, 1));
            assert_eq!(mapped_bytes(second.sg_table())?, SIZE);
            drop(second);
            assert_eq!((count(&calls.unmap), count(&calls.unpin)), (2, 2));
        }
        drop(attach);
        release(buf, &calls)
    }

    #[test]
    fn importers_share_one_kernel_mapping() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let one = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        let other = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        // A mapping made unlocked may be kept while the buffer is locked.
        let shared = other.buffer().vmap_unlocked(&unlocked)?;
        shared.write(0, &[0x5a])?;
        {
            let locked = one.lock(&mut unlocked);
            let map = locked.vmap()?;
            let mut byte = [0u8];
            map.read(0, &mut byte)?;
            assert_eq!(byte, [0x5a]);
            assert_eq!(count(&calls.vmap), 1);
        }
        // The first user is still there: the mapping stays.
        assert_eq!(count(&calls.vunmap), 0);
        drop(shared);
        assert_eq!(count(&calls.vunmap), 1);

        // A later vmap asks the exporter again.
        drop(buf.vmap_unlocked(&unlocked)?);
        assert_eq!((count(&calls.vmap), count(&calls.vunmap)), (2, 2));
        drop((one, other));
        release(buf, &calls)
    }

    #[test]
    fn an_exporter_without_optional_ops() -> Result {
        let unlocked = Unlocked::new();
        let reg = device()?;
        let buf = export_value(c"rust-minimal", Unmappable)?;
        // No pin: not dynamic, and a static map is not pinned (the exporter's error comes
        // back as it is).
        assert!(!buf.is_dynamic());
        let attach = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        assert!(matches!(
            attach.map_unlocked(DataDirection::ToDevice, &unlocked),
            Err(e) if e == EOPNOTSUPP
        ));
        // No vmap: refused.
        assert!(matches!(buf.vmap_unlocked(&unlocked), Err(e) if e == EINVAL));
        // No CPU access callbacks: nothing to prepare, so it succeeds.
        buf.begin_cpu_access(DataDirection::Bidirectional, &unlocked)?
            .end()?;
        drop(attach);
        Ok(())
    }

    /// Waits up to five seconds for `counter` to reach `n`, for work done by a worker.
    fn wait_for(counter: &AtomicU32, n: u32) -> bool {
        for _ in 0..500 {
            if count(counter) >= n {
                return true;
            }
            fsleep(Delta::from_millis(10));
        }
        count(counter) >= n
    }

    /// [`release`], for a buffer whose other references a worker is still dropping.
    ///
    /// # Errors
    ///
    /// `EBUSY` if the buffer was not released within five seconds.
    fn release_eventually(buf: ARef<DmaBuf>, calls: &Calls) -> Result {
        drop(buf);
        for _ in 0..500 {
            flush_delayed_fput();
            if count(&calls.released) != 0 {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
        done_or_busy(count(&calls.released) == 1, "the release of the buffer")
    }

    /// An attachment dropped while its buffer is locked through another handle, which the types
    /// cannot see, neither deadlocks nor leaves a pin behind: its pins are released under the
    /// held lock, and a worker detaches it once the lock is free. Its importer is gone at once:
    /// an invalidation in between no longer reaches it (with KASAN, a use of its freed data
    /// would show).
    #[test]
    fn an_attachment_dropped_under_the_lock_is_detached_later() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let (importer, invalidations) = new_importer()?;
        let pinned = Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &unlocked)?;
        pinned.lock(&mut unlocked).pin()?;
        let other = Attachment::new(buf.clone(), reg.as_ref(), &unlocked)?;
        {
            let locked = other.lock(&mut unlocked);
            drop(pinned);
            assert_eq!((count(&calls.pin), count(&calls.unpin)), (1, 1));
            // The detach waits for the lock this task holds.
            assert_eq!(count(&calls.detach), 0);
            buf.invalidate_mappings(locked.guard())?;
            assert_eq!(invalidations.load(Relaxed), 0);
        }
        assert!(wait_for(&calls.detach, 1));
        drop(other);
        assert_eq!((count(&calls.attach), count(&calls.detach)), (2, 2));
        assert!(!buf.resv().is_locked());
        release_eventually(buf, &calls)
    }

    /// A capability made where a reservation lock is held defeats the types (the hole named in
    /// the docs): the operations that take the lock themselves check at run time, fail with
    /// `EDEADLK` and call no exporter callback, instead of deadlocking.
    #[test]
    fn unlocked_operations_under_a_forged_capability_are_refused() -> Result {
        let (mut unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        {
            let _locked = attach.lock(&mut unlocked);
            let forged = Unlocked::new();
            let dir = DataDirection::ToDevice;
            assert!(matches!(buf.begin_cpu_access(dir, &forged), Err(e) if e == EDEADLK));
            assert!(matches!(buf.vmap_unlocked(&forged), Err(e) if e == EDEADLK));
            assert!(matches!(attach.map_unlocked(dir, &forged), Err(e) if e == EDEADLK));
            let again = Attachment::new(buf.clone(), reg.as_ref(), &forged);
            assert!(matches!(again, Err(e) if e == EDEADLK));
            let (importer, invalidations) = new_importer()?;
            let dynamic = Attachment::new_dynamic(buf.clone(), reg.as_ref(), importer, &forged);
            assert!(matches!(dynamic, Err(e) if e == EDEADLK));
            // The refused importer was dropped, not kept.
            assert!(Arc::into_unique_or_drop(invalidations).is_some());
            let mut forged = forged;
            assert!(matches!(buf.resv().lock_interruptible(&mut forged), Err(e) if e == EDEADLK));
        }
        assert_eq!((count(&calls.attach), count(&calls.begin)), (1, 0));
        assert_eq!((count(&calls.map), count(&calls.vmap)), (0, 0));
        detach_and_release(attach, buf, &calls)
    }

    /// A guard leaked with `mem::forget` ends the capability's borrow while the lock stays
    /// held: the unlocked operations see the owner and refuse with `EDEADLK`, calling no
    /// exporter callback.
    #[test]
    fn unlocked_operations_after_a_leaked_guard_are_refused() -> Result {
        let (mut unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        core::mem::forget(buf.resv().lock(&mut unlocked));
        let dir = DataDirection::FromDevice;
        assert!(matches!(buf.begin_cpu_access(dir, &unlocked), Err(e) if e == EDEADLK));
        assert!(matches!(buf.vmap_unlocked(&unlocked), Err(e) if e == EDEADLK));
        assert!(matches!(attach.map_unlocked(dir, &unlocked), Err(e) if e == EDEADLK));
        assert!(matches!(buf.resv().lock_interruptible(&mut unlocked), Err(e) if e == EDEADLK));
        assert_eq!(
            (count(&calls.begin), count(&calls.vmap), count(&calls.map)),
            (0, 0, 0)
        );
        // SAFETY: The current task took the lock above and leaked its guard: this is its unlock.
        unsafe { bindings::dma_resv_unlock(buf.resv().as_raw()) };
        assert!(buf.resv().try_lock(&mut unlocked).is_some());
        drop(attach);
        release(buf, &calls)
    }

    /// `DmaBuf::mmap()` under a capability made while the buffer is locked: refused with
    /// `EDEADLK` before the exporter is asked, and the mapping is not set up.
    #[test]
    fn mmap_under_a_forged_capability_is_refused() -> Result {
        let (inner, calls) = new_buffer()?;
        let outer = export_value(
            c"rust-lockfwd",
            Forwarder {
                inner: inner.clone(),
                shift: 0,
                locking: true,
            },
        )?;
        assert_eq!(map_file(&outer, 1, 0), Err(EDEADLK));
        assert_eq!(count(&calls.mmap), 0);
        drop(outer);
        flush_delayed_fput();
        release(inner, &calls)
    }

    /// Mappings made without the lock may be kept while the buffer is locked; dropped under that
    /// lock, they are unmapped under it instead of deadlocking on it.
    #[test]
    fn unlocked_mappings_dropped_under_the_lock_are_unmapped() -> Result {
        let (mut unlocked, Fixture { reg, buf, calls }, attach) = Fixture::attached()?;
        let mapping = attach.map_unlocked(DataDirection::ToDevice, &unlocked)?;
        let kernel_map = buf.vmap_unlocked(&unlocked)?;
        {
            let _guard = buf.resv().lock(&mut unlocked);
            drop(mapping);
            drop(kernel_map);
            assert_eq!((count(&calls.unmap), count(&calls.vunmap)), (1, 1));
            // The static importer's pin for the mapping went with it.
            assert_eq!((count(&calls.pin), count(&calls.unpin)), (1, 1));
        }
        detach_and_release(attach, buf, &calls)
    }

    /// An exporter in C terms whose `begin_cpu_access` and `end_cpu_access` return 1: a buggy
    /// one, whose positive results the core passes on as they are, as the C core does. Its `map`
    /// and `unmap` are never called; it has no private data to free.
    mod positive {
        use crate::{bindings, ffi::c_int, prelude::*};

        // Nothing is dereferenced: safe functions, which coerce to the table's `unsafe` ones.
        extern "C" fn map(
            _attach: *mut bindings::dma_buf_attachment,
            _dir: bindings::dma_data_direction,
        ) -> *mut bindings::sg_table {
            ENOMEM.to_ptr()
        }

        extern "C" fn unmap(
            _attach: *mut bindings::dma_buf_attachment,
            _table: *mut bindings::sg_table,
            _dir: bindings::dma_data_direction,
        ) {
        }

        extern "C" fn release(_buf: *mut bindings::dma_buf) {}

        extern "C" fn cpu_access(
            _buf: *mut bindings::dma_buf,
            _dir: bindings::dma_data_direction,
        ) -> c_int {
            1
        }

        pub(super) static OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
            map_dma_buf: Some(map),
            unmap_dma_buf: Some(unmap),
            release: Some(release),
            begin_cpu_access: Some(cpu_access),
            end_cpu_access: Some(cpu_access),
            // SAFETY: All-zero is a valid table: every other callback unset.
            ..unsafe { core::mem::zeroed() }
        };
    }

    /// A positive result of an exporter is a failure in the Rust API, as C callers take it
    /// (`if (ret)`): no CPU access to end. (A positive `vmap`, which would otherwise give a
    /// `VMap` without an address, is refused the same way, but both cores warn about it with a
    /// `WARNING`, which only the lock-misuse suite may print.)
    #[test]
    fn an_exporter_s_positive_result_is_an_error() -> Result {
        let unlocked = Unlocked::new();
        static PRIV: u8 = 0;
        let info = bindings::dma_buf_export_info {
            exp_name: c"rust-test-positive".as_char_ptr(),
            owner: core::ptr::null_mut(),
            ops: &positive::OPS,
            size: PAGE_SIZE,
            // CAST: A small flag.
            flags: bindings::O_RDWR as i32,
            resv: core::ptr::null_mut(),
            priv_: (&raw const PRIV).cast_mut().cast(),
        };
        // SAFETY: `info` is complete; its operations and private data are static.
        let raw = crate::error::from_err_ptr(unsafe { bindings::dma_buf_export(&info) })?;
        let raw = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: `dma_buf_export()` returned a buffer with one reference, which the `ARef`
        // takes over.
        let buf: ARef<DmaBuf> = unsafe { ARef::from_raw(raw.cast()) };
        let access = buf.begin_cpu_access(DataDirection::ToDevice, &unlocked);
        assert!(matches!(access, Err(e) if e == EINVAL));
        drop(access);
        drop(buf);
        flush_delayed_fput();
        Ok(())
    }

    /// An exporter walks the attachments of its buffer under the buffer's lock, newest first,
    /// with their devices; another buffer's guard is refused.
    #[test]
    fn attachments_are_walked_under_their_buffer_s_lock() -> Result {
        let mut unlocked = Unlocked::new();
        let Fixture { reg, buf, calls } = Fixture::new()?;
        let dev: &Device = reg.as_ref();
        let (other, other_calls) = new_buffer()?;
        let first = Attachment::new(buf.clone(), dev, &unlocked)?;
        let second = Attachment::new(buf.clone(), dev, &unlocked)?;
        {
            let held = buf.resv().lock(&mut unlocked);
            let mut walked = buf.attachments(&held)?.map(|attach| attach.as_raw());
            assert_eq!(walked.next(), Some(second.as_raw()));
            assert_eq!(walked.next(), Some(first.as_raw()));
            assert_eq!(walked.next(), None);
            for attach in buf.attachments(&held)? {
                assert_eq!(attach.device_name(), Some(dev.name()));
            }
            assert!(matches!(other.attachments(&held), Err(e) if e == EINVAL));
        }
        drop(second);
        {
            let held = buf.resv().lock(&mut unlocked);
            assert_eq!(buf.attachments(&held)?.count(), 1);
        }
        drop(first);
        release(buf, &calls)?;
        release(other, &other_calls)
    }

    /// The buffer iterator of BPF (`dma_buf_iter_begin()`, `dma_buf_iter_next()`) returns
    /// each buffer once, and gives back the reference it took on each.
    #[test]
    fn the_buffer_iterator_lists_each_buffer_once() -> Result {
        let (buf, calls) = new_buffer()?;
        let (other, other_calls) = new_buffer()?;
        let (mut seen, mut seen_other) = (0u32, 0u32);
        // SAFETY: Starts a walk of the list of buffers; the buffer returned is referenced.
        let mut at = unsafe { bindings::dma_buf_iter_begin() };
        while !at.is_null() {
            seen += u32::from(at == buf.as_raw());
            seen_other += u32::from(at == other.as_raw());
            // SAFETY: `at` came from the walk, with a reference, which this gives back.
            at = unsafe { bindings::dma_buf_iter_next(at) };
        }
        assert_eq!((seen, seen_other), (1, 1));
        // An extra put would have released them already; a missing one, never.
        assert_eq!(
            (count(&calls.released), count(&other_calls.released)),
            (0, 0)
        );
        release(buf, &calls)?;
        release(other, &other_calls)
    }

    /// Kernel mappings compare as `iosys_map_is_equal()` does: the same address in the same
    /// memory.
    #[test]
    fn kernel_mappings_compare_by_address_and_memory() {
        let mut byte = 0u8;
        let at = (&raw mut byte).cast();
        assert!(IosysMap::cleared().is_null());
        assert!(!IosysMap::cleared().is_iomem());
        assert!(IosysMap::system(at) == IosysMap::system(at));
        assert_eq!(IosysMap::system(at).vaddr(), Some(at));
        assert!(IosysMap::system(at) != IosysMap::cleared());
        let mut raw = IosysMap::system(at).into_raw();
        raw.is_iomem = true;
        let io = IosysMap::from_raw(raw);
        assert!(io.is_iomem() && !io.is_null());
        assert_eq!(io.vaddr(), None);
        assert!(io != IosysMap::system(at));
    }
}
