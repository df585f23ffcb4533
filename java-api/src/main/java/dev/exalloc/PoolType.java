package dev.exalloc;

/**
 * NT's POOL_TYPE values that the pool ({@link Pool}) and lookaside lists accept. Paged and non-paged
 * pools are separate pools ({@link #kind()}); the cache-aligned types align blocks to the cache line;
 * the session types behave as their base type (blocks report the session type); NX types are
 * non-executable, {@link #NON_PAGED} (NonPagedPool = NonPagedPoolExecute) is executable where the host
 * allows it. {@link #NON_PAGED_MUST_SUCCEED} is for the pool only (lookaside lists refuse it).
 *
 * <pre>{@code
 * MemorySegment b = Pool.allocate(PoolType.NON_PAGED_NX, 256, tag);
 * PoolKind pool = PoolType.NON_PAGED_NX.kind();   // NON_PAGED
 * }</pre>
 */
public enum PoolType {
    NON_PAGED(0),
    PAGED(1),
    /**
     * NonPagedPoolMustSucceed: served from a reserve beyond the capacity when the pool is exhausted; when even that
     * fails, bug check 0x41 (MUST_SUCCEED_POOL_EMPTY) instead of null. In strict mode the request itself is bug check
     * 0xC2/0x9A, as modern NT treats it.
     */
    NON_PAGED_MUST_SUCCEED(2),
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

    public boolean isSession() {
        return (code & 0x20) != 0;
    }

    public boolean isMustSucceed() {
        return (code & 2) != 0;
    }

    /** True for the no-execute non-paged types (paged pool is never executable either). */
    public boolean isNx() {
        return (code & 0x200) != 0;
    }

    /** The pool this type allocates from. */
    public PoolKind kind() {
        return isPaged() ? PoolKind.PAGED : PoolKind.NON_PAGED;
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
        throw new IllegalArgumentException(String.format("not a pool type: 0x%X", code));
    }
}
