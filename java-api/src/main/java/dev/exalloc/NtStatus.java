package dev.exalloc;

import java.util.Map;

/**
 * NTSTATUS values that exalloc returns, with their NT names.
 *
 * <pre>{@code
 * catch (ExallocException e) {
 *     if (e.status() == NtStatus.QUOTA_EXCEEDED) { ... }
 *     log(NtStatus.name(e.status()));
 * }
 * }</pre>
 */
public final class NtStatus {

    private NtStatus() {
    }

    /** STATUS_SUCCESS. */
    public static final int SUCCESS = 0;
    /** STATUS_UNSUCCESSFUL: the operation failed (NT's generic failure). */
    public static final int UNSUCCESSFUL = 0xC0000001;
    /** STATUS_INVALID_PARAMETER: an argument was rejected. */
    public static final int INVALID_PARAMETER = 0xC000000D;
    /** STATUS_NO_MEMORY: not enough memory. */
    public static final int NO_MEMORY = 0xC0000017;
    /** STATUS_QUOTA_EXCEEDED: a pool-quota charge passed the account's limit. */
    public static final int QUOTA_EXCEEDED = 0xC0000044;
    /** STATUS_INSUFFICIENT_RESOURCES: the pool had no room. */
    public static final int INSUFFICIENT_RESOURCES = 0xC000009A;
    /** The host refused to lock non-paged memory in RAM (RLIMIT_MEMLOCK); NT's status for VirtualLock beyond the working set. */
    public static final int WORKING_SET_QUOTA = 0xC00000A1;
    /** STATUS_INVALID_PARAMETER_1: argument 1 of the call was rejected. */
    public static final int INVALID_PARAMETER_1 = 0xC00000EF;
    /** STATUS_INVALID_PARAMETER_2: argument 2 of the call was rejected. */
    public static final int INVALID_PARAMETER_2 = 0xC00000F0;
    /** STATUS_INVALID_PARAMETER_3: argument 3 of the call was rejected. */
    public static final int INVALID_PARAMETER_3 = 0xC00000F1;
    /** STATUS_INVALID_PARAMETER_4: argument 4 of the call was rejected. */
    public static final int INVALID_PARAMETER_4 = 0xC00000F2;
    /** STATUS_INVALID_PARAMETER_5: argument 5 of the call was rejected. */
    public static final int INVALID_PARAMETER_5 = 0xC00000F3;
    /** STATUS_INVALID_PARAMETER_6: argument 6 of the call was rejected. */
    public static final int INVALID_PARAMETER_6 = 0xC00000F4;
    /** STATUS_INVALID_PARAMETER_7: argument 7 of the call was rejected. */
    public static final int INVALID_PARAMETER_7 = 0xC00000F5;
    /** STATUS_INVALID_PARAMETER_8: argument 8 of the call was rejected. */
    public static final int INVALID_PARAMETER_8 = 0xC00000F6;
    /** exalloc's own: a check failed and the operation was abandoned; see {@link BugCheckError}. */
    public static final int BUGCHECK = 0xE0AC0001;

    private static final Map<Integer, String> NAMES = Map.ofEntries(Map.entry(SUCCESS, "STATUS_SUCCESS"),
            Map.entry(UNSUCCESSFUL, "STATUS_UNSUCCESSFUL"), Map.entry(INVALID_PARAMETER, "STATUS_INVALID_PARAMETER"),
            Map.entry(NO_MEMORY, "STATUS_NO_MEMORY"), Map.entry(QUOTA_EXCEEDED, "STATUS_QUOTA_EXCEEDED"),
            Map.entry(INSUFFICIENT_RESOURCES, "STATUS_INSUFFICIENT_RESOURCES"),
            Map.entry(WORKING_SET_QUOTA, "STATUS_WORKING_SET_QUOTA"),
            Map.entry(INVALID_PARAMETER_1, "STATUS_INVALID_PARAMETER_1"),
            Map.entry(INVALID_PARAMETER_2, "STATUS_INVALID_PARAMETER_2"),
            Map.entry(INVALID_PARAMETER_3, "STATUS_INVALID_PARAMETER_3"),
            Map.entry(INVALID_PARAMETER_4, "STATUS_INVALID_PARAMETER_4"),
            Map.entry(INVALID_PARAMETER_5, "STATUS_INVALID_PARAMETER_5"),
            Map.entry(INVALID_PARAMETER_6, "STATUS_INVALID_PARAMETER_6"),
            Map.entry(INVALID_PARAMETER_7, "STATUS_INVALID_PARAMETER_7"),
            Map.entry(INVALID_PARAMETER_8, "STATUS_INVALID_PARAMETER_8"), Map.entry(BUGCHECK, "EXA_STATUS_BUGCHECK"));

    /**
     * The NT name of a status, or its hex form when it has none here.
     *
     * @param status an NTSTATUS
     * @return its name, e.g. "STATUS_SUCCESS", or its value as 0x followed by eight hex digits
     */
    public static String name(int status) {
        String n = NAMES.get(status);
        return n != null ? n : String.format("0x%08X", status);
    }

    /**
     * {@code NT_SUCCESS}: true for success, informational and warning values.
     *
     * @param status an NTSTATUS
     * @return whether it is not an error
     */
    public static boolean isSuccess(int status) {
        return status >= 0;
    }
}
