package dev.exalloc;

import java.io.Serial;

/**
 * STATUS_QUOTA_EXCEEDED: a quota allocation ({@link Pool#allocateWithQuota}, or {@link PoolFlags#useQuota()} with
 * {@link PoolFlags#raiseOnFailure()}) would take the current {@link QuotaAccount} past its limit. Nothing was charged
 * and no block is held. (Lack of pool memory instead is {@link ExallocOutOfMemoryError}.)
 *
 * <pre>{@code
 * try (QuotaAccount a = QuotaAccount.create(0, 256)) {
 *     a.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 512, tag));   // QuotaExceededException
 * }
 * }</pre>
 */
public final class QuotaExceededException extends ExallocException {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * A charge past the account's limit.
     *
     * @param status  the NTSTATUS (STATUS_QUOTA_EXCEEDED)
     * @param message what was charged
     */
    public QuotaExceededException(int status, String message) {
        super(status, message);
    }
}
