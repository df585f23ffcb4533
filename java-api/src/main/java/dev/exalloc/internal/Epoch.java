package dev.exalloc.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A quarantine epoch: a run of up to {@value #MAX_CAPACITY} checked blocks that one thread hands out as segments of
 * one confined arena. A block freed is checked at once but quarantined (kept out of every allocator, so its address
 * cannot be handed out again while a segment over it is open); when the epoch is over (it handed out its last
 * block, or was sealed, and every block of it has been freed) its owner closes the arena (every segment of the
 * epoch dies, so a use after free throws from then on) and releases its blocks in one go. One arena per run instead
 * of per block is what makes a checked pair cheaper than the JDK's own confined arena pair.
 *
 * <p>The epoch is its own ledger: {@link #blocks()} holds its blocks in the order they are handed out (the first
 * {@link #count()} entries were taken for it: a stock taken in one transfer, then one by one), and a bit per entry
 * says whether that block is out. The owner thread writes it with release stores (the entry, then the count of blocks
 * handed out, then the bit); another thread may {@link #find} a block in it with acquire loads and sees a state the
 * owner stored at some moment (how a free on another thread checks a block before it leaves it to the owner).
 */
public final class Epoch {

    /** Blocks an epoch takes at most (one bit each in a long). */
    public static final int MAX_CAPACITY = 64;

    private static final VarHandle OUT;
    private static final VarHandle HANDED_OUT;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            OUT = l.findVarHandle(Epoch.class, "out", long.class);
            HANDED_OUT = l.findVarHandle(Epoch.class, "handedOut", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The arena every segment of the epoch lives in. */
    public final Arena arena = Arena.ofConfined();
    /** Its scope (what a free compares a segment's scope with). */
    public final MemorySegment.Scope scope = arena.scope();
    private final long[] blocks;
    private int count;
    private int handedOut;
    /** Bit i: blocks[i] is out (handed out and not freed). */
    private long out;
    /** Bit i: blocks[i] was handed out as a segment shorter than the block (a segment allocator's request). */
    private long sliced;
    private boolean sealed;

    /** What its owner keeps per block (an allocation's tag and type), or null. */
    private final long[] extra;

    /** An epoch that takes up to {@code capacity} (1 .. {@value #MAX_CAPACITY}) blocks. */
    public Epoch(int capacity) {
        this(capacity, false);
    }

    /** As {@link #Epoch(int)}; {@code withExtra}: a word per block for the owner ({@link #extra}). */
    public Epoch(int capacity, boolean withExtra) {
        blocks = new long[capacity];
        extra = withExtra ? new long[capacity] : null;
    }

    /** The owner's word of entry {@code i}. */
    public long extra(int i) {
        return extra[i];
    }

    /** Hands out {@code address} with the owner's word {@code x} (as {@link #handOut(long, boolean)}); its entry. */
    public int handOut(long address, long x) {
        int i = handedOut;
        extra[i] = x;
        handOut(address, false);
        return i;
    }

    /** Blocks handed out (entries 0 .. handedOut() - 1). */
    public int handedOut() {
        return handedOut;
    }

    /** Whether entry {@code i} is out. */
    public boolean isOut(int i) {
        return i < handedOut && (out & 1L << i) != 0;
    }

    /** The blocks array (see the class comment); a transfer into it is followed by {@link #stocked(int)}. */
    public long[] blocks() {
        return blocks;
    }

    /** The first {@code n} entries of {@link #blocks()} were just taken for the epoch (its stock). */
    public void stocked(int n) {
        count = n;
    }

    /** Blocks it takes at most. */
    public int capacity() {
        return blocks.length;
    }

    /** Whether it hands out another block. */
    public boolean open() {
        return !sealed && handedOut < blocks.length;
    }

    /** Whether a block taken for it waits to be handed out. */
    public boolean hasStock() {
        return handedOut < count;
    }

    /** Hands out the next block of the stock (only when {@link #hasStock()}); {@code sliced}: short. */
    public long takeStock(boolean sliced) {
        int i = handedOut;
        HANDED_OUT.setRelease(this, i + 1);
        mark(i, sliced);
        return blocks[i];
    }

    /** Hands out {@code address}, taken outside the stock (only while open with no stock left). */
    public void handOut(long address, boolean sliced) {
        int i = handedOut;
        blocks[i] = address;
        count = i + 1;
        HANDED_OUT.setRelease(this, i + 1);
        mark(i, sliced);
    }

    private void mark(int i, boolean isSliced) {
        if (isSliced) {
            sliced |= 1L << i;
        }
        OUT.setRelease(this, out | 1L << i);
    }

    /** Owner only: the entry of {@code address} while it is out, else -1. */
    public int indexOf(long address) {
        for (int i = handedOut - 1; i >= 0; i--) {
            if (blocks[i] == address) {
                return (out & 1L << i) != 0 ? i : -1;
            }
        }
        return -1;
    }

    /** Any thread: the entry of {@code address} while it is out, as the owner stored it at some moment; else -1. */
    public int find(long address) {
        int n = (int) HANDED_OUT.getAcquire(this);
        long o = (long) OUT.getAcquire(this);
        for (int i = n - 1; i >= 0; i--) {
            if (blocks[i] == address) {
                return (o & 1L << i) != 0 ? i : -1;
            }
        }
        return -1;
    }

    /** Whether entry {@code i} was handed out short. */
    public boolean isSliced(int i) {
        return (sliced & 1L << i) != 0;
    }

    /** Entry {@code i} was freed: quarantined until the end. True when the epoch is now over: the caller ends it. */
    public boolean free(int i) {
        long o = out & ~(1L << i);
        OUT.setRelease(this, o);
        return o == 0 && !open();
    }

    /**
     * Entry {@code i} went back at once, not through the quarantine: it is no longer the epoch's to release. True
     * when the epoch is now over.
     */
    public boolean forget(int i) {
        blocks[i] = 0;
        return free(i);
    }

    /** Takes no more blocks; true when it is over (nothing out): the caller ends it now. */
    public boolean seal() {
        sealed = true;
        return out == 0;
    }

    /** Blocks out now (owner: exact; any other thread: a moment's value). */
    public int live() {
        return Long.bitCount((long) OUT.getOpaque(this));
    }

    /** Blocks taken for it: the first {@code count()} entries of {@link #blocks()} (0: one forgotten). */
    public int count() {
        return count;
    }

    /**
     * At its end (nothing out): moves the blocks to release to the front of {@link #blocks()}: first those handed
     * out (and freed; not the forgotten ones), {@link #used()} of them, then the stock never handed out. Returns how
     * many in all.
     */
    public int compact() {
        int n = 0;
        for (int i = 0; i < handedOut; i++) {
            if (blocks[i] != 0) {
                blocks[n++] = blocks[i];
            }
        }
        used = n;
        for (int i = handedOut; i < count; i++) {
            if (blocks[i] != 0) {
                blocks[n++] = blocks[i];
            }
        }
        return n;
    }

    private int used;

    /** Of the blocks the last {@link #compact()} or {@link #takeReleasable()} moved out, those handed out. */
    public int used() {
        return used;
    }

    /**
     * For an epoch of a thread that has ended: the blocks it can release now (freed ones, {@link #used()} of them,
     * then the stock never handed out), each then forgotten; the blocks still out stay recorded (their segments are
     * out of everyone's reach, and a free of one on another thread finds it here).
     */
    public long[] takeReleasable() {
        sealed = true;
        long[] r = new long[count];
        int n = 0;
        for (int i = 0; i < handedOut; i++) {
            if (blocks[i] != 0 && (out & 1L << i) == 0) {
                r[n++] = blocks[i];
                blocks[i] = 0;
            }
        }
        used = n;
        for (int i = handedOut; i < count; i++) {
            if (blocks[i] != 0) { // (released by an earlier sweep: 0)
                r[n++] = blocks[i];
                blocks[i] = 0;
            }
        }
        return java.util.Arrays.copyOf(r, n);
    }
}
