package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.StartupExtension;
import dev.exalloc.internal.InFlight;
import dev.exalloc.internal.CriticalGate;
import dev.exalloc.internal.Epoch;
import dev.exalloc.internal.PoolScopes;
import dev.exalloc.internal.BlockSet;
import dev.exalloc.internal.bindings.exa_allocate_fn;
import dev.exalloc.internal.bindings.exa_free_fn;
import dev.exalloc.internal.bindings.exa_lookaside_config_s;
import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Objects;

/**
 * A lookaside list: fixed-size off-heap blocks cached in front of the pool, with NT's semantics
 * ({@code ExInitializeLookasideListEx} and friends). Blocks come back LIFO; the list caches at most
 * {@link LookasideStats#depth() Depth} of them (4 at the start, as on NT); an allocate that finds nothing
 * cached calls the {@link Allocator} (by default the pool), and a free that finds the list full calls the
 * {@link Releaser}. A cached block's first 8 bytes are overwritten; the rest is left as it was.
 *
 * <p>Safe for any number of threads: each thread keeps a small private cache in front of the shared one,
 * and {@link #stats()} sums every thread's counts exactly.
 *
 * <p>In the default checked mode every misuse raises a typed exception and leaves the list intact: freeing a
 * segment this list did not hand out or freeing twice ({@link InvalidBlockException}), a segment of the
 * wrong size, any use after {@link #close()} ({@link LookasideClosedException}). Blocks are handed out in
 * quarantine epochs: runs of up to Depth blocks (at most 32) whose segments share one scope, confined to the
 * allocating thread. A free is checked at once and quarantines the block (it is not handed out again while its
 * segment is open); once every block of the run has been freed, the scope ends, so a use after free raises
 * {@link IllegalStateException} from then on (until then it reaches only the quarantined block), and the blocks go
 * back to the list in one transfer. {@link #endQuarantine()} ends the calling thread's run early; {@link #stats()},
 * {@link #flush()} and {@link #close()} do it first. A run is stocked from the list in one transfer and given back
 * in one, so NT's counters count each block once and a checked list hits as an unchecked one does; a checked pair
 * costs about 0.6x the JDK's own {@code Arena.ofConfined()} allocate+close pair (bench/results). Lists with an
 * allocate or free callback, and lists built at the verifier check level ({@link Verifier#setCheckLevel}: for
 * hunting a use after free, which then throws at once), give each block a scope of its own instead, ended by its
 * free. A
 * block may be freed on any thread; freed on another thread, it is checked at once and goes back at the allocating
 * thread's next call (its scope can only be closed there; until then nothing else receives the block). If the
 * allocating thread has ended, the block goes back at once; one parked for a thread that ends without calling the
 * list again goes back at the next {@link #stats()}, {@link #flush()} or {@link #close()}, or when another thread
 * first uses the list, whichever comes first (so {@link #stats()} stays exact). Lists whose blocks
 * travel between threads use {@link LookasideBuilder#sharedSegments()}: segments any thread can access, every misuse
 * check but the use-after-free one. Unchecked mode ({@link LookasideBuilder#unchecked()}) skips the bookkeeping behind
 * all checks; misuse then corrupts native memory as it would in C.
 *
 * <p>The fastest path is a {@link LookasideLocal}: a cache of blocks confined to one thread, in Java, refilled from and
 * drained to the list in batches by one downcall ({@link #local()}); with an unchecked list its
 * {@link LookasideLocal#allocateAddress()} / {@link LookasideLocal#freeAddress(long)} pair allocates nothing on the Java heap.
 *
 * <pre>{@code
 * try (Lookaside list = Lookaside.builder(256).tag(Tag.of("Msgs")).build()) {
 *     MemorySegment block = list.allocate();   // exactly 256 bytes
 *     ...
 *     list.free(block);
 * }
 * }</pre>
 */
public final class Lookaside implements BlockAllocator {

