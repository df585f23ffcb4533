package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.bindings.exa_allocate_fn;
import dev.exalloc.internal.bindings.exa_free_fn;
import dev.exalloc.internal.bindings.exa_lookaside_config_s;
import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
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
 * wrong size, any use after {@link #close()} ({@link LookasideClosedException}). Unchecked mode
 * ({@link Builder#unchecked()}) skips the bookkeeping behind those checks; misuse then corrupts native memory
 * as it would in C.
 *
 * <pre>{@code
 * try (Lookaside list = Lookaside.builder(256).tag(Tag.of("Msgs")).build()) {
 *     MemorySegment block = list.allocate();   // exactly 256 bytes
 *     ...
 *     list.free(block);
 * }
 * }</pre>
 */
public final class Lookaside implements AutoCloseable {

    /** Supplies a block on a miss: at least {@code size} bytes of native memory, or null when there is none. */
    @FunctionalInterface
    public interface Allocator {
        MemorySegment allocate(PoolType poolType, long size, Tag tag);
    }

    /** Takes back a block the list does not keep (a free miss, a flush, the close). */
    @FunctionalInterface
    public interface Releaser {
        void free(MemorySegment block);
    }

    /** A builder for a list of blocks of {@code size} bytes (at least 8; smaller sizes are raised to 8). */
    public static Builder builder(long size) {
        return new Builder(size);
    }

    /** Lookaside list settings. Defaults: tag "None", non-paged pool, NT's depths, the pool's allocator, checked. */
    public static final class Builder {
        private final long size;
        private Tag tag = Tag.NONE;
        private PoolType poolType = PoolType.NON_PAGED;
        private boolean raiseOnFailure;
        private int maximumDepth;
        private int initialDepth;
        private Allocator allocator;
        private Releaser releaser;
        private boolean checked = true;

        private Builder(long size) {
            if (size <= 0 || size > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("block size must be 1 .. 2^32-1 bytes: " + size);
            }
            this.size = size;
        }

        public Builder tag(Tag tag) {
            this.tag = Objects.requireNonNull(tag);
            return this;
        }

        public Builder poolType(PoolType poolType) {
            this.poolType = Objects.requireNonNull(poolType);
            return this;
        }

        /** Adds POOL_RAISE_IF_ALLOCATION_FAILURE to the list's type (what the allocator is told). */
        public Builder raiseOnFailure() {
            this.raiseOnFailure = true;
            return this;
        }

        /** NT MaximumDepth: 256 .. 1024 (default 256). */
        public Builder maximumDepth(int maximumDepth) {
            this.maximumDepth = maximumDepth;
            return this;
        }

        /** Depth to start at instead of NT's 4 (an exalloc extension): 1 .. maximum depth. */
        public Builder initialDepth(int initialDepth) {
            this.initialDepth = initialDepth;
            return this;
        }

        /** Where misses get blocks (default: the pool, with this list's pool type and tag). */
        public Builder allocator(Allocator allocator) {
            this.allocator = Objects.requireNonNull(allocator);
            return this;
        }

        /** Where blocks the list does not keep go (default: the pool). Give one whenever you give an allocator. */
        public Builder releaser(Releaser releaser) {
            this.releaser = Objects.requireNonNull(releaser);
            return this;
        }

        /** Skip the misuse checks (double free, foreign block): faster, and unsafe as C is. */
        public Builder unchecked() {
            this.checked = false;
            return this;
        }

        /**
         * Creates the list.
         *
         * @throws InvalidParameterException for a depth out of range (STATUS_INVALID_PARAMETER_8 and the like)
         */
        public Lookaside build() {
            if ((allocator == null) != (releaser == null)) {
                throw new IllegalArgumentException("give both an allocator and a releaser, or neither");
            }
            return new Lookaside(this);
        }
    }

    /*
     * Lists without Java callbacks call allocate and free as critical downcalls (no thread-state transition): the
     * native paths never block for long (a miss is one pool allocation), never touch the Java heap, and never call
     * back into Java until a pool condition listener exists (an upcall inside a critical call aborts the JVM): from
     * then on CriticalGate routes them through the normal handles. Linked from the generated $address/$descriptor,
     * so jextract stays the source of names and signatures.
     */
    static {
        Native.ensure(); // load the library before the bindings look up symbols
    }

    private static final MethodHandle ALLOCATE_CRITICAL = critical(exa_lookaside_allocate$address(),
            exa_lookaside_allocate$descriptor());
    private static final MethodHandle FREE_CRITICAL = critical(exa_lookaside_free$address(),
            exa_lookaside_free$descriptor());

    @SuppressWarnings("restricted") // a second, critical handle for a function the bindings already link
    private static MethodHandle critical(MemorySegment address, java.lang.foreign.FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(address, descriptor, Linker.Option.critical(false));
    }

    private final MemorySegment handle;
    private final long size;
    private final Tag tag;
    private final PoolType poolType;
    private final Arena arena;
    private final Allocator allocator;
    private final Releaser releaser;
    private final BlockSet outstanding;
    private final InFlight inFlight = new InFlight();
    /** A callback's exception, parked while native code unwinds, rethrown by the Java caller. */
    private final ThreadLocal<Throwable> callbackFailure = new ThreadLocal<>();

    private Lookaside(Builder b) {
        Native.ensure();
        this.size = Math.max(b.size, EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE());
        this.tag = b.tag;
        this.poolType = b.poolType;
        this.allocator = b.allocator;
        this.releaser = b.releaser;
        this.outstanding = b.checked ? new BlockSet() : null;
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
            Native.check(exa_lookaside_create(cfg, out));
            this.handle = out.get(ValueLayout.ADDRESS, 0);
            if (allocator == null) {
                CriticalGate.register(inFlight);
            }
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

    private int enter() {
        int c = inFlight.enter();
        if (c < 0) {
            throw closedException();
        }
        return c;
    }

    private LookasideClosedException closedException() {
        return new LookasideClosedException("lookaside list " + tag + " (" + size + " bytes) is closed");
    }

    /**
     * A block of exactly {@link #blockSize()} bytes: the most recently freed one, or a new one from the allocator.
     *
     * @throws InsufficientResourcesException when nothing is cached and the allocator has no memory
     */
    public MemorySegment allocate() {
        MemorySegment block = tryAllocate();
        if (block == null) {
            throw new InsufficientResourcesException(NtStatus.INSUFFICIENT_RESOURCES,
                    "lookaside list " + tag + " could not get a " + size + "-byte block");
        }
        return block;
    }

    /** As {@link #allocate()}, but null where NT returns NULL. */
    @SuppressWarnings("restricted") // reinterpret: the block is exactly `size` bytes the list handed out
    public MemorySegment tryAllocate() {
        int c = enter();
        try {
            long address;
            if (allocator == null) {
                // Critical only while no pool condition upcall can run inside it (see CriticalGate).
                address = CriticalGate.allowed() ? nativeAllocateCritical() : exa_lookaside_allocate(handle).address();
            } else {
                address = exa_lookaside_allocate(handle).address();
                rethrowCallbackFailure();
            }
            if (address == 0) {
                BugCheckError bugCheck = Native.newBugCheck(); // e.g. a paged list used at DISPATCH_LEVEL
                if (bugCheck != null) {
                    throw bugCheck;
                }
                return null;
            }
            if (outstanding != null && !outstanding.add(address)) {
                throw new IllegalStateException(String.format("lookaside list handed out block 0x%X twice", address));
            }
            return MemorySegment.ofAddress(address).reinterpret(size);
        } finally {
            inFlight.exit(c);
        }
    }

    private long nativeAllocateCritical() {
        try {
            return ((MemorySegment) ALLOCATE_CRITICAL.invokeExact(handle)).address();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Returns a block to the list (or, when the list is at Depth, to the releaser).
     *
     * @throws InvalidBlockException when the segment is not an outstanding block of this list (checked mode)
     * @throws LookasideClosedException after {@link #close()}, unless the block was still handed out at the close
     */
    public void free(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        int c = inFlight.enter();
        if (c < 0) {
            freeAfterClose(block);
            return;
        }
        try {
            if (outstanding != null) {
                outstanding.take(block, size, this);
            }
            int status;
            if (releaser == null) {
                status = CriticalGate.allowed() ? (int) FREE_CRITICAL.invokeExact(handle, block)
                        : exa_lookaside_free(handle, block);
            } else {
                status = exa_lookaside_free(handle, block);
                rethrowCallbackFailure();
            }
            if (status != NtStatus.SUCCESS) {
                if (outstanding != null) {
                    outstanding.add(block.address()); // refused (an IRQL check): the block is still the caller's
                }
                throw Native.failure(status);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            inFlight.exit(c);
        }
    }

    /* A block still handed out when the list was deleted: NT code frees such blocks to the pool directly. */
    private void freeAfterClose(MemorySegment block) {
        if (outstanding == null) {
            throw closedException();
        }
        try {
            outstanding.take(block, size, this);
        } catch (InvalidBlockException e) {
            throw closedException();
        }
        if (releaser != null) {
            releaser.free(block);
        } else {
            exa_pool_free(block);
        }
    }

    /** Passes every cached block (every thread's) to the releaser; the list stays usable. Returns how many. */
    public long flush() {
        int c = enter();
        try {
            long n = exa_lookaside_flush(handle);
            rethrowCallbackFailure();
            return n;
        } finally {
            inFlight.exit(c);
        }
    }

    /** Exact statistics (every thread's counts summed). */
    public LookasideStats stats() {
        int c = enter();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_lookaside_stats_s.layout());
            Native.check(exa_lookaside_query(handle, s));
            return toStats(s);
        } finally {
            inFlight.exit(c);
        }
    }

    /** Zeroes the four counters (the debugger's {@code !lookaside -r}). */
    public void resetCounters() {
        int c = enter();
        try {
            Native.check(exa_lookaside_reset_counters(handle));
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * Sets Depth (the debugger's {@code !lookaside -d}): 1 .. maximum depth. Lowering it takes effect at once:
     * frees miss until the cache has drained below the new bound.
     */
    public void setDepth(int depth) {
        int c = enter();
        try {
            Native.check(exa_lookaside_set_depth(handle, depth));
        } finally {
            inFlight.exit(c);
        }
    }

    public long blockSize() {
        return size;
    }

    public Tag tag() {
        return tag;
    }

    public PoolType poolType() {
        return poolType;
    }

    /** Blocks handed out and not yet freed (checked mode; -1 in unchecked mode). */
    public long outstandingBlocks() {
        return outstanding == null ? -1 : outstanding.size();
    }

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
            Native.check(exa_lookaside_delete(handle));
        } finally {
            arena.close(); /* the upcall stubs: native code no longer calls them */
        }
        rethrowCallbackFailure();
    }

    /** Statistics of every live lookaside list in the process (NT-named ones from C included), oldest first. */
    public static List<LookasideStats> all() {
        Native.ensure();
        try (Arena a = Arena.ofConfined()) {
            for (;;) {
                int n = exa_lookaside_enumerate(MemorySegment.NULL, 0);
                int capacity = n + 8;
                MemorySegment buf = a.allocate(exa_lookaside_stats_s.layout(), capacity);
                int total = exa_lookaside_enumerate(buf, capacity);
                if (total <= capacity) {
                    List<LookasideStats> result = new ArrayList<>(total);
                    for (int i = 0; i < total; i++) {
                        result.add(toStats(exa_lookaside_stats_s.asSlice(buf, i)));
                    }
                    return List.copyOf(result);
                }
            }
        }
    }

    private static LookasideStats toStats(MemorySegment s) {
        int type = exa_lookaside_stats_s.pool_type(s);
        return new LookasideStats(exa_lookaside_stats_s.id(s), exa_lookaside_stats_s.total_allocates(s),
                exa_lookaside_stats_s.allocate_misses(s), exa_lookaside_stats_s.total_frees(s),
                exa_lookaside_stats_s.free_misses(s), exa_lookaside_stats_s.size(s),
                exa_lookaside_stats_s.current_depth(s), exa_lookaside_stats_s.depth(s),
                exa_lookaside_stats_s.maximum_depth(s), new Tag(exa_lookaside_stats_s.tag(s)), PoolType.fromCode(type),
                type, exa_lookaside_stats_s.thread_caches(s));
    }

    @Override
    public String toString() {
        return "Lookaside[" + tag + ", " + poolType + ", " + size + " bytes" + (isClosed() ? ", closed]" : "]");
    }
}
