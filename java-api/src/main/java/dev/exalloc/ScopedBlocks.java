package dev.exalloc;

import dev.exalloc.internal.Epoch;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The checked-mode ledger of a default (scoped) {@link Lookaside} list. A block handed out in a quarantine epoch
 * ({@link Epoch}, the list's own allocations) is recorded in the epoch itself, one of its thread's
 * ({@link LookasideOwner#epochs}); a block with a scope of its own (a list with callbacks, a LookasideLocal's
 * blocks) in that thread's table ({@link LookasideOwner#blocks}: address to its {@link Arena}, or a
 * {@link BlockLedger.Scoped} record for a block handed out short). Either way a checked allocate and free on the
 * allocating thread take no lock and no atomic read-modify-write. A free is accepted only through a segment whose
 * scope is the one recorded for its address (not a copy made with {@code reinterpret}), while that block is out.
 *
 * <p>A free on another thread finds the owner (the thread the segment is confined to), checks in what the owner
 * published (its epochs, its table) that this very scope has the block out, records the free as pending (a second
 * free of the block is refused at once) and leaves it to the owner, which quarantines it (or ends its scope and
 * recycles it) at its next call on the list ({@link LookasideOwner#reclaim}). Two frees of one block racing on its
 * owner and another thread: the owner's wins, the other is dropped when the owner takes its queue back. An owner
 * that has ended: the block goes back at once (its segment is out of everyone's reach).
 */
final class ScopedBlocks {

    /** The scope of every segment made by {@code MemorySegment.ofAddress} (bare blocks, copies). */
    private static final MemorySegment.Scope GLOBAL = MemorySegment.ofAddress(16).scope();

    /** {@link #take}'s answer for a block of an epoch now in its quarantine (the epoch goes on). */
    static final Object QUARANTINED = new Object();

    /** A block of an epoch, checked and still out: what a free on another thread leaves to the owner. */
    record InEpoch(Epoch epoch, long address, boolean sliced) {
    }

    private final Lookaside list;
    /** Blocks freed on another thread and not yet taken back by their owner: address to the record. */
    final ConcurrentHashMap<Long, Object> pending = new ConcurrentHashMap<>();

    ScopedBlocks(Lookaside list) {
        this.list = list;
    }

    /** The scope a block's record was handed out with. */
    static MemorySegment.Scope scopeOf(Object record) {
        if (record instanceof Arena a) {
            return a.scope();
        }
        if (record instanceof InEpoch b) {
            return b.epoch().scope;
        }
        return ((BlockLedger.Scoped) record).scope().scope();
    }

    /** The arena of a block with a scope of its own (not one of an epoch). */
    static Arena arenaOf(Object record) {
        return record instanceof Arena a ? a : ((BlockLedger.Scoped) record).scope();
    }

    /**
     * A segment of the block at {@code address} for the calling thread ({@code owner}), in a scope of its own;
     * {@code sliced}: short.
     */
    @SuppressWarnings("restricted") // reinterpret: the block is exactly `size` bytes the list handed out
    MemorySegment handOut(long address, long size, LookasideOwner owner, boolean sliced) {
        Arena scope = Arena.ofConfined();
        if (!owner.blocks.put(address, sliced ? new BlockLedger.Scoped(scope, null, true) : scope)) {
            scope.close();
            throw new IllegalStateException(String.format("lookaside list handed out block 0x%X twice", address));
        }
        return MemorySegment.ofAddress(address).reinterpret(size, scope, null);
    }

    /**
     * The gate of a checked free. For a block of one of the calling thread's epochs: with {@code quarantine}, frees
     * it into the quarantine and returns {@link #QUARANTINED}, or the epoch when that free ended it (the caller
     * ends it); without, returns an {@link InEpoch} and changes nothing (the caller frees it natively, then
     * {@link Epoch#forget}s it). For a block with a scope of its own: its record, whose scope the caller ends once the
     * block is back. {@link Lookaside#DEFERRED}: another live thread's block, left to it. {@code now}: a bare block,
     * or one of an ended thread: recycle it, no scope to end. Throws InvalidBlockException, nothing changed.
     */
    Object take(MemorySegment block, LookasideOwner me, Object now, boolean quarantine) {
        if (!block.isNative()) {
            throw new InvalidBlockException(InvalidBlockException.Reason.FOREIGN,
                    "not native memory, so not a block of " + list + ": " + block);
        }
        MemorySegment.Scope scope = block.scope();
        long address = block.address();
        Epoch e = me.epochs.epochOf(scope);
        if (e != null) {
            int i = e.indexOf(address);
            if (i >= 0) {
                checkSize(block, e.isSliced(i));
                if (!quarantine) {
                    return new InEpoch(e, address, e.isSliced(i));
                }
                return e.free(i) ? e : QUARANTINED;
            }
            throw freedAlready(address, block.byteSize() <= list.size ? null : "or not one of its blocks");
        }
        Object v = me.blocks.get(address);
        if (v != null && scopeOf(v) == scope) {
            checkSize(block, v instanceof BlockLedger.Scoped h && h.sliced());
            me.blocks.remove(address, v);
            return v;
        }
        return takeSlow(block, scope, address, me, now);
    }

    private void checkSize(MemorySegment block, boolean sliced) {
        long n = block.byteSize();
        if (n != list.size && !(n < list.size && sliced)) {
            throw new InvalidBlockException(InvalidBlockException.Reason.WRONG_SIZE, "a " + n
                    + "-byte segment is not a block of " + list + " (" + list.size + " bytes)");
        }
    }

    /* Whether the calling thread has the block at `address` out (for a message about a copy of its segment). */
    private static boolean isOut(LookasideOwner me, long address) {
        return me.blocks.get(address) != null || me.epochs.epochHolding(address) != null;
    }

    private Object takeSlow(MemorySegment block, MemorySegment.Scope scope, long address, LookasideOwner me,
            Object now) {
        if (scope == GLOBAL || scope == null) {
            if (isOut(me, address) && block.byteSize() <= list.size) {
                throw copy(address);
            }
            list.outstanding.take(block, list.size, list); // a bare block (a LookasideLocal's address API)
            return now;
        }
        Object p = pending.get(address);
        if (p != null && scopeOf(p) == scope) {
            throw freedAlready(address, "its free on another thread is pending");
        }
        for (LookasideOwner o : list.allOwners) {
            if (o == me || !block.isAccessibleBy(o.thread)) {
                continue;
            }
            if (!o.thread.isAlive()) {
                synchronized (o) { // an ended owner's records: written by whoever frees its blocks, one at a time
                    Epoch e = o.epochs.epochOfAny(scope);
                    int i = e == null ? -1 : e.find(address);
                    if (i >= 0) {
                        checkSize(block, e.isSliced(i));
                        e.forget(i);
                        return now; // a dead thread's confined segments are out of everyone's reach
                    }
                    Object v = o.blocks.get(address);
                    if (v != null && scopeOf(v) == scope) {
                        checkSize(block, v instanceof BlockLedger.Scoped h && h.sliced());
                        o.blocks.remove(address, v);
                        return now;
                    }
                }
                continue;
            }
            Object v = find(o, address, scope);
            if (v == null) {
                continue;
            }
            checkSize(block, v instanceof InEpoch b ? b.sliced() : v instanceof BlockLedger.Scoped h && h.sliced());
            if (pending.putIfAbsent(address, v) != null) {
                throw freedAlready(address, "its free on another thread is pending");
            }
            o.remote.add(new LookasideOwner.Deferred(address, v));
            if (!o.thread.isAlive()) {
                // The owner ended between the check and the add: it will never call again, so its deferred frees
                // (this one included) go back now. Whoever polls a block returns it: no block is returned twice.
                LookasideOwner.returnOrphans(list, o);
            }
            return Lookaside.DEFERRED;
        }
        if (block.byteSize() > list.size) {
            throw new InvalidBlockException(InvalidBlockException.Reason.WRONG_SIZE, "a " + block.byteSize()
                    + "-byte segment is not a block of " + list + " (" + list.size + " bytes)");
        }
        if (scope.isAlive() && isOut(me, address)) {
            throw copy(address);
        }
        throw freedAlready(address, scope.isAlive() ? null : "its scope has ended");
    }

    /*
     * Another live thread's record of this scope at this address while it is out: an InEpoch, or the record of a
     * block with a scope of its own (a resize of its table may hide that for a moment).
     */
    private static Object find(LookasideOwner o, long address, MemorySegment.Scope scope) {
        for (int tries = 0; tries < 3 && scope.isAlive(); tries++) {
            Epoch e = o.epochs.epochOfAny(scope);
            if (e != null) {
                int i = e.find(address);
                return i >= 0 ? new InEpoch(e, address, e.isSliced(i)) : null;
            }
            Object v = o.blocks.peek(address);
            if (v != null && scopeOf(v) == scope) {
                return v;
            }
            Thread.onSpinWait();
        }
        return null;
    }

    private InvalidBlockException copy(long address) {
        return new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING, String.format(
                "a segment over block 0x%X that %s did not hand out (a copy made with reinterpret?)", address, list));
    }

    private InvalidBlockException freedAlready(long address, String why) {
        return new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING, String.format(
                "0x%X was not handed out by %s, or was freed already%s", address, list,
                why == null ? "" : " (" + why + ")"));
    }

    /** Blocks handed out as scoped segments and not freed (a moment's sum; pending frees count as freed). */
    long size() {
        long n = -pending.size();
        for (LookasideOwner o : list.allOwners) {
            n += o.blocks.size() + o.epochs.live();
        }
        return Math.max(n, 0);
    }
}
