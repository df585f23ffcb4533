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
 * <p>Confined blocks are recorded in their allocating thread's own {@link OwnerTable}, so that allocate and free on
 * that thread touch no shared structure, take no lock and do no atomic read-modify-write: the free finds the record
 * by address, compares the segment's scope with the one handed out (so a copy made with {@code reinterpret} is not
 * the block), removes it and, once the native free succeeded, closes the arena.
 *
 * <p>A confined block freed on another thread than the one that allocated it cannot have its scope ended there
 * (only the owner may close a confined arena), and the block cannot go back to the pool while the owner can still
 * touch it. So such a free is deferred: the freeing thread finds the owner (the thread the segment is confined to),
 * checks in the owner's table that this very scope was handed out for the address and is still alive, records the
 * free as pending (a second free is refused at once) and queues it for the owner, which ends the scope and frees the
 * block at its next call through the pool's segment routines (or {@link #reapEndedThreads()} once it has ended).
 * Should the owner free the same block itself while the other thread's free is on its way (two frees of one block
 * racing on two threads), the owner's free wins and the queued one is dropped.
 */
public final class PoolScopes {

    private PoolScopes() {
    }

    /** A thread that allocated confined blocks: its blocks, and where other threads leave the ones they free. */
    private static final class Owner {
        final Thread thread;
        final OwnerTable blocks = new OwnerTable(); // address -> its confined Arena
        final ConcurrentLinkedQueue<Pending> remote = new ConcurrentLinkedQueue<>();

        Owner(Thread thread) {
            this.thread = thread;
        }
    }

    /** A shared block's record (what {@link #detach} returns for it). */
    private record Shared(Arena arena) {
    }

    /** A confined block of an owner that has ended, freed by another thread (its arena cannot be closed). */
    private record Orphan(Owner owner, Arena arena) {
    }

    private record Pending(long address, int tag, Arena arena) {
    }

    /** What {@link #detach} returns for a free deferred to the allocating thread: the caller does nothing more. */
    public static final Object DEFERRED = new Object();

    /** The scope of every segment made by {@code MemorySegment.ofAddress} (unchecked blocks). */
    private static final MemorySegment.Scope GLOBAL = MemorySegment.ofAddress(16).scope();

