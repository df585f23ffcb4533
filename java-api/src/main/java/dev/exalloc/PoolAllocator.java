package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.CriticalGate;
import dev.exalloc.internal.InFlight;
import dev.exalloc.internal.Native;
import dev.exalloc.internal.PoolFast;
import dev.exalloc.internal.PoolScopes;
import dev.exalloc.internal.bindings.exa_pool_block_info_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.Objects;

/**
 * The pool as an object: the process's pools seen with policies of its own, so that one caller's choices never
 * change another's. {@link Pool#system()} is the one the static {@link Pool} routines use (its segment policy is
 * {@link Pool#setScope}'s, its call policy the system property {@code exalloc.pool.critical}); {@link Pool#builder()}
 * makes others, each with its own
 * <ul>
 * <li>default tag and pool type ({@link #allocate(long)}, the {@link SegmentAllocator} methods, the arenas),</li>
 * <li>segment policy ({@link PoolScope}): CONFINED (checked, the default), SHARED (checked, any thread may touch the
 * block) or GLOBAL (unchecked, as C's pointers),</li>
 * <li>call policy: whether the address routines and arenas call the pool through critical downcalls (no
 * thread-state transition).</li>
 * </ul>
 * Every instance allocates from the same two pools, counted under the tags given.
 *
 * <pre>{@code
 * PoolAllocator msgs = Pool.builder().tag(Tag.of("Msgs")).poolType(PoolType.PAGED).scope(PoolScope.SHARED).build();
 * MemorySegment m = msgs.allocate(200);                 // 200 bytes of paged pool under "Msgs"
 * msgs.free(m);
 * try (Arena arena = msgs.arena()) {                    // a java.lang.foreign.Arena over the pool
 *     MemorySegment s = arena.allocateFrom("hello");
 * }                                                     // every block freed
 * }</pre>
 *
 * <p>Cross-thread frees, one rule for the whole API: a block may be freed on any thread. What that costs depends on
 * the segment policy. GLOBAL and the address routines: nothing more than a free on the allocating thread. SHARED: checked at
 * once, the block quarantined until its epoch of up to 1024 blocks ends with one handshake (see {@link PoolScope#SHARED}).
 * CONFINED: a free on the allocating thread is the cheap one; on another thread the block cannot be released while
 * its owner can still reach it, so the free is deferred: the block is refused to a second free at once, and goes
 * back to the pool (its scope ended) at the allocating thread's next call through the segment routines, or at
 * {@link Pool#trim()} after that thread has ended. The same holds for a {@link Lookaside} list's scoped blocks.
 *
 * <p>As a {@link SegmentAllocator} ({@code allocate(byteSize, byteAlignment)}), an instance hands out pool blocks of
 * its default tag and type: alignments up to 16 are a small block's, larger ones up to 4096 are served by a
 * page-aligned big allocation; larger alignments are an {@link IllegalArgumentException}. Free them with
 * {@link #free(MemorySegment)}.
 */
public final class PoolAllocator implements SegmentAllocator {

    private static final int RAISE_IF_ALLOCATION_FAILURE = EXA_POOL_RAISE_IF_ALLOCATION_FAILURE();
    static final int PRIORITY_HIGH = EXA_POOL_PRIORITY_HIGH();
    /** Largest alignment an arena or the allocator view serves (a page). */
    static final long MAX_ALIGNMENT = Pool.PAGE_SIZE;

    /** Settings of a pool instance. Defaults: tag "None", NON_PAGED_NX, CONFINED segments, ordinary calls. */
    public static final class Builder {
        private Tag tag = Tag.NONE;
        private PoolType poolType = PoolType.NON_PAGED_NX;
        private PoolScope scope = PoolScope.CONFINED;
        private boolean critical;

        Builder() {
        }

        /**
         * The tag of {@link #allocate(long)}, the allocator view and {@link #arena()}.
         *
         * @param tag the default tag
         * @return this builder
         */
        public Builder tag(Tag tag) {
            this.tag = Objects.requireNonNull(tag, "tag");
            return this;
        }

