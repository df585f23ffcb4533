package dev.exalloc;

import java.io.Serial;

/** STATUS_INVALID_PARAMETER or STATUS_INVALID_PARAMETER_n: the native routine rejected an argument. */
public final class InvalidParameterException extends ExallocException {

    @Serial
    private static final long serialVersionUID = 1L;

    public InvalidParameterException(int status, String message) {
        super(status, message);
    }
}
