package dev.exalloc;

import java.io.Serial;

/** STATUS_INSUFFICIENT_RESOURCES: the memory (or the allocate callback) could not supply a block. */
public final class InsufficientResourcesException extends ExallocException {

    @Serial
    private static final long serialVersionUID = 1L;

    public InsufficientResourcesException(int status, String message) {
        super(status, message);
    }
}
