package dev.exalloc.internal;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.bindings.exa_bugcheck_info_s;
import dev.exalloc.internal.bindings.exa_lookaside_config_s;
import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import dev.exalloc.internal.bindings.exa_pool_block_info_s;
import dev.exalloc.internal.bindings.exa_pool_limits_s;
import dev.exalloc.internal.bindings.exa_pool_parameter_s;
import dev.exalloc.internal.bindings.exa_pool_stats_s;
import dev.exalloc.internal.bindings.exa_pool_tag_row_s;
import dev.exalloc.internal.bindings.exa_queued_lock_handle_s;
import dev.exalloc.internal.bindings.exa_quota_stats_s;
import dev.exalloc.internal.bindings.exa_verifier_config_s;
import dev.exalloc.internal.bindings.exa_verifier_stats_s;
import dev.exalloc.internal.bindings.exa_zone_info_s;
import dev.exalloc.internal.bindings.exa_zone_s;
import dev.exalloc.internal.bindings.exa_zone_segment_header_s;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The one place the API touches the native library first: loads it, checks that the library and
 * the generated bindings agree (ABI version and struct sizes), and installs the bug-check handler
 * that records instead of aborting; reads those records back ({@link BugCheck}), which the public
 * package turns into its errors.
 */
public final class Native {

    private Native() {
    }

    private static final boolean READY = init();

    /** Makes sure the library is loaded and verified; cheap after the first call. */
    public static void ensure() {
        if (!READY) {
            throw new IllegalStateException("exalloc native library failed to initialise");
        }
    }

    /** Where the library was loaded from. */
    public static java.nio.file.Path libraryPath() {
        return NativeLoader.loadedFrom();
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
        checkSize("exa_pool_parameter_t", EXA_STRUCT_POOL_PARAMETER(), exa_pool_parameter_s.sizeof());
        checkSize("exa_pool_block_info_t", EXA_STRUCT_POOL_BLOCK_INFO(), exa_pool_block_info_s.sizeof());
        checkSize("exa_pool_tag_row_t", EXA_STRUCT_POOL_TAG_ROW(), exa_pool_tag_row_s.sizeof());
        checkSize("exa_pool_stats_t", EXA_STRUCT_POOL_STATS(), exa_pool_stats_s.sizeof());
        checkSize("exa_pool_limits_t", EXA_STRUCT_POOL_LIMITS(), exa_pool_limits_s.sizeof());
        checkSize("exa_quota_stats_t", EXA_STRUCT_QUOTA_STATS(), exa_quota_stats_s.sizeof());
        checkSize("exa_queued_lock_handle_t", EXA_STRUCT_QUEUED_LOCK_HANDLE(), exa_queued_lock_handle_s.sizeof());
        checkSize("exa_zone_t", EXA_STRUCT_ZONE(), exa_zone_s.sizeof());
        checkSize("exa_zone_segment_header_t", EXA_STRUCT_ZONE_SEGMENT_HEADER(), exa_zone_segment_header_s.sizeof());
        checkSize("exa_zone_info_t", EXA_STRUCT_ZONE_INFO(), exa_zone_info_s.sizeof());
        checkSize("exa_verifier_config_t", EXA_STRUCT_VERIFIER_CONFIG(), exa_verifier_config_s.sizeof());
        checkSize("exa_verifier_stats_t", EXA_STRUCT_VERIFIER_STATS(), exa_verifier_stats_s.sizeof());
        exa_set_bugcheck_handler(exa_bugcheck_record$address(), MemorySegment.NULL);
        return true;
    }

    private static void checkSize(String name, int id, long javaSize) {
        String mismatch = sizeMismatch(name, exa_struct_size(id), javaSize, NativeLoader.loadedFrom());
        if (mismatch != null) {
            throw new UnsatisfiedLinkError(mismatch);
        }
    }

