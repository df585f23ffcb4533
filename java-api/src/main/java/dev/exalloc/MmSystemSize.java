package dev.exalloc;

/**
 * MM_SYSTEMSIZE, what {@link Pool#systemSize()} (MmQuerySystemSize) answers: an estimate of installed memory for
 * sizing buffers. From the physical memory P and the product type: P up to 19 MiB is small, else medium; large from
 * 32 MiB on a workstation and from 64 MiB on a server (thresholds inclusive, as NT's).
 *
 * <pre>{@code
 * if (Pool.systemSize() == MmSystemSize.LARGE) { ... }   // MmQuerySystemSize
 * }</pre>
 */
public enum MmSystemSize {
    /** MmSmallSystem. */
    SMALL,
    /** MmMediumSystem. */
    MEDIUM,
    /** MmLargeSystem: every host with 64 MiB or more. */
    LARGE;

    static MmSystemSize fromCode(int code) {
        return switch (code) {
            case 0 -> SMALL;
            case 1 -> MEDIUM;
            case 2 -> LARGE;
            default -> throw new IllegalStateException("unknown MM_SYSTEMSIZE " + code);
        };
    }
}
