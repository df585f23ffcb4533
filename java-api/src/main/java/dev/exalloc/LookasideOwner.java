package dev.exalloc;

import dev.exalloc.internal.Epoch;
import dev.exalloc.internal.EpochSet;
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

    /** This thread's quarantine epochs on the list. */
    final EpochSet epochs = new EpochSet();
    /** The list's Depth as last read, and epochs begun since (it is read again every DEPTH_EPOCHS). */
    int depth;
    int epochsSinceDepth;
    static final int DEPTH_EPOCHS = 16;

    LookasideOwner(Thread thread, dev.exalloc.internal.InFlight.Slot slot) {
        this.thread = thread;
        this.slot = slot;
    }

    /* Takes the current epoch out of service: ended now when nothing of it is out, else kept until it is. */
    void sealCurrent(Lookaside list) {
        epochs.sealCurrent(e -> list.epochs.end(this, e));
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
            if (e.free(i)) {
                list.epochs.end(this, e);
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
            for (Epoch e : o.epochs.all()) {
                long[] r = e.takeReleasable();
                list.epochs.release(r, r.length, e.used(), null);
            }
            o.epochs.due().clear();
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
                if (o.blocks.size() == 0 && o.epochs.live() == 0) {
                    list.allOwners.remove(o); // blocks still out keep it: a free of one on any thread finds it
                }
            }
        }
    }
}
