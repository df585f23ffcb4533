package dev.exalloc;

import dev.exalloc.internal.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * {@link PoolAllocator#arena(Tag, PoolType)} and {@link PoolAllocator#sharedArena(Tag, PoolType)}: an {@link Arena}
 * whose segments are pool blocks under one tag and type. The scope is a JDK arena's ({@link Arena#ofConfined()} or
 * {@link Arena#ofShared()}), so access checks, thread confinement and the end of every segment at the close are the
 * JDK's own; this class keeps the block addresses and frees them all once the scope has ended. Segments are zeroed,
 * as the JDK's arenas zero theirs.
 */
final class PoolArena implements Arena {

    private final PoolAllocator pool;
    private final Tag tag;
    private final PoolType type;
    private final boolean shared;
    private final Arena scope;
    private final Thread owner;
    private long[] blocks = new long[8];
    private int count;

    PoolArena(PoolAllocator pool, Tag tag, PoolType type, boolean shared) {
        this.pool = pool;
        this.tag = tag;
        this.type = type;
        this.shared = shared;
        this.scope = shared ? Arena.ofShared() : Arena.ofConfined();
        this.owner = shared ? null : Thread.currentThread();
    }

    @Override
    public MemorySegment.Scope scope() {
        return scope.scope();
    }

    @Override
    @SuppressWarnings("restricted") // reinterpret: a pool block of at least byteSize bytes, tied to this arena
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        PoolAllocator.checkAlignment(byteSize, byteAlignment);
        long request = byteAlignment <= 16 ? Math.max(byteSize, 1) : Math.max(byteSize, Pool.MAX_SMALL_BLOCK + 1);
        if (shared) {
            synchronized (this) {
                return take(request, byteSize);
            }
        }
        if (Thread.currentThread() != owner) {
            throw new WrongThreadException("this arena is confined to " + owner);
        }
        return take(request, byteSize);
    }

    @SuppressWarnings("restricted") // reinterpret: a pool block of at least byteSize bytes, tied to this arena
    private MemorySegment take(long request, long byteSize) {
        if (!scope.scope().isAlive()) {
            throw new IllegalStateException("Already closed");
        }
        long mark = Native.mark();
        long address = pool.rawAllocate(type.code(), request, tag.value(), PoolAllocator.PRIORITY_HIGH);
        if (address == 0) {
            PoolAllocator.throwIfBugCheck(mark);
            throw new ExallocOutOfMemoryError(NtStatus.INSUFFICIENT_RESOURCES,
                    "no pool for a " + type + " block of " + request + " bytes (" + tag + ")");
        }
        if (count == blocks.length) {
            blocks = Arrays.copyOf(blocks, count * 2);
        }
        blocks[count++] = address;
        return MemorySegment.ofAddress(address).reinterpret(byteSize, scope, null).fill((byte) 0);
    }

    /**
     * Ends the scope (every segment of this arena becomes inaccessible; refused, with nothing freed, while a segment
     * is in use by a downcall or another thread for a shared arena, as the JDK's arenas refuse), then frees every
     * block to the pool.
     */
    @Override
    public void close() {
        long[] toFree;
        int n;
        if (shared) {
            synchronized (this) {
                scope.close();
                toFree = blocks;
                n = count;
                blocks = null;
                count = 0;
            }
        } else {
            scope.close(); // WrongThreadException on another thread, IllegalStateException when closed
            toFree = blocks;
            n = count;
            blocks = null;
            count = 0;
        }
        int tagValue = tag.value();
        for (int i = 0; i < n; i++) {
            pool.freeAddress(toFree[i], tagValue);
        }
    }

    @Override
    public String toString() {
        return (shared ? "shared" : "confined") + " pool arena[" + tag + ", " + type + ", " + pool + "]";
    }
}
