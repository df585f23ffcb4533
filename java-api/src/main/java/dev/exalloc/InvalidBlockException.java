package dev.exalloc;

import java.io.Serial;

/**
 * A segment passed to {@link Lookaside#free} (or {@link Zone#free}) that the list must not take: nothing was
 * changed. In NT this misuse corrupts memory silently; in exalloc's checked mode it is caught before it reaches
 * native code. {@link Pool#free} and {@link Pool#query} raise it for a heap segment ({@code FOREIGN}) or NULL, and
 * {@code Pool.query} for an address that is not a live pool block ({@code NOT_OUTSTANDING}).
 *
 * <pre>{@code
 * try {
 *     list.free(block);
 *     list.free(block);                 // a second time
 * } catch (InvalidBlockException e) {
 *     e.reason();                       // NOT_OUTSTANDING
 * }
 * }</pre>
 */
public final class InvalidBlockException extends IllegalArgumentException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** Why the block was refused. */
    public enum Reason {
        /** Not native memory (a heap segment). */
        FOREIGN,
        /** Not a block this list handed out, or one already freed (a double free). */
        NOT_OUTSTANDING,
        /** The segment's size is not the list's block size. */
        WRONG_SIZE
    }

    /** Why the block was refused. */
    private final Reason reason;

    /**
     * A refused block.
     *
     * @param reason  why it was refused
     * @param message what was refused
     */
    public InvalidBlockException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    /**
     * Why the block was refused.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }
}