        /**
         * The pool type of {@link #allocate(long)}, the allocator view and {@link #arena()}.
         *
         * @param poolType the default pool type
         * @return this builder
         */
        public Builder poolType(PoolType poolType) {
            this.poolType = Objects.requireNonNull(poolType, "poolType");
            return this;
        }

        /**
         * What the segments this instance hands out are tied to (see {@link PoolScope}).
         *
         * @param scope the segment policy
         * @return this builder
         */
        public Builder scope(PoolScope scope) {
            this.scope = Objects.requireNonNull(scope, "scope");
            return this;
        }

        /**
         * Critical downcalls for the address routines and the arenas (no thread-state transition); {@link Pool#system()}
         * uses them by default ({@code -Dexalloc.pool.critical=false} turns that off). Condition
         * listeners ({@link Pool#onCondition}) are no upcalls, so they do not interfere; a lookaside list's pool
         * calls go through ordinary downcalls only while something else links an upcall into the pool (see the
         * internal critical gate), which nothing in this API does.
         *
         * @param critical true for critical downcalls, false for ordinary ones (the default)
         * @return this builder
         */
        public Builder criticalCalls(boolean critical) {
            this.critical = critical;
            return this;
        }

        /**
         * A new pool instance with these settings.
         *
         * @return the new instance
         */
        public PoolAllocator build() {
            return new PoolAllocator(tag, poolType, scope, critical, false);
        }
    }

    static {
        // an epoch's release the native free refused (a quarantined block whose header native code overwrote after
        // its free): its bug check reaches the Java call that ended the epoch
        PoolScopes.onRefusedRelease(address -> {
            BugCheckError b = Failures.newBugCheck();
            if (b != null) {
                throw b;
            }
        });
    }

    static final PoolAllocator SYSTEM = new PoolAllocator(Tag.NONE, PoolType.NON_PAGED_NX, null, PoolFast.CRITICAL,
            true);

    private final Tag tag;
    private final PoolType poolType;
    /** null: the system instance, whose scope is Pool.scope() at each allocation. */
    private final PoolScope scope;
    private final boolean critical;
    /** The system instance: its calls follow the process default ({@link PoolFast#CRITICAL}). */
    private final boolean system;
    /** For a critical instance other than the system one: guards its critical calls (see CriticalGate). */
    private final InFlight inFlight;

    private PoolAllocator(Tag tag, PoolType poolType, PoolScope scope, boolean critical, boolean system) {
        Native.ensure();
        this.tag = tag;
        this.poolType = poolType;
        this.scope = scope;
        this.critical = critical;
        this.system = system;
        this.inFlight = critical && !system ? new InFlight() : null;
        if (inFlight != null) {
            CriticalGate.register(inFlight);
        }
    }

    /**
     * The default tag.
     *
     * @return the tag of {@link #allocate(long)}, the allocator view and the arenas
     */
    public Tag tag() {
        return tag;
    }

    /**
     * The default pool type.
     *
     * @return the pool type of {@link #allocate(long)}, the allocator view and the arenas
     */
    public PoolType poolType() {
        return poolType;
    }

    /**
     * The segment policy now (for {@link Pool#system()}, {@link Pool#scope()}).
     *
     * @return the segment policy new blocks get
     */
    public PoolScope scope() {
        return scope != null ? scope : Pool.scope();
    }

    /**
     * The call policy: true when the address routines and arenas use critical downcalls (see the builder).
     *
     * @return true for critical downcalls
     */
    public boolean criticalCalls() {
        return critical;
    }

    // ---------------------------------------------------------------------------------------------
    // Segments
    // ---------------------------------------------------------------------------------------------

    /**
     * {@code size} bytes of the default pool type under the default tag (ExAllocatePoolWithTag).
     *
     * @throws ExallocOutOfMemoryError when the pool has no room
     */
    @Override
    public MemorySegment allocate(long size) {
        return allocate(poolType, size, tag, PoolPriority.HIGH);
    }

