package dev.exalloc.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One thread's checked blocks: block address to a value (the block's scope record), an open-addressing table that
 * only its owner thread writes, with no lock and no atomic read-modify-write, so that a checked allocate and free on
 * the allocating thread cost a hash probe each. Other threads may {@link #peek} it: each slot is written value
 * first and address second (release stores) and read address first and value second (acquire loads), so a reader
 * that sees an address with a value sees a pair the owner stored at some moment. A value is never stored twice
 * (each hand-out makes a new scope), so a reader that finds the very scope of the segment it holds knows that scope
 * was handed out for that address; whether the block is still outstanding it learns from the scope itself (alive
 * until the free ends it). Address 0 is never stored.
 */
public final class OwnerTable {

    private static final long DELETED = -1L;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle OBJECTS = MethodHandles.arrayElementVarHandle(Object[].class);

    private volatile long[] keys = new long[16];
    private volatile Object[] values = new Object[16];
    private int used; // live + deleted slots
    private int live; // written by the owner (opaque), read by anyone (a moment's value)
    private static final VarHandle LIVE;

    static {
        try {
            LIVE = MethodHandles.lookup().findVarHandle(OwnerTable.class, "live", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static int hash(long address) {
        long h = address * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    /** Owner only: the value stored for {@code address}, or null. */
    public Object get(long address) {
        long[] k = keys;
        int mask = k.length - 1;
        for (int i = hash(address) & mask;; i = (i + 1) & mask) {
            long v = k[i];
            if (v == address) {
                return values[i];
            }
            if (v == 0) {
                return null;
            }
        }
    }

    /** Any thread: a value the owner stored for {@code address} at some moment, or null (see the class comment). */
    public Object peek(long address) {
        long[] k = keys;
        Object[] vs = values;
        if (vs.length != k.length) {
            return null; // a resize between the two reads: the caller treats it as absent, then looks again
        }
        int mask = k.length - 1;
        for (int i = hash(address) & mask, n = 0; n < k.length; i = (i + 1) & mask, n++) {
            long v = (long) LONGS.getAcquire(k, i);
            if (v == address) {
                return OBJECTS.getAcquire(vs, i);
            }
            if (v == 0) {
                return null;
            }
        }
        return null;
    }

    /** Owner only: stores {@code value} (not null) for {@code address}; false if the address is present already. */
    public boolean put(long address, Object value) {
        long[] k = keys;
        int mask = k.length - 1;
        int free = -1;
        for (int i = hash(address) & mask;; i = (i + 1) & mask) {
            long v = k[i];
            if (v == address) {
                return false;
            }
            if (v == DELETED && free < 0) {
                free = i;
            } else if (v == 0) {
                if (free < 0) {
                    free = i;
                    used++;
                }
                OBJECTS.setRelease(values, free, value);
                LONGS.setRelease(k, free, address);
                LIVE.setOpaque(this, live + 1);
                if (used * 2 > k.length) {
                    rehash();
                }
                return true;
            }
        }
    }

    /** Owner only: removes {@code address} if its value is {@code expected} (identity); true if removed. */
    public boolean remove(long address, Object expected) {
        long[] k = keys;
        int mask = k.length - 1;
        for (int i = hash(address) & mask;; i = (i + 1) & mask) {
            long v = k[i];
            if (v == address) {
                if (values[i] != expected) {
                    return false;
                }
                LONGS.setRelease(k, i, DELETED);
                OBJECTS.setRelease(values, i, null);
                LIVE.setOpaque(this, live - 1);
                return true;
            }
            if (v == 0) {
                return false;
            }
        }
    }

    /** Entries now (any thread: a moment's value). */
    public int size() {
        return (int) LIVE.getOpaque(this);
    }

    /** Owner only (or once the owner has ended, under the caller's lock): every value, for a sweep. */
    public void forEach(java.util.function.BiConsumer<Long, Object> action) {
        long[] k = keys;
        Object[] vs = values;
        for (int i = 0; i < k.length; i++) {
            if (k[i] != 0 && k[i] != DELETED) {
                action.accept(k[i], vs[i]);
            }
        }
    }

    private void rehash() {
        long[] old = keys;
        Object[] oldValues = values;
        int capacity = old.length;
        while (live * 4 >= capacity) {
            capacity *= 2;
        }
        long[] k = new long[capacity];
        Object[] vs = new Object[capacity];
        int mask = capacity - 1;
        for (int j = 0; j < old.length; j++) {
            long v = old[j];
            if (v != 0 && v != DELETED) {
                int i = hash(v) & mask;
                while (k[i] != 0) {
                    i = (i + 1) & mask;
                }
                k[i] = v;
                vs[i] = oldValues[j];
            }
        }
        // values first: a reader that sees the new keys array reads values of the same length or sees the old pair
        values = vs;
        keys = k;
        used = live;
    }
}
