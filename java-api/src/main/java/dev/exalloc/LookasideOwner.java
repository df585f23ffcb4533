package dev.exalloc;

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
    /** This thread's scoped blocks: address to its Arena (or a sliced record); see {@link ScopedBlocks}. */
    final dev.exalloc.internal.OwnerTable blocks = new dev.exalloc.internal.OwnerTable();
    final ConcurrentLinkedQueue<Deferred> remote = new ConcurrentLinkedQueue<>();
    /** This thread's own in-flight counter on the list (no atomic read-modify-write per call). */
    final dev.exalloc.internal.InFlight.Slot slot;

    LookasideOwner(Thread thread, dev.exalloc.internal.InFlight.Slot slot) {
        this.thread = thread;
        this.slot = slot;
    }

    /* On the owner's thread, inside enter/exit (or after the close): blocks other threads freed go back. */
    void reclaim(Lookaside list) {
        if (remote.isEmpty()) {
            return;
        }
        for (Deferred d; (d = remote.poll()) != null;) {
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
                synchronized (o) { // an ended owner's table: written by whoever frees its blocks, one at a time
                    if (!o.blocks.remove(d.address(), d.record())) {
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
                    synchronized (o) {
                        o.blocks.put(d.address(), d.record());
                    }
                    o.remote.add(d);
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
     * Owners whose thread has ended: their parked blocks go back, and they are forgotten. A free racing with this
     * (it found the owner alive, then parked its block) sees the thread ended after parking and returns the block
     * itself (takeBack). Run by stats(), flush(), close() and a thread's first call on the list.
     */
    static void sweepEndedOwners(Lookaside list) {
        for (LookasideOwner o : list.allOwners) {
            if (!o.thread.isAlive()) {
                returnOrphans(list, o);
                if (o.blocks.size() == 0) {
                    list.allOwners.remove(o); // blocks still out keep it: a free of one on any thread finds it
                }
            }
        }
    }
}
