package dev.exalloc.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The open arenas of checked pool segments (the pool's shared and confined scopes), by block address: made at
 * allocation, closed after the native free succeeded (never before: a refused free leaves the block, and so its
 * segment, alive).
 *
 * <p>A confined block freed on another thread than the one that allocated it cannot have its scope ended there
 * (only the owner may close a confined arena), and the block cannot go back to the pool while the owner can still
 * touch it. So such a free is deferred: the record moves to the pending set (a second free is refused at once), and
 * the owner ends the scope and frees the block at its next call through the pool's segment routines (or at
 * {@link #reapEndedThreads()} once it has ended).
 */
public final class PoolScopes {

    private PoolScopes() {
    }

    /** A thread that allocated confined blocks: where other threads leave the ones they free. */
    private static final class Owner {
        final Thread thread;
        final ConcurrentLinkedQueue<Pending> remote = new ConcurrentLinkedQueue<>();

        Owner(Thread thread) {
            this.thread = thread;
        }
    }

    private record Open(Arena arena, Owner owner) {
    }

    private record Pending(long address, int tag, Open open) {
    }

    /** What {@link #detach} returns for a free deferred to the allocating thread: the caller does nothing more. */
    public static final Object DEFERRED = new Object();

    private static final ConcurrentHashMap<Long, Open> OPEN = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Long, Open> PENDING = new ConcurrentHashMap<>();
    private static final Set<Owner> OWNERS = ConcurrentHashMap.newKeySet();
    private static final ThreadLocal<Owner> OWNER = ThreadLocal.withInitial(() -> {
        Owner o = new Owner(Thread.currentThread());
        OWNERS.add(o);
        return o;
    });

    /**
     * The segment for a block just allocated, in an arena of its own: confined to the calling thread, or shared.
     */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    public static MemorySegment wrap(MemorySegment raw, long size, boolean confined) {
        Owner owner = null;
        if (confined) {
            owner = OWNER.get();
            drain(owner);
        }
        Arena arena = confined ? Arena.ofConfined() : Arena.ofShared();
        OPEN.put(raw.address(), new Open(arena, owner));
        return raw.reinterpret(size, arena, null);
    }

    /**
     * Before the native free through {@code block} (whose scope is alive): takes out its scope record (only the
     * record of this very segment: a newer block at the same address keeps its own) and returns it, or null when it
     * has none; {@link #DEFERRED} when the block is a confined one of another live thread (see the class comment:
     * the caller must not free it). {@code tag} is the tag the free passes (0: none), kept for the deferred free.
     * A free of a block whose free is already pending throws {@code alreadyPending}; a deferred free is first
     * passed to {@code check}, which throws for what the native free would refuse.
     */
    public static Object detach(MemorySegment block, int tag, java.util.function.LongFunction<RuntimeException> alreadyPending,
            DeferCheck check) {
        if (OPEN.isEmpty() && PENDING.isEmpty()) {
            return null;
        }
        long address = block.address();
        Open o = OPEN.get(address);
        if (o == null || o.arena().scope() != block.scope()) {
            Open p = PENDING.get(address);
            if (p != null && p.arena().scope() == block.scope()) {
                throw alreadyPending.apply(address);
            }
            return null;
        }
        Owner owner = o.owner();
        if (owner != null && owner.thread != Thread.currentThread() && owner.thread.isAlive()) {
            check.check(address, tag); // what the native free would refuse, refused now
            if (!OPEN.remove(address, o)) {
                throw alreadyPending.apply(address); // a concurrent free of the same block won
            }
            PENDING.put(address, o);
            owner.remote.add(new Pending(address, tag, o));
            return DEFERRED;
        }
        if (owner != null && owner.thread == Thread.currentThread()) {
            drain(owner);
        }
        return OPEN.remove(address, o) ? o : null;
    }

    /** Refuses (throws) a free that the native pool would refuse, before it is deferred. */
    @FunctionalInterface
    public interface DeferCheck {
        void check(long address, int tag);
    }

    /** A free that native code refused: the record goes back, the segment stays usable. */
    public static void reattach(long address, Object record) {
        if (record instanceof Open o) {
            OPEN.put(address, o);
        }
    }

    /** After a successful native free: ends the segment's scope, where this thread can. */
    public static void end(Object record) {
        if (record instanceof Open o && (o.owner() == null || o.owner().thread == Thread.currentThread())) {
            o.arena().close();
        }
        // else: a confined block of a thread that has ended: its arena cannot be closed here and is left to the
        // garbage collector (nobody can reach its segment any more)
    }

    /* On the owner's thread: the blocks other threads freed end their scope and go back to the pool. */
    private static void drain(Owner owner) {
        if (owner.remote.isEmpty()) {
            return;
        }
        for (Pending p; (p = owner.remote.poll()) != null;) {
            p.open().arena().close();
            PENDING.remove(p.address(), p.open());
            PoolFast.free(p.address(), p.tag()); // checked before it was deferred
        }
    }

    /**
     * Frees the pending blocks of threads that have ended (nobody can reach their segments any more) and forgets
     * those threads; returns the number of blocks freed.
     */
    public static int reapEndedThreads() {
        int n = 0;
        for (Owner o : OWNERS) {
            if (!o.thread.isAlive()) {
                for (Pending p; (p = o.remote.poll()) != null; n++) {
                    PENDING.remove(p.address(), p.open());
                    PoolFast.free(p.address(), p.tag());
                }
                OWNERS.remove(o);
            }
        }
        return n;
    }

    /** Scoped blocks not yet freed (pending ones included). */
    public static int open() {
        return OPEN.size() + PENDING.size();
    }

    /** Blocks freed on another thread whose allocating thread has not taken them back yet. */
    public static int pending() {
        return PENDING.size();
    }
}
