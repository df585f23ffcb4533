package dev.exalloc;

import java.io.Serial;

/**
 * An exalloc operation failed with an NTSTATUS. Subclasses name the statuses callers handle; running out of memory
 * is not one of them but {@link ExallocOutOfMemoryError}, an {@link OutOfMemoryError}.
 *
 * <pre>{@code
 * try {
 *     Pool.allocateWithQuota(PoolType.PAGED, 512, tag);
 * } catch (ExallocException e) {
 *     log(NtStatus.name(e.status()));   // STATUS_QUOTA_EXCEEDED
 * }
 * }</pre>
 */
public class ExallocException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The NTSTATUS of the failure. */
    private final int status;

    /**
     * A failure with an NTSTATUS.
     *
     * @param status  the NTSTATUS
     * @param message what failed (the status name is appended)
     */
    public ExallocException(int status, String message) {
        super(message + " (" + NtStatus.name(status) + ")");
        this.status = status;
    }

    /**
     * The NTSTATUS.
     *
     * @return the status, e.g. {@link NtStatus#INSUFFICIENT_RESOURCES}
     */
    public int status() {
        return status;
    }

    /**
     * The exception a failure status stands for. The out-of-memory statuses are an {@link ExallocOutOfMemoryError},
     * an Error, which this throws itself (callers write {@code throw ExallocException.of(status)} either way).
     */
    static ExallocException of(int status) {
        return switch (status) {
            case NtStatus.INSUFFICIENT_RESOURCES, NtStatus.NO_MEMORY ->
                throw new ExallocOutOfMemoryError(status, "not enough memory");
            case NtStatus.WORKING_SET_QUOTA ->
                throw new ExallocOutOfMemoryError(status, "the host refused to lock the memory in RAM");
            case NtStatus.QUOTA_EXCEEDED -> new QuotaExceededException(status, "pool quota exceeded");
            case NtStatus.INVALID_PARAMETER, NtStatus.INVALID_PARAMETER_1, NtStatus.INVALID_PARAMETER_2,
                    NtStatus.INVALID_PARAMETER_3, NtStatus.INVALID_PARAMETER_4, NtStatus.INVALID_PARAMETER_5,
                    NtStatus.INVALID_PARAMETER_6, NtStatus.INVALID_PARAMETER_7, NtStatus.INVALID_PARAMETER_8 ->
                new InvalidArgumentException(status, status == NtStatus.INVALID_PARAMETER ? "invalid parameter"
                        : "invalid parameter " + (status - NtStatus.INVALID_PARAMETER_1 + 1)
                                + " (NT numbers a routine's parameters from 1)");
            default -> new ExallocException(status, "exalloc operation failed");
        };
    }
}
