package dev.exalloc;

import java.io.Serial;

/**
 * A check failed where NT would bug-check (the "blue screen"): the code and four parameters are
 * NT's. The native operation was abandoned with nothing changed, so the JVM keeps running; the
 * error still means a program bug (lock misuse, a corrupted structure) and is not meant to be
 * caught and ignored.
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

    private final int code;
    private final long parameter1;
    private final long parameter2;
    private final long parameter3;
    private final long parameter4;

    public BugCheckError(int code, long p1, long p2, long p3, long p4) {
        super(String.format("*** STOP: 0x%08X (0x%016X, 0x%016X, 0x%016X, 0x%016X)", code, p1, p2, p3, p4));
        this.code = code;
        this.parameter1 = p1;
        this.parameter2 = p2;
        this.parameter3 = p3;
        this.parameter4 = p4;
    }

    public int code() {
        return code;
    }

    public long parameter1() {
        return parameter1;
    }

    public long parameter2() {
        return parameter2;
    }

    public long parameter3() {
        return parameter3;
    }

    public long parameter4() {
        return parameter4;
    }
}