    /**
     * ExAllocatePoolWithTag: see {@link Pool#allocate(PoolType, long, Tag)}.
     *
     * @param type     the pool type
     * @param size     the size in bytes
     * @param tag      the tag to count the block under
     * @return a segment of {@code size} bytes, tied by this instance's segment policy
     * @throws ExallocOutOfMemoryError when the pool has no room
     */
    public MemorySegment allocate(PoolType type, long size, Tag tag) {
        return allocate(type, size, tag, PoolPriority.HIGH);
    }

    /**
     * ExAllocatePoolWithTagPriority: see {@link Pool#allocate(PoolType, long, Tag, PoolPriority)}.
     *
     * @param type     the pool type
     * @param size     the size in bytes
     * @param tag      the tag to count the block under
     * @param priority the watermark below which the allocation fails (see {@link PoolPriority})
     * @return a segment of {@code size} bytes, tied by this instance's segment policy
     * @throws ExallocOutOfMemoryError when the pool has no room
     */
    public MemorySegment allocate(PoolType type, long size, Tag tag, PoolPriority priority) {
        checkArguments(type, size, tag);
        long mark = Native.mark();
        long address = rawAllocate(type.code() | RAISE_IF_ALLOCATION_FAILURE, size, tag.value(), priority.code());
        if (address == 0 && PoolScopes.settleAfterFailure() > 0) { // the quarantine held memory back: once more
            address = rawAllocate(type.code() | RAISE_IF_ALLOCATION_FAILURE, size, tag.value(), priority.code());
        }
        if (address != 0) {
            return block(address, size, type, tag);
        }
        throw failure(mark, type + " block of " + size + " bytes (" + tag + ")");
    }

    /**
     * As {@link #allocate(long)}, null where NT returns NULL.
     *
     * @param size the size in bytes
     * @return a segment of {@code size} bytes, or null when the pool has no room
     */
    public MemorySegment tryAllocate(long size) {
        return tryAllocate(poolType, size, tag, PoolPriority.HIGH);
    }

    /**
     * As {@link #allocate(PoolType, long, Tag)}, null where NT returns NULL.
     *
     * @param type     the pool type
     * @param size     the size in bytes
     * @param tag      the tag to count the block under
     * @return a segment of {@code size} bytes, or null when the pool has no room
     */
    public MemorySegment tryAllocate(PoolType type, long size, Tag tag) {
        return tryAllocate(type, size, tag, PoolPriority.HIGH);
    }

    /**
     * As {@link #allocate(PoolType, long, Tag, PoolPriority)}, null where NT returns NULL.
     *
     * @param type     the pool type
     * @param size     the size in bytes
     * @param tag      the tag to count the block under
     * @param priority the watermark below which the allocation fails (see {@link PoolPriority})
     * @return a segment of {@code size} bytes, or null when the pool has no room
     */
    public MemorySegment tryAllocate(PoolType type, long size, Tag tag, PoolPriority priority) {
        checkArguments(type, size, tag);
        long mark = Native.mark();
        long address = rawAllocate(type.code(), size, tag.value(), priority.code());
        if (address == 0 && PoolScopes.settleAfterFailure() > 0) { // the quarantine held memory back: once more
            address = rawAllocate(type.code(), size, tag.value(), priority.code());
        }
        if (address != 0) {
            return block(address, size, type, tag);
        }
        throwIfBugCheck(mark);
        return null;
    }

