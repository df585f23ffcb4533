package dev.exalloc;

/**
 * EX_POOL_PRIORITY for ExAllocatePoolWithTagPriority and ExAllocatePool3. exalloc implements priorities as watermarks
 * on the pool's free capacity ({@link PoolLimits}): LOW fails once free capacity is below the low watermark, NORMAL
 * below the critical watermark, HIGH only when the pool is exhausted. The special-pool placement variants (+8
 * overrun: a guard page after the block, +9 underrun: before it) place the block in the special pool while the check
 * level is {@link CheckLevel#VERIFIER} (as NT's only under Driver Verifier; the normal pool when the special pool is
 * full), and otherwise act as their base priority. See docs/diagnostics.md#special-pool.
 *
 * <pre>{@code
 * MemorySegment b = Pool.tryAllocate(PoolType.PAGED, 4096, tag, PoolPriority.LOW);   // null below the low mark
 * }</pre>
 */
public enum PoolPriority {
    /** Fails once free capacity is below the low watermark. */
    LOW(0),
    /** LOW, asking for special-pool overrun placement. */
    LOW_SPECIAL_POOL_OVERRUN(8),
    /** LOW, asking for special-pool underrun placement. */
    LOW_SPECIAL_POOL_UNDERRUN(9),
    /** Fails once free capacity is below the critical watermark. */
    NORMAL(16),
    /** NORMAL, asking for special-pool overrun placement. */
    NORMAL_SPECIAL_POOL_OVERRUN(24),
    /** NORMAL, asking for special-pool underrun placement. */
    NORMAL_SPECIAL_POOL_UNDERRUN(25),
    /** Fails only when the pool is exhausted. */
    HIGH(32),
    /** HIGH, asking for special-pool overrun placement. */
    HIGH_SPECIAL_POOL_OVERRUN(40),
    /** HIGH, asking for special-pool underrun placement. */
    HIGH_SPECIAL_POOL_UNDERRUN(41);

    private final int code;

    PoolPriority(int code) {
        this.code = code;
    }

    /**
     * The EX_POOL_PRIORITY value.
     *
     * @return the code
     */
    public int code() {
        return code;
    }
}
