package dev.exalloc;

/**
 * EX_POOL_PRIORITY for ExAllocatePoolWithTagPriority and ExAllocatePool3. exalloc implements priorities as watermarks
 * on the pool's free capacity ({@link PoolLimits}): LOW fails once free capacity is below the low watermark, NORMAL
 * below the critical watermark, HIGH only when the pool is exhausted. The special-pool placement variants (+8
 * overrun, +9 underrun) act as their base priority (special pool is not implemented).
 */
public enum PoolPriority {
    LOW(0),
    LOW_SPECIAL_POOL_OVERRUN(8),
    LOW_SPECIAL_POOL_UNDERRUN(9),
    NORMAL(16),
    NORMAL_SPECIAL_POOL_OVERRUN(24),
    NORMAL_SPECIAL_POOL_UNDERRUN(25),
    HIGH(32),
    HIGH_SPECIAL_POOL_OVERRUN(40),
    HIGH_SPECIAL_POOL_UNDERRUN(41);

    private final int code;

    PoolPriority(int code) {
        this.code = code;
    }

    /** The EX_POOL_PRIORITY value. */
    public int code() {
        return code;
    }
}
