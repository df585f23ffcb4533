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
    /** NonPagedPool: non-paged, executable where the host allows it. */
    NON_PAGED(0),
    /** PagedPool. */
    PAGED(1),
    /**
     * NonPagedPoolMustSucceed: served from a reserve beyond the capacity when the pool is exhausted; when even that
     * fails, bug check 0x41 (MUST_SUCCEED_POOL_EMPTY) instead of null. In strict mode the request itself is bug check
     * 0xC2/0x9A, as modern NT treats it.
     */
    NON_PAGED_MUST_SUCCEED(2),
    /** NonPagedPoolCacheAligned. */
    NON_PAGED_CACHE_ALIGNED(4),
    /** PagedPoolCacheAligned. */
    PAGED_CACHE_ALIGNED(5),
    /** NonPagedPoolSession. */
    NON_PAGED_SESSION(32),
    /** PagedPoolSession. */
    PAGED_SESSION(33),
    /** NonPagedPoolCacheAlignedSession. */
    NON_PAGED_CACHE_ALIGNED_SESSION(36),
    /** PagedPoolCacheAlignedSession. */
    PAGED_CACHE_ALIGNED_SESSION(37),
    /** NonPagedPoolNx: non-paged, non-executable. */
    NON_PAGED_NX(512),
    /** NonPagedPoolNxCacheAligned. */
    NON_PAGED_NX_CACHE_ALIGNED(516),
    /** NonPagedPoolSessionNx. */
    NON_PAGED_SESSION_NX(544);

    private final int code;

    PoolType(int code) {
        this.code = code;
    }

    /**
     * The POOL_TYPE value.
     *
     * @return the value
     */
    public int code() {
        return code;
    }

    /**
     * Whether the type allocates from the paged pool.
     *
     * @return true for the paged types
     */
    public boolean isPaged() {
        return (code & 1) != 0;
    }

    /**
     * Whether blocks are aligned to the cache line.
     *
     * @return true for the cache-aligned types
     */
    public boolean isCacheAligned() {
        return (code & 4) != 0;
    }

    /**
     * Whether this is a session type.
     *
     * @return true for the session types
     */
    public boolean isSession() {
        return (code & 0x20) != 0;
    }

    /**
     * Whether this is the must-succeed type.
     *
     * @return true for {@link #NON_PAGED_MUST_SUCCEED}
     */
    public boolean isMustSucceed() {
        return (code & 2) != 0;
    }

    /**
     * True for the no-execute non-paged types (paged pool is never executable either).
     *
     * @return true for the NX types
     */
    public boolean isNx() {
        return (code & 0x200) != 0;
    }

    /**
     * The pool this type allocates from.
     *
     * @return paged or non-paged
     */
    public PoolKind kind() {
        return isPaged() ? PoolKind.PAGED : PoolKind.NON_PAGED;
    }

    /** Modifier bits that can accompany a pool type in NT's Type field (raise, quota-fail, cold, zero). */
    static final int MODIFIER_MASK = 0x008 | 0x010 | 0x100 | 0x400;

    /**
     * The pool type of a POOL_TYPE value, ignoring modifier bits.
     *
     * @param code a POOL_TYPE value
     * @return the type
     * @throws IllegalArgumentException for a value that names no type here
     */
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
