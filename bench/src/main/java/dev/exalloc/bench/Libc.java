package dev.exalloc.bench;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * malloc and free from the C library through FFM downcalls: {@link #MALLOC}/{@link #FREE} are plain downcalls,
 * what a Java program would write without exalloc; {@link #MALLOC_CRITICAL}/{@link #FREE_CRITICAL} add
 * {@code Linker.Option.critical(false)} (no thread-state transition), as {@link dev.exalloc.Lookaside} does for
 * its own allocate/free, to separate the allocator's cost from the transition's. Static finals, so that the JIT
 * treats the handles as constants.
 */
final class Libc {

    private Libc() {
    }

    /** {@code void *malloc(size_t)}: call as {@code (MemorySegment) MALLOC.invokeExact(long)}. */
    static final MethodHandle MALLOC;

    /** {@code void free(void *)}: call as {@code FREE.invokeExact(MemorySegment)}. */
    static final MethodHandle FREE;

    /** As {@link #MALLOC}, linked with {@code Linker.Option.critical(false)}. */
    static final MethodHandle MALLOC_CRITICAL;

    /** As {@link #FREE}, linked with {@code Linker.Option.critical(false)}. */
    static final MethodHandle FREE_CRITICAL;

    static {
        MethodHandle[] h = link();
        MALLOC = h[0];
        FREE = h[1];
        MALLOC_CRITICAL = h[2];
        FREE_CRITICAL = h[3];
    }

    @SuppressWarnings("restricted") // Linker.downcallHandle is restricted; the signatures are libc's
    private static MethodHandle[] link() {
        Linker linker = Linker.nativeLinker();
        MemorySegment malloc = linker.defaultLookup().findOrThrow("malloc");
        MemorySegment free = linker.defaultLookup().findOrThrow("free");
        FunctionDescriptor mallocType = FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
        FunctionDescriptor freeType = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS);
        Linker.Option critical = Linker.Option.critical(false);
        return new MethodHandle[] {
            linker.downcallHandle(malloc, mallocType),
            linker.downcallHandle(free, freeType),
            linker.downcallHandle(malloc, mallocType, critical),
            linker.downcallHandle(free, freeType, critical),
        };
    }
}
