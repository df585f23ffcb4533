package dev.exalloc;

/**
 * A quota account's state at one moment ({@link QuotaAccount#stats()}).
 *
 * <pre>{@code
 * QuotaStats s = account.stats();
 * long nonPaged = s.usage().nonPaged();
 * }</pre>
 *
 * @param id            unique for the life of the process
 * @param usage         bytes charged now, per pool
 * @param peak          the highest usage so far, per pool
 * @param limits        the limits per pool (0 = unlimited)
 * @param chargedBlocks blocks holding a charge now
 * @param kind          what the account stands for
 */
public record QuotaStats(long id, QuotaUsage usage, QuotaUsage peak, QuotaUsage limits, long chargedBlocks,
        QuotaAccount.Kind kind) {
}
