package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Epoch;
import dev.exalloc.internal.IrqlState;
import dev.exalloc.internal.Native;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * A checked {@link Lookaside} list's quarantine epochs (see {@link Epoch}), for lists without Java callbacks: each
 * thread hands its blocks out in runs of up to the list's Depth blocks that share one confined arena, stocked from
 * the list in one critical transfer and given back in one ({@code exa_lookaside_allocate_cached},
 * {@code exa_lookaside_free_cached}, and {@code exa_lookaside_return_cached} for a stock never handed out), so that
 * NT's counters count each block once. The thread's epochs themselves are in its {@link LookasideOwner#epochs}.
 */
final class LookasideEpochs {

    private static final MethodHandle DEPTH = Native.critical(exa_lookaside_depth$address(),
            exa_lookaside_depth$descriptor());
    private static final MethodHandle RETURN_CACHED = Lookaside.criticalHeap(exa_lookaside_return_cached$address(),
            exa_lookaside_return_cached$descriptor());

    private final Lookaside list;
    /** The highest IRQL this list's blocks may be freed at (APC_LEVEL for paged lists, else DISPATCH_LEVEL). */
    private final int maxFreeIrql;

    LookasideEpochs(Lookaside list, int maxFreeIrql) {
        this.list = list;
        this.maxFreeIrql = maxFreeIrql;
    }

    /* NT Depth now (inside enter/exit). */
    private int depth() {
        try {
            return (int) DEPTH.invokeExact(list.handle);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /* A segment of a block of epoch e. */
    @SuppressWarnings("restricted") // reinterpret: the block is exactly `size` bytes the list handed out
    MemorySegment segment(long address, Epoch e) {
        return MemorySegment.ofAddress(address).reinterpret(list.size, e.arena, null);
    }

    /* Whether the calling thread's IRQL lets this list's blocks be freed (else the native free refuses them). */
    boolean freeAllowed() {
        return IrqlState.current() <= maxFreeIrql;
    }

    /*
     * Inside enter/exit, on the owner's thread: the next block of its epoch, or null when the list has none. A full
     * epoch (or none) makes way for a new one of up to the list's Depth blocks (so that its release fits in the
     * list's cache, which its allocations emptied: a checked list hits and misses as an unchecked one does), stocked
     * with the list's cached blocks in one critical transfer (each counted as an allocate, as NT counts them). With
     * too many epochs kept open by blocks still out, a block gets a scope of its own instead.
     */
    MemorySegment allocate(LookasideOwner o, boolean sliced) {
        if (!o.epochs.due().isEmpty()) {
            endDue(o);
        }
        Epoch e = o.epochs.current();
        if (e == null || !e.open()) {
            e = newEpoch(o);
            if (e == null) {
                long address = list.nativeAllocate();
                return address == 0 ? null : list.scopedBlocks.handOut(address, list.size, o, sliced);
            }
        }
        long address;
        if (e.hasStock()) {
            address = e.takeStock(sliced);
        } else {
            address = list.nativeAllocate();
            if (address == 0) {
                return null;
            }
            e.handOut(address, sliced);
        }
        return segment(address, e);
    }

    /* A new current epoch, stocked; null when too many are kept open already. */
    private Epoch newEpoch(LookasideOwner o) {
        o.epochs.setCurrent(null); // the full one stays pinned while blocks of it are out
        if (o.epochs.pinned() >= LookasideOwner.MAX_PINNED) {
            return null;
        }
        if (o.epochsSinceDepth++ % LookasideOwner.DEPTH_EPOCHS == 0) {
            o.depth = depth();
        }
        Epoch e = new Epoch(Math.clamp(o.depth, 1, LookasideOwner.EPOCH_BLOCKS));
        try {
            e.stocked((int) Lookaside.ALLOCATE_CACHED.invokeExact(list.handle, MemorySegment.ofArray(e.blocks()), e.capacity()));
        } catch (Throwable t) {
            e.arena.close();
            throw new IllegalStateException(t);
        }
        o.epochs.setCurrent(e);
        return e;
    }

    /*
     * An epoch is over (nothing of it out, no more blocks taken): its arena closes, so every segment of it dies,
     * then its blocks go back to the list (after the close, to the releaser). At an IRQL this list's frees may not
     * run at, that waits for the owner's next allocation.
     */
    void end(LookasideOwner o, Epoch e) {
        o.epochs.retire(e);
        if (freeAllowed()) {
            finish(e, o);
        } else {
            o.epochs.due().add(e);
        }
    }

    /* An epoch over: its segments die, then its blocks go back. */
    private void finish(Epoch e, LookasideOwner o) {
        e.arena.close();
        release(e.blocks(), e.compact(), e.used(), o);
    }

    /* The epochs whose end waited for a lower IRQL. */
    private void endDue(LookasideOwner o) {
        List<Epoch> due = o.epochs.due();
        while (!due.isEmpty() && freeAllowed()) {
            finish(due.remove(due.size() - 1), o);
        }
    }

    /*
     * An epoch's blocks go back, blocks[0..n): the first `used` were handed out and freed (as many as the list
     * caches in one critical call, the rest freed one by one: a free miss goes to the pool), the rest a stock never
     * handed out (one critical call: cached again or freed, their allocates uncounted); after the close, each to the
     * releaser. o: the calling owner (null: a sweep of an ended owner's blocks, on any thread).
     */
    void release(long[] blocks, int n, int used, LookasideOwner o) {
        if (n == 0) {
            return;
        }
        int c = o != null ? (list.inFlight.enter(o.slot) ? 0 : -1) : list.inFlight.enter();
        if (c < 0) {
            for (int i = 0; i < n; i++) {
                list.releaseAfterClose(blocks[i]);
            }
            return;
        }
        try {
            MemorySegment all = MemorySegment.ofArray(blocks);
            int k = used == 0 ? 0 : (int) Lookaside.FREE_CACHED.invokeExact(list.handle, all, used);
            for (int i = k; i < used; i++) {
                list.nativeFree(blocks[i]);
            }
            // the stock never handed out: cached again (or, past Depth, to the pool) with its allocates uncounted
            int r = used == n ? n - used
                    : (int) RETURN_CACHED.invokeExact(list.handle, all.asSlice((long) used * Long.BYTES), n - used);
            if (o != null && (k < used || used + r < n)) {
                o.epochsSinceDepth = 0; // Depth dropped: read it again for the next epoch
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            if (o != null) {
                list.inFlight.exit(o.slot);
            } else {
                list.inFlight.exit(c);
            }
        }
    }
}
