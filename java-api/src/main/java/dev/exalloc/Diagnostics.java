package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.PoolScopes;
import dev.exalloc.internal.bindings.exa_allocation_info_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * What Driver Verifier, PoolMon and the debugger's {@code !pool} / {@code !lookaside} gave NT developers, for this
 * process: the leak report, the live allocations, the PoolMon and {@code !lookaside} views as text, and the live
 * view that the {@code exapoolmon} tool reads from another process.
 *
 * <pre>{@code
 * Diagnostics.recordAllocationSites(true);     // or EXALLOC_CHECKS=verifier: stacks in the leak report
 * ... run ...
 * System.err.println(Diagnostics.leakReport()); // lists not closed, tags with blocks outstanding, their stacks
 * }</pre>
 *
 * <p>Environment variables read when the library loads: {@code EXALLOC_LEAK_REPORT=1|path} (leak report at exit),
 * {@code EXALLOC_CHECKS=verifier} (record allocation sites), {@code EXALLOC_PUBLISH=1|period-ms} (live view),
 * {@code EXALLOC_DUMP_PATH=path} (where a bug check writes its dump).
 */
public final class Diagnostics {

    private Diagnostics() {
    }

    static {
        Native.ensure();
    }

    /** How {@link #poolmon(Sort)} orders its rows (PoolMon's sort keys). */
    public enum Sort {
        /** By bytes outstanding, largest first (PoolMon's default). */
        BYTES(EXA_POOLMON_SORT_BYTES()),
        /** By allocations, most first. */
        ALLOCS(EXA_POOLMON_SORT_ALLOCS()),
        /** By frees, most first. */
        FREES(EXA_POOLMON_SORT_FREES()),
        /** By blocks outstanding (allocations minus frees), most first. */
        DIFF(EXA_POOLMON_SORT_DIFF()),
        /** By tag, alphabetically. */
        TAG(EXA_POOLMON_SORT_TAG());

        final int code;

        Sort(int code) {
            this.code = code;
        }
    }

    /* An snprintf-like native text routine, called until the buffer holds the whole text. */
    private static String text(BiFunction<MemorySegment, Long, Long> routine) {
        long capacity = 4096;
        for (;;) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(capacity);
                long n = routine.apply(buf, capacity);
                if (n < capacity) {
                    return new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            StandardCharsets.UTF_8);
                }
                capacity = n + 1;
            }
        }
    }

    /**
     * The leak report now: lookaside lists not deleted, pool tags with blocks outstanding (count and bytes) and,
     * when allocation sites are recorded, each outstanding block with the stack that allocated it. "No leaks."
     * when there are none.
     *
     * @return the report
     */
    public static String leakReport() {
        PoolScopes.settle(); // the calling thread's quarantined frees count
        return text((b, c) -> exa_leak_report(b, c));
    }

    /**
     * Writes the leak report to {@code path} (null: standard error).
     *
     * @param path the file to write, or null for standard error
     */
    public static void writeLeakReport(String path) {
        try (Arena a = Arena.ofConfined()) {
            Failures.check(exa_leak_report_write(path == null ? MemorySegment.NULL : a.allocateFrom(path)));
        }
    }

    /**
     * Writes the leak report when the process exits ({@code path} null: standard error), or no longer.
     *
     * @param enable true to write the report at exit, false to stop
     * @param path   the file to write, or null for standard error
     */
    public static void leakReportAtExit(boolean enable, String path) {
        try (Arena a = Arena.ofConfined()) {
            Failures.check(exa_leak_report_at_exit(enable ? 1 : 0,
                    path == null ? MemorySegment.NULL : a.allocateFrom(path)));
        }
    }

    /**
     * Records (or stops recording) the call stack of each pool allocation, for the leak report and the dumps
     * (the verifier's allocation sites; every pool allocation then takes the full path). Returns the previous
     * setting.
     *
     * @param enable true to record
     * @return whether sites were recorded before
     */
    public static boolean recordAllocationSites(boolean enable) {
        return exa_diag_record_sites(enable ? 1 : 0) != 0;
    }

    /**
     * Every live pool block (blocks cached by lookaside lists included: the pool sees them as allocated).
     *
     * @return one entry per live block
     */
    public static List<PoolAllocation> allocations() {
        PoolScopes.settle(); // the calling thread's quarantined frees count
        for (;;) {
            long n = exa_allocation_snapshot(MemorySegment.NULL, 0);
            long capacity = n + 64;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(exa_allocation_info_s.layout(), capacity);
                long total = exa_allocation_snapshot(buf, capacity);
                if (total <= capacity) {
                    List<PoolAllocation> out = new ArrayList<>((int) total);
                    for (long i = 0; i < total; i++) {
                        MemorySegment s = exa_allocation_info_s.asSlice(buf, i);
                        int type = exa_allocation_info_s.pool_type(s);
                        PoolType pt;
                        try {
                            pt = PoolType.fromCode(type);
                        } catch (IllegalArgumentException e) {
                            pt = null;
                        }
                        out.add(new PoolAllocation(exa_allocation_info_s.address(s), exa_allocation_info_s.size(s),
                                new Tag(exa_allocation_info_s.tag(s)), pt, type));
                    }
                    return List.copyOf(out);
                }
            }
        }
    }

    /**
     * The live allocations as text, one block a line (with its allocation site when recorded).
     *
     * @return the dump
     */
    public static String allocationDump() {
        PoolScopes.settle(); // the calling thread's quarantined frees count
        return text((b, c) -> exa_allocation_dump(b, c));
    }

    /**
     * PoolMon's table (Tag, Type, Allocs, Frees, Diff, Bytes, Per Alloc), sorted.
     *
     * @param sort the column to sort by
     * @return the table
     */
    public static String poolmon(Sort sort) {
        PoolScopes.settle(); // the calling thread's quarantined frees count
        Objects.requireNonNull(sort);
        return text((b, c) -> exa_poolmon_text(b, c, sort.code));
    }

    /**
     * The debugger's {@code !lookaside} view of every live list.
     *
     * @return the view
     */
    public static String lookasideView() {
        return text((b, c) -> exa_lookaside_text(b, c));
    }

    /**
     * Publishes the PoolMon rows and lookaside statistics to {@code /dev/shm/exalloc.<pid>} every {@code period}
     * (from a small native thread), for {@code exapoolmon <pid>} in another terminal.
     *
     * @param period how often to publish
     */
    public static void startPublishing(Duration period) {
        long ms = Math.max(1, period.toMillis());
        Failures.check(exa_publish_start((int) Math.min(ms, Integer.MAX_VALUE)));
    }

    /** Stops publishing and removes the shared-memory file. */
    public static void stopPublishing() {
        Failures.check(exa_publish_stop());
    }

    /** Publishes once, now, from the calling thread. */
    public static void publishNow() {
        Failures.check(exa_publish_now());
    }
}
