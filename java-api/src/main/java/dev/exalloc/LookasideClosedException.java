package dev.exalloc;

import java.io.Serial;

/**
 * The lookaside list was closed (deleted); it can no longer allocate, free or report.
 *
 * <pre>{@code
 * list.close();
 * list.allocate();                      // LookasideClosedException
 * }</pre>
 */
public final class LookasideClosedException extends IllegalStateException {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * A call on a closed lookaside list.
     *
     * @param message what was called
     */
    public LookasideClosedException(String message) {
        super(message);
    }
}
