package dev.exalloc;

/**
 * One PoolMon row: a tag in one pool, counted since the process started (exact when no thread is inside an allocate
 * or free while the snapshot is taken).
 *
 * <pre>{@code
 * PoolTagStats row = Pool.tag(Tag.of("Msgs"), PoolType.PAGED);
 * long live = row.diff();               // allocations not yet freed
 * }</pre>
 *
 * @param tag           the tag, PROTECTED_POOL bit removed (a protected tag and its plain form are one row)
 * @param pool          PoolMon's Type column ({@link PoolKind#poolMonName()}: "Nonp" or "Paged")
 * @param allocs        Allocs
 * @param frees         Frees
 * @param diff          Diff = Allocs - Frees: blocks live now
 * @param bytes         Bytes live now: block sizes with headers, or whole pages for big allocations
 * @param bytesPerAlloc Per Alloc = Bytes / Diff (0 when Diff is 0)
 */
public record PoolTagStats(Tag tag, PoolKind pool, long allocs, long frees, long diff, long bytes, long bytesPerAlloc) {

    /** The row as PoolMon prints it: {@code Tag Type Allocs Frees Diff Bytes PerAlloc}. */
    @Override
    public String toString() {
        return String.format("%-4s %-5s %10d %10d %8d %12d %8d", tag, pool.poolMonName(), allocs, frees, diff, bytes,
                bytesPerAlloc);
    }
}
