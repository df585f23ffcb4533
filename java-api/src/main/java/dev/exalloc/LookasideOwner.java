package dev.exalloc;

import dev.exalloc.internal.Epoch;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A thread's part of a scoped {@link Lookaside} list: where other threads leave the blocks of this thread they free
 * (a confined scope can only be ended by its thread). It does not reference its list (the list's thread-local map
 * keeps it, and a reference back would keep an unclosed list reachable for as long as the thread lives).
 */
final class LookasideOwner {

    /** A block another thread freed: recycled by its owner, which ends the scope first; {@code record}: its entry. */
    record Deferred(long address, Object record) {
    }

    final Thread thread;
    /**
     * This thread's scoped blocks: address to its {@link Epoch} or Arena (or a sliced record); see
     * {@link ScopedBlocks}.
     */
    final dev.exalloc.internal.OwnerTable blocks = new dev.exalloc.internal.OwnerTable();
    final ConcurrentLinkedQueue<Deferred> remote = new ConcurrentLinkedQueue<>();
    /** This thread's own in-flight counter on the list (no atomic read-modify-write per call). */
    final dev.exalloc.internal.InFlight.Slot slot;

    /** Blocks a quarantine epoch takes at most (see {@link Epoch}); fewer while the list's Depth is lower. */
    static final int EPOCH_BLOCKS = 32;
    /**
     * Full or sealed epochs kept open by blocks still out, beyond which new blocks get a scope of their own (ended
     * by their free): the memory quarantined behind blocks kept long stays bounded.
     */
    static final int MAX_PINNED = 8;

    private static final VarHandle CURRENT;

