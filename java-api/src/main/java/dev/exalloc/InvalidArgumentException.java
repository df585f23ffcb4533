package dev.exalloc;

import java.io.Serial;
import java.util.OptionalInt;

/**
 * STATUS_INVALID_PARAMETER or STATUS_INVALID_PARAMETER_n: the native routine rejected an argument; for the numbered
 * form, {@link #parameterIndex()} tells which one (NT counts a routine's parameters from 1).
 *
 * <pre>{@code
 * try {
 *     Lookaside.builder(64).maximumDepth(5000).build();
 * } catch (InvalidArgumentException e) {
 *     e.parameterIndex();   // OptionalInt[8]: STATUS_INVALID_PARAMETER_8, the depth
 * }
 * }</pre>
 */
public final class InvalidArgumentException extends ExallocException {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * A rejected argument.
     *
     * @param status  the NTSTATUS (STATUS_INVALID_PARAMETER or _1 .. _8 for the argument's position)
     * @param message what was rejected
     */
    public InvalidArgumentException(int status, String message) {
        super(status, message);
    }

    /**
     * The rejected parameter's position, 1 .. 8, for STATUS_INVALID_PARAMETER_1 .. _8; empty for
     * STATUS_INVALID_PARAMETER, which does not say.
     *
     * @return the position, or empty
     */
    public OptionalInt parameterIndex() {
        int n = status() - NtStatus.INVALID_PARAMETER_1 + 1;
        return n >= 1 && n <= 8 ? OptionalInt.of(n) : OptionalInt.empty();
    }
}