    /**
     * The allocator view: a block of the default type and tag, {@code byteSize} bytes aligned to
     * {@code byteAlignment} (up to 16: a small block's own; up to 4096: a page-aligned big allocation).
     *
     * @throws IllegalArgumentException for an alignment above 4096 (or not a power of two), a negative size
     * @throws ExallocOutOfMemoryError  when the pool has no room
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        checkAlignment(byteSize, byteAlignment);
        if (byteAlignment <= 16) {
            return allocate(poolType, byteSize, tag, PoolPriority.HIGH);
        }
        // A big allocation is page-aligned: ask for one, and hand out the first byteSize bytes.
        long raw = Math.max(byteSize, Pool.MAX_SMALL_BLOCK + 1);
        return allocate(poolType, raw, tag, PoolPriority.HIGH).asSlice(0, byteSize);
    }

    static void checkAlignment(long byteSize, long byteAlignment) {
        if (byteSize < 0 || byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException("invalid request: " + byteSize + " bytes, alignment " + byteAlignment);
        }
        if (byteAlignment > MAX_ALIGNMENT) {
            throw new IllegalArgumentException("alignment " + byteAlignment + " is more than the pool gives (at most "
                    + MAX_ALIGNMENT + ", a page)");
        }
    }

    /*
     * As block(raw, size), for a block allocated with a type and tag (what a quarantined free must know to refuse
     * now what the native free would refuse at the epoch's end): a small confined block goes into its thread's
     * quarantine epoch.
     */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    private MemorySegment block(long address, long size, PoolType type, Tag tag) {
        if (scope() != PoolScope.CONFINED) {
            return block(MemorySegment.ofAddress(address), size);
        }
        MemorySegment s = PoolScopes.wrapConfined(MemorySegment.ofAddress(address), size, tag.value(), type.isPaged());
        PoolConditions.afterCall();
        return s;
    }

    /** What new blocks' segments are tied to: this instance's policy. */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    MemorySegment block(MemorySegment raw, long size) {
        PoolScope m = scope();
        MemorySegment s = m == PoolScope.GLOBAL ? raw.reinterpret(size)
                : PoolScopes.wrap(raw, size, m == PoolScope.CONFINED);
        PoolConditions.afterCall();
        return s;
    }

    /**
     * See {@link Pool#endQuarantine()}: the quarantine is the calling thread's, whichever instance handed its blocks
     * out.
     *
     * @return the number of blocks that went back to the pool
     */
    public int endQuarantine() {
        return PoolScopes.settle();
    }

    /**
     * ExFreePool: see {@link Pool#free(MemorySegment)}; a block may be freed on any thread (see the class comment).
     *
     * @param block a pool block not freed yet
     */
    public void free(MemorySegment block) {
        freeSegment(block, 0);
    }

    /**
     * ExFreePoolWithTag: see {@link Pool#free(MemorySegment, Tag)}.
     *
     * @param block a pool block not freed yet
     * @param tag   the tag the block was allocated under
     */
    public void free(MemorySegment block, Tag tag) {
        Objects.requireNonNull(tag, "tag");
        freeSegment(block, tag.value());
    }

    /*
     * A free through a segment (tag 0: ExFreePool). The segment's scope record is taken out before the native free,
     * so that a thread that gets the same address from the pool right after it cannot have its new record removed,
     * put back if the free is refused, and its scope ended once the block is gone.
     */
    static void freeSegment(MemorySegment block, int tag) {
        checkFreeable(block);
        Object scope = PoolScopes.detach(block, tag, PoolAllocator::freedAlready, PoolAllocator::checkDeferred);
        if (scope == PoolScopes.DEFERRED) {
            return;
        }
        long mark = Native.mark();
        // the address, not the segment: no scope check at the call
        if (PoolFast.free(block.address(), tag) != NtStatus.SUCCESS) {
            PoolScopes.reattach(block.address(), scope);
            throwIfBugCheck(mark);
        }
        PoolScopes.end(scope);
        PoolConditions.afterCall();
    }

