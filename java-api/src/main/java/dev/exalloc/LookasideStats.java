package dev.exalloc;

/**
 * A lookaside list's statistics, in NT's terms (the debugger's {@code !lookaside}), exact at the moment
 * they were read: every thread's private counts are summed in.
 *
 * <pre>{@code
 * LookasideStats s = list.stats();
 * System.out.println(s.tag() + ": " + s.allocateHitRate() + " hit rate, depth " + s.depth());
 * }</pre>
 *
 * @param id             unique for the life of the process
 * @param totalAllocates NT TotalAllocates: every allocate call
 * @param allocateMisses NT AllocateMisses: allocates that found nothing cached and called the allocator
 * @param totalFrees     NT TotalFrees: every free call
 * @param freeMisses     NT FreeMisses: frees that found the list at Depth and went to the releaser
 * @param size           NT Size: block size in bytes
 * @param currentDepth   blocks cached now, shared stack and every thread's cache together
 * @param depth          NT Depth: the current bound on {@code currentDepth}
 * @param maximumDepth   NT MaximumDepth: the bound on {@code depth}
 * @param tag            NT Tag
 * @param poolType       NT Type without modifier bits
 * @param typeFlags      NT Type as stored: the pool type with its modifier bits
 * @param threadCaches   threads holding a private cache for this list
 */
public record LookasideStats(long id, long totalAllocates, long allocateMisses, long totalFrees, long freeMisses, long size,
        int currentDepth, int depth, int maximumDepth, Tag tag, PoolType poolType, int typeFlags, int threadCaches) {

    /**
     * Allocates served from the cache, as a fraction (1.0 when nothing was allocated yet).
     *
     * @return the allocate hit rate, 0.0 to 1.0
     */
    public double allocateHitRate() {
        return totalAllocates == 0 ? 1.0 : (double) (totalAllocates - allocateMisses) / totalAllocates;
    }

    /**
     * Frees kept in the cache, as a fraction (1.0 when nothing was freed yet).
     *
     * @return the free hit rate, 0.0 to 1.0
     */
    public double freeHitRate() {
        return totalFrees == 0 ? 1.0 : (double) (totalFrees - freeMisses) / totalFrees;
    }

    /**
     * One line in the spirit of the debugger's {@code !lookaside}: "cached" is {@code currentDepth}, the blocks cached
     * now; "depth" is {@code depth}/{@code maximumDepth}, the bound on them and the bound on that.
     */
    @Override
    public String toString() {
        return String.format("Lookaside #%d %s %s size=%d  allocs=%d misses=%d (hit %.1f%%)  frees=%d misses=%d (hit %.1f%%)"
                + "  cached %d, depth %d/%d  threads=%d", id, tag, poolType, size, totalAllocates, allocateMisses,
                100 * allocateHitRate(), totalFrees, freeMisses, 100 * freeHitRate(), currentDepth, depth, maximumDepth,
                threadCaches);
    }
}
