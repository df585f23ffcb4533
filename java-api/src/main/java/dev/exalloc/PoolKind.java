package dev.exalloc;

/**
 * The two pools (NT's pool descriptors as the memory manager counts them): non-paged and paged. Each has its own
 * capacity, watermarks, condition events and per-tag statistics. Every {@link PoolType} belongs to one of them.
 *
 * <pre>{@code
 * PoolStats paged = Pool.stats(PoolKind.PAGED);   // or Pool.stats(PoolType.PAGED): the type's pool
 * }</pre>
 */
public enum PoolKind {
    /** Non-paged pool: locked in RAM where the host allows it; PoolMon's "Nonp". */
    NON_PAGED(0, "Nonp"),
    /** Paged pool: ordinary pageable memory; PoolMon's "Paged". */
    PAGED(1, "Paged");

    private final int code;
    private final String poolMonName;

    PoolKind(int code, String poolMonName) {
        this.code = code;
        this.poolMonName = poolMonName;
    }

    /**
     * The exa_pool_kind_e value (also the low bit of every POOL_TYPE of this pool).
     *
     * @return the code
     */
    public int code() {
        return code;
    }

    /**
     * The pool as PoolMon's Type column shows it: "Nonp" or "Paged".
     *
     * @return "Nonp" or "Paged"
     */
    public String poolMonName() {
        return poolMonName;
    }

    static PoolKind fromCode(int code) {
        return switch (code) {
            case 0 -> NON_PAGED;
            case 1 -> PAGED;
            default -> throw new IllegalArgumentException("not a pool kind: " + code);
        };
    }
}
