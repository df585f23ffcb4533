package dev.exalloc.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One thread's quarantine epochs on one allocator (see {@link Epoch}): the current one, which new blocks go into;
 * the pinned ones, full or sealed but kept open by blocks still out; the due ones, over but waiting for an IRQL at
 * which their blocks may be released. Written by the owner thread only (or, once it has ended, under the caller's
 * lock); another thread may look an epoch up by scope ({@link #epochOfAny}) in what the owner published.
 */
public final class EpochSet {

    private static final VarHandle CURRENT;

    static {
        try {
            CURRENT = MethodHandles.lookup().findVarHandle(EpochSet.class, "current", Epoch.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Epoch current;
    private final ArrayList<Epoch> pinned = new ArrayList<>();
    /** {@link #pinned} as other threads read it: a copy, replaced at each change. */
    private volatile Epoch[] pinnedView = new Epoch[0];
    private final ArrayList<Epoch> due = new ArrayList<>();

    /** The epoch new blocks go into, or null. */
    public Epoch current() {
        return current;
    }

    /** Makes {@code e} (or null) the epoch new blocks go into; the old one stays pinned while blocks of it are out. */
    public void setCurrent(Epoch e) {
        Epoch old = current;
        if (old != null && old != e && old.live() > 0) {
            pinned.add(old);
            pinnedView = pinned.toArray(new Epoch[0]);
        }
        CURRENT.setRelease(this, e);
    }

    /** Epochs kept open by blocks still out. */
    public int pinned() {
        return pinned.size();
    }

    /** An epoch is over: it is neither current nor pinned any more. */
    public void retire(Epoch e) {
        if (current == e) {
            CURRENT.setRelease(this, (Epoch) null);
        } else if (pinned.remove(e)) {
            pinnedView = pinned.toArray(new Epoch[0]);
        }
    }

    /** The current epoch stops taking blocks: {@code end} gets it now when nothing of it is out, else it stays pinned. */
    public void sealCurrent(Consumer<Epoch> end) {
        Epoch e = current;
        if (e == null) {
            return;
        }
        if (e.seal()) {
            end.accept(e);
        } else {
            setCurrent(null);
        }
    }

    /** Owner: the epoch whose arena's scope is {@code scope}, or null. */
    public Epoch epochOf(MemorySegment.Scope scope) {
        Epoch e = current;
        if (e != null && e.scope == scope) {
            return e;
        }
        for (int i = pinned.size() - 1; i >= 0; i--) {
            e = pinned.get(i);
            if (e.scope == scope) {
                return e;
            }
        }
        return null;
    }

    /** Any thread: as {@link #epochOf}, from what the owner published. */
    public Epoch epochOfAny(MemorySegment.Scope scope) {
        Epoch e = (Epoch) CURRENT.getAcquire(this);
        if (e != null && e.scope == scope) {
            return e;
        }
        for (Epoch p : pinnedView) {
            if (p.scope == scope) {
                return p;
            }
        }
        return null;
    }

    /** Owner: the epoch that has the block at {@code address} out, or null. */
    public Epoch epochHolding(long address) {
        Epoch e = current;
        if (e != null && e.indexOf(address) >= 0) {
            return e;
        }
        for (Epoch p : pinned) {
            if (p.indexOf(address) >= 0) {
                return p;
            }
        }
        return null;
    }

    /** Over, waiting for a lower IRQL. */
    public List<Epoch> due() {
        return due;
    }

    /** Every epoch it holds (current, pinned, due): for the sweep of a thread that has ended. */
    public List<Epoch> all() {
        ArrayList<Epoch> all = new ArrayList<>(pinned);
        all.addAll(due);
        if (current != null) {
            all.add(current);
        }
        return all;
    }

    /** Any thread: the current and pinned epochs as the owner published them (a moment's view). */
    public List<Epoch> published() {
        ArrayList<Epoch> all = new ArrayList<>(List.of(pinnedView));
        Epoch e = (Epoch) CURRENT.getAcquire(this);
        if (e != null) {
            all.add(e);
        }
        return all;
    }

    /** Blocks of these epochs out (any thread: a moment's value). */
    public int live() {
        int n = 0;
        for (Epoch e : published()) {
            n += e.live();
        }
        return n;
    }
}
