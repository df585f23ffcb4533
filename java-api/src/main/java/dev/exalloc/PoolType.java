package dev.exalloc;

/**
 * NT's POOL_TYPE values that a lookaside list (and, later, the pool) accepts. Paged and non-paged
 * pools are separate pools; the cache-aligned types align blocks to the cache line; the session
 * types behave as their base type; NX types are non-executable.
 */
public enum PoolType {
    NON_PAGED(0),
    PAGED(1),
    NON_PAGED_CACHE_ALIGNED(4),
    PAGED_CACHE_ALIGNED(5),
    NON_PAGED_SESSION(32),
    PAGED_SESSION(33),
    NON_PAGED_CACHE_ALIGNED_SESSION(36),
    PAGED_CACHE_ALIGNED_SESSION(37),
    NON_PAGED_NX(512),
    NON_PAGED_NX_CACHE_ALIGNED(516),
    NON_PAGED_SESSION_NX(544);

    private final int code;

    PoolType(int code) {
        this.code = code;
    }

    /** The POOL_TYPE value. */
    public int code() {
        return code;
    }

    public boolean isPaged() {
        return (code & 1) != 0;
    }

    public boolean isCacheAligned() {
        return (code & 4) != 0;
    }

    /** Modifier bits that can accompany a pool type in NT's Type field (raise, quota-fail, cold, zero). */
    static final int MODIFIER_MASK = 0x008 | 0x010 | 0x100 | 0x400;

    /** The pool type of a POOL_TYPE value, ignoring modifier bits. */
    public static PoolType fromCode(int code) {
        int base = code & ~MODIFIER_MASK;
        for (PoolType t : values()) {
            if (t.code == base) {
                return t;
            }
        }
        throw new IllegalArgumentException(String.format("not a lookaside pool type: 0x%X", code));
    }
}
