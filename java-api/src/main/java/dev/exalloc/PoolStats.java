package dev.exalloc;

import java.util.Set;

/**
 * A pool's own counters, limits and condition at one moment ({@link Pool#stats}).
 *
 * <pre>{@code
 * PoolStats s = Pool.stats(PoolKind.NON_PAGED);
 * long free = s.available();
 * }</pre>
 *
 * @param pool             the pool
 * @param condition        the condition events set now
 * @param capacity         bytes of pages the pool may hold in blocks
 * @param inUse            bytes of pages holding blocks (pages carved into small blocks, and big allocations)
 * @param peak             the highest {@code inUse} so far
 * @param available        {@code capacity - inUse} (0 when over, after the capacity was lowered)
 * @param smallPages       pages carved into small blocks
 * @param bigPages         pages of big allocations
 * @param bigAllocations   live big allocations
 * @param mapped           bytes mapped from the host (segments and big mappings)
 * @param cached           bytes of empty segments kept for reuse
 * @param locked           bytes locked in RAM (non-paged pool)
 * @param lockFailures     mappings the host refused to lock
 * @param coldHints        cold-allocation hints the host took
 * @param lockStatus       {@link NtStatus#SUCCESS}, or why the last lock was refused ({@link NtStatus#WORKING_SET_QUOTA}:
 *                         RLIMIT_MEMLOCK)
 * @param conditionChanges transitions of {@code condition} so far (modulo 2^30)
 * @param executable       non-paged pool: executable requests get executable memory (false: the host refused, NX
 *                         fallback)
 * @param numaNodes        NUMA nodes the host has
 * @param nodeRefusals     node-bound requests served although the host refused to bind their memory to the node
 *                         (no NUMA policy in the kernel, or a seccomp profile that forbids it): NT falls back to
 *                         another node rather than failing a node-preferred request
 */
public record PoolStats(PoolKind pool, Set<PoolCondition> condition, long capacity, long inUse, long peak, long available,
        long smallPages, long bigPages, long bigAllocations, long mapped, long cached, long locked, long lockFailures,
        long coldHints, int lockStatus, int conditionChanges, boolean executable, int numaNodes, long nodeRefusals) {
}