    /** Supplies a block on a miss: at least {@code size} bytes of native memory, or null when there is none. */
    @FunctionalInterface
    public interface Allocator {
        /**
         * Allocates a block for the list.
         *
         * @param poolType the list's pool type
         * @param size     the list's block size in bytes
         * @param tag      the list's tag
         * @return at least {@code size} bytes of native memory, or null when there is none
         */
        MemorySegment allocate(PoolType poolType, long size, Tag tag);
    }

    /** Takes back a block the list does not keep (a free miss, a flush, the close). */
    @FunctionalInterface
    public interface Releaser {
        /**
         * Takes back a block the list does not keep.
         *
         * @param block the block, one the list's allocator supplied
         */
        void free(MemorySegment block);
    }

    /**
     * A builder for a list of blocks of {@code size} bytes (at least 8; smaller sizes are raised to 8).
     *
     * @param size the block size in bytes
     * @return a builder with NT's defaults
     */
    public static LookasideBuilder builder(long size) {
        return new LookasideBuilder(size);
    }

    /*
     * Lists without Java callbacks call allocate and free as critical downcalls (no thread-state transition): the
     * native paths never block for long (a miss is one pool allocation), never touch the Java heap, and never call
     * back into Java (pool condition listeners are polled, not upcalls); should anything link an upcall into the pool
     * (an upcall inside a critical call aborts the JVM), CriticalGate routes them through the normal handles from
     * then on. Linked from the generated $address/$descriptor, so jextract stays the source of names and signatures.
     */
    static {
        Native.ensure(); // load the library before the bindings look up symbols
        StartupExtension.runAll(); // e.g. the MXBeans under -Dexalloc.management=true
    }

    private static final MethodHandle ALLOCATE_CRITICAL = Native.critical(exa_lookaside_allocate$address(),
            exa_lookaside_allocate$descriptor());
    private static final MethodHandle FREE_CRITICAL = Native.critical(exa_lookaside_free$address(),
            exa_lookaside_free$descriptor());

    /*
     * The bulk transfers behind LookasideLocal never call the allocate or free callback (nor the pool, nor the OS): they
     * only move cached blocks, so they are critical whatever the list's callbacks, and they take the LookasideLocal's
     * long[] itself (heap access), with no copy.
     */
    static final MethodHandle ALLOCATE_CACHED = criticalHeap(exa_lookaside_allocate_cached$address(),
            exa_lookaside_allocate_cached$descriptor());
    static final MethodHandle FREE_CACHED = criticalHeap(exa_lookaside_free_cached$address(),
            exa_lookaside_free_cached$descriptor());

    @SuppressWarnings("restricted") // as critical(), and the arrays passed may be on the Java heap
    static MethodHandle criticalHeap(MemorySegment address, java.lang.foreign.FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(address, descriptor, Linker.Option.critical(true));
    }

    final MemorySegment handle;
    final long size;
    final Tag tag;
    private final PoolType poolType;
    private final Arena arena;
    private final Allocator allocator;
    private final Releaser releaser;
    final BlockLedger outstanding;
    /** Scoped mode's ledger of scoped blocks (per-thread tables); bare blocks stay in {@link #outstanding}. */
    final ScopedBlocks scopedBlocks;
    /** Checked mode with scoped segments (not {@link LookasideBuilder#sharedSegments()}). */
    final boolean scoped;
    /**
     * Scoped mode in quarantine epochs (see {@link Epoch}): lists without Java callbacks, whose native free can
     * refuse only for the IRQL, which a free checks before it quarantines the block; else null. Lists with callbacks
     * give each block a scope of its own, ended after its native free (a callback's failure then reaches that free's
     * caller), and so do lists built at the verifier check level (a use after free then throws at once).
     */
    final LookasideEpochs epochs;
    /** The owner record of the thread that called last (a cache in front of {@link #owners}). */
    private LookasideOwner recent;
    /** Per-thread state of scoped mode: where other threads leave this thread's blocks they free. */
    final ThreadLocal<LookasideOwner> owners;
    final java.util.Set<LookasideOwner> allOwners;
    final InFlight inFlight = new InFlight();
    /** Deletes the native list if this object becomes unreachable unclosed (see {@link Reclaimer}). */
    private final java.lang.ref.Cleaner.Cleanable cleanable;
    /** A callback's exception, parked while native code unwinds, rethrown by the Java caller. */
    private final ThreadLocal<Throwable> callbackFailure = new ThreadLocal<>();

