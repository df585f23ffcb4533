package dev.exalloc.internal;

import static dev.exalloc.internal.bindings.exalloc_h.exa_irql_get$address;
import static dev.exalloc.internal.bindings.exalloc_h.exa_irql_get$descriptor;

import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Whether any thread runs above PASSIVE_LEVEL, as far as the Java API moved it: every Java routine that changes the
 * calling thread's IRQL (raise and lower, spin-lock acquire and release) calls {@link #sync()} after it, so that a
 * hot path that must refuse a call above some IRQL (a lookaside free whose native part is deferred) reads one field
 * while no thread is raised, and asks the native side only when one is. IRQL that native code of the program's own
 * raises and leaves raised on a Java thread is not seen here; the deferred native call then checks it when it runs.
 */
public final class IrqlState {

    private IrqlState() {
    }

    /** Threads whose last synced IRQL was above PASSIVE_LEVEL. */
    private static final AtomicInteger RAISED = new AtomicInteger();
    private static final ThreadLocal<boolean[]> MINE = ThreadLocal.withInitial(() -> new boolean[1]);
    /* exa_irql_get reads one thread-local byte: a critical downcall. */
    private static final MethodHandle IRQL = Native.critical(exa_irql_get$address(), exa_irql_get$descriptor());

    private static int irql() {
        try {
            return Byte.toUnsignedInt((byte) IRQL.invokeExact());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** After a call that may have changed the calling thread's IRQL. */
    public static void sync() {
        boolean raised = irql() != 0;
        boolean[] mine = MINE.get();
        if (mine[0] != raised) {
            mine[0] = raised;
            RAISED.addAndGet(raised ? 1 : -1);
        }
    }

    /** The calling thread's IRQL, read only when some thread is raised (else PASSIVE_LEVEL, 0, with one load). */
    public static int current() {
        return RAISED.getOpaque() == 0 ? 0 : irql();
    }
}
