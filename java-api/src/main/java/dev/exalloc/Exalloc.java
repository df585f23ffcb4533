package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import java.nio.file.Path;

/** Facts about the loaded native library. */
public final class Exalloc {

    private Exalloc() {
    }

    /** The native library's version, e.g. "0.1.0". */
    public static String version() {
        Native.ensure();
        return exa_version_string().getString(0);
    }

    /** The native ABI version (checked against the bindings at load). */
    public static int abiVersion() {
        Native.ensure();
        return exa_abi_version();
    }

    /** The cache-line size the native library was built for (64, or 128 on Apple arm64). */
    public static int cacheLineSize() {
        Native.ensure();
        return exa_cache_line_size();
    }

    /** Where the native library was loaded from. */
    public static Path libraryPath() {
        Native.ensure();
        return NativeLoader.loadedFrom();
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
