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
 * A diagnostic peer, not an API: exa_lookaside_allocate/free called through bare critical FFM downcalls (as
 * {@link dev.exalloc.Lookaside} calls them for a list without Java callbacks) on a list created here, with none
 * of the Java API's own work (its in-flight guard, the checked mode's outstanding-block set, the segment
 * reinterpret). Its time is the floor the Java API can reach over FFM, so the gap between it and
 * {@code lookasideUnchecked} is the Java layer's own cost.
 *
 * <p>Uses the library the Java API loaded ({@link Exalloc#libraryPath()}): dlopen of the same file returns the
 * same instance.
 */
final class RawLookaside {

    private RawLookaside() {
    }

    private static final MethodHandle CREATE;
    private static final MethodHandle DELETE;
    private static final MethodHandle STRUCT_SIZE;
    /** {@code void *exa_lookaside_allocate(exa_lookaside_t *)}. */
    static final MethodHandle ALLOCATE;
    /** {@code void exa_lookaside_free(exa_lookaside_t *, void *)}. */
    static final MethodHandle FREE;

    /** exa_lookaside_config_t as in exalloc.h: size, tag, pool_type, maximum_depth, initial_depth, 3 pointers. */
    private static final long CONFIG_SIZE = 48;

    static {
        MethodHandle[] h = link();
        CREATE = h[0];
        DELETE = h[1];
        STRUCT_SIZE = h[2];
        ALLOCATE = h[3];
        FREE = h[4];
    }

    @SuppressWarnings("restricted") // libraryLookup and downcallHandle; signatures as in native/include/exalloc.h
    private static MethodHandle[] link() {
        Exalloc.version(); // makes the Java API load the library first
        SymbolLookup lib = SymbolLookup.libraryLookup(Exalloc.libraryPath(), Arena.global());
        Linker linker = Linker.nativeLinker();
        return new MethodHandle[] {
            linker.downcallHandle(lib.findOrThrow("exa_lookaside_create"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("exa_lookaside_delete"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("exa_struct_size"),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)),
            linker.downcallHandle(lib.findOrThrow("exa_lookaside_allocate"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(false)),
            linker.downcallHandle(lib.findOrThrow("exa_lookaside_free"),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.critical(false)),
        };
    }

    /** A list with the pool as allocator; depth 0 means NT's defaults (Depth 4, MaximumDepth 256). */
    static MemorySegment create(long size, int depth) throws Throwable {
        long expected = (long) STRUCT_SIZE.invokeExact(1 /* EXA_STRUCT_LOOKASIDE_CONFIG */);
        if (expected != CONFIG_SIZE) {
            throw new IllegalStateException("exa_lookaside_config_t is " + expected + " bytes, expected " + CONFIG_SIZE);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cfg = a.allocate(CONFIG_SIZE, 8);
            cfg.set(ValueLayout.JAVA_LONG, 0, size);
            cfg.set(ValueLayout.JAVA_INT, 8, 0x636E6542); // 'Benc'
            cfg.set(ValueLayout.JAVA_INT, 12, 0); // EXA_NON_PAGED_POOL
            cfg.set(ValueLayout.JAVA_INT, 16, depth); // maximum_depth
            cfg.set(ValueLayout.JAVA_INT, 20, depth); // initial_depth
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            int status = (int) CREATE.invokeExact(cfg, out);
            if (status != 0) {
                throw new IllegalStateException(String.format("exa_lookaside_create: 0x%08X", status));
            }
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    static void delete(MemorySegment list) throws Throwable {
        int status = (int) DELETE.invokeExact(list);
        if (status != 0) {
            throw new IllegalStateException(String.format("exa_lookaside_delete: 0x%08X", status));
        }
    }
}
