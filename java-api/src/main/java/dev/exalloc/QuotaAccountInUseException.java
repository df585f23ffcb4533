package dev.exalloc;

import java.io.Serial;

/**
 * {@link QuotaAccount#close()} refused: code charged to the account is still running ({@link QuotaAccount#runCharged}
 * or {@link QuotaAccount#callCharged} on some thread). Each such scope re-attaches the account it interrupted when
 * it ends, through a pointer it only borrows; closing the account under it would leave that pointer dangling. Nothing
 * was changed: close the account after the scopes end.
 *
 * <pre>{@code
 * try (QuotaAccount a = QuotaAccount.create(0, 0)) {
 *     a.runCharged(a::close);           // QuotaAccountInUseException: code charged to it still runs
 * }
 * }</pre>
 */
public final class QuotaAccountInUseException extends IllegalStateException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** Scopes that were open. */
    private final long openScopes;

    /**
     * A refused close.
     *
     * @param message    why
     * @param openScopes scopes charged to the account that were open
     */
    public QuotaAccountInUseException(String message, long openScopes) {
        super(message);
        this.openScopes = openScopes;
    }

    /**
     * Scopes charged to the account that were open when the close was refused.
     *
     * @return the number of scopes
     */
    public long openScopes() {
        return openScopes;
    }
}
