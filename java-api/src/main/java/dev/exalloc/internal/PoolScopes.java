package dev.exalloc.internal;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The scopes of checked pool segments (the pool's shared and confined policies). A small confined block is handed
 * out in its thread's quarantine epoch ({@link Epoch}, {@link #EPOCH_BLOCK_LIMIT}): its free is checked at once
 * (what the native free would refuse is refused then, by the native free itself) and quarantines it; the epoch's
 * end closes its arena and frees its blocks. Other confined blocks get an arena each, made at allocation and closed
 * after the native free succeeded (never before: a refused free leaves the block, and so its segment, alive).
 *
 * <p>Confined blocks are recorded by their allocating thread alone (its epochs, {@link EpochSet}; its own
 * {@link OwnerTable} for blocks with an arena each), so that allocate and free on that thread touch no shared
 * structure, take no lock and do no atomic read-modify-write: the free finds the record by scope and address (so a
 * copy made with {@code reinterpret} is not the block) and quarantines the block, or removes its record and, once
 * the native free succeeded, closes its arena.
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
        final EpochSet epochs = new EpochSet(); // small blocks: quarantine epochs
        final ConcurrentLinkedQueue<Pending> remote = new ConcurrentLinkedQueue<>();

        Owner(Thread thread) {
            this.thread = thread;
        }
    }

    /** Shared blocks handed out per epoch (see the class comment). */
    public static final int EPOCH_BLOCKS = 1024;

    /** A run of up to EPOCH_BLOCKS shared blocks in one shared arena. */
    private static final class SharedEpoch {
        final Arena arena = Arena.ofShared();
        /** Blocks handed out and not freed; the epoch ends when it is sealed and this reaches zero. */
        final java.util.concurrent.atomic.AtomicInteger live = new java.util.concurrent.atomic.AtomicInteger();
        final ConcurrentLinkedQueue<long[]> quarantined = new ConcurrentLinkedQueue<>();
        final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
        int handedOut; // guarded by EPOCH_LOCK
        volatile boolean sealed;
    }

    private static final Object EPOCH_LOCK = new Object();
    private static SharedEpoch current; // guarded by EPOCH_LOCK
    /** Open epochs by their arena's scope. */
    private static final ConcurrentHashMap<MemorySegment.Scope, SharedEpoch> EPOCHS = new ConcurrentHashMap<>();

    /** A confined block of an owner that has ended, freed by another thread (its arena cannot be closed). */
    private record Orphan(Owner owner, Arena arena) {
    }

    /** A free left to the owner: {@code record} is the block's Arena, or its Epoch. */
    private record Pending(long address, int tag, Object record) {
    }

    /**
     * Confined blocks of up to this many bytes are handed out in quarantine epochs (see {@link Epoch}): up to
     * {@value #CONFINED_EPOCH_BLOCKS} consecutive ones share one confined arena, a free is checked at once and
     * quarantines the block, and the epoch's end closes the arena and frees its blocks. Bigger blocks get an arena
     * each: the memory a quarantine holds stays small ({@value #CONFINED_EPOCH_BLOCKS} KiB per epoch at most).
     */
    public static final long EPOCH_BLOCK_LIMIT = 1024;
    static final int CONFINED_EPOCH_BLOCKS = 32;
    /** Epochs a thread may have kept open by blocks still out; beyond, its new blocks get an arena each. */
    static final int MAX_PINNED = 4;
    private static final long PAGED_BIT = 1L << 32;

    /**
     * The pool options and check level as the Java API last set them (read at start, kept by Pool.setStrict and
     * Verifier.setCheckLevel): a free that quarantines its block must know now what the native free would refuse
     * at the epoch's end. At the verifier level blocks are not quarantined (its free checks need the free itself).
     */
    private static volatile boolean strict;
    private static volatile boolean verifierLevel;

    static {
        refreshOptions();
    }

    /** Whether the check level is the verifier's (as the Java API last set it): checked blocks get a scope each. */
    public static boolean verifierLevel() {
        return verifierLevel;
    }

    /** After a change of the strict option or the check level through the Java API: reads both again. */
    public static void refreshOptions() {
        strict = (exa_pool_get_options() & EXA_POOL_OPTION_STRICT()) != 0;
        verifierLevel = exa_get_check_level() == EXA_CHECKS_VERIFIER();
    }

    /** What a refused epoch release reports (set by the pool's Java layer): the block's address. */
    private static volatile java.util.function.LongConsumer refusedRelease = a -> { };

    public static void onRefusedRelease(java.util.function.LongConsumer c) {
        refusedRelease = c;
    }

    /** An epoch block whose free is made natively now, because the native free refuses it (see {@link #detach}). */
    private record RefusedNow(Epoch epoch, long address) {
    }

    /** What {@link #detach} returns for a free deferred to the allocating thread: the caller does nothing more. */
    public static final Object DEFERRED = new Object();

    /** The scope of every segment made by {@code MemorySegment.ofAddress} (unchecked blocks). */
    private static final MemorySegment.Scope GLOBAL = MemorySegment.ofAddress(16).scope();

    /** Shared blocks handed out and not freed: address to epoch. */
    private static final ConcurrentHashMap<Long, SharedEpoch> SHARED = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Long, Pending> PENDING = new ConcurrentHashMap<>();
    private static final Set<Owner> OWNERS = ConcurrentHashMap.newKeySet();
    private static final ThreadLocal<Owner> OWNER = ThreadLocal.withInitial(() -> {
        Owner o = new Owner(Thread.currentThread());
        OWNERS.add(o);
        return o;
    });
    /** The owner record of the thread that called last (a cache in front of {@link #OWNER}). */
    private static Owner recent;

    private static Owner owner() {
        Owner o = recent;
        if (o != null && o.thread == Thread.currentThread()) {
            return o;
        }
        o = OWNER.get();
        recent = o;
        return o;
    }

    /**
     * The segment for a confined block of {@code size} bytes just allocated with {@code tag} from a paged pool or
     * not: in the calling thread's current epoch when it is small enough (see {@link #EPOCH_BLOCK_LIMIT}), else in
     * an arena of its own.
     */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    public static MemorySegment wrapConfined(MemorySegment raw, long size, int tag, boolean paged) {
        if (size > EPOCH_BLOCK_LIMIT || verifierLevel) {
            return wrap(raw, size, true);
        }
        Owner o = owner();
        if (!o.remote.isEmpty()) {
            drain(o);
        }
        EpochSet es = o.epochs;
        if (!es.due().isEmpty()) {
            endDue(o);
        }
        Epoch e = es.current();
        if (e == null || !e.open()) {
            es.setCurrent(null); // a full one stays pinned while blocks of it are out
            if (es.pinned() >= MAX_PINNED) {
                return wrap(raw, size, true);
            }
            e = new Epoch(epochCapacity(size), true);
            es.setCurrent(e);
        }
        e.handOut(raw.address(), (tag & 0xFFFFFFFFL) | (paged ? PAGED_BIT : 0));
        return raw.reinterpret(size, e.arena, null);
    }

    /*
     * Blocks of an epoch of `size`-byte blocks: at most half of what the pool's per-thread front cache keeps of that
     * size (about 8 KiB of blocks, 16-byte units with a header of one), so that an epoch's allocations and its
     * release stay inside that cache as an alternating allocate and free do; at most CONFINED_EPOCH_BLOCKS.
     */
    private static int epochCapacity(long size) {
        long units = (size + 31) / 16;
        return Math.clamp(256 / units, 2, CONFINED_EPOCH_BLOCKS);
    }

    /* Whether the native free of an epoch block (its word x) with `tag` would refuse now (IRQL, tag). */
    private static boolean refusedNow(long x, int tag) {
        int irql = IrqlState.current();
        if (irql > ((x & PAGED_BIT) != 0 ? 1 : 2)) {
            return true;
        }
        int actual = (int) x;
        if (tag == 0 || tag == actual) {
            return (actual & PROTECTED) != 0 && tag != actual;
        }
        return (actual & PROTECTED) != 0 || strict && (tag & ~PROTECTED) != actual;
    }

    private static final int PROTECTED = 0x80000000;

    /*
     * The owner's epoch e is over: its arena closes (every segment of it dies), then its blocks go back to the
     * pool, each with its own tag (their frees were checked when they were made). Above PASSIVE_LEVEL that waits
     * for the owner's next allocation at PASSIVE_LEVEL.
     */
    private static int endEpoch(Owner o, Epoch e) {
        o.epochs.retire(e);
        if (IrqlState.current() > 0) {
            o.epochs.due().add(e);
            return 0;
        }
        e.arena.close();
        return releaseAll(e);
    }

    private static int endDue(Owner o) {
        if (IrqlState.current() > 0) {
            return 0;
        }
        int n = 0;
        java.util.List<Epoch> due = o.epochs.due();
        while (!due.isEmpty()) {
            Epoch e = due.remove(due.size() - 1);
            e.arena.close();
            n += releaseAll(e);
        }
        return n;
    }

    /* Frees an epoch's blocks that are not out (all of them at its end), each then forgotten; returns how many. */
    private static int releaseAll(Epoch e) {
        long[] blocks = e.blocks();
        long refused = 0;
        int released = 0;
        for (int i = 0, n = e.count(); i < n; i++) {
            if (blocks[i] != 0 && !e.isOut(i)) {
                if (PoolFast.free(blocks[i], (int) e.extra(i)) != 0 && refused == 0) {
                    refused = blocks[i];
                }
                blocks[i] = 0;
                released++;
            }
        }
        if (refused != 0) {
            refusedRelease.accept(refused); // e.g. a header overwritten by native code after the free
        }
        return released;
    }

    /**
     * After an allocation failed: ends the calling thread's quarantine as {@link #settle()} does and returns how many
     * blocks went back (the caller tries once more when some did). Nothing at the verifier level, where blocks are
     * not quarantined and a failure may be a simulated one that a second try would count twice.
     */
    public static int settleAfterFailure() {
        return verifierLevel ? 0 : settle();
    }

    /**
     * Ends the calling thread's current epoch (once its blocks still out are freed: at once if there are none), and
     * releases the quarantined blocks of threads that have ended, so that the pool's counts include every free this
     * thread made. Returns the number of blocks that went back to the pool.
     */
    public static int settle() {
        if (IrqlState.current() > 0) {
            return 0; // frees of paged blocks would be refused here: the next call at PASSIVE_LEVEL does it
        }
        Owner o = owner();
        if (!o.remote.isEmpty()) {
            drain(o);
        }
        int[] n = {0};
        o.epochs.sealCurrent(e -> n[0] += endEpoch(o, e));
        n[0] += endDue(o);
        n[0] += reapEndedThreads();
        return n[0];
    }

    /**
     * The segment for a block just allocated, in an arena of its own: confined to the calling thread, or shared.
     */
    @SuppressWarnings("restricted") // reinterpret: the pool handed out at least `size` bytes at this address
    public static MemorySegment wrap(MemorySegment raw, long size, boolean confined) {
        long address = raw.address();
        Arena arena;
        if (confined) {
            Owner owner = owner();
            if (!owner.remote.isEmpty()) {
                drain(owner);
            }
            arena = Arena.ofConfined();
            if (!owner.blocks.put(address, arena)) {
                // a block freed by address while its segment was still open: that segment's scope stays open (as
                // documented for freeAddress); the new block gets its own record
                owner.blocks.remove(address, owner.blocks.get(address));
                owner.blocks.put(address, arena);
            }
        } else {
            SharedEpoch e;
            synchronized (EPOCH_LOCK) {
                e = current;
                if (e == null || e.handedOut >= EPOCH_BLOCKS) {
                    if (e != null) {
                        seal(e);
                    }
                    e = current = new SharedEpoch();
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
        Owner me = owner();
        if (!me.remote.isEmpty()) {
            drain(me);
        }
        Epoch e = me.epochs.epochOf(scope);
        if (e != null) {
            int i = e.indexOf(address);
            if (i < 0) {
                throw alreadyPending.apply(address); // freed already: quarantined until its epoch ends
            }
            if (refusedNow(e.extra(i), tag)) {
                return new RefusedNow(e, address); // the caller's native free refuses it, with its bug check
            }
            if (e.free(i)) {
                endEpoch(me, e);
            }
            return DEFERRED;
        }
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
        SharedEpoch e = EPOCHS.get(scope);
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
        if (p != null && scopeOf(p.record()) == scope) {
            throw alreadyPending.apply(address);
        }
        for (Owner o : OWNERS) {
            if (o == me || !block.isAccessibleBy(o.thread)) {
                continue;
            }
            if (!o.thread.isAlive()) {
                synchronized (o) { // an ended owner's table: written by whoever frees its blocks, one at a time
                    Epoch ep = o.epochs.epochOfAny(scope);
                    int i = ep == null ? -1 : ep.find(address);
                    if (i >= 0) {
                        ep.forget(i);
                        return new Orphan(o, null);
                    }
                    Object v = o.blocks.get(address);
                    if (v instanceof Arena a && a.scope() == scope) {
                        o.blocks.remove(address, a);
                        return new Orphan(o, a);
                    }
                }
                continue;
            }
            Object a = find(o, address, scope);
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

    /*
     * Another thread's record of this scope at this address while the block is out: its Epoch, or its Arena (a
     * resize of the table may hide that once).
     */
    private static Object find(Owner o, long address, MemorySegment.Scope scope) {
        for (int tries = 0; tries < 3 && scope.isAlive(); tries++) {
            Epoch e = o.epochs.epochOfAny(scope);
            if (e != null) {
                return e.find(address) >= 0 ? e : null;
            }
            if (o.blocks.peek(address) instanceof Arena a && a.scope() == scope) {
                return a;
            }
            Thread.onSpinWait();
        }
        return null;
    }

    private static MemorySegment.Scope scopeOf(Object record) {
        return record instanceof Epoch e ? e.scope : ((Arena) record).scope();
    }

    /** Refuses (throws) a free that the native pool would refuse, before it is deferred. */
    @FunctionalInterface
    public interface DeferCheck {
        void check(long address, int tag);
    }

    /** A free that native code refused: the record goes back, the segment stays usable. */
    public static void reattach(long address, Object record) {
        if (record instanceof Arena a) {
            owner().blocks.put(address, a);
        } else if (record instanceof Orphan o && o.arena() != null) {
            synchronized (o.owner()) {
                o.owner().blocks.put(address, o.arena());
            }
        }
    }

    /** After a successful native free: ends the segment's scope, where this thread can. */
    public static void end(Object record) {
        if (record instanceof Arena a) {
            a.close();
        } else if (record instanceof RefusedNow r) { // its native free went through after all
            Owner me = owner();
            if (r.epoch().forget(r.epoch().indexOf(r.address()))) {
                endEpoch(me, r.epoch());
            }
        }
        // else: a confined block of a thread that has ended: its arena cannot be closed here and is left to the
        // garbage collector (nobody can reach its segment any more)
    }

    /* An epoch takes no more blocks; it ends once its last one is freed. Under EPOCH_LOCK. */
    private static void seal(SharedEpoch e) {
        e.sealed = true;
        if (e.live.get() == 0) {
            end(e);
        }
    }

    /* Ends an epoch (once): its arena closes (one handshake), then its quarantined blocks go back to the pool. */
    private static void end(SharedEpoch e) {
        if (!e.ended.compareAndSet(false, true)) {
            return;
        }
        EPOCHS.remove(e.arena.scope(), e);
        e.arena.close();
        for (long[] b; (b = e.quarantined.poll()) != null;) {
            PoolFast.free(b[0], (int) b[1]); // checked when it was freed
        }
    }

    /**
     * Blocks freed with {@code tag} and quarantined until their epoch ends, shared and confined (a moment's count).
     */
    public static int quarantined(int tag) {
        int n = 0;
        for (Owner o : OWNERS) {
            for (Epoch e : o.epochs.published()) {
                for (int i = 0, k = e.handedOut(); i < k; i++) {
                    n += e.blocks()[i] != 0 && !e.isOut(i) && (int) e.extra(i) == tag ? 1 : 0;
                }
            }
        }
        for (SharedEpoch e : EPOCHS.values()) {
            for (long[] b : e.quarantined) {
                n += b[1] == tag ? 1 : 0;
            }
        }
        return n;
    }

    /** Whether {@code block} is a shared segment whose block was freed (quarantined until its epoch ends). */
    public static boolean isQuarantined(MemorySegment block) {
        Epoch mine = owner().epochs.epochOf(block.scope());
        if (mine != null) {
            return mine.indexOf(block.address()) < 0;
        }
        SharedEpoch e = EPOCHS.get(block.scope());
        return e != null && SHARED.get(block.address()) != e;
    }

    /**
     * Ends the current shared epoch early: once its blocks still out are freed (at once, if there are none), its
     * segments die and its quarantined blocks go back to the pool. Returns the number of blocks it still has out.
     */
    public static int endSharedEpoch() {
        synchronized (EPOCH_LOCK) {
            SharedEpoch e = current;
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
            if (p.record() instanceof Epoch e) {
                PENDING.remove(p.address(), p);
                int i = e.indexOf(p.address());
                if (i >= 0) { // else: the owner freed it itself meanwhile: that free won
                    if (e.free(i)) {
                        endEpoch(owner, e);
                    }
                }
            } else if (owner.blocks.remove(p.address(), p.record())) {
                ((Arena) p.record()).close();
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
                boolean ours;
                if (p.record() instanceof Epoch e) {
                    int i = e.indexOf(p.address());
                    ours = i >= 0;
                    if (ours) {
                        e.forget(i);
                    }
                } else {
                    ours = o.blocks.remove(p.address(), p.record());
                }
                if (ours) {
                    PoolFast.free(p.address(), p.tag());
                    n++;
                }
                PENDING.remove(p.address(), p);
            }
            for (Epoch e : o.epochs.all()) { // quarantined blocks: their segments are out of everyone's reach
                n += releaseAll(e);
            }
            o.epochs.due().clear();
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
                if (o.blocks.size() == 0 && o.epochs.live() == 0) {
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
            n += o.blocks.size() + o.epochs.live();
        }
        return n;
    }

    /** Blocks freed on another thread whose allocating thread has not taken them back yet. */
    public static int pending() {
        return PENDING.size();
    }
}
