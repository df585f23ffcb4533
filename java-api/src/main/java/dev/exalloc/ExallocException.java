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

    private final int status;

    public ExallocException(int status, String message) {
        super(message + " (" + NtStatus.name(status) + ")");
        this.status = status;
    }

    /** The NTSTATUS. */
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
                new InvalidArgumentException(status, "invalid parameter");
            default -> new ExallocException(status, "exalloc operation failed");
        };
    }
}
