package dev.exalloc;

import java.io.Serial;

/** STATUS_INVALID_PARAMETER or STATUS_INVALID_PARAMETER_n: the native routine rejected an argument. */
public final class InvalidParameterException extends ExallocException {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * A rejected argument.
     *
     * @param status  the NTSTATUS (STATUS_INVALID_PARAMETER or _1 .. _8 for the argument's position)
     * @param message what was rejected
     */
    public InvalidParameterException(int status, String message) {
        super(status, message);
    }
}
