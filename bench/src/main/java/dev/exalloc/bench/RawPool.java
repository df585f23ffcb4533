package dev.exalloc.bench;

import dev.exalloc.Exalloc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * A diagnostic peer, not an API: the native calls {@code Pool.allocate(PoolType.NON_PAGED_NX, size, tag)} and
 * {@code Pool.free(block)} make, {@code exa_pool_allocate_typed(NonPagedPoolNx | POOL_RAISE_IF_ALLOCATION_FAILURE,
 * size, tag, HighPoolPriority)} (ExAllocatePoolWithTag: uninitialised) and {@code exa_pool_free} (ExFreePool),
 * through bare critical FFM downcalls with no Java work around them (no argument checks, no reinterpret, no
 * bug-check poll after the free): the floor the Java pool API can reach over FFM. (The C benchmark's pool row
 * calls ExAllocatePool2 with POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED instead: the same pool path, 3
 * instructions apart under callgrind.)
 *
 * <p>Uses the library the Java API loaded ({@link Exalloc#libraryPath()}): dlopen of the same file returns the
 * same instance.
 */
final class RawPool {

    private RawPool() {
    }

    /** EXA_NON_PAGED_POOL_NX | EXA_POOL_RAISE_IF_ALLOCATION_FAILURE, as Pool.allocate passes it. */
    static final int TYPE = 0x200 | 0x010;

    /** 'Benc', as AllocBench.TAG. */
    static final int TAG = 0x636E6542;

    /** EXA_POOL_PRIORITY_HIGH: plain ExAllocatePoolWithTag. */
    static final int PRIORITY = 32;

    /**
     * {@code void *exa_pool_allocate_typed(int32_t pool_type, exa_u64 size, uint32_t tag, int32_t priority)}:
     * (MemorySegment) (int, long, int, int).
     */
    static final MethodHandle ALLOCATE;

    /** {@code void exa_pool_free(void *block)}: (MemorySegment) void. */
    static final MethodHandle FREE;

    /** As {@link #ALLOCATE} with the pointer as a long: (long) (int, long, int, int). */
    static final MethodHandle ALLOCATE_ADDRESS;

    /** {@code void exa_pool_free_with_tag(void *block, uint32_t tag)} with the pointer as a long: (long, int) void. */
    static final MethodHandle FREE_ADDRESS;

    /** TYPE without the raise bit, as Pool.allocateAddress passes it. */
    static final int TYPE_NO_RAISE = 0x200;

    static {
        MethodHandle[] h = link();
        ALLOCATE = h[0];
        FREE = h[1];
        ALLOCATE_ADDRESS = h[2];
        FREE_ADDRESS = h[3];
    }

    @SuppressWarnings("restricted") // libraryLookup and downcallHandle; signatures as in native/include/exalloc.h
    private static MethodHandle[] link() {
        Exalloc.version(); // makes the Java API load the library first
        SymbolLookup lib = SymbolLookup.libraryLookup(Exalloc.libraryPath(), Arena.global());
        Linker linker = Linker.nativeLinker();
        Linker.Option critical = Linker.Option.critical(false);
        return new MethodHandle[] {
            linker.downcallHandle(lib.findOrThrow("exa_pool_allocate_typed"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), critical),
            linker.downcallHandle(lib.findOrThrow("exa_pool_free"),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS), critical),
            linker.downcallHandle(lib.findOrThrow("exa_pool_allocate_typed"),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), critical),
            linker.downcallHandle(lib.findOrThrow("exa_pool_free_with_tag"),
                    FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), critical),
        };
    }

    /** A block of {@code size} bytes (the raw zero-length segment FFM returns), or an exception for NULL. */
    static MemorySegment allocate(long size) throws Throwable {
        MemorySegment p = (MemorySegment) ALLOCATE.invokeExact(TYPE, size, TAG, PRIORITY);
        if (p.address() == 0) {
            throw new OutOfMemoryError("exa_pool_allocate_typed returned NULL for " + size + " bytes");
        }
        return p;
    }
}