    private static RuntimeException freedAlready(long address) {
        return new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING, String.format(
                "0x%X was freed already (on another thread: it goes back to the pool at its allocating thread's "
                        + "next call)", address));
    }

    /*
     * Before a free is deferred to the allocating thread: what the native free would refuse (a protected block's
     * tag, any tag in strict mode) is refused now, by the native check itself (a refused free changes nothing).
     */
    private static void checkDeferred(long address, int tag) {
        int actual;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(exa_pool_block_info_s.layout());
            if (exa_pool_query_block(MemorySegment.ofAddress(address), out) != NtStatus.SUCCESS) {
                return;
            }
            actual = exa_pool_block_info_s.tag(out);
        }
        boolean refused = new Tag(actual).isProtected() ? tag != actual : Pool.isStrict() && tag != 0 && tag != actual;
        if (refused) {
            long mark = Native.mark();
            // the native free refuses it, with its bug check, and changes nothing
            if (exa_pool_free_checked(MemorySegment.ofAddress(address), tag) != NtStatus.SUCCESS) {
                throwIfBugCheck(mark);
            }
            throw new IllegalStateException("the pool freed a block whose tag does not match");
        }
    }

    static void checkFreeable(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        if (!block.isNative()) {
            throw new InvalidBlockException(InvalidBlockException.Reason.FOREIGN,
                    "not native memory, so not a pool block: " + block);
        }
        if (block.address() == 0) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    "NULL is not a pool block (ExFreePool(NULL) is bug check 0xC2/0x46 on NT)");
        }
        if (!block.scope().isAlive()) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    String.format("0x%X was freed already (its segment's scope is closed)", block.address()));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Addresses
    // ---------------------------------------------------------------------------------------------

    /**
     * {@code size} bytes of the default type under the default tag, as an address; 0 where NT returns NULL.
     *
     * @param size the size in bytes
     * @return the block's address, or 0 when the pool has no room
     */
    public long allocateAddress(long size) {
        return allocateAddress(poolType, size, tag);
    }

    /**
     * See {@link Pool#allocateAddress(PoolType, long, Tag)}; with this instance's call policy.
     *
     * @param type     the pool type
     * @param size     the size in bytes
     * @param tag      the tag to count the block under
     * @return the block's address, or 0 when the pool has no room
     */
    public long allocateAddress(PoolType type, long size, Tag tag) {
        checkArguments(type, size, tag);
        long mark = Native.mark();
        long address = rawAllocate(type.code(), size, tag.value(), PRIORITY_HIGH);
        if (address == 0) {
            throwIfBugCheck(mark);
        }
        PoolConditions.afterCall();
        return address;
    }

    /**
     * See {@link Pool#freeAddress(long)}: any thread.
     *
     * @param address the address of a pool block not freed yet
     */
    public void freeAddress(long address) {
        freeAddress(address, 0);
    }

    /**
     * See {@link Pool#freeAddress(long, Tag)}: any thread.
     *
     * @param address the address of a pool block not freed yet
     * @param tag     the tag the block was allocated under
     */
    public void freeAddress(long address, Tag tag) {
        Objects.requireNonNull(tag, "tag");
        freeAddress(address, tag.value());
    }

    void freeAddress(long address, int tag) {
        if (address == 0) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    "NULL is not a pool block (ExFreePool(NULL) is bug check 0xC2/0x46 on NT)");
        }
        long mark = Native.mark();
        if (rawFree(address, tag) != NtStatus.SUCCESS) {
            throwIfBugCheck(mark);
        }
        PoolConditions.afterCall();
    }

    /* One allocation by this instance's call policy: 0 for NULL. */
    long rawAllocate(int type, long size, int tag, int priority) {
        if (inFlight == null) {
            return system ? PoolFast.allocate(type, size, tag, priority) // the system's policy is PoolFast's own
                    : PoolFast.allocateOrdinary(type, size, tag, priority);
        }
        int c = inFlight.enter();
        try {
            return CriticalGate.allowed() ? PoolFast.allocateCritical(type, size, tag, priority)
                    : PoolFast.allocate(type, size, tag, priority);
        } finally {
            inFlight.exit(c);
        }
    }

    /* One free by this instance's call policy: the status. */
    int rawFree(long address, int tag) {
        if (inFlight == null) {
            return system ? PoolFast.free(address, tag) : PoolFast.freeOrdinary(address, tag);
        }
        int c = inFlight.enter();
        try {
            return CriticalGate.allowed() ? PoolFast.freeCritical(address, tag) : PoolFast.free(address, tag);
        } finally {
            inFlight.exit(c);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Arenas
    // ---------------------------------------------------------------------------------------------

    /**
     * {@link #arena(Tag, PoolType)} with the default tag and type.
     *
     * @return a new confined arena over the pool
     */
    public Arena arena() {
        return arena(tag, poolType);
    }

    /**
     * A confined {@link Arena} over the pool: {@code allocate(size, alignment)} takes a block of {@code type} under
     * {@code tag} (alignment up to 16: a small block's; up to 4096: a page-aligned big allocation; more: an
     * {@link IllegalArgumentException}); {@code close()} ends the scope of every segment it handed out and frees
     * every block. Only the thread that made it may use or close it, as {@link Arena#ofConfined()}.
     *
     * <pre>{@code
     * try (Arena arena = Pool.system().arena(Tag.of("Strs"), PoolType.PAGED)) {
     *     MemorySegment s = arena.allocateFrom("hello");   // counted under "Strs" while the arena is open
     * }
     * }</pre>
     *
     * @param tag  the tag of the arena's blocks
     * @param type the pool type of the arena's blocks
     * @return a new confined arena over the pool
     */
    public Arena arena(Tag tag, PoolType type) {
        return new PoolArena(this, Objects.requireNonNull(tag, "tag"), Objects.requireNonNull(type, "type"), false);
    }

    /**
     * {@link #sharedArena(Tag, PoolType)} with the default tag and type.
     *
     * @return a new shared arena over the pool
     */
    public Arena sharedArena() {
        return sharedArena(tag, poolType);
    }

    /**
     * As {@link #arena(Tag, PoolType)}, shared as {@link Arena#ofShared()}: any thread may allocate and close.
     *
     * @param tag  the tag of the arena's blocks
     * @param type the pool type of the arena's blocks
     * @return a new shared arena over the pool
     */
    public Arena sharedArena(Tag tag, PoolType type) {
        return new PoolArena(this, Objects.requireNonNull(tag, "tag"), Objects.requireNonNull(type, "type"), true);
    }

    // ---------------------------------------------------------------------------------------------
    // Argument checks and failures
    // ---------------------------------------------------------------------------------------------

    static void checkArguments(PoolType type, long size, Tag tag) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(tag, "tag");
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0: " + size);
        }
    }

    static void throwIfBugCheck(long mark) {
        BugCheckError e = Failures.bugCheckSince(mark);
        if (e != null) {
            throw e;
        }
    }

    /**
     * The exception for a NULL from a routine asked to raise: the bug check this call hit (since {@code mark}, see
     * {@link Native#mark()}), else the status it raised (an out-of-memory status is thrown here, as an Error).
     */
    static RuntimeException failure(long mark, String what) {
        int status = exa_last_status();
        exa_clear_last_status();
        throwIfBugCheck(mark);
        if (status == NtStatus.SUCCESS) { // cannot happen: a NULL without a bug check raises
            status = NtStatus.INSUFFICIENT_RESOURCES;
        }
        return switch (status) {
            case NtStatus.QUOTA_EXCEEDED -> new QuotaExceededException(status, "quota exceeded for a " + what);
            case NtStatus.INSUFFICIENT_RESOURCES -> throw new ExallocOutOfMemoryError(status, "no pool for a " + what);
            case NtStatus.WORKING_SET_QUOTA ->
                throw new ExallocOutOfMemoryError(status, "the host refused to lock a " + what + " in RAM");
            case NtStatus.INVALID_PARAMETER -> new InvalidArgumentException(status, "the pool rejected a " + what);
            default -> ExallocException.of(status);
        };
    }

    @Override
    public String toString() {
        return (this == SYSTEM ? "Pool.system()" : "PoolAllocator") + "[" + tag + ", " + poolType + ", " + scope()
                + (critical ? ", critical calls]" : "]");
    }
}
