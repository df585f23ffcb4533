package dev.exalloc;

import dev.exalloc.internal.BlockSet;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * The checked-mode ledger of a lookaside list or a zone: every block handed out and not yet taken back, bare (the
 * segment or address carries no scope of its own) or {@linkplain Scoped scoped} (its segment lives in a confined
 * arena that ends at its free, so that a use after free raises {@link IllegalStateException}). A free passes
 * through {@link #take}, which refuses with {@link InvalidBlockException} and leaves the ledger as it was: a heap
 * segment, a segment of the wrong size, a block not outstanding (never handed out, or freed already), and a segment
 * over an outstanding scoped block that is not the one handed out (a copy made with {@code reinterpret}).
 */
final class BlockLedger {

    /**
     * A block handed out with a scope of its own; {@code owner} is the holder's per-thread record, or null;
     * {@code sliced}: handed out as a segment shorter than the block (a segment allocator's request), so a free
     * takes any segment of at most the block's size at its address.
     */
    record Scoped(Arena scope, Object owner, boolean sliced) {
        Scoped(Arena scope, Object owner) {
            this(scope, owner, false);
        }
    }

    /** The value of a bare block handed out as a shorter segment (see {@link Scoped#sliced()}). */
    static final Object SLICED = new Object();

    private final BlockSet set = new BlockSet();
    private final String holder;

    /** {@code holder} names the kind of allocator in messages ("lookaside list", "zone"). */
    BlockLedger(String holder) {
        this.holder = holder;
    }

    /** Records a block handed out bare. */
    void record(long address) {
        if (!set.add(address)) {
            throw handedOutTwice(address);
        }
    }

    /** Records a block handed out bare as a segment shorter than the block. */
    void recordSliced(long address) {
        if (!set.put(address, SLICED)) {
            throw handedOutTwice(address);
        }
    }

    /**
     * Records a block handed out scoped and returns its segment: {@code size} bytes in a new arena confined to the
     * calling thread.
     */
    @SuppressWarnings("restricted") // reinterpret: the block is exactly `size` bytes its allocator handed out
    MemorySegment handOutScoped(long address, long size, Object owner) {
        return handOutScoped(address, size, owner, false);
    }

    /** As {@link #handOutScoped(long, long, Object)}; {@code sliced}: see {@link Scoped#sliced()}. */
    @SuppressWarnings("restricted") // reinterpret: the block is exactly `size` bytes its allocator handed out
    MemorySegment handOutScoped(long address, long size, Object owner, boolean sliced) {
        Arena scope = Arena.ofConfined();
        if (!set.put(address, new Scoped(scope, owner, sliced))) {
            scope.close();
            throw handedOutTwice(address);
        }
        return MemorySegment.ofAddress(address).reinterpret(size, scope, null);
    }

    private IllegalStateException handedOutTwice(long address) {
        return new IllegalStateException(String.format("%s handed out block 0x%X twice", holder, address));
    }

    /**
     * The gate of a checked free through a segment: {@code block} must be native, {@code blockSize} bytes (or, for a
     * block handed out short, at most that many), and an outstanding block; for a scoped block, the very segment
     * handed out or a slice of it at offset 0. It is then removed; returns its
     * {@link Scoped} record, or {@link BlockSet#PRESENT} for a bare block. Otherwise {@link InvalidBlockException},
     * nothing changed.
     *
     * @param who the list or zone, named in messages through its toString (called only on failure: this is on every
     *            checked free)
     */
    Object take(MemorySegment block, long blockSize, Object who) {
        if (!block.isNative()) {
            throw new InvalidBlockException(InvalidBlockException.Reason.FOREIGN,
                    "not native memory, so not a block of " + who + ": " + block);
        }
        long address = block.address();
        boolean exact = block.byteSize() == blockSize;
        // Only a block handed out as a shorter segment may come back shorter (never longer).
        Object v = exact || block.byteSize() < blockSize ? set.removeValue(address) : null;
        boolean longer = block.byteSize() > blockSize;
        if (!exact && (v != null || longer) && !(v == SLICED || v instanceof Scoped s && s.sliced())) {
            if (v != null) {
                set.put(address, v == BlockSet.PRESENT ? null : v);
            }
            throw new InvalidBlockException(InvalidBlockException.Reason.WRONG_SIZE, "a " + block.byteSize()
                    + "-byte segment is not a block of " + who + " (" + blockSize + " bytes)");
        }
        if (v == null) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    String.format("0x%X was not handed out by %s, or was freed already%s", address, who,
                            block.scope().isAlive() ? "" : " (its scope has ended)"));
        }
        if (v instanceof Scoped s && s.scope().scope() != block.scope()) {
            set.put(address, s);
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING, String.format(
                    "a segment over block 0x%X that %s did not hand out (a copy made with reinterpret?)", address, who));
        }
        return v;
    }

    /**
     * The gate of a checked free by address: the address must be an outstanding block handed out bare (a scoped
     * block is freed through its segment, whose scope only that free can end). Otherwise
     * {@link InvalidBlockException}, nothing changed.
     */
    void takeAddress(long address, Object who) {
        Object v = set.removeValue(address);
        if (v == null) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    String.format("0x%X was not handed out by %s, or was freed already", address, who));
        }
        if (v instanceof Scoped s) {
            set.put(address, s);
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    String.format("0x%X was handed out as a scoped segment: free the segment", address));
        }
    }

    /** A free the native side refused after {@link #take}: the block is outstanding again, as it was. */
    void restore(long address, Object taken) {
        set.put(address, taken == BlockSet.PRESENT ? null : taken);
    }

    /** Calls {@code action} with every scoped record, and forgets every block. */
    void clear(Consumer<Scoped> action) {
        set.clear(v -> {
            if (v instanceof Scoped s) {
                action.accept(s);
            }
        });
    }

    /** Blocks outstanding (a moment's sum). */
    long size() {
        return set.size();
    }
}
