package dev.exalloc.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Guards a native object against being freed while calls on it are in flight, without a shared hot word: each
 * thread counts its calls in one of several cells, each on its own cache line, so threads on the same list do
 * not contend. {@link #close()} sets the closed flag and waits until every cell reads zero (Dekker: enter is a
 * volatile read-modify-write followed by a volatile read of the flag; close a volatile write followed by volatile
 * reads of the cells, so one of the two sides always sees the other).
 */
public final class InFlight {

    private static final int CELLS = 32; // power of two
    private static final int STRIDE = 16; // longs per cell: 128 bytes, against adjacent-line prefetch too
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(InFlight.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] cells = new long[(CELLS + 1) * STRIDE];
    /** Per-thread slots ({@link #newSlot()}): calls counted without a read-modify-write. */
    private final java.util.Set<Slot> slots = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * One thread's own counter of calls in flight: only that thread writes it, so entering is a volatile store
     * followed by the volatile read of the closed flag (the same Dekker pair as a cell, without the atomic
     * read-modify-write), and exiting a release store.
     */
    public static final class Slot {
        private static final VarHandle DEPTH;

        static {
            try {
                DEPTH = MethodHandles.lookup().findVarHandle(Slot.class, "depth", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Thread thread = Thread.currentThread();
        @SuppressWarnings("unused") // accessed through DEPTH
        private volatile int depth;

        int depthVolatile() {
            return (int) DEPTH.getVolatile(this);
        }
    }

    /** A slot for the calling thread, which alone may pass it to {@link #enter(Slot)} and {@link #exit(Slot)}. */
    public Slot newSlot() {
        Slot s = new Slot();
        slots.add(s);
        return s;
    }

    /** Enters a call on the calling thread's own slot; false when closed (nothing to exit). */
    public boolean enter(Slot s) {
        int d = (int) Slot.DEPTH.get(s); // only this thread writes it
        Slot.DEPTH.setVolatile(s, d + 1);
        if ((boolean) CLOSED.getVolatile(this)) {
            Slot.DEPTH.setRelease(s, d);
            return false;
        }
        return true;
    }

    public void exit(Slot s) {
        Slot.DEPTH.setRelease(s, (int) Slot.DEPTH.get(s) - 1);
    }

    private void awaitSlots() {
        for (Slot s : slots) {
            for (int spins = 0; s.depthVolatile() != 0; spins++) {
                if (!s.thread.isAlive()) {
                    break; // cannot happen inside a call; a thread that ended leaves nothing in flight
                }
                if (spins < 1000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }
    @SuppressWarnings("unused") // accessed through CLOSED
    private volatile boolean closed;

    private static int cell() {
        long id = Thread.currentThread().threadId();
        return (int) ((id * 0x9E3779B97F4A7C15L) >>> 59) * STRIDE + STRIDE; // skip line 0 (object header)
    }

    /** Enters a call; returns the cell to pass to {@link #exit}, or -1 when closed (nothing to exit). */
    public int enter() {
        int c = cell();
        CELL.getAndAdd(cells, c, 1L);
        if ((boolean) CLOSED.getVolatile(this)) {
            CELL.getAndAdd(cells, c, -1L);
            return -1;
        }
        return c;
    }

    public void exit(int c) {
        CELL.getAndAdd(cells, c, -1L);
    }

    public boolean isClosed() {
        return (boolean) CLOSED.getVolatile(this);
    }

    /**
     * The closed flag without ordering (an opaque read: never hoisted, so a close is seen within a few calls):
     * for hit paths that touch no native state and only owe the caller a prompt "closed" answer.
     */
    public boolean isClosedOpaque() {
        return (boolean) CLOSED.getOpaque(this);
    }

    /**
     * Waits until each cell has been seen at zero once: every call that had entered when this was called has exited
     * (calls entering later may still run). See {@link CriticalGate}.
     */
    public void awaitQuiescent() {
        for (int c = STRIDE; c < cells.length; c += STRIDE) {
            for (int spins = 0; (long) CELL.getVolatile(cells, c) != 0; spins++) {
                if (spins < 1000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
        awaitSlots();
    }

    /** Marks closed and waits for calls in flight; returns false if it was closed already. */
    public boolean close() {
        if (!CLOSED.compareAndSet(this, false, true)) {
            return false;
        }
        for (int c = STRIDE; c < cells.length; c += STRIDE) {
            while ((long) CELL.getVolatile(cells, c) != 0) {
                Thread.onSpinWait();
            }
        }
        awaitSlots();
        return true;
    }
}
