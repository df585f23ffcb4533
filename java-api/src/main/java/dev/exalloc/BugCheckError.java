package dev.exalloc;

import java.io.Serial;

/**
 * A check failed where NT would bug-check (the "blue screen"): the code and four parameters are
 * NT's. The native operation was abandoned with nothing changed, so the JVM keeps running; the
 * error still means a program bug (lock misuse, a corrupted structure) and is not meant to be
 * caught and ignored.
 *
 * <p>The message is NT's STOP line followed by the code's name and what failed, with the meaning of each parameter
 * used, for example {@code *** STOP: 0x000000C2 (0x0000000000000007, ...) BAD_POOL_CALLER: the block is already free;
 * p3 header word = 0x..., p4 block = 0x...} (the table of codes: docs/diagnostics.md).
 *
 * <pre>{@code
 * try {
 *     Pool.free(MemorySegment.ofAddress(0x1000));   // not a pool block
 * } catch (BugCheckError e) {
 *     int code = e.code();                         // 0xC2, BAD_POOL_CALLER
 * }
 * }</pre>
 */
public final class BugCheckError extends Error {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The bug-check code. */
    private final int code;
    /** The first bug-check parameter. */
    private final long parameter1;
    /** The second bug-check parameter. */
    private final long parameter2;
    /** The third bug-check parameter. */
    private final long parameter3;
    /** The fourth bug-check parameter. */
    private final long parameter4;

    /**
     * A bug check with NT's code and parameters (their meaning depends on the code).
     *
     * @param code the bug-check code, e.g. 0xC2 (BAD_POOL_CALLER)
     * @param p1   the first parameter
     * @param p2   the second parameter
     * @param p3   the third parameter
     * @param p4   the fourth parameter
     */
    public BugCheckError(int code, long p1, long p2, long p3, long p4) {
        super(String.format("*** STOP: 0x%08X (0x%016X, 0x%016X, 0x%016X, 0x%016X) ", code, p1, p2, p3, p4)
                + BugCheckCodes.describe(code, p1, p2, p3, p4));
        this.code = code;
        this.parameter1 = p1;
        this.parameter2 = p2;
        this.parameter3 = p3;
        this.parameter4 = p4;
    }

    /**
     * The bug-check code.
     *
     * @return the code, e.g. 0x19 (BAD_POOL_HEADER)
     */
    public int code() {
        return code;
    }

    /**
     * NT's name of the code.
     *
     * @return {@code "BAD_POOL_CALLER"} and the like, or {@code "bug check 0x..."} for a code exalloc does not name
     */
    public String codeName() {
        String name = BugCheckCodes.name(code);
        return name != null ? name : String.format("bug check 0x%X", code);
    }

    /**
     * What the bug check says, in words.
     *
     * @return the code's name, what failed and what each parameter used means, with its value (the message after
     *         the STOP line)
     */
    public String explanation() {
        return BugCheckCodes.describe(code, parameter1, parameter2, parameter3, parameter4);
    }

    /**
     * The first parameter.
     *
     * @return the first of the four parameters (often the kind of violation)
     */
    public long parameter1() {
        return parameter1;
    }

    /**
     * The second parameter.
     *
     * @return the second of the four parameters
     */
    public long parameter2() {
        return parameter2;
    }

    /**
     * The third parameter.
     *
     * @return the third of the four parameters
     */
    public long parameter3() {
        return parameter3;
    }

    /**
     * The fourth parameter.
     *
     * @return the fourth of the four parameters
     */
    public long parameter4() {
        return parameter4;
    }
}
