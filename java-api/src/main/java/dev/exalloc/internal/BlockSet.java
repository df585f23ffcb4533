package dev.exalloc.internal;

/**
 * The addresses a checked lookaside list or zone has handed out and not yet taken back: a set of {@code long}s in
 * independent stripes, each an open-addressing table under its own monitor, so that threads freeing different
 * blocks rarely meet and no address is boxed. Address 0 is never stored (blocks are never NULL).
 */
public final class BlockSet {

    private static final int STRIPES = 64; // power of two
    private static final long DELETED = -1L;

    /*
     * Each stripe is locked (its header word) and written (table, used, live) by whichever thread frees a block
     * that hashes to it; padding before and after, through the class hierarchy because the JVM lays out a
     * superclass's fields first and may reorder a class's own, keeps neighbouring stripes off each other's cache
     * lines (128 bytes each side, against adjacent-line prefetch too).
     */
    @SuppressWarnings("unused")
    private abstract static class PadBefore {
        long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
    }

    private abstract static class Hot extends PadBefore {
        long[] table = new long[16];
        Object[] values; // parallel to table when the set carries values (see #put), else null
        int used; // live + deleted slots
        int live;
    }

    @SuppressWarnings("unused")
    private static final class Stripe extends Hot {
        long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
    }

    private final Stripe[] stripes = new Stripe[STRIPES];

    public BlockSet() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    private static long mix(long address) {
        long h = address * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 29);
    }

    private Stripe stripe(long h) {
        return stripes[(int) (h >>> 58) & (STRIPES - 1)];
    }

    /** Adds; false if present already. */
    public boolean add(long address) {
        return put(address, null);
    }

    /** Adds with a value (kept until the address is removed); false if present already. */
    public boolean put(long address, Object value) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            long[] t = s.table;
            int mask = t.length - 1;
            int free = -1;
            for (int i = (int) h & mask;; i = (i + 1) & mask) {
                long v = t[i];
                if (v == address) {
                    return false;
                }
                if (v == DELETED && free < 0) {
                    free = i;
                } else if (v == 0) {
                    if (free < 0) {
                        free = i;
                        s.used++;
                    }
                    t[free] = address;
                    if (value != null || s.values != null) {
                        if (s.values == null) {
                            s.values = new Object[t.length];
                        }
                        s.values[free] = value;
                    }
                    s.live++;
                    if (s.used * 2 > t.length) {
                        rehash(s);
                    }
                    return true;
                }
            }
        }
    }

    /** Removes; false if absent. */
    public boolean remove(long address) {
        return removeValue(address) != null;
    }

    /** Marks an entry without a value (what {@link #removeValue} returns for it). */
    public static final Object PRESENT = new Object();

    /** Removes; returns the entry's value ({@link #PRESENT} for one without), or null if absent. */
    public Object removeValue(long address) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            long[] t = s.table;
            int mask = t.length - 1;
            for (int i = (int) h & mask;; i = (i + 1) & mask) {
                long v = t[i];
                if (v == address) {
                    t[i] = DELETED;
                    s.live--;
                    Object value = PRESENT;
                    if (s.values != null && s.values[i] != null) {
                        value = s.values[i];
                        s.values[i] = null;
                    }
                    return value;
                }
                if (v == 0) {
                    return null;
                }
            }
        }
    }

    /** Calls {@code action} with the value of every entry that has one, and removes every entry. */
    public void clear(java.util.function.Consumer<Object> action) {
        for (Stripe s : stripes) {
            synchronized (s) {
                if (s.values != null) {
                    for (Object v : s.values) {
                        if (v != null) {
                            action.accept(v);
                        }
                    }
                    s.values = null;
                }
                s.table = new long[16];
                s.used = 0;
                s.live = 0;
            }
        }
    }

    /** Live entries (a moment's sum over the stripes). */
    public long size() {
        long n = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                n += s.live;
            }
        }
        return n;
    }

    /** Grows (or just cleans out deleted slots) so that live + deleted stay under half the table. */
    private static void rehash(Stripe s) {
        long[] old = s.table;
        int capacity = old.length;
        while (s.live * 4 >= capacity) {
            capacity *= 2;
        }
        long[] t = new long[capacity];
        Object[] oldValues = s.values;
        Object[] values = oldValues == null ? null : new Object[capacity];
        int mask = capacity - 1;
        for (int j = 0; j < old.length; j++) {
            long v = old[j];
            if (v != 0 && v != DELETED) {
                int i = (int) mix(v) & mask;
                while (t[i] != 0) {
                    i = (i + 1) & mask;
                }
                t[i] = v;
                if (values != null) {
                    values[i] = oldValues[j];
                }
            }
        }
        s.table = t;
        s.values = values;
        s.used = s.live;
    }
}
