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

    /** PoolKind name: NON_PAGED or PAGED. */
    String getPool();

    /** The condition events set now (PoolCondition names; empty when none). */
    String[] getCondition();

    long getCapacity();

    long getInUse();

    long getPeak();

    long getAvailable();

    long getSmallPages();

    long getBigPages();

    long getBigAllocations();

    long getMapped();

    long getCached();

    long getLocked();

    long getLockFailures();

    int getConditionChanges();

    long getLowWatermark();

    long getLowClear();

    long getHighClear();

    long getHighWatermark();

    long getCriticalWatermark();

    long getMustSucceedReserve();

    /** PoolLimits.LockPolicy name. */
    String getLockPolicy();
}
