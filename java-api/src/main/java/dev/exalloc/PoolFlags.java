package dev.exalloc;

import java.util.ArrayList;
import java.util.List;

/**
 * POOL_FLAGS for {@link Pool#allocate(long, Tag, PoolFlags)} (ExAllocatePool2) and ExAllocatePool3: an immutable
 * 64-bit value. Start from the pool ({@link #nonPaged()}, {@link #paged()}, {@link #nonPagedExecute()}) and add
 * modifiers, each of which returns a new value:
 *
 * <pre>{@code
 * PoolFlags f = PoolFlags.nonPaged().uninitialized().raiseOnFailure();
 * }</pre>
 *
 * The low 32 bits are required attributes: an unknown or reserved one, none or two of the three pool bits, or
 * session + non-paged + cache-aligned (no such pool type) fail the request (NULL, or {@link InvalidArgumentException}
 * with {@link #raiseOnFailure()}). The high 32 bits are optional and ignored when not understood. Blocks are zeroed
 * unless {@link #uninitialized()}.
 *
 * @param bits the POOL_FLAGS value as NT's wdm.h defines it ({@link #of(long)} for any value, valid or not)
 */
public record PoolFlags(long bits) {

    public static final long USE_QUOTA = 0x001L;
    public static final long UNINITIALIZED = 0x002L;
    public static final long SESSION = 0x004L;
    public static final long CACHE_ALIGNED = 0x008L;
    public static final long RESERVED1 = 0x010L;
    public static final long RAISE_ON_FAILURE = 0x020L;
    public static final long NON_PAGED = 0x040L;
    public static final long NON_PAGED_EXECUTE = 0x080L;
    public static final long PAGED = 0x100L;
    public static final long RESERVED2 = 0x200L;
    public static final long RESERVED3 = 0x400L;
    /**
     * The one optional flag NT defines: the block comes from the special pool (a page of its own before a guard page,
     * see docs/diagnostics.md#special-pool) at any check level; from the normal pool, as on NT, when the special pool
     * is full or cannot take the request (more than 4064 bytes, or charged to a quota).
     */
    public static final long SPECIAL_POOL = 0x1_0000_0000L;

    /**
     * POOL_FLAG_NON_PAGED: non-paged, no-execute (NonPagedPoolNx).
     *
     * @return the flags
     */
    public static PoolFlags nonPaged() {
        return new PoolFlags(NON_PAGED);
    }

    /**
     * POOL_FLAG_PAGED: paged pool.
     *
     * @return the flags
     */
    public static PoolFlags paged() {
        return new PoolFlags(PAGED);
    }

    /**
     * POOL_FLAG_NON_PAGED_EXECUTE: non-paged, executable where the host allows it (NonPagedPool).
     *
     * @return the flags
     */
    public static PoolFlags nonPagedExecute() {
        return new PoolFlags(NON_PAGED_EXECUTE);
    }

    /**
     * Any POOL_FLAGS value, as C code would pass it (invalid combinations included: the pool rejects them).
     *
     * @param bits the POOL_FLAGS bits
     * @return the flags
     */
    public static PoolFlags of(long bits) {
        return new PoolFlags(bits);
    }

    private PoolFlags with(long bit) {
        return new PoolFlags(bits | bit);
    }

    /**
     * POOL_FLAG_UNINITIALIZED: do not zero the block.
     *
     * @return these flags with that one added
     */
    public PoolFlags uninitialized() {
        return with(UNINITIALIZED);
    }

    /**
     * POOL_FLAG_CACHE_ALIGNED: align the block to the cache line ({@link Exalloc#cacheLineSize()}).
     *
     * @return these flags with that one added
     */
    public PoolFlags cacheAligned() {
        return with(CACHE_ALIGNED);
    }

    /**
     * POOL_FLAG_USE_QUOTA: charge the block to the current {@link QuotaAccount}.
     *
     * @return these flags with that one added
     */
    public PoolFlags useQuota() {
        return with(USE_QUOTA);
    }

