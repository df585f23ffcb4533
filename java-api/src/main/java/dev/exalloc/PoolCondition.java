package dev.exalloc;

import java.util.EnumSet;
import java.util.Set;

/**
 * NT's pool condition events ({@code \KernelObjects\Low...PoolCondition} and {@code High...PoolCondition}), one pair
 * per pool. An event is set while its condition holds: {@link #LOW} from the moment the pool's free capacity drops
 * below the low watermark until it is back at or above the low-clear mark; {@link #HIGH} from the moment free
 * capacity reaches the high watermark until it drops below the high-clear mark. The gaps between the marks are the
 * hysteresis (see {@link PoolLimits}). A pool's condition is the set of events set now: empty, {LOW} or {HIGH}.
 *
 * <pre>{@code
 * if (Pool.condition(PoolKind.PAGED).contains(PoolCondition.LOW)) { ... }   // shed load
 * }</pre>
 */
public enum PoolCondition {
    /** LowNonPagedPoolCondition / LowPagedPoolCondition: little free capacity left. */
    LOW(1),
    /** HighNonPagedPoolCondition / HighPagedPoolCondition: plenty of free capacity. */
    HIGH(2);

    private final int bit;

    PoolCondition(int bit) {
        this.bit = bit;
    }

    /**
     * The exa_pool_condition_e bit.
     *
     * @return the bit
     */
    public int bit() {
        return bit;
    }

    private static final Set<PoolCondition> NONE = Set.of();
    private static final Set<PoolCondition> ONLY_LOW = Set.of(LOW);
    private static final Set<PoolCondition> ONLY_HIGH = Set.of(HIGH);
    private static final Set<PoolCondition> BOTH = Set.copyOf(EnumSet.of(LOW, HIGH));

    /** The immutable set for exa_pool_condition_e bits (shared instances: no allocation). */
    static Set<PoolCondition> fromBits(int bits) {
        return switch (bits & 3) {
            case 0 -> NONE;
            case 1 -> ONLY_LOW;
            case 2 -> ONLY_HIGH;
            default -> BOTH;
        };
    }
}