    private static final ConcurrentHashMap<Long, Arena> SHARED = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Long, Pending> PENDING = new ConcurrentHashMap<>();
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
        long address = raw.address();
        Arena arena;
        if (confined) {
            Owner owner = OWNER.get();
            drain(owner);
            arena = Arena.ofConfined();
            if (!owner.blocks.put(address, arena)) {
                // a block freed by address while its segment was still open: that segment's scope stays open (as
                // documented for freeAddress); the new block gets its own record
                owner.blocks.remove(address, owner.blocks.get(address));
                owner.blocks.put(address, arena);
            }
        } else {
            arena = Arena.ofShared();
            SHARED.put(address, arena);
        }
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
        MemorySegment.Scope scope = block.scope();
        if (scope == GLOBAL) {
            return null;
        }
        long address = block.address();
        Owner me = OWNER.get();
        drain(me);
        if (!scope.isAlive()) {
            throw alreadyPending.apply(address); // another thread's free of it, taken back just now
        }
        Object v = me.blocks.get(address);
        if (v instanceof Arena a && a.scope() == scope) {
            me.blocks.remove(address, a);
            return a;
        }
        return detachSlow(block, scope, address, me, tag, alreadyPending, check);
    }

    private static Object detachSlow(MemorySegment block, MemorySegment.Scope scope, long address, Owner me, int tag,
            java.util.function.LongFunction<RuntimeException> alreadyPending, DeferCheck check) {
        Arena s = SHARED.get(address);
        if (s != null && s.scope() == scope) {
            if (!SHARED.remove(address, s)) {
                throw alreadyPending.apply(address); // a concurrent free of the same block won
            }
            return new Shared(s);
        }
        Pending p = PENDING.get(address);
        if (p != null && p.arena().scope() == scope) {
            throw alreadyPending.apply(address);
        }
        for (Owner o : OWNERS) {
            if (o == me || !block.isAccessibleBy(o.thread)) {
                continue;
            }
            if (!o.thread.isAlive()) {
                synchronized (o) { // an ended owner's table: written by whoever frees its blocks, one at a time
                    Object v = o.blocks.get(address);
                    if (v instanceof Arena a && a.scope() == scope) {
                        o.blocks.remove(address, a);
                        return new Orphan(o, a);
                    }
                }
                continue;
            }
            Arena a = find(o, address, scope);
            if (a == null) {
                continue;
            }
            check.check(address, tag); // what the native free would refuse, refused now
            Pending mine = new Pending(address, tag, a);
            if (PENDING.putIfAbsent(address, mine) != null) {
                throw alreadyPending.apply(address); // a concurrent free of the same block won
            }
            o.remote.add(mine);
            if (!o.thread.isAlive()) {
                reap(o); // the owner ended meanwhile: nobody else will take it back
            }
            return DEFERRED;
        }
        return null;
    }

    /* Another thread's record of this scope at this address, while the scope is alive (a resize may hide it once). */
    private static Arena find(Owner o, long address, MemorySegment.Scope scope) {
        for (int tries = 0; tries < 3 && scope.isAlive(); tries++) {
            if (o.blocks.peek(address) instanceof Arena a && a.scope() == scope) {
                return a;
            }
            Thread.onSpinWait();
        }
        return null;
    }

    /** Refuses (throws) a free that the native pool would refuse, before it is deferred. */
    @FunctionalInterface
    public interface DeferCheck {
        void check(long address, int tag);
    }

    /** A free that native code refused: the record goes back, the segment stays usable. */
    public static void reattach(long address, Object record) {
        if (record instanceof Arena a) {
            OWNER.get().blocks.put(address, a);
        } else if (record instanceof Shared s) {
            SHARED.put(address, s.arena());
        } else if (record instanceof Orphan o) {
            synchronized (o.owner()) {
                o.owner().blocks.put(address, o.arena());
            }
        }
    }

    /** After a successful native free: ends the segment's scope, where this thread can. */
    public static void end(Object record) {
        if (record instanceof Arena a) {
            a.close();
        } else if (record instanceof Shared s) {
            s.arena().close();
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
            if (owner.blocks.remove(p.address(), p.arena())) {
                p.arena().close();
                PENDING.remove(p.address(), p);
                PoolFast.free(p.address(), p.tag()); // checked before it was deferred
            } else {
                PENDING.remove(p.address(), p); // the owner freed it itself meanwhile: that free won
            }
        }
    }

    /* An ended owner's pending frees: the blocks go back (nobody can reach their segments any more). */
    private static int reap(Owner o) {
        int n = 0;
        synchronized (o) {
            for (Pending p; (p = o.remote.poll()) != null;) {
                if (o.blocks.remove(p.address(), p.arena())) {
                    PoolFast.free(p.address(), p.tag());
                    n++;
                }
                PENDING.remove(p.address(), p);
            }
        }
        return n;
    }

    /**
     * Frees the pending blocks of threads that have ended (nobody can reach their segments any more) and forgets
     * those threads that have no block left; returns the number of blocks freed.
     */
    public static int reapEndedThreads() {
        int n = 0;
        for (Owner o : OWNERS) {
            if (!o.thread.isAlive()) {
                n += reap(o);
                if (o.blocks.size() == 0) {
                    OWNERS.remove(o);
                }
            }
        }
        return n;
    }

    /** Scoped blocks not yet freed (pending ones included): a moment's sum. */
    public static int open() {
        int n = SHARED.size();
        for (Owner o : OWNERS) {
            n += o.blocks.size();
        }
        return n;
    }

    /** Blocks freed on another thread whose allocating thread has not taken them back yet. */
    public static int pending() {
        return PENDING.size();
    }
}
