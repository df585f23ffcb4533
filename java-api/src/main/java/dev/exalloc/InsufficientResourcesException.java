package dev.exalloc;

import java.io.Serial;

/**
 * STATUS_INSUFFICIENT_RESOURCES: the memory (or the allocate callback) could not supply a block; for the pool, the
 * pool's capacity (or the host) has no room, or a priority's watermark was reached. Also STATUS_WORKING_SET_QUOTA:
 * the host refused to lock non-paged memory under {@link PoolLimits.LockPolicy#REQUIRED}. {@link #status()} tells.
 */
public final class InsufficientResourcesException extends ExallocException {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * A failure for lack of memory.
     *
     * @param status  the NTSTATUS
     * @param message what failed
     */
    public InsufficientResourcesException(int status, String message) {
        super(status, message);
    }
}