    static {
        try {
            CURRENT = MethodHandles.lookup().findVarHandle(LookasideOwner.class, "current", Epoch.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The epoch new blocks go into (null: none); written by the owner (release), read by others (acquire). */
    private Epoch current;
    /** Full or sealed epochs with blocks still out; owner only (or, once it has ended, under its lock). */
    final ArrayList<Epoch> pinned = new ArrayList<>();
    /** {@link #pinned} as other threads read it: a copy, replaced at each change. */
    private volatile Epoch[] pinnedView = new Epoch[0];
    /** Epochs over but not released yet: their end came at an IRQL the list's frees may not run at. */
    final ArrayList<Epoch> due = new ArrayList<>();
    /** Blocks of this thread's epochs out (written by the owner; others read a moment's value). */
    int live;
    /** The list's Depth as last read, and epochs begun since (it is read again every DEPTH_EPOCHS). */
    int depth;
    int epochsSinceDepth;
    static final int DEPTH_EPOCHS = 16;

    LookasideOwner(Thread thread, dev.exalloc.internal.InFlight.Slot slot) {
        this.thread = thread;
        this.slot = slot;
    }

    /** Owner only: the epoch new blocks go into, or null. */
    Epoch current() {
        return current;
    }

    /** Owner only: makes {@code e} (or null) the epoch new blocks go into; the old one, if any blocks of it are out, stays pinned. */
    void setCurrent(Epoch e) {
        Epoch old = current;
        if (old != null && old != e && old.live() > 0) {
            pin(old);
        }
        CURRENT.setRelease(this, e);
    }

    private void pin(Epoch e) {
        pinned.add(e);
        pinnedView = pinned.toArray(new Epoch[0]);
    }

    /** Owner only: an epoch is over; it is neither current nor pinned any more. */
    void retire(Epoch e) {
        if (current == e) {
            CURRENT.setRelease(this, (Epoch) null);
        } else if (pinned.remove(e)) {
            pinnedView = pinned.toArray(new Epoch[0]);
        }
    }

    /** Owner only: this thread's epoch whose arena's scope is {@code scope}, or null. */
    Epoch epochOf(MemorySegment.Scope scope) {
        Epoch e = current;
        if (e != null && e.scope == scope) {
            return e;
        }
        for (int i = pinned.size() - 1; i >= 0; i--) {
            e = pinned.get(i);
            if (e.scope == scope) {
                return e;
            }
        }
        return null;
    }

    /** Any thread: as {@link #epochOf}, from what the owner published. */
    Epoch epochOfAny(MemorySegment.Scope scope) {
        Epoch e = (Epoch) CURRENT.getAcquire(this);
        if (e != null && e.scope == scope) {
            return e;
        }
        for (Epoch p : pinnedView) {
            if (p.scope == scope) {
                return p;
            }
        }
        return null;
    }

    /** Owner only: the epoch that has the block at {@code address} out, or null. */
    Epoch epochHolding(long address) {
        Epoch e = current;
        if (e != null && e.indexOf(address) >= 0) {
            return e;
        }
        for (Epoch p : pinned) {
            if (p.indexOf(address) >= 0) {
                return p;
            }
        }
        return null;
    }

    /* Takes the current epoch out of service: ended now when nothing of it is out, else kept until it is. */
    void sealCurrent(Lookaside list) {
        Epoch e = current;
        if (e == null) {
            return;
        }
        if (e.seal()) {
            list.endEpoch(this, e);
        } else {
            setCurrent(null);
        }
    }

    /*
     * A deferred free of a block of an epoch (checked by the thread that freed it): into the quarantine, unless the
     * block was freed here meanwhile (that free won). Owner only.
     */
    private void freeDeferred(Lookaside list, Deferred d, ScopedBlocks.InEpoch b) {
        list.scopedBlocks.pending.remove(d.address(), b);
        Epoch e = b.epoch();
        int i = e.indexOf(d.address());
        if (i >= 0) {
            live--;
            if (e.free(i)) {
                list.endEpoch(this, e);
            }
        }
    }

    /* On the owner's thread, inside enter/exit (or after the close): blocks other threads freed go back. */
    void reclaim(Lookaside list) {
        if (remote.isEmpty()) {
            return;
        }
        for (Deferred d; (d = remote.poll()) != null;) {
            if (d.record() instanceof ScopedBlocks.InEpoch b) {
                freeDeferred(list, d, b);
                continue;
            }
            if (!blocks.remove(d.address(), d.record())) {
                list.scopedBlocks.pending.remove(d.address(), d.record()); // freed here meanwhile: that free won
                continue;
            }
            try {
                if (list.inFlight.isClosed()) {
                    list.releaseAfterClose(d.address());
                } else {
                    list.nativeFree(d.address());
                }
            } finally {
                list.scopedBlocks.pending.remove(d.address(), d.record());
            }
            ScopedBlocks.arenaOf(d.record()).close();
        }
    }

    /* As reclaim, into a LookasideLocal of the owner's thread. */
    void reclaimInto(LookasideLocal local) {
        if (remote.isEmpty()) {
            return;
        }
        for (Deferred d; (d = remote.poll()) != null;) {
            if (d.record() instanceof ScopedBlocks.InEpoch b) {
                freeDeferred(local.list(), d, b);
                continue;
            }
            boolean ours = blocks.remove(d.address(), d.record());
            local.list().scopedBlocks.pending.remove(d.address(), d.record());
            if (ours) {
                ScopedBlocks.arenaOf(d.record()).close();
                local.push(d.address());
            }
        }
    }

    /*
     * The deferred frees of an owner whose thread has ended go back to the list (to the releaser after the close).
     * Their segments stay open, but they were confined to a thread that no longer runs: nobody can reach them. A
     * free the native side refuses (an IRQL check) leaves its block parked for the next sweep.
     */
    static void returnOrphans(Lookaside list, LookasideOwner o) {
        if (o.remote.isEmpty()) {
            return;
        }
        int c = list.inFlight.enter();
        try {
            for (LookasideOwner.Deferred d; (d = o.remote.poll()) != null;) {
                synchronized (o) { // an ended owner's records: written by whoever frees its blocks, one at a time
                    boolean ours;
                    if (d.record() instanceof ScopedBlocks.InEpoch b) {
                        int i = b.epoch().indexOf(d.address());
                        ours = i >= 0;
                        if (ours) {
                            b.epoch().forget(i);
                            o.live--;
                        }
                    } else {
                        ours = o.blocks.remove(d.address(), d.record());
                    }
                    if (!ours) {
                        list.scopedBlocks.pending.remove(d.address(), d.record());
                        continue;
                    }
                }
                try {
                    if (c < 0) {
                        list.releaseAfterClose(d.address());
                    } else {
                        list.nativeFree(d.address());
                    }
                    list.scopedBlocks.pending.remove(d.address(), d.record());
                } catch (RuntimeException | Error e) {
                    if (!(d.record() instanceof ScopedBlocks.InEpoch)) { // (an epoch's block is forgotten: lost)
                        synchronized (o) {
                            o.blocks.put(d.address(), d.record());
                        }
                        o.remote.add(d);
                    }
                    throw e;
                }
            }
        } finally {
            if (c >= 0) {
                list.inFlight.exit(c);
            }
        }
    }

    /*
     * The quarantined blocks of an owner whose thread has ended go back: their epochs' arenas stay open, but they
     * were confined to a thread that no longer runs, so nobody can reach their segments.
     */
    private static void releaseQuarantine(Lookaside list, LookasideOwner o) {
        synchronized (o) {
            ArrayList<Epoch> all = new ArrayList<>(o.pinned);
            all.addAll(o.due);
            o.due.clear();
            if (o.current != null) {
                all.add(o.current);
            }
            for (Epoch e : all) {
                long[] r = e.takeReleasable();
                list.releaseEpoch(r, r.length, e.used(), null);
            }
        }
    }

    /*
     * Owners whose thread has ended: their parked blocks go back, and they are forgotten. A free racing with this
     * (it found the owner alive, then parked its block) sees the thread ended after parking and returns the block
     * itself (takeBack). Run by stats(), flush(), close() and a thread's first call on the list.
     */
    static void sweepEndedOwners(Lookaside list) {
        for (LookasideOwner o : list.allOwners) {
            if (!o.thread.isAlive()) {
                returnOrphans(list, o);
                releaseQuarantine(list, o);
                if (o.blocks.size() == 0 && o.live == 0) {
                    list.allOwners.remove(o); // blocks still out keep it: a free of one on any thread finds it
                }
            }
        }
    }
}