    /**
     * Null when a struct has the same size in the library and the bindings, else why not. The bindings are
     * generated once on a 64-bit Linux host and serve every platform, so a difference either means the bindings
     * are stale or that the library's target lays the struct out differently (a platform the bindings do not fit).
     */
    static String sizeMismatch(String name, long nativeSize, long javaSize, java.nio.file.Path library) {
        if (nativeSize == javaSize) {
            return null;
        }
        return "exalloc: " + name + " is " + nativeSize + " bytes in the native library " + library + " but " + javaSize
                + " bytes in the bindings (platform " + NativeLoader.platformKey() + "): either the bindings are stale"
                + " (regenerate generated/ from native/include/exalloc.h) or this platform lays the struct out"
                + " differently from the one the bindings were checked against (native/scripts/layout-check.sh)";
    }

    /** A bug check as native code recorded it: NT's KeBugCheckEx code and four parameters. */
    public record BugCheck(int code, long parameter1, long parameter2, long parameter3, long parameter4) {
    }

    /* exa_last_bugcheck only copies a thread-local record: a critical downcall (it never calls back into Java). */
    private static final MethodHandle LAST_BUGCHECK = critical(exa_last_bugcheck$address(), exa_last_bugcheck$descriptor());

    /**
     * A second, critical handle (no thread-state transition) for a function the bindings already link: only for
     * functions that are short and never call back into Java.
     */
    @SuppressWarnings("restricted") // the bindings' own address and descriptor
    public static MethodHandle critical(MemorySegment address, java.lang.foreign.FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(address, descriptor, Linker.Option.critical(false));
    }

    /** A thread's bug-check scratch: the record read back after a call, without an arena per call. */
    private static final class PerThread {
        final MemorySegment info = Arena.ofAuto().allocate(exa_bugcheck_info_s.layout());
        /** The sequence number of the last bug check this thread has turned into an error. */
        long seen;

        MemorySegment read() {
            try {
                int status = (int) LAST_BUGCHECK.invokeExact(info);
                assert status == EXA_STATUS_SUCCESS();
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
            return info;
        }
    }

    private static final ThreadLocal<PerThread> THREAD = ThreadLocal.withInitial(PerThread::new);

    /**
     * Marks the start of a call whose failure may show only as a bug check (a void free, a NULL): pass the value to
     * {@link #bugCheckSince} after the call.
     *
     * <p>A platform thread needs nothing here (-1): its native record is its own, and every bug check the API reads
     * back updates the thread's "seen" mark, so a newer record is this call's. A virtual thread shares the
     * native record of its carrier with other virtual threads, so it reads the sequence before the call (the carrier
     * cannot change inside a call that does not block). Caveat of the cheap form: a bug check that native code raised
     * on the same platform thread outside this API (C code, the raw bindings) and nobody read back is
     * reported by the next call that looks.
     */
    public static long mark() {
        if (!Thread.currentThread().isVirtual()) {
            return -1;
        }
        return exa_bugcheck_info_s.sequence(THREAD.get().read());
    }

    /** The bug check the calling thread hit since {@code mark} (a {@link #mark()}), or null. One critical downcall. */
    public static BugCheck bugCheckSince(long mark) {
        PerThread t = THREAD.get();
        MemorySegment info = t.read();
        long sequence = exa_bugcheck_info_s.sequence(info);
        if (sequence == (mark < 0 ? t.seen : mark)) {
            return null;
        }
        return toRecord(t, info);
    }

    private static BugCheck toRecord(PerThread t, MemorySegment info) {
        t.seen = exa_bugcheck_info_s.sequence(info);
        return new BugCheck(exa_bugcheck_info_s.code(info), exa_bugcheck_info_s.parameter1(info),
                exa_bugcheck_info_s.parameter2(info), exa_bugcheck_info_s.parameter3(info),
                exa_bugcheck_info_s.parameter4(info));
    }

    /** The calling thread's latest bug check (marked as seen). */
    public static BugCheck lastBugCheck() {
        PerThread t = THREAD.get();
        return toRecord(t, t.read());
    }

    /**
     * For routines that report failure only as NULL (NT's allocate routines): the bug check this thread hit since the
     * last one it saw, or null when the NULL had another cause. Call only on the failure path.
     */
    public static BugCheck newBugCheck() {
        PerThread t = THREAD.get();
        MemorySegment info = t.read();
        if (exa_bugcheck_info_s.sequence(info) == t.seen) {
            return null;
        }
        return toRecord(t, info);
    }
}
