package dev.exalloc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The open arenas of checked pool segments ({@link PoolScope#SHARED}, {@link PoolScope#CONFINED}), by block address:
 * made at allocation, closed after the native free succeeded (never before: a refused free leaves the block, and so
 * its segment, alive).
 */
final class PoolScopes {

    private PoolScopes() {
    }

    private record Open(Arena arena, Thread owner) {
    }

    private static final ConcurrentHashMap<Long, Open> OPEN = new ConcurrentHashMap<>();

    static volatile PoolScope mode = initial();

    private static PoolScope initial() {
        String p = System.getProperty("exalloc.pool.scope");
        return p == null ? PoolScope.CONFINED : PoolScope.valueOf(p.trim().toUpperCase(java.util.Locale.ROOT));
    }

    /** The segment for a block just allocated. */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    static MemorySegment wrap(MemorySegment raw, long size) {
        PoolScope m = mode;
        if (m == PoolScope.GLOBAL) {
            return raw.reinterpret(size);
        }
        Arena arena = m == PoolScope.SHARED ? Arena.ofShared() : Arena.ofConfined();
        OPEN.put(raw.address(), new Open(arena, m == PoolScope.CONFINED ? Thread.currentThread() : null));
        return raw.reinterpret(size, arena, null);
    }

    /**
     * Before a free through a segment: refuses (nothing changed) a segment whose scope is closed already (a second
     * free through the same segment, {@link InvalidBlockException} NOT_OUTSTANDING) or a confined block freed from
     * another thread while the allocating thread lives ({@link WrongThreadException}).
     */
    static void checkFree(MemorySegment block) {
        if (!block.scope().isAlive()) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    String.format("0x%X was freed already (its segment's scope is closed)", block.address()));
        }
        if (OPEN.isEmpty()) {
            return;
        }
        Open o = OPEN.get(block.address());
        // A confined block of a thread that has ended: nobody can reach its segment any more, so anyone may free it.
        if (o != null && o.owner() != null && o.owner() != Thread.currentThread() && o.owner().isAlive()) {
            throw new WrongThreadException("a confined pool block is freed by the thread that allocated it ("
                    + o.owner() + "), not " + Thread.currentThread());
        }
    }

    /**
     * Before the native free through {@code block}: takes out its scope record (only the record of this very
     * segment: a newer block at the same address keeps its own), or returns null when it has none.
     */
    static Object detach(MemorySegment block) {
        if (OPEN.isEmpty()) {
            return null;
        }
        Open o = OPEN.get(block.address());
        return o != null && o.arena().scope() == block.scope() && OPEN.remove(block.address(), o) ? o : null;
    }

    /** A free that native code refused: the record goes back, the segment stays usable. */
    static void reattach(long address, Object record) {
        if (record instanceof Open o) {
            OPEN.put(address, o);
        }
    }

    /** After a successful native free: ends the segment's scope, where this thread can. */
    static void end(Object record) {
        if (record instanceof Open o && (o.owner() == null || o.owner() == Thread.currentThread())) {
            o.arena().close();
        }
        // else: a confined block of a thread that has ended: its arena cannot be closed here and is left to the
        // garbage collector (nobody can reach its segment any more)
    }

    /** Scoped blocks not yet freed. */
    static int open() {
        return OPEN.size();
    }
}
