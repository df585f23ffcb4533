package dev.exalloc;

import java.lang.foreign.Arena;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A thread's part of a scoped {@link Lookaside} list: where other threads leave the blocks of this thread they free
 * (a confined scope can only be ended by its thread). It does not reference its list (the list's thread-local map
 * keeps it, and a reference back would keep an unclosed list reachable for as long as the thread lives).
 */
final class LookasideOwner {

    /** A block another thread freed: recycled by its owner, which ends the scope first. */
    record Deferred(long address, Arena scope) {
    }

    final Thread thread;
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
            if (list.inFlight.isClosed()) {
                list.releaseAfterClose(d.address());
            } else {
                list.nativeFree(d.address());
            }
            d.scope().close();
        }
    }

    /* As reclaim, into a LookasideLocal of the owner's thread. */
    void reclaimInto(LookasideLocal local) {
        if (remote.isEmpty()) {
            return;
        }
        for (Deferred d; (d = remote.poll()) != null;) {
            d.scope().close();
            local.push(d.address());
        }
    }
}
