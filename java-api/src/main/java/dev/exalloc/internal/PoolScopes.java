package dev.exalloc.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The open arenas of checked pool segments (the pool's shared and confined scopes), by block address: made at
 * allocation, closed after the native free succeeded (never before: a refused free leaves the block, and so its
 * segment, alive).
 */
public final class PoolScopes {

    private PoolScopes() {
    }

    private record Open(Arena arena, Thread owner) {
    }

    private static final ConcurrentHashMap<Long, Open> OPEN = new ConcurrentHashMap<>();

    /**
     * The segment for a block just allocated, in an arena of its own: confined to the calling thread, or shared.
     */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    public static MemorySegment wrap(MemorySegment raw, long size, boolean confined) {
        Arena arena = confined ? Arena.ofConfined() : Arena.ofShared();
        OPEN.put(raw.address(), new Open(arena, confined ? Thread.currentThread() : null));
        return raw.reinterpret(size, arena, null);
    }

    /**
     * Before a free through a segment whose scope is alive: refuses (nothing changed) a confined block freed from
     * another thread while the allocating thread lives ({@link WrongThreadException}).
     */
    public static void checkOwner(MemorySegment block) {
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
    public static Object detach(MemorySegment block) {
        if (OPEN.isEmpty()) {
            return null;
        }
        Open o = OPEN.get(block.address());
        return o != null && o.arena().scope() == block.scope() && OPEN.remove(block.address(), o) ? o : null;
    }

    /** A free that native code refused: the record goes back, the segment stays usable. */
    public static void reattach(long address, Object record) {
        if (record instanceof Open o) {
            OPEN.put(address, o);
        }
    }

    /** After a successful native free: ends the segment's scope, where this thread can. */
    public static void end(Object record) {
        if (record instanceof Open o && (o.owner() == null || o.owner() == Thread.currentThread())) {
            o.arena().close();
        }
        // else: a confined block of a thread that has ended: its arena cannot be closed here and is left to the
        // garbage collector (nobody can reach its segment any more)
    }

    /** Scoped blocks not yet freed. */
    public static int open() {
        return OPEN.size();
    }
}
