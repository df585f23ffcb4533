package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.IrqlState;
import dev.exalloc.internal.Native;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The calling thread's IRQL, NT's interrupt request level, kept per thread. Nothing is masked in user space: the
 * level exists so that NT's rules are checked where NT checks them. {@link SpinLock#acquire()} raises to
 * {@link #DISPATCH_LEVEL}; paged lookaside lists may not be used above {@link #APC_LEVEL}, nor any list above
 * DISPATCH_LEVEL ({@link BugCheckError} 0xC2).
 *
 * <pre>{@code
 * int old = Irql.raise(Irql.DISPATCH_LEVEL);
 * try {
 *     ...                               // paged memory may not be touched here
 * } finally {
 *     Irql.lower(old);
 * }
 * }</pre>
 */
public final class Irql {

    private Irql() {
    }

    /** PASSIVE_LEVEL: the level of ordinary code, where every thread starts. */
    public static final int PASSIVE_LEVEL = 0;
    /** APC_LEVEL: one above PASSIVE_LEVEL. */
    public static final int APC_LEVEL = 1;
    /** DISPATCH_LEVEL: the level a thread runs at while it holds a spin lock. */
    public static final int DISPATCH_LEVEL = 2;
    /** HIGH_LEVEL: the highest level. */
    public static final int HIGH_LEVEL = 15;

    /**
     * KeGetCurrentIrql.
     *
     * @return the calling thread's IRQL
     */
    public static int current() {
        Native.ensure();
        return Byte.toUnsignedInt(exa_irql_get());
    }

    /**
     * KeRaiseIrql: raises to {@code level} (not below the current one) and returns the level to restore.
     *
     * @param level the level to raise to
     * @return the previous level
     * @throws BugCheckError 0x09 when {@code level} is below the current IRQL or above HIGH_LEVEL
     */
    public static int raise(int level) {
        Native.ensure();
        if (level < 0 || level > 255) {
            throw new IllegalArgumentException("IRQL out of range: " + level);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment old = a.allocate(ValueLayout.JAVA_BYTE);
            Failures.check(exa_irql_raise((byte) level, old));
            IrqlState.sync();
            return Byte.toUnsignedInt(old.get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    /**
     * KeLowerIrql: lowers to {@code level}, normally the value {@link #raise} returned.
     *
     * @param level the level to lower to
     * @throws BugCheckError 0x0A when {@code level} is above the current IRQL
     */
    public static void lower(int level) {
        Native.ensure();
        if (level < 0 || level > 255) {
            throw new IllegalArgumentException("IRQL out of range: " + level);
        }
        Failures.check(exa_irql_lower((byte) level));
        IrqlState.sync();
    }
}
