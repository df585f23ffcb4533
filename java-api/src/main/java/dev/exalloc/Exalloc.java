package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import java.nio.file.Path;

/**
 * Facts about the loaded native library.
 *
 * <pre>{@code
 * System.out.println("exalloc " + Exalloc.version() + " from " + Exalloc.libraryPath());
 * }</pre>
 */
public final class Exalloc {

    private Exalloc() {
    }

    /**
     * The native library's version, e.g. "0.1.0".
     *
     * @return the version string
     */
    public static String version() {
        Native.ensure();
        return exa_version_string().getString(0);
    }

    /**
     * The native ABI version (checked against the bindings at load).
     *
     * @return the ABI version
     */
    public static int abiVersion() {
        Native.ensure();
        return exa_abi_version();
    }

    /**
     * The cache-line size the native library was built for (64, or 128 on Apple arm64).
     *
     * @return the cache-line size in bytes
     */
    public static int cacheLineSize() {
        Native.ensure();
        return exa_cache_line_size();
    }

    /**
     * True when lookaside thread caches synchronise with flush and delete through a process-wide barrier (Linux
     * membarrier), so that their fast paths need no fence; false when each operation pays a seq_cst fence.
     *
     * @return true with the process-wide barrier
     */
    public static boolean asymmetricFences() {
        Native.ensure();
        return exa_lookaside_fence_mode() == EXA_FENCES_ASYMMETRIC();
    }

    /**
     * Where the native library was loaded from.
     *
     * @return the library file
     */
    public static Path libraryPath() {
        Native.ensure();
        return Native.libraryPath();
    }

    /**
     * Returns the calling thread's cached blocks of every lookaside list to the lists' shared caches. Runs by
     * itself when a thread ends; call it before parking a thread for a long time.
     */
    public static void releaseThreadCaches() {
        Native.ensure();
        exa_thread_cache_release();
    }
}
