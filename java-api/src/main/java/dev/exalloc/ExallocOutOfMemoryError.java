package dev.exalloc;

import java.io.Serial;

/**
 * Native memory ran out: STATUS_INSUFFICIENT_RESOURCES (the pool's capacity or the host has no room, a priority's
 * watermark was reached, or a lookaside allocate callback or a zone had no block), STATUS_NO_MEMORY, or
 * STATUS_WORKING_SET_QUOTA (the host refused to lock non-paged memory under
 * {@link PoolLimits.LockPolicy#REQUIRED}). {@link #status()} tells which.
 *
 * <p>An {@link OutOfMemoryError}, as the JDK's own failures to get direct or native memory are, so code that
 * handles exhausted memory with {@code catch (OutOfMemoryError e)} handles exalloc's too. The {@code tryAllocate}
 * forms return null instead of throwing. A quota account's limit is not an out-of-memory condition: it is
 * {@link QuotaExceededException} (STATUS_QUOTA_EXCEEDED), as NT reports it apart from a lack of pool.
 *
 * <pre>{@code
 * try {
 *     MemorySegment big = Pool.allocate(PoolType.PAGED, 1L << 40, Tag.of("Big "));
 * } catch (OutOfMemoryError e) {
 *     int status = e instanceof ExallocOutOfMemoryError x ? x.status() : 0;   // 0xC000009A
 * }
 * }</pre>
 */
public final class ExallocOutOfMemoryError extends OutOfMemoryError {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The NTSTATUS this error reports. */
    private final int status;

    /**
     * An error for {@code status}; its message is {@code message} followed by the status's name in parentheses.
     *
     * @param status  the NTSTATUS (STATUS_INSUFFICIENT_RESOURCES, STATUS_NO_MEMORY or STATUS_WORKING_SET_QUOTA)
     * @param message what could not be allocated
     */
    public ExallocOutOfMemoryError(int status, String message) {
        super(message + " (" + NtStatus.name(status) + ")");
        this.status = status;
    }

    /**
     * The NTSTATUS: STATUS_INSUFFICIENT_RESOURCES, STATUS_NO_MEMORY or STATUS_WORKING_SET_QUOTA.
     *
     * @return the NTSTATUS code
     */
    public int status() {
        return status;
    }
}
