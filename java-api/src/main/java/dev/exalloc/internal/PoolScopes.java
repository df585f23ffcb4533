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
 *
 * <p>Shared blocks (segments any thread may use and free) cannot each have an arena of their own at a bearable
 * price: closing a shared arena waits for a handshake with every thread of the JVM (tens of microseconds). So they
 * are handed out in epochs: the blocks of one epoch (up to {@value #EPOCH_BLOCKS} consecutive shared allocations)
 * share one shared arena. A free is checked at once (the very segment handed out, not freed before, what the
 * native free would refuse) and the block is quarantined: it stays allocated in the pool, so nothing else can be
 * handed the address while a segment over it may still be open. When an epoch is full and every one of its blocks
 * has been freed, its arena is closed (one handshake for the whole epoch: every segment of it dies, so a use after
 * free throws from then on) and its blocks go back to the pool. Between its free and its epoch's end a block's
 * memory is neither reused nor unmapped, so a use after free there reads or writes only the dead block itself.
 * The price: an epoch with one block still out keeps the memory of its freed blocks (at most
 * {@value #EPOCH_BLOCKS} - 1 of them) until that block is freed; {@link #endSharedEpoch()} ends the current epoch
 * early (Pool.trim() calls it).
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

    /** Shared blocks handed out per epoch (see the class comment). */
    public static final int EPOCH_BLOCKS = 1024;

    /** A run of up to EPOCH_BLOCKS shared blocks in one shared arena. */
    private static final class Epoch {
        final Arena arena = Arena.ofShared();
        /** Blocks handed out and not freed; the epoch ends when it is sealed and this reaches zero. */
        final java.util.concurrent.atomic.AtomicInteger live = new java.util.concurrent.atomic.AtomicInteger();
        final ConcurrentLinkedQueue<long[]> quarantined = new ConcurrentLinkedQueue<>();
        final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
        int handedOut; // guarded by EPOCH_LOCK
        volatile boolean sealed;
    }

    private static final Object EPOCH_LOCK = new Object();
    private static Epoch current; // guarded by EPOCH_LOCK
    /** Open epochs by their arena's scope. */
    private static final ConcurrentHashMap<MemorySegment.Scope, Epoch> EPOCHS = new ConcurrentHashMap<>();

    /** A confined block of an owner that has ended, freed by another thread (its arena cannot be closed). */
    private record Orphan(Owner owner, Arena arena) {
    }

    private record Pending(long address, int tag, Arena arena) {
    }

    /** What {@link #detach} returns for a free deferred to the allocating thread: the caller does nothing more. */
    public static final Object DEFERRED = new Object();

    /** The scope of every segment made by {@code MemorySegment.ofAddress} (unchecked blocks). */
    private static final MemorySegment.Scope GLOBAL = MemorySegment.ofAddress(16).scope();

    /** Shared blocks handed out and not freed: address to epoch. */
    private static final ConcurrentHashMap<Long, Epoch> SHARED = new ConcurrentHashMap<>();
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
            Epoch e;
            synchronized (EPOCH_LOCK) {
                e = current;
                if (e == null || e.handedOut >= EPOCH_BLOCKS) {
                    if (e != null) {
                        seal(e);
                    }
                    e = current = new Epoch();
                    EPOCHS.put(e.arena.scope(), e);
                }
                e.handedOut++;
                e.live.incrementAndGet();
            }
            SHARED.put(address, e);
            arena = e.arena;
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
        Epoch e = EPOCHS.get(scope);
        if (e != null) {
            if (SHARED.get(address) != e) {
                throw alreadyPending.apply(address); // freed already: quarantined until its epoch ends
            }
            check.check(address, tag); // what the native free would refuse, refused now
            if (!SHARED.remove(address, e)) {
                throw alreadyPending.apply(address); // a concurrent free of the same block won
            }
            e.quarantined.add(new long[] {address, tag});
            if (e.live.decrementAndGet() == 0 && e.sealed) {
                end(e);
            }
            return DEFERRED;
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
        }
        // else: a confined block of a thread that has ended: its arena cannot be closed here and is left to the
        // garbage collector (nobody can reach its segment any more)
    }

    /* An epoch takes no more blocks; it ends once its last one is freed. Under EPOCH_LOCK. */
    private static void seal(Epoch e) {
        e.sealed = true;
        if (e.live.get() == 0) {
            end(e);
        }
    }

    /* Ends an epoch (once): its arena closes (one handshake), then its quarantined blocks go back to the pool. */
    private static void end(Epoch e) {
        if (!e.ended.compareAndSet(false, true)) {
            return;
        }
        EPOCHS.remove(e.arena.scope(), e);
        e.arena.close();
        for (long[] b; (b = e.quarantined.poll()) != null;) {
            PoolFast.free(b[0], (int) b[1]); // checked when it was freed
        }
    }

    /** Shared blocks freed with {@code tag} and quarantined until their epoch ends (a moment's count). */
    public static int quarantined(int tag) {
        int n = 0;
        for (Epoch e : EPOCHS.values()) {
            for (long[] b : e.quarantined) {
                n += b[1] == tag ? 1 : 0;
            }
        }
        return n;
    }

    /** Whether {@code block} is a shared segment whose block was freed (quarantined until its epoch ends). */
    public static boolean isQuarantined(MemorySegment block) {
        Epoch e = EPOCHS.get(block.scope());
        return e != null && SHARED.get(block.address()) != e;
    }

    /**
     * Ends the current shared epoch early: once its blocks still out are freed (at once, if there are none), its
     * segments die and its quarantined blocks go back to the pool. Returns the number of blocks it still has out.
     */
    public static int endSharedEpoch() {
        synchronized (EPOCH_LOCK) {
            Epoch e = current;
            if (e == null) {
                return 0;
            }
            current = null;
            seal(e);
            return e.live.get();
        }
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
