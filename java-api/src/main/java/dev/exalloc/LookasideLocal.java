package dev.exalloc;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A thread's cache of blocks of one list (see {@link Lookaside#local()}). Its blocks are outstanding blocks of
 * the list as NT counts them: TotalAllocates counts a block when the LookasideLocal takes it from the list, not each
 * {@code allocate} the LookasideLocal serves ({@link #allocations()} counts those); Depth bounds the list's own cache,
 * not the LookasideLocal's. Confined to the thread that made it ({@link WrongThreadException} elsewhere).
 *
 * <p>The list's mode applies: checked lists check every free (double free, foreign and wrong-size segments,
 * also for {@link #freeAddress(long)}), and {@link #allocate()} segments are scoped unless the list was built
 * with {@link LookasideBuilder#sharedSegments()}; an unchecked list's address pair is a pop and a push.
 *
 * <pre>{@code
 * try (Lookaside list = Lookaside.builder(128).tag(Tag.of("Msgs")).build();
 *         LookasideLocal cache = list.local()) {      // this thread's cache in front of the list
 *     MemorySegment b = cache.allocate();
 *     cache.free(b);
 * }
 * }</pre>
 */
public final class LookasideLocal implements BlockAllocator {

    /** Blocks a LookasideLocal holds at most. */
    public static final int CAPACITY = 64;
    /** Blocks moved between the cache and the list in one transfer. */
    private static final int BATCH = CAPACITY / 2;

    private final Lookaside list;
    /** The list's in-flight guard, held here so that a hit reads its closed flag with one load fewer. */
    private final dev.exalloc.internal.InFlight inFlight;
    private final BlockLedger outstanding;
    private final long[] cache = new long[CAPACITY];
    private final MemorySegment cacheSegment = MemorySegment.ofArray(cache);
    private final Thread thread = Thread.currentThread();
    private final LookasideOwner owner;
    private int n;
    private boolean closed;
    private long allocations;
    private long frees;

    LookasideLocal(Lookaside list) {
        this.list = list;
        this.inFlight = list.inFlight;
        this.outstanding = list.outstanding;
        this.owner = list.scoped ? list.owners.get() : null;
    }

    /* The list this cache serves. */
    Lookaside list() {
        return list;
    }

    private void check() {
        checkThread();
        if (inFlight.isClosedOpaque()) { // a hit touches no native state; refills enter the list properly
            throw list.closedException();
        }
    }

    private void checkThread() {
        if (Thread.currentThread() != thread) {
            throw new WrongThreadException("this LookasideLocal belongs to " + thread);
        }
        if (closed) {
            throw new IllegalStateException("this LookasideLocal is closed");
        }
    }

    /**
     * A block's address: the most recently freed one. Checked lists record it, so that
     * {@link #freeAddress(long)} can check it.
     *
     * @return the block's address
     * @throws ExallocOutOfMemoryError when nothing is cached and the allocator has no memory
     */
    public long allocateAddress() {
        check();
        long address = n > 0 ? cache[--n] : refill();
        if (address == 0) {
            throw outOfMemory();
        }
        if (outstanding != null) {
            outstanding.record(address);
        }
        allocations++;
        return address;
    }

    /**
     * A block of exactly {@link Lookaside#blockSize()} bytes (scoped in checked mode, see the class).
     *
     * @return the block
     * @throws ExallocOutOfMemoryError when nothing is cached and the allocator has no memory
     */
    @Override
    public MemorySegment allocate() {
        MemorySegment block = tryAllocate();
        if (block == null) {
            throw outOfMemory();
        }
        return block;
    }

    /** As {@link #allocate()}, null when nothing is cached and the allocator has no memory. */
    @Override
    public MemorySegment tryAllocate() {
        check();
        if (owner != null) {
            owner.reclaimInto(this);
        }
        long address = n > 0 ? cache[--n] : refill();
        if (address == 0) {
            return null;
        }
        allocations++;
        return list.handOut(address, owner);
    }

    private ExallocOutOfMemoryError outOfMemory() {
        return new ExallocOutOfMemoryError(NtStatus.INSUFFICIENT_RESOURCES,
                "lookaside list " + list.tag + " could not get a " + list.size + "-byte block");
    }

    /** The list's block size. */
    @Override
    public long blockSize() {
        return list.size;
    }

    /**
     * Takes back a block by address (one from {@link #allocateAddress()}, or a segment's address).
     *
     * @param address the block's address
     * @throws InvalidBlockException in checked mode, for anything but an outstanding block of the list
     */
    public void freeAddress(long address) {
        checkThread();
        if (outstanding != null) {
            outstanding.takeAddress(address, list);
        }
        frees++;
        push(address);
    }

    /**
     * Takes back a block.
     *
     * @param block the block
     * @throws InvalidBlockException in checked mode, for anything but an outstanding block of the list
     */
    @Override
    public void free(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        checkThread();
        frees++;
        if (outstanding != null) {
            if (owner != null) {
                owner.reclaimInto(this);
            }
            Object taken = list.takeBack(block);
            if (taken == Lookaside.DEFERRED) {
                return;
            }
            if (taken == ScopedBlocks.QUARANTINED) { // a block of the list's own allocate: its epoch took it
                return;
            }
            if (taken instanceof dev.exalloc.internal.Epoch e) { // ... and that ended the epoch
                list.epochs.end(owner, e);
                return;
            }
            Lookaside.endScope(taken); // the block goes into this LookasideLocal's cache, which cannot refuse it
        }
        push(block.address());
    }

    /*
     * Into the cache. After the list's close the cache still takes blocks (it only holds them): its next drain
     * or its close hands them to the releaser (NT: ExFreePool), so the hit path reads no shared state.
     */
    void push(long address) {
        if (n == CAPACITY) {
            drain(BATCH);
        }
        cache[n++] = address;
    }

    /* The cache is empty: up to a batch of cached blocks in one critical call, else one from the list (0: none). */
    private long refill() {
        int c = list.enter();
        try {
            int k = (int) Lookaside.ALLOCATE_CACHED.invokeExact(list.handle, cacheSegment, BATCH);
            if (k > 0) {
                // out[0] is the newest: reverse, so that the newest is on top of the stack
                for (int i = 0, j = k - 1; i < j; i++, j--) {
                    long t = cache[i];
                    cache[i] = cache[j];
                    cache[j] = t;
                }
                n = k - 1;
                return cache[n];
            }
            return list.nativeAllocate(); // 0: no memory
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            list.inFlight.exit(c);
        }
    }

    /* Gives the oldest `count` blocks back: as many as the list caches in one critical call, the rest freed. */
    private void drain(int count) {
        if (list.inFlight.isClosed()) {
            for (int i = 0; i < count; i++) {
                list.releaseAfterClose(cache[i]);
            }
        } else {
            int c = list.enter();
            try {
                int k = (int) Lookaside.FREE_CACHED.invokeExact(list.handle, cacheSegment, count);
                for (int i = k; i < count; i++) {
                    list.nativeFree(cache[i]);
                }
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                list.inFlight.exit(c);
            }
        }
        System.arraycopy(cache, count, cache, 0, n - count);
        n -= count;
    }

    /**
     * Blocks this LookasideLocal holds now.
     *
     * @return the number of blocks in this cache
     */
    public int cached() {
        return n;
    }

    /**
     * Allocations this LookasideLocal served (from its cache or the list).
     *
     * @return the number of allocations
     */
    public long allocations() {
        return allocations;
    }

    /**
     * Frees this LookasideLocal took.
     *
     * @return the number of frees
     */
    public long frees() {
        return frees;
    }

    /** Gives every cached block back to the list (or, if the list is closed, to its releaser). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != thread) {
            throw new WrongThreadException("this LookasideLocal belongs to " + thread);
        }
        if (n > 0) {
            drain(n);
        }
        closed = true;
    }
}
