package dev.exalloc;

/**
 * Bytes of pool quota per pool: a usage, a peak or a limit of a {@link QuotaAccount}.
 *
 * <pre>{@code
 * QuotaUsage u = account.usage();
 * long paged = u.of(PoolKind.PAGED);
 * }</pre>
 *
 * @param paged    paged-pool bytes
 * @param nonPaged non-paged-pool bytes
 */
public record QuotaUsage(long paged, long nonPaged) {

    /**
     * The amount for one pool.
     *
     * @param pool the pool
     * @return the bytes for that pool
     */
    public long of(PoolKind pool) {
        return pool == PoolKind.PAGED ? paged : nonPaged;
    }

    /**
     * Both pools together.
     *
     * @return paged plus non-paged bytes
     */
    public long total() {
        return paged + nonPaged;
    }
}
