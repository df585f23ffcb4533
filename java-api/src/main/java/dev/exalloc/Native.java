package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.bindings.exa_bugcheck_info_s;
import dev.exalloc.internal.bindings.exa_lookaside_config_s;
import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The one place the API touches the native library first: loads it, checks that the library and
 * the generated bindings agree (ABI version and struct sizes), and installs the bug-check handler
 * that records instead of aborting, so that a failed check becomes a {@link BugCheckError}.
 */
final class Native {

    private Native() {
    }

    private static final boolean READY = init();

    /** Makes sure the library is loaded and verified; cheap after the first call. */
    static void ensure() {
        if (!READY) {
            throw new IllegalStateException("exalloc native library failed to initialise");
        }
    }

    private static boolean init() {
        NativeLoader.load();
        int abi = exa_abi_version();
        if (abi != EXA_ABI_VERSION()) {
            throw new UnsatisfiedLinkError("exalloc: native library " + NativeLoader.loadedFrom() + " has ABI version "
                    + abi + " but these bindings were generated for ABI version " + EXA_ABI_VERSION()
                    + ": use the jar and the library of the same build");
        }
        checkSize("exa_lookaside_config_t", EXA_STRUCT_LOOKASIDE_CONFIG(), exa_lookaside_config_s.sizeof());
        checkSize("exa_lookaside_stats_t", EXA_STRUCT_LOOKASIDE_STATS(), exa_lookaside_stats_s.sizeof());
        checkSize("exa_bugcheck_info_t", EXA_STRUCT_BUGCHECK_INFO(), exa_bugcheck_info_s.sizeof());
        exa_set_bugcheck_handler(exa_bugcheck_record$address(), MemorySegment.NULL);
        return true;
    }

    private static void checkSize(String name, int id, long javaSize) {
        long nativeSize = exa_struct_size(id);
        if (nativeSize != javaSize) {
            throw new UnsatisfiedLinkError("exalloc: " + name + " is " + nativeSize + " bytes in the native library but "
                    + javaSize + " bytes in the bindings: regenerate generated/ from native/include/exalloc.h");
        }
    }

    /** Throws the exception a non-success status stands for. */
    static void check(int status) {
        if (status == EXA_STATUS_SUCCESS()) {
            return;
        }
        throw failure(status);
    }

    static RuntimeException failure(int status) {
        if (status == EXA_STATUS_BUGCHECK()) {
            throw lastBugCheck();
        }
        return ExallocException.of(status);
    }

    /** The sequence number of the last bug check this thread has turned into an error. */
    private static final ThreadLocal<long[]> SEEN = ThreadLocal.withInitial(() -> new long[1]);

    /** The calling thread's latest bug check as an error. */
    static BugCheckError lastBugCheck() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(exa_bugcheck_info_s.layout());
            exa_last_bugcheck(info);
            SEEN.get()[0] = exa_bugcheck_info_s.sequence(info);
            return new BugCheckError(exa_bugcheck_info_s.code(info), exa_bugcheck_info_s.parameter1(info),
                    exa_bugcheck_info_s.parameter2(info), exa_bugcheck_info_s.parameter3(info),
                    exa_bugcheck_info_s.parameter4(info));
        }
    }

    /**
     * For routines that report failure only as NULL (NT's allocate routines): the bug check this thread hit since the
     * last one it saw, or null when the NULL had another cause. Call only on the failure path.
     */
    static BugCheckError newBugCheck() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(exa_bugcheck_info_s.layout());
            exa_last_bugcheck(info);
            if (exa_bugcheck_info_s.sequence(info) == SEEN.get()[0]) {
                return null;
            }
        }
        return lastBugCheck();
    }
}