    /**
     * POOL_FLAG_RAISE_ON_FAILURE: throw instead of returning null.
     *
     * @return these flags with that one added
     */
    public PoolFlags raiseOnFailure() {
        return with(RAISE_ON_FAILURE);
    }

    /**
     * POOL_FLAG_SESSION: session pool (behaves as its base pool; the block reports the session type).
     *
     * @return these flags with that one added
     */
    public PoolFlags session() {
        return with(SESSION);
    }

    /**
     * POOL_FLAG_SPECIAL_POOL (optional): the block comes from the special pool ({@link #SPECIAL_POOL}), or from the
     * normal pool as NT does when none is left.
     *
     * @return these flags with that one added
     */
    public PoolFlags specialPool() {
        return with(SPECIAL_POOL);
    }

    /**
     * Whether POOL_FLAG_UNINITIALIZED is set.
     *
     * @return true with POOL_FLAG_UNINITIALIZED
     */
    public boolean isUninitialized() {
        return (bits & UNINITIALIZED) != 0;
    }

    /**
     * Whether POOL_FLAG_RAISE_ON_FAILURE is set.
     *
     * @return true with POOL_FLAG_RAISE_ON_FAILURE
     */
    public boolean isRaiseOnFailure() {
        return (bits & RAISE_ON_FAILURE) != 0;
    }

    /**
     * Whether POOL_FLAG_USE_QUOTA is set.
     *
     * @return true with POOL_FLAG_USE_QUOTA
     */
    public boolean isUseQuota() {
        return (bits & USE_QUOTA) != 0;
    }

    /**
     * Whether POOL_FLAG_CACHE_ALIGNED is set.
     *
     * @return true with POOL_FLAG_CACHE_ALIGNED
     */
    public boolean isCacheAligned() {
        return (bits & CACHE_ALIGNED) != 0;
    }

    /**
     * Whether POOL_FLAG_SESSION is set.
     *
     * @return true with POOL_FLAG_SESSION
     */
    public boolean isSession() {
        return (bits & SESSION) != 0;
    }

    /**
     * The POOL_TYPE these flags select, per docs/pool.md#pool-flags (NON_PAGED -> NonPagedPoolNx, NON_PAGED_EXECUTE ->
     * NonPagedPool, PAGED -> PagedPool, plus cache-aligned and session), or null when they name no single pool or no
     * such type exists.
     *
     * @return the pool type, or null
     */
    public PoolType poolType() {
        long pools = bits & (NON_PAGED | NON_PAGED_EXECUTE | PAGED);
        int code;
        if (pools == NON_PAGED) {
            code = 0x200;
        } else if (pools == NON_PAGED_EXECUTE) {
            code = 0;
        } else if (pools == PAGED) {
            code = 1;
        } else {
            return null;
        }
        if ((bits & CACHE_ALIGNED) != 0) {
            code |= 4;
        }
        if ((bits & SESSION) != 0) {
            code |= 0x20;
        }
        try {
            return PoolType.fromCode(code);
        } catch (IllegalArgumentException e) {
            return null; // NonPagedPoolNx + session + cache aligned
        }
    }

    private static final String[] NAMES = {"USE_QUOTA", "UNINITIALIZED", "SESSION", "CACHE_ALIGNED", "RESERVED1",
        "RAISE_ON_FAILURE", "NON_PAGED", "NON_PAGED_EXECUTE", "PAGED", "RESERVED2", "RESERVED3"};

    /** The flags as C code writes them, e.g. {@code POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED}. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        long rest = bits;
        for (int i = 0; i < NAMES.length; i++) {
            if ((bits & (1L << i)) != 0) {
                parts.add("POOL_FLAG_" + NAMES[i]);
                rest &= ~(1L << i);
            }
        }
        if ((rest & SPECIAL_POOL) != 0) {
            parts.add("POOL_FLAG_SPECIAL_POOL");
            rest &= ~SPECIAL_POOL;
        }
        if (rest != 0) {
            parts.add(String.format("0x%X", rest));
        }
        return parts.isEmpty() ? "0" : String.join(" | ", parts);
    }
}
