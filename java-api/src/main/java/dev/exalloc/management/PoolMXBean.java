package dev.exalloc.management;

/**
 * One pool ({@code dev.exalloc:type=Pool,name=NonPaged} / {@code name=Paged}): {@link dev.exalloc.Pool#stats},
 * {@link dev.exalloc.Pool#limits} and {@link dev.exalloc.Pool#condition}, read afresh on every attribute access.
 *
 * <pre>{@code
 * PoolMXBean m = JMX.newMXBeanProxy(server, ExallocManagement.poolName(PoolKind.PAGED), PoolMXBean.class);
 * long inUse = m.getInUse();
 * }</pre>
 */
public interface PoolMXBean {

    /**
     * PoolKind name: NON_PAGED or PAGED.
     *
     * @return the pool's name
     */
    String getPool();

    /**
     * The condition events set now (PoolCondition names; empty when none).
     *
     * @return the names of the events set
     */
    String[] getCondition();

    /**
     * Bytes of pages the pool may hold in blocks.
     *
     * @return {@code capacity} of the pool's statistics or limits
     */
    long getCapacity();

    /**
     * Bytes of pages holding blocks.
     *
     * @return {@code inUse} of the pool's statistics or limits
     */
    long getInUse();

    /**
     * The highest in-use amount so far.
     *
     * @return {@code peak} of the pool's statistics or limits
     */
    long getPeak();

    /**
     * Capacity minus in-use (0 when over).
     *
     * @return {@code available} of the pool's statistics or limits
     */
    long getAvailable();

    /**
     * Pages carved into small blocks.
     *
     * @return {@code smallPages} of the pool's statistics or limits
     */
    long getSmallPages();

    /**
     * Pages of big allocations.
     *
     * @return {@code bigPages} of the pool's statistics or limits
     */
    long getBigPages();

    /**
     * Live big allocations.
     *
     * @return {@code bigAllocations} of the pool's statistics or limits
     */
    long getBigAllocations();

    /**
     * Bytes mapped from the host.
     *
     * @return {@code mapped} of the pool's statistics or limits
     */
    long getMapped();

    /**
     * Bytes of empty segments kept for reuse.
     *
     * @return {@code cached} of the pool's statistics or limits
     */
    long getCached();

    /**
     * Bytes locked in RAM (non-paged pool).
     *
     * @return {@code locked} of the pool's statistics or limits
     */
    long getLocked();

    /**
     * Mappings the host refused to lock.
     *
     * @return {@code lockFailures} of the pool's statistics or limits
     */
    long getLockFailures();

    /**
     * Transitions of the condition so far.
     *
     * @return {@code conditionChanges} of the pool's statistics or limits
     */
    int getConditionChanges();

    /**
     * LOW is set below this much free capacity.
     *
     * @return {@code lowWatermark} of the pool's statistics or limits
     */
    long getLowWatermark();

    /**
     * LOW is cleared at or above this much free capacity.
     *
     * @return {@code lowClear} of the pool's statistics or limits
     */
    long getLowClear();

    /**
     * HIGH is cleared below this much free capacity.
     *
     * @return {@code highClear} of the pool's statistics or limits
     */
    long getHighClear();

    /**
     * HIGH is set at or above this much free capacity.
     *
     * @return {@code highWatermark} of the pool's statistics or limits
     */
    long getHighWatermark();

    /**
     * NORMAL-priority requests fail below this much free capacity.
     *
     * @return {@code criticalWatermark} of the pool's statistics or limits
     */
    long getCriticalWatermark();

    /**
     * Bytes beyond the capacity for must-succeed requests.
     *
     * @return {@code mustSucceedReserve} of the pool's statistics or limits
     */
    long getMustSucceedReserve();

    /**
     * PoolLimits.LockPolicy name.
     *
     * @return the policy's name
     */
    String getLockPolicy();
}
