package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.InFlight;
import dev.exalloc.internal.bindings.exa_zone_info_s;
import dev.exalloc.internal.bindings.exa_zone_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An NT zone ({@code ExInitializeZone}): caller-sized segments carved into equal blocks, handed out LIFO from one
 * free list, never returned to the pool one by one, extended with more segments when the caller wants. The first
 * segment's header and the block layout are NT's: a 4096-byte segment of 64-byte blocks gives 63 blocks, the first
 * handed out at offset 3984.
 *
 * <p>An interlocked zone ({@link Builder#interlocked()}) guards its free list with a {@link SpinLock} (NT's
 * ExInterlocked... routines) and can be used from any thread. A plain zone is, as in NT, not synchronised at all;
 * here it is confined to the thread that built it ({@link WrongThreadException} elsewhere), so that a race cannot
 * corrupt its free list.
 *
 * <p>Checked mode (the default) refuses, with {@link InvalidBlockException}, a free of anything that is not a
 * block this zone handed out and has not taken back; NT takes any pointer silently. In a checked plain zone each
 * block's segment also has a scope of its own that ends at its free, so a use after free raises
 * {@link IllegalStateException}; an interlocked zone's blocks, shared between threads, live until the zone closes.
 *
 * <pre>{@code
 * try (Zone zone = Zone.builder(64).interlocked().build()) {
 *     MemorySegment b = zone.allocate();     // LIFO from the zone's free list
 *     zone.free(b);
 * }
 * }</pre>
 */
public final class Zone implements BlockAllocator {

    /** Zone settings. */
    public static final class Builder {
        private final int blockSize;
        private int segmentSize = 4096;
        private MemorySegment segment;
        private Tag tag = Tag.of("Zone");
        private PoolType poolType = PoolType.NON_PAGED_NX;
        private boolean interlocked;
        private SpinLock lock;
        private boolean checked = true;

        private Builder(int blockSize) {
            this.blockSize = blockSize;
        }

        /**
         * Size of the segment the zone allocates for itself (default 4096 bytes, NT's usual page).
         *
         * @param bytes the segment size
         * @return this builder
         */
        public Builder segmentSize(int bytes) {
            this.segmentSize = bytes;
            this.segment = null;
            return this;
        }

        /**
         * Tag and pool type of the segments the zone allocates from the pool (default "Zone", non-paged NX).
         *
         * @param type       the pool type of the segments
         * @param segmentTag the tag of the segments
         * @return this builder
         */
        public Builder pool(PoolType type, Tag segmentTag) {
            this.poolType = Objects.requireNonNull(type);
            this.tag = Objects.requireNonNull(segmentTag);
            return this;
        }

        /**
         * Carve the zone from the caller's memory (8-byte aligned, a multiple of 8 bytes); it must outlive the zone.
         *
         * @param callerSegment the memory to carve blocks from
         * @return this builder
         */
        public Builder segment(MemorySegment callerSegment) {
            this.segment = Objects.requireNonNull(callerSegment);
            return this;
        }

        /**
         * Guard the zone with a spin lock of its own, so that any thread may use it.
         *
         * @return this builder
         */
        public Builder interlocked() {
            this.interlocked = true;
            return this;
        }

        /**
         * Guard the zone with the caller's classic spin lock (which C code may share).
         *
         * @param callerLock the lock
         * @return this builder
         */
        public Builder interlocked(SpinLock callerLock) {
            if (callerLock.kind() != SpinLock.Kind.CLASSIC) {
                throw new IllegalArgumentException("zones use classic spin locks (ExInterlocked... routines)");
            }
            this.interlocked = true;
            this.lock = callerLock;
            return this;
        }

        /**
         * Skip the ownership checks on free (faster; misuse corrupts the zone as in C).
         *
         * @return this builder
         */
        public Builder unchecked() {
            this.checked = false;
            return this;
        }

        /**
         * Creates the zone.
         *
         * @return the new zone
         * @throws ExallocException STATUS_UNSUCCESSFUL (or another NT status) when ExInitializeZone refuses the block
         *                          size or segment: block size not a multiple of 8, smaller than a pointer, or not
         *                          smaller than the segment; a misaligned segment
         */
        public Zone build() {
            return new Zone(this);
        }
    }

    /**
     * A builder for a zone of blocks of {@code blockSize} bytes.
     *
     * @param blockSize the block size: a multiple of 8, at least a pointer's size
     * @return a builder with the defaults
     */
    public static Builder builder(int blockSize) {
        return new Builder(blockSize);
    }

    private final Arena arena;      // the zone header, and the lifetime scope of every block handed out
    private final MemorySegment zone;
    private final Tag segmentTag;
    private final int segmentPoolType;
    private final List<MemorySegment> poolSegments = new ArrayList<>(); // the pool's, freed at close
    private final SpinLock lock;     // null for a plain zone
    private final boolean ownsLock;
    private final Thread owner;      // the confining thread of a plain zone
    private final int blockSize;
    private final BlockLedger outstanding;
    private final InFlight inFlight = new InFlight();
    private final List<MemorySegment> callerSegments = new ArrayList<>(); // kept reachable while the zone lives

    private Zone(Builder b) {
        Native.ensure();
        this.arena = Arena.ofShared();
        this.segmentTag = b.tag;
        this.segmentPoolType = b.poolType.code();
        boolean ok = false;
        try {
            this.zone = arena.allocate(exa_zone_s.layout());
            this.blockSize = b.blockSize;
            this.outstanding = b.checked ? new BlockLedger("zone") : null;
            this.owner = b.interlocked ? null : Thread.currentThread();
            if (b.interlocked) {
                this.ownsLock = b.lock == null;
                this.lock = b.lock != null ? b.lock : SpinLock.create();
            } else {
                this.ownsLock = false;
                this.lock = null;
            }
            MemorySegment first = segmentFor(b.segment, b.segmentSize);
            int status = exa_zone_init(zone, b.blockSize, first, (int) first.byteSize());
            if (status == NtStatus.UNSUCCESSFUL) {
                throw new ExallocException(status, "ExInitializeZone refused a zone of " + Integer.toUnsignedString(
                        b.blockSize) + "-byte blocks: " + refusal(b.blockSize, first));
            }
            Failures.check(status);
            ok = true;
        } finally {
            if (!ok) {
                arena.close();
                freePoolSegments();
            }
        }
    }

    /*
     * Why ExInitializeZone / ExExtendZone refuse (STATUS_UNSUCCESSFUL), in words: blocks are a multiple of 8 bytes,
     * at least a pointer, smaller than the segment; a segment is 8-byte aligned and a multiple of 8 bytes.
     */
    private static String refusal(int blockSize, MemorySegment segment) {
        long block = Integer.toUnsignedLong(blockSize);
        long bytes = segment.byteSize();
        List<String> why = new ArrayList<>();
        if (block < 8 || block % 8 != 0) {
            why.add("the block size must be a multiple of 8 bytes, at least 8, not " + block);
        }
        if (segment.address() % 8 != 0) {
            why.add(String.format("the segment must be 8-byte aligned, not at 0x%X", segment.address()));
        }
        if (bytes % 8 != 0) {
            why.add("the segment size must be a multiple of 8 bytes, not " + bytes);
        }
        if (block >= bytes) {
            why.add("the block size must be smaller than the segment (" + bytes + " bytes)");
        }
        return why.isEmpty() ? "block size or segment out of range" : String.join("; ", why);
    }

    @SuppressWarnings("restricted") // reinterpret: the pool handed out exactly `size` bytes
    private MemorySegment segmentFor(MemorySegment caller, int size) {
        if (caller != null) {
            if (!caller.isNative() || caller.byteSize() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a zone segment is native memory under 2 GiB: " + caller);
            }
            synchronized (callerSegments) {
                callerSegments.add(caller);
            }
            return caller;
        }
        if (size <= 0) {
            throw new IllegalArgumentException("segment size must be positive: " + size);
        }
        // From the pool, tagged, so that PoolMon shows what zones hold (NT drivers took their segments from
        // ExAllocatePoolWithTag).
        MemorySegment raw = exa_pool_allocate_typed(segmentPoolType, size, segmentTag.value(), EXA_POOL_PRIORITY_NORMAL());
        if (raw.address() == 0) {
            BugCheckError bugCheck = Failures.newBugCheck();
            if (bugCheck != null) {
                throw bugCheck;
            }
            throw new ExallocOutOfMemoryError(NtStatus.INSUFFICIENT_RESOURCES,
                    "no pool memory for a " + size + "-byte zone segment");
        }
        MemorySegment segment = raw.reinterpret(size);
        synchronized (poolSegments) {
            poolSegments.add(segment);
        }
        return segment;
    }

    private void freePoolSegments() {
        synchronized (poolSegments) {
            for (MemorySegment s : poolSegments) {
                exa_pool_free_with_tag(s, segmentTag.value());
            }
            poolSegments.clear();
        }
    }

    private int enter() {
        if (owner != null && Thread.currentThread() != owner) {
            throw new WrongThreadException("a plain (not interlocked) zone is used only by the thread that built it");
        }
        int c = inFlight.enter();
        if (c < 0) {
            throw new IllegalStateException("zone is closed");
        }
        return c;
    }

    private MemorySegment lockWord() {
        return lock != null ? lock.word() : MemorySegment.NULL;
    }

    /**
     * ExAllocateFromZone (ExInterlockedAllocateFromZone when interlocked): the block freed last, or the next carved
     * one; {@link ExallocOutOfMemoryError} when the zone is full (NT returns NULL: {@link #tryAllocate()}).
     *
     * @return the block
     */
    public MemorySegment allocate() {
        MemorySegment b = tryAllocate();
        if (b == null) {
            throw new ExallocOutOfMemoryError(NtStatus.INSUFFICIENT_RESOURCES,
                    "zone of " + blockSize + "-byte blocks is full: extend it");
        }
        return b;
    }

    /**
     * As {@link #allocate()}, null when the zone is full.
     *
     * @return the block, or null
     */
    @SuppressWarnings("restricted") // reinterpret: a block of this zone is exactly blockSize bytes
    public MemorySegment tryAllocate() {
        int c = enter();
        try {
            MemorySegment raw = lock != null ? exa_zone_allocate_interlocked(zone, lock.word()) : exa_zone_allocate(zone);
            long address = raw.address();
            if (address == 0) {
                return null;
            }
            if (outstanding != null && owner != null) {
                // A checked plain zone: a scope per block, ended by its free (and by the zone's close).
                return outstanding.handOutScoped(address, blockSize, null);
            }
            if (outstanding != null) {
                outstanding.record(address);
            }
            // Blocks are scoped to the zone's arena: touching one after close() raises IllegalStateException
            // instead of reading freed memory (caller segments are the caller's to keep alive).
            return MemorySegment.ofAddress(address).reinterpret(blockSize, arena, null);
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * ExFreeToZone (ExInterlockedFreeToZone): the block goes back on the free list, first in line.
     * ({@link #freeToZone} also tells whether the zone had been full.)
     *
     * @param block a block this zone handed out
     * @throws InvalidBlockException in checked mode, for anything but an outstanding block of this zone
     */
    @Override
    public void free(MemorySegment block) {
        freeToZone(block);
    }

    /**
     * ExFreeToZone with NT's result: as {@link #free}, returning true when the zone had been full (ExFreeToZone's
     * NULL return), which is information, not an error.
     *
     * @param block a block this zone handed out
     * @return true when the zone had no free block before this free
     * @throws InvalidBlockException in checked mode, for anything but an outstanding block of this zone
     */
    public boolean freeToZone(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        int c = enter();
        try {
            Object taken = outstanding != null ? outstanding.take(block, blockSize, this) : null;
            MemorySegment previous = lock != null ? exa_zone_free_interlocked(zone, block, lock.word())
                    : exa_zone_free(zone, block);
            if (taken instanceof BlockLedger.Scoped scoped) {
                scoped.scope().close();
            }
            return previous.address() == 0;
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * ExExtendZone (ExInterlockedExtendZone): adds a segment of {@code bytes} that the zone allocates.
     *
     * @param bytes the size of the new segment
     */
    public void extend(int bytes) {
        int c = enter();
        try {
            doExtend(segmentFor(null, bytes));
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * ExExtendZone with the caller's segment (8-byte aligned, a multiple of 8 bytes); it must outlive the zone.
     *
     * @param segment the memory to add
     */
    public void extend(MemorySegment segment) {
        int c = enter();
        try {
            doExtend(segmentFor(segment, 0));
        } finally {
            inFlight.exit(c);
        }
    }

    private void doExtend(MemorySegment segment) {
        int status = lock != null ? exa_zone_extend_interlocked(zone, segment, (int) segment.byteSize(), lock.word())
                : exa_zone_extend(zone, segment, (int) segment.byteSize());
        if (status == NtStatus.UNSUCCESSFUL) {
            throw new ExallocException(status, "ExExtendZone refused the segment: " + refusal(blockSize, segment));
        }
        Failures.check(status);
    }

    /**
     * ExIsFullZone: true when every block is handed out.
     *
     * @return whether the zone is full
     */
    public boolean isFull() {
        int c = enter();
        try {
            return exa_zone_is_full(zone) != 0;
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * True when {@code p} lies within the blocks of any of the zone's segments (exalloc's correct test).
     *
     * @param p any segment
     * @return whether it lies in the zone's blocks
     */
    public boolean contains(MemorySegment p) {
        int c = enter();
        try {
            return p.isNative() && exa_zone_contains(zone, p, lockWord()) != 0;
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * ExIsObjectInFirstZoneSegment, evaluated literally as NT's macro does: after an extension it tests the newest
     * segment with the combined length, which is neither "first" nor "any" segment. Prefer {@link #contains}.
     *
     * @param p any segment
     * @return what NT's macro would answer
     */
    public boolean isInFirstSegmentNt(MemorySegment p) {
        int c = enter();
        try {
            return p.isNative() && exa_zone_in_first_segment(zone, p) != 0;
        } finally {
            inFlight.exit(c);
        }
    }

    /**
     * Block size, extents and counts.
     *
     * @return the zone's information now
     */
    public ZoneInfo info() {
        int c = enter();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(exa_zone_info_s.layout());
            Failures.check(exa_zone_query(zone, out, lockWord()));
            return new ZoneInfo(exa_zone_info_s.block_size(out), exa_zone_info_s.total_segment_size(out),
                    exa_zone_info_s.segment_count(out), exa_zone_info_s.block_count(out));
        } finally {
            inFlight.exit(c);
        }
    }

    @Override
    public long blockSize() {
        return blockSize;
    }

    /**
     * Whether the zone is guarded by a spin lock.
     *
     * @return true for an interlocked zone
     */
    public boolean isInterlocked() {
        return lock != null;
    }

    /**
     * The zone's lock (null for a plain zone).
     *
     * @return the lock, or null
     */
    public SpinLock lock() {
        return lock;
    }

    /**
     * Blocks handed out and not yet freed (checked mode; -1 unchecked).
     *
     * @return the number of outstanding blocks, or -1
     */
    public long outstandingBlocks() {
        return outstanding == null ? -1 : outstanding.size();
    }

    /**
     * Returns the segments the zone allocated to the pool, with every block in them; blocks still handed out become
     * inaccessible first (they are scoped to the zone, so an access raises IllegalStateException). Caller segments
     * stay the caller's. Idempotent.
     */
    @Override
    public void close() {
        if (owner != null && Thread.currentThread() != owner) {
            throw new WrongThreadException("a plain zone is closed by the thread that built it");
        }
        if (!inFlight.close()) {
            return;
        }
        if (outstanding != null && owner != null) {
            outstanding.clear(scoped -> scoped.scope().close()); // per-block scopes end with the zone too
        }
        arena.close(); // first: blocks handed out become inaccessible before their memory goes back
        freePoolSegments();
        if (ownsLock) {
            lock.close();
        }
    }

    @Override
    public String toString() {
        return "Zone[" + blockSize + "-byte blocks" + (lock != null ? ", interlocked" : "") + "]";
    }
}
