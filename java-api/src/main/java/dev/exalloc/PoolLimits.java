package dev.exalloc;

import java.util.Objects;

/**
 * A pool's limits ({@link Pool#limits}, {@link Pool#setLimits}), all in bytes. The watermarks are marks on the pool's
 * free capacity ({@code capacity - inUse}) and must satisfy
 * {@code critical <= low <= lowClear <= highClear <= high <= capacity}:
 * <ul>
 * <li>{@link PoolCondition#LOW} is set when free capacity drops below {@code lowWatermark} and cleared when it is back at
 * or above {@code lowClear};</li>
 * <li>{@link PoolCondition#HIGH} is set at or above {@code highWatermark} and cleared below {@code highClear};</li>
 * <li>priorities: {@link PoolPriority#LOW} requests fail below {@code lowWatermark}, NORMAL below
 * {@code criticalWatermark}, HIGH only when the pool is exhausted;</li>
 * <li>must-succeed requests may use {@code mustSucceedReserve} bytes beyond the capacity.</li>
 * </ul>
 * The pool keeps whole pages: the capacity is rounded down to 4096 bytes, the rest up, so {@link Pool#limits} may
 * read back rounded values.
 *
 * <pre>{@code
 * PoolLimits saved = Pool.limits(PoolKind.PAGED);
 * Pool.setLimits(PoolKind.PAGED, saved.withCapacity(64L << 20));
 * }</pre>
 *
 * @param capacity           bytes of pages the pool may hold in blocks
 * @param lowWatermark       LOW is set below this much free capacity; LOW-priority requests fail below it
 * @param lowClear           LOW is cleared at or above this much free capacity
 * @param highClear          HIGH is cleared below this much free capacity
 * @param highWatermark      HIGH is set at or above this much free capacity
 * @param criticalWatermark  NORMAL-priority requests fail below this much free capacity
 * @param mustSucceedReserve bytes beyond the capacity for must-succeed requests
 * @param lockPolicy         how non-paged memory is locked in RAM (non-paged pool only)
 * @param cachedSegments     empty 256 KiB segments kept per descriptor for reuse (0..64)
 */
public record PoolLimits(long capacity, long lowWatermark, long lowClear, long highClear, long highWatermark,
        long criticalWatermark, long mustSucceedReserve, LockPolicy lockPolicy, int cachedSegments) {

    /** exa_pool_lock_policy_e: what the non-paged pool does about locking its memory in RAM. */
    public enum LockPolicy {
        /** Lock; when the host refuses (RLIMIT_MEMLOCK), count it and go on. The default. */
        BEST_EFFORT,
        /** A mapping the host refuses to lock fails the request (STATUS_WORKING_SET_QUOTA). */
        REQUIRED,
        /** Never lock. */
        NONE
    }

    /** Checks that every amount is non-negative; the order of the marks is checked by {@link Pool#setLimits}. */
    public PoolLimits {
        Objects.requireNonNull(lockPolicy, "lockPolicy");
        if (capacity < 0 || lowWatermark < 0 || lowClear < 0 || highClear < 0 || highWatermark < 0
                || criticalWatermark < 0 || mustSucceedReserve < 0 || cachedSegments < 0) {
            throw new IllegalArgumentException("pool limits are non-negative byte counts: " + this);
        }
    }

    /**
     * Limits for a pool of {@code capacity} bytes with exalloc's default proportions: LOW below 10% free (cleared at
     * 15%), HIGH from 50% free (cleared below 45%), NORMAL-priority requests failing below 2% free, a 16 KiB
     * must-succeed reserve, best-effort locking, 2 cached segments.
     *
     * @param capacity the pool's capacity in bytes
     * @return limits in those proportions
     */
    public static PoolLimits scaled(long capacity) {
        long pages = capacity / 4096;
        return new PoolLimits(pages * 4096, pages / 10 * 4096, pages / 100 * 15 * 4096, pages / 100 * 45 * 4096,
                pages / 2 * 4096, pages / 50 * 4096, 16384, LockPolicy.BEST_EFFORT, 2);
    }

    /**
     * These limits with another capacity.
     *
     * @param bytes the capacity
     * @return the new limits
     */
    public PoolLimits withCapacity(long bytes) {
        return new PoolLimits(bytes, lowWatermark, lowClear, highClear, highWatermark, criticalWatermark,
                mustSucceedReserve, lockPolicy, cachedSegments);
    }

    /**
     * The five marks at once (in bytes of free capacity), as they must be ordered.
     *
     * @param critical  the critical watermark
     * @param low       the low watermark
     * @param lowClear  where LOW clears
     * @param highClear where HIGH clears
     * @param high      the high watermark
     * @return the new limits
     */
    public PoolLimits withWatermarks(long critical, long low, long lowClear, long highClear, long high) {
        return new PoolLimits(capacity, low, lowClear, highClear, high, critical, mustSucceedReserve, lockPolicy,
                cachedSegments);
    }

    /**
     * These limits with another must-succeed reserve.
     *
     * @param bytes the reserve
     * @return the new limits
     */
    public PoolLimits withMustSucceedReserve(long bytes) {
        return new PoolLimits(capacity, lowWatermark, lowClear, highClear, highWatermark, criticalWatermark, bytes,
                lockPolicy, cachedSegments);
    }

    /**
     * These limits with another lock policy.
     *
     * @param policy the lock policy
     * @return the new limits
     */
    public PoolLimits withLockPolicy(LockPolicy policy) {
        return new PoolLimits(capacity, lowWatermark, lowClear, highClear, highWatermark, criticalWatermark,
                mustSucceedReserve, policy, cachedSegments);
    }

    /**
     * These limits with another number of cached segments.
     *
     * @param segments 0 .. 64
     * @return the new limits
     */
    public PoolLimits withCachedSegments(int segments) {
        return new PoolLimits(capacity, lowWatermark, lowClear, highClear, highWatermark, criticalWatermark,
                mustSucceedReserve, lockPolicy, segments);
    }
}
