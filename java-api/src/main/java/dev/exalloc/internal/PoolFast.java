package dev.exalloc.internal;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The address-based fast path of the pool: {@code exa_pool_allocate_typed} and {@code exa_pool_free_with_tag}
 * linked a second time from the generated {@code $address()}, with the pointer as a {@code long} (no
 * {@link MemorySegment} per call).
 *
 * <p>Critical downcalls ({@code Linker.Option.critical}: no thread-state transition) by default for
 * {@code Pool.system()}; the system property {@code exalloc.pool.critical=false} makes them ordinary ones. Pool
 * instances choose their own ({@link #allocateCritical}, {@link #freeCritical}, guarded by {@link CriticalGate}).
 * A critical call is safe only while native code cannot call back into Java from it, and the pool's allocate and
 * free never do: condition listeners are no upcalls (the Java side polls the native condition), the quota routines
 * charge an account in native code, and the only upcalls this API links, a lookaside list's own allocate and free
 * callbacks, are called by {@code exa_lookaside_allocate}/{@code exa_lookaside_free} of that list, which the
 * list calls through ordinary downcalls, never from the pool's routines. A miss may map memory from the host
 * (mmap, short; never a long wait), which a critical downcall tolerates.
 */
public final class PoolFast {

    private PoolFast() {
    }

    /** System property: false makes the system pool's calls ordinary downcalls (default true: critical). */
    public static final String CRITICAL_PROPERTY = "exalloc.pool.critical";

    public static final boolean CRITICAL = Boolean.parseBoolean(System.getProperty(CRITICAL_PROPERTY, "true"));

    /** (int type, long size, int tag, int priority) long. */
    private static final MethodHandle ALLOCATE = link(exa_pool_allocate_typed$address(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    /** (long block, int tag) int: exa_pool_free_checked, the outcome returned (no second call to learn it). */
    private static final MethodHandle FREE = link(exa_pool_free_checked$address(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    /** The same two, always critical: for pool instances built with critical calls (see {@link CriticalGate}). */
    private static final MethodHandle ALLOCATE_CRITICAL = link(exa_pool_allocate_typed$address(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), true);
    private static final MethodHandle FREE_CRITICAL = link(exa_pool_free_checked$address(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), true);

    private static MethodHandle link(MemorySegment address, FunctionDescriptor descriptor) {
        return link(address, descriptor, CRITICAL);
    }

    /** The same two, always ordinary: for pool instances built without critical calls. */
    private static final MethodHandle ALLOCATE_ORDINARY = link(exa_pool_allocate_typed$address(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), false);
    private static final MethodHandle FREE_ORDINARY = link(exa_pool_free_checked$address(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), false);

    /** As {@link #allocate}, as an ordinary downcall. */
    public static long allocateOrdinary(int type, long size, int tag, int priority) {
        try {
            return (long) ALLOCATE_ORDINARY.invokeExact(type, size, tag, priority);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** As {@link #free}, as an ordinary downcall. */
    public static int freeOrdinary(long block, int tag) {
        try {
            return (int) FREE_ORDINARY.invokeExact(block, tag);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @SuppressWarnings("restricted") // the signatures of exalloc.h, a pointer passed as a 64-bit integer
    private static MethodHandle link(MemorySegment address, FunctionDescriptor descriptor, boolean critical) {
        Native.ensure();
        Linker linker = Linker.nativeLinker();
        return critical ? linker.downcallHandle(address, descriptor, Linker.Option.critical(false))
                : linker.downcallHandle(address, descriptor);
    }

    /** As {@link #allocate}, as a critical downcall: only while {@link CriticalGate#allowed()}, inside an InFlight. */
    public static long allocateCritical(int type, long size, int tag, int priority) {
        try {
            return (long) ALLOCATE_CRITICAL.invokeExact(type, size, tag, priority);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** As {@link #free}, as a critical downcall (as {@link #allocateCritical}). */
    public static int freeCritical(long block, int tag) {
        try {
            return (int) FREE_CRITICAL.invokeExact(block, tag);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long allocate(int type, long size, int tag, int priority) {
        try {
            return (long) ALLOCATE.invokeExact(type, size, tag, priority);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK when a check refused the free (tag 0: ExFreePool). */
    public static int free(long block, int tag) {
        try {
            return (int) FREE.invokeExact(block, tag);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