    Lookaside(LookasideBuilder b) {
        Native.ensure();
        this.size = Math.max(b.size, EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE());
        this.tag = b.tag;
        this.poolType = b.poolType;
        this.allocator = b.allocator;
        this.releaser = b.releaser;
        this.outstanding = b.checked ? new BlockLedger("lookaside list") : null;
        this.scoped = b.checked && !b.sharedSegments;
        this.epochs = scoped && b.allocator == null && b.releaser == null && !PoolScopes.verifierLevel()
                ? new LookasideEpochs(this, b.poolType.isPaged() ? Irql.APC_LEVEL : Irql.DISPATCH_LEVEL) : null;
        this.scopedBlocks = scoped ? new ScopedBlocks(this) : null;
        this.allOwners = scoped ? java.util.concurrent.ConcurrentHashMap.newKeySet() : null;
        this.owners = scoped ? ThreadLocal.withInitial(this::newOwner) : null;
        this.arena = Arena.ofShared();
        boolean ok = false;
        try {
            MemorySegment cfg = arena.allocate(exa_lookaside_config_s.layout());
            exa_lookaside_config_s.size(cfg, b.size);
            exa_lookaside_config_s.tag(cfg, b.tag.value());
            exa_lookaside_config_s.pool_type(cfg, b.poolType.code() | (b.raiseOnFailure ? EXA_POOL_RAISE_IF_ALLOCATION_FAILURE() : 0));
            exa_lookaside_config_s.maximum_depth(cfg, b.maximumDepth);
            exa_lookaside_config_s.initial_depth(cfg, b.initialDepth);
            if (allocator != null) {
                exa_lookaside_config_s.allocate(cfg, exa_allocate_fn.allocate(this::upcallAllocate, arena));
                exa_lookaside_config_s.free(cfg, exa_free_fn.allocate(this::upcallFree, arena));
            }
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int status = exa_lookaside_create(cfg, out);
            if (status == NtStatus.INVALID_PARAMETER_4) {
                throw new InvalidArgumentException(status, "pool type " + b.poolType
                        + " cannot back a lookaside list (no must-succeed type can)");
            }
            Failures.check(status);
            this.handle = out.get(ValueLayout.ADDRESS, 0);
            if (allocator == null) {
                CriticalGate.register(inFlight);
            }
            this.cleanable = Reclaimer.CLEANER.register(this, new LookasideReclaim(handle, inFlight, arena,
                    b.tag + ", " + size + " bytes"));
            ok = true;
        } finally {
            if (!ok) {
                arena.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Upcalls: never let an exception reach native code (it would end the JVM).
    // ---------------------------------------------------------------------------------------------

    private MemorySegment upcallAllocate(int type, long bytes, int rawTag, MemorySegment context) {
        try {
            MemorySegment block = allocator.allocate(PoolType.fromCode(type), bytes, new Tag(rawTag));
            if (block == null || block.equals(MemorySegment.NULL)) {
                return MemorySegment.NULL;
            }
            if (!block.isNative() || block.byteSize() < bytes) {
                throw new IllegalStateException("the allocator must return at least " + bytes
                        + " bytes of native memory, got " + block);
            }
            return MemorySegment.ofAddress(block.address());
        } catch (Throwable t) {
            callbackFailure.set(t);
            return MemorySegment.NULL;
        }
    }

    @SuppressWarnings("restricted") // reinterpret: native code passes one of this list's blocks
    private void upcallFree(MemorySegment block, MemorySegment context) {
        try {
            releaser.free(block.reinterpret(size));
        } catch (Throwable t) {
            if (callbackFailure.get() == null) {
                callbackFailure.set(t);
            }
        }
    }

    private void rethrowCallbackFailure() {
        Throwable t = callbackFailure.get();
        if (t != null) {
            callbackFailure.remove();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException("lookaside callback failed", t);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operations
    // ---------------------------------------------------------------------------------------------

    int enter() {
        int c = inFlight.enter();
        if (c < 0) {
            if (scoped) {
                LookasideOwner o = owner();
                o.reclaim(this); // blocks other threads freed for us go to the releaser now
                o.sealCurrent(this); // and those of our epoch, once nothing of it is out
            }
            throw closedException();
        }
        return c;
    }

    LookasideClosedException closedException() {
        return new LookasideClosedException("lookaside list " + tag + " (" + size + " bytes) is closed");
    }

    /**
     * A block of exactly {@link #blockSize()} bytes: the most recently freed one, or a new one from the allocator.
     *
     * @return the block
     * @throws ExallocOutOfMemoryError when nothing is cached and the allocator has no memory
     */
    public MemorySegment allocate() {
        MemorySegment block = tryAllocate();
        if (block == null) {
            throw new ExallocOutOfMemoryError(NtStatus.INSUFFICIENT_RESOURCES,
                    "lookaside list " + tag + " could not get a " + size + "-byte block");
        }
        return block;
    }

    /**
     * As {@link #allocate()}, but null where NT returns NULL.
     *
     * @return the block, or null when nothing is cached and the allocator has no memory
     */
    public MemorySegment tryAllocate() {
        if (scoped) {
            return tryAllocateScoped(owner());
        }
        int c = enter();
        try {
            long address = nativeAllocate();
            return address == 0 ? null : handOut(address, null);
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * This list as a {@link java.lang.foreign.SegmentAllocator}, for the JDK's APIs that take one
     * ({@code allocateFrom}, {@code allocate(MemoryLayout)}, downcalls that return a struct by value, the
     * {@code allocate(SegmentAllocator)} of generated bindings). A request of up to {@link #blockSize()} bytes
     * aligned to at most 16 gets one block, as a segment of exactly the size asked for (the block's first bytes); a
     * bigger size or alignment is an {@link IllegalArgumentException} that names both. Free such a segment as any
     * block, with {@link #free} (the segment or any slice of it at offset 0; in checked mode the list knows it
     * handed the block out short), or let the list's close keep the rule for blocks still out.
     *
     * <pre>{@code
     * try (Lookaside list = Lookaside.builder(64).tag(Tag.of("Strs")).build()) {
     *     SegmentAllocator alloc = list.asSegmentAllocator();
     *     MemorySegment s = alloc.allocateFrom("hello");   // 6 bytes of a 64-byte block
     *     list.free(s);
     * }
     * }</pre>
     *
     * @return a {@link java.lang.foreign.SegmentAllocator} that hands out this list's blocks
     * @throws ExallocOutOfMemoryError (from the allocator's allocate) when the list cannot get a block
     */
    public java.lang.foreign.SegmentAllocator asSegmentAllocator() {
        return new LookasideSegmentAllocator(this);
    }

    /* tryAllocate of the default mode, counted in the thread's own slot. */
    private MemorySegment tryAllocateScoped(LookasideOwner owner) {
        if (epochs != null) {
            Epoch e = owner.epochs.current();
            // the epoch's stock was taken from the list already: handing out a block of it touches nothing native
            if (e != null && e.hasStock() && owner.remote.isEmpty() && !inFlight.isClosedOpaque()) {
                return epochs.segment(e.takeStock(false), e);
            }
        }
        if (!inFlight.enter(owner.slot)) {
            owner.reclaim(this);
            throw closedException();
        }
        try {
            owner.reclaim(this);
            if (epochs != null) {
                return epochs.allocate(owner, false);
            }
            long address = nativeAllocate();
            return address == 0 ? null : scopedBlocks.handOut(address, size, owner, false);
        } finally {
            inFlight.exit(owner.slot);
        }
    }

    /* One block from the native list (which calls the allocator on a miss), 0 for NULL; inside enter/exit. */
    long nativeAllocate() {
        long address;
        if (allocator == null) {
            // Critical only while no upcall can run inside it (see CriticalGate).
            address = CriticalGate.allowed() ? nativeAllocateCritical() : exa_lookaside_allocate(handle).address();
        } else {
            address = exa_lookaside_allocate(handle).address();
            rethrowCallbackFailure();
        }
        if (address == 0) {
            BugCheckError bugCheck = Failures.newBugCheck(); // e.g. a paged list used at DISPATCH_LEVEL
            if (bugCheck != null) {
                throw bugCheck;
            }
        }
        return address;
    }

    private long nativeAllocateCritical() {
        try {
            return ((MemorySegment) ALLOCATE_CRITICAL.invokeExact(handle)).address();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /* A block to the native list (which calls the releaser on a free miss); inside enter/exit. */
    void nativeFree(long address) {
        int status;
        try {
            if (releaser == null) {
                status = CriticalGate.allowed()
                        ? (int) FREE_CRITICAL.invokeExact(handle, MemorySegment.ofAddress(address))
                        : exa_lookaside_free(handle, MemorySegment.ofAddress(address));
            } else {
                status = exa_lookaside_free(handle, MemorySegment.ofAddress(address));
                rethrowCallbackFailure();
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (status != NtStatus.SUCCESS) {
            throw Failures.failure(status);
        }
    }

    /*
     * The segment for a block the list just produced: scoped (in a scope of its own: a LookasideLocal reuses a block
     * at once), recorded or bare by mode.
     */
    @SuppressWarnings("restricted") // reinterpret: the block is exactly `size` bytes the list handed out
    MemorySegment handOut(long address, LookasideOwner owner) {
        if (!scoped) {
            if (outstanding != null) {
                outstanding.record(address);
            }
            return MemorySegment.ofAddress(address).reinterpret(size);
        }
        return scopedBlocks.handOut(address, size, owner, false);
    }

    /** takeBack: the caller recycles the block now; there is no scope to end. */
    private static final Object NOW = new Object();
    /** takeBack: the block went to its allocating thread, which recycles it. */
    static final Object DEFERRED = new Object();

    /*
     * The checked-mode gate of a free: validates and unrecords the block. Returns NOW, DEFERRED (handed to its
     * allocating thread, which ends its scope and recycles it at its next call), or the Scoped record whose scope
     * the caller ends once the block is back in the list (after, so that a refused native free loses nothing:
     * see restore). Throws InvalidBlockException with nothing changed.
     */
    Object takeBack(MemorySegment block) {
        if (scoped) {
            return scopedBlocks.take(block, owner(), NOW, true);
        }
        outstanding.take(block, size, this); // handed out bare (shared segments)
        return NOW;
    }

    /* A free that native code refused (an IRQL check): the block is the caller's again, as it was. */
    private void restore(long address, Object taken) {
        if (taken == DEFERRED) {
            return;
        }
        if (taken == NOW) {
            outstanding.restore(address, BlockSet.PRESENT);
        } else {
            owner().blocks.put(address, taken); // a scoped record, taken on this thread
        }
    }

    static void endScope(Object taken) {
        if (taken instanceof Arena a) {
            a.close();
        } else if (taken instanceof BlockLedger.Scoped h) {
            h.scope().close();
        }
    }

    /**
     * Returns a block to the list (or, when the list is at Depth, to the releaser).
     *
     * @param block a block this list handed out
     * @throws InvalidBlockException when the segment is not an outstanding block of this list (checked mode)
     * @throws LookasideClosedException after {@link #close()}, unless the block was still handed out at the close
     */
    public void free(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        if (scoped) {
            freeScoped(block, owner());
            return;
        }
        int c = inFlight.enter();
        if (c < 0) {
            freeAfterClose(block);
            return;
        }
        try {
            if (outstanding != null) { // checked, shared segments: handed out bare, no scope to end
                freeOrRestore(block.address(), takeBack(block));
            } else {
                nativeFree(block.address());
            }
        } finally {
            inFlight.exit(c);
        }
    }

    /* free of the default mode, counted in the thread's own slot. */
    private void freeScoped(MemorySegment block, LookasideOwner owner) {
        if (epochs != null && owner.remote.isEmpty() && epochs.freeAllowed()) {
            // the checks, then the quarantine: nothing native unless the block's epoch is over
            Object taken;
            try {
                taken = scopedBlocks.take(block, owner, NOW, true);
            } catch (InvalidBlockException e) {
                if (inFlight.isClosed()) {
                    throw closedException(); // not a block still out at the close
                }
                throw e;
            }
            if (taken == ScopedBlocks.QUARANTINED || taken == DEFERRED) {
                return;
            }
            if (taken instanceof Epoch e) {
                epochs.end(owner, e);
            } else {
                freeTaken(block, taken, owner); // a bare block (a LookasideLocal's address API), or one with its own scope
            }
            return;
        }
        if (!inFlight.enter(owner.slot)) {
            freeAfterClose(block);
            return;
        }
        try {
            owner.reclaim(this);
            // above the IRQL this list's frees allow, a block of an epoch is freed natively now: the native free
            // refuses it with its bug check, and the block stays the caller's
            Object taken = scopedBlocks.take(block, owner, NOW, epochs == null || epochs.freeAllowed());
            if (taken == ScopedBlocks.QUARANTINED || taken == DEFERRED) {
                return;
            }
            if (taken instanceof Epoch e) {
                epochs.end(owner, e);
                return;
            }
            if (taken instanceof ScopedBlocks.InEpoch b) {
                nativeFree(b.address());
                // the native side took it after all: it is no longer the epoch's to release
                if (b.epoch().forget(b.epoch().indexOf(b.address()))) {
                    epochs.end(owner, b.epoch());
                }
                return;
            }
            freeOrRestore(block.address(), taken);
            endScope(taken);
        } finally {
            inFlight.exit(owner.slot);
        }
    }

    /* A block taken back (not in an epoch): to the list, then its scope ends; after the close, to the releaser. */
    private void freeTaken(MemorySegment block, Object taken, LookasideOwner owner) {
        if (!inFlight.enter(owner.slot)) {
            releaseAfterClose(block.address());
        } else {
            try {
                freeOrRestore(block.address(), taken);
            } finally {
                inFlight.exit(owner.slot);
            }
        }
        endScope(taken);
    }

    /* The native free of a block taken back; refused (an IRQL check), the block is the caller's again. */
    private void freeOrRestore(long address, Object taken) {
        try {
            nativeFree(address);
        } catch (RuntimeException | Error e) {
            restore(address, taken);
            throw e;
        }
    }

    /* The calling thread's owner record. */
    LookasideOwner owner() {
        LookasideOwner o = recent;
        if (o != null && o.thread == Thread.currentThread()) {
            return o;
        }
        o = owners.get();
        recent = o;
        return o;
    }

    /* A block still handed out when the list was deleted: NT code frees such blocks to the pool directly. */
    private void freeAfterClose(MemorySegment block) {
        if (outstanding == null) {
            throw closedException();
        }
        if (scoped) {
            owner().reclaim(this);
        }
        Object taken;
        try {
            taken = takeBack(block);
        } catch (InvalidBlockException e) {
            throw closedException();
        }
        if (taken instanceof Epoch e) {
            epochs.end(owner(), e); // (and a quarantined block goes to the releaser at its epoch's end)
        } else if (taken != DEFERRED && taken != ScopedBlocks.QUARANTINED) {
            releaseAfterClose(block.address());
            endScope(taken);
        }
    }

    @SuppressWarnings("restricted") // reinterpret: a block of this list, passed to the releaser
    void releaseAfterClose(long address) {
        if (releaser != null) {
            releaser.free(MemorySegment.ofAddress(address).reinterpret(size));
        } else {
            exa_pool_free(MemorySegment.ofAddress(address));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Scoped mode: per-thread owners and frees from other threads
    // ---------------------------------------------------------------------------------------------

    private LookasideOwner newOwner() {
        LookasideOwner o = new LookasideOwner(Thread.currentThread(), inFlight.newSlot());
        LookasideOwner.sweepEndedOwners(this); // threads come as others end: their parked blocks go back, their records go away
        allOwners.add(o);
        return o;
    }

    // ---------------------------------------------------------------------------------------------
    // LookasideLocal: a thread's own cache in Java
    // ---------------------------------------------------------------------------------------------

    /**
     * A cache of this list's blocks confined to the calling thread, in front of the list: allocate pops a
     * {@code long[]}, free pushes onto it, and only an empty or full cache calls native code, moving up to
     * {@value LookasideLocal#CAPACITY}/2 blocks in one critical downcall ({@code exa_lookaside_allocate_cached} /
     * {@code exa_lookaside_free_cached}, which never call the allocator or the releaser); a miss then falls to
     * the list's own allocate or free. Close it to give its blocks back; the list's {@link #close()} does not
     * reach into it (an unclosed Local keeps its blocks, as an unclosed confined arena keeps its memory).
     *
     * @return a new cache for the calling thread
     */
    public LookasideLocal local() {
        inFlight.exit(enter());
        return new LookasideLocal(this);
    }

    /**
     * Ends the calling thread's current quarantine epoch early (see the class comment): once its blocks still out
     * are freed (at once, if there are none), their segments die and the blocks go back to the list. Nothing to do
     * for a list without epochs (unchecked, shared segments, or with callbacks). {@link #stats()}, {@link #flush()}
     * and {@link #close()} do this too.
     *
     * @return the blocks of this thread's epochs still out (the quarantine they keep ends with their free)
     */
    public int endQuarantine() {
        if (epochs == null) {
            return 0;
        }
        int c = enter();
        try {
            LookasideOwner o = owner();
            o.reclaim(this);
            o.sealCurrent(this);
            return o.epochs.live();
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * Passes every cached block (every thread's) to the releaser; the list stays usable. Returns how many.
     *
     * @return the number of blocks passed to the releaser
     */
    public long flush() {
        int c = enter();
        try {
            if (scoped) {
                LookasideOwner o = owner();
                o.reclaim(this);
                o.sealCurrent(this);
                LookasideOwner.sweepEndedOwners(this);
            }
            long n = exa_lookaside_flush(handle);
            rethrowCallbackFailure();
            return n;
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * Exact statistics (every thread's counts summed). In scoped mode a block freed on another thread counts as
     * freed once its allocating thread has taken it back (at that thread's next call on the list, this one
     * included); blocks parked for a thread that has ended are taken back by this call.
     *
     * @return the list's statistics now
     */
    public LookasideStats stats() {
        int c = enter();
        try (Arena a = Arena.ofConfined()) {
            if (scoped) {
                LookasideOwner o = owner();
                o.reclaim(this);
                o.sealCurrent(this); // this thread's frees count at once
                LookasideOwner.sweepEndedOwners(this);
            }
            MemorySegment s = a.allocate(exa_lookaside_stats_s.layout());
            Failures.check(exa_lookaside_query(handle, s));
            return LookasideRegistry.toStats(s);
        } finally {
            inFlight.exit(c);
        }
    }

    /** Zeroes the four counters (the debugger's {@code !lookaside -r}). */
    public void resetCounters() {
        int c = enter();
        try {
            Failures.check(exa_lookaside_reset_counters(handle));
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * Sets Depth (the debugger's {@code !lookaside -d}): 1 .. maximum depth. Lowering it takes effect at once:
     * frees miss until the cache has drained below the new bound.
     *
     * @param depth the new Depth
     */
    public void setDepth(int depth) {
        int c = enter();
        try {
            int status = exa_lookaside_set_depth(handle, depth);
            if (status == NtStatus.INVALID_PARAMETER_2) {
                throw new InvalidArgumentException(status, "depth must be 1 .. " + stats().maximumDepth()
                        + ", the list's maximum depth, not " + depth);
            }
            Failures.check(status);
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * Excludes this list from depth adjustment ({@link BalanceSet}) ({@code true}) or includes it again (the
     * default): Depth then moves only through {@link #setDepth}.
     *
     * @param fixed true to keep Depth where it is
     */
    public void fixDepth(boolean fixed) {
        int c = enter();
        try {
            Failures.check(exa_lookaside_set_fixed_depth(handle, fixed ? 1 : 0));
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * NT Size: the block size in bytes.
     *
     * @return the block size
     */
    @Override
    public long blockSize() {
        return size;
    }

    /**
     * NT Tag: the list's tag.
     *
     * @return the tag
     */
    public Tag tag() {
        return tag;
    }

    /**
     * NT Type: the list's pool type.
     *
     * @return the pool type
     */
    public PoolType poolType() {
        return poolType;
    }

    /**
     * Blocks handed out and not yet freed (checked mode; -1 in unchecked mode).
     *
     * @return the number of outstanding blocks, or -1
     */
    public long outstandingBlocks() {
        return outstanding == null ? -1 : outstanding.size() + (scoped ? scopedBlocks.size() : 0);
    }

    /**
     * Whether {@link #close()} ran.
     *
     * @return true once the list is closed
     */
    public boolean isClosed() {
        return inFlight.isClosed();
    }

    /**
     * Deletes the list: every cached block goes to the releaser. Calls in flight on other threads finish first;
     * later calls raise {@link LookasideClosedException}. Blocks still handed out stay valid; in checked mode
     * {@link #free} still takes them afterwards and passes them straight to the releaser (or the pool), as NT code
     * frees such blocks with ExFreePool. Idempotent. Not to be called from this list's own callbacks.
     */
    @Override
    public void close() {
        if (!inFlight.close()) {
            return;
        }
        CriticalGate.unregister(inFlight);
        try {
            if (scoped) {
                // Deferred frees go back where that is safe (as blocks outstanding at the close): ours, and those of
                // ended threads.
                // Those of live threads wait for their owner's next call on the list (which finds it closed and
                // hands them to the releaser): until then their segments are still open on that thread.
                LookasideOwner o = owner();
                o.reclaim(this);
                o.sealCurrent(this);
                LookasideOwner.sweepEndedOwners(this);
            }
            Failures.check(exa_lookaside_delete(handle));
        } finally {
            arena.close(); /* the upcall stubs: native code no longer calls them */
            cleanable.clean(); // deregisters: the action sees the list closed and does nothing
        }
        rethrowCallbackFailure();
    }

    /**
     * Statistics of every live lookaside list in the process (NT-named ones from C included), oldest first.
     *
     * @return one row per live list
     */
    public static List<LookasideStats> all() {
        Native.ensure();
        return LookasideRegistry.all();
    }

    @Override
    public String toString() {
        return "Lookaside[" + tag + ", " + poolType + ", " + size + " bytes" + (isClosed() ? ", closed]" : "]");
    }
}
