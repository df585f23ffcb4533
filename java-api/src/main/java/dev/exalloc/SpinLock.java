package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.IrqlState;
import dev.exalloc.internal.Native;
import dev.exalloc.internal.bindings.exa_queued_lock_handle_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * An NT spin lock over an off-heap word (KSPIN_LOCK): the word can be shared with C code that uses the same lock
 * through {@code KeAcquireSpinLock} or {@code exa_spinlock_*}. A lock is either classic (test-and-test-and-set,
 * {@code KeAcquireSpinLock}) or queued (MCS, {@code KeAcquireInStackQueuedSpinLock}: FIFO among the waiters that
 * are running, each spinning on its own cache line; a waiter that is off its CPU is skipped and queues again, see
 * docs/spinlock.md#queued-fairness); NT forbids mixing the two on one word, and exalloc reports it (bug check 0xC4).
 *
 * <p>{@link #acquire()} raises the thread's {@link Irql} to DISPATCH_LEVEL, as NT does, and the returned
 * {@link Held} restores it on close:
 *
 * <pre>{@code
 * try (SpinLock.Held held = lock.acquire()) {
 *     ... // short: no blocking, no paged lookaside lists (IRQL is DISPATCH_LEVEL)
 * }
 * }</pre>
 *
 * Re-acquiring a lock the thread holds (0x0F) and releasing one it does not hold (0x10) raise
 * {@link BugCheckError} instead of hanging or corrupting the lock.
 */
public final class SpinLock implements AutoCloseable {

    /** How a lock is acquired: NT's two kinds. */
    public enum Kind {
        /** KSPIN_LOCK with KeAcquireSpinLock: one word, threads spin on it. */
        CLASSIC,
        /** In-stack queued spin lock: waiters queue and each spins on its own entry. */
        QUEUED
    }

    private final MemorySegment word;
    private final Arena arena; // null when the word belongs to the caller
    private final Kind kind;

    private SpinLock(MemorySegment word, Arena arena, Kind kind) {
        this.word = word;
        this.arena = arena;
        this.kind = kind;
    }

    /**
     * A classic lock on a word of its own (on its own cache line).
     *
     * @return the new lock
     */
    public static SpinLock create() {
        return create(Kind.CLASSIC);
    }

    /**
     * A lock of the given kind on a word of its own (on its own cache line).
     *
     * @param kind classic or queued
     * @return the new lock
     */
    public static SpinLock create(Kind kind) {
        Native.ensure();
        Arena arena = Arena.ofShared();
        MemorySegment word = arena.allocate(ValueLayout.ADDRESS.byteSize(), exa_cache_line_size());
        exa_spinlock_init(word);
        return new SpinLock(word, arena, Objects.requireNonNull(kind));
    }

    /**
     * A lock over a caller's pointer-sized, pointer-aligned word (for example one C code also uses). The word is not
     * initialised here: call {@link #initialize()} when nobody uses it yet.
     *
     * @param word the lock word
     * @param kind classic or queued
     * @return a lock over that word
     */
    public static SpinLock over(MemorySegment word, Kind kind) {
        Native.ensure();
        if (!word.isNative() || word.byteSize() < ValueLayout.ADDRESS.byteSize()
                || word.address() % ValueLayout.ADDRESS.byteAlignment() != 0) {
            throw new IllegalArgumentException("a spin lock needs a pointer-aligned native word: " + word);
        }
        return new SpinLock(word.asSlice(0, ValueLayout.ADDRESS.byteSize()), null, Objects.requireNonNull(kind));
    }

    /** KeInitializeSpinLock: sets the word to 0 (free). */
    public void initialize() {
        exa_spinlock_init(word);
    }

    /**
     * How the lock is acquired.
     *
     * @return classic or queued
     */
    public Kind kind() {
        return kind;
    }

    /**
     * The lock word.
     *
     * @return the word the lock spins on
     */
    public MemorySegment word() {
        return word;
    }

    /**
     * KeAcquireSpinLock (classic) or KeAcquireInStackQueuedSpinLock (queued): raises to DISPATCH_LEVEL and spins
     * until the lock is held.
     *
     * @return the held lock: close it to release
     * @throws BugCheckError 0x0F if this thread holds it already, 0xC4 on IRQL or kind misuse
     */
    public Held acquire() {
        if (kind == Kind.QUEUED) {
            MemorySegment handle = Handles.take();
            int status = exa_queued_lock_acquire(word, handle);
            if (status != NtStatus.SUCCESS) {
                Handles.give(handle);
                throw Failures.failure(status);
            }
            IrqlState.sync();
            return new Held(this, handle, 0);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment old = a.allocate(ValueLayout.JAVA_BYTE);
            Failures.check(exa_spinlock_acquire_raise(word, old));
            IrqlState.sync();
            return new Held(this, null, Byte.toUnsignedInt(old.get(ValueLayout.JAVA_BYTE, 0)));
        }
    }

    /**
     * One attempt (KeTryToAcquireSpinLockAtDpcLevel, at DISPATCH_LEVEL): a {@link Held} when the lock was free, else
     * null with the IRQL unchanged. Classic locks only.
     *
     * @return the held lock, or null when it was taken
     */
    public Held tryAcquire() {
        if (kind != Kind.CLASSIC) {
            throw new UnsupportedOperationException("NT has no try-acquire for in-stack queued locks");
        }
        int old = Irql.raise(Irql.DISPATCH_LEVEL);
        if (exa_spinlock_try_acquire(word) == 1) {
            return new Held(this, null, old);
        }
        Irql.lower(old);
        return null;
    }

    /**
     * KeTestSpinLock: true if the lock looks free now (the answer may be stale on return).
     *
     * @return whether the lock looked free
     */
    public boolean isFree() {
        return exa_spinlock_test(word) == 1;
    }

    /** Frees the word when this lock owns it; the lock must not be held. */
    @Override
    public void close() {
        if (arena == null) {
            return;
        }
        if (!isFree()) {
            throw new IllegalStateException("spin lock is held: release it before closing");
        }
        arena.close();
    }

    /** A held lock; {@link #close()} releases it and restores the IRQL it was acquired at. */
    public static final class Held implements AutoCloseable {
        private final SpinLock lock;
        private final MemorySegment handle;
        private final int oldIrql;
        private final Thread owner = Thread.currentThread();
        private boolean released;

        private Held(SpinLock lock, MemorySegment handle, int oldIrql) {
            this.lock = lock;
            this.handle = handle;
            this.oldIrql = oldIrql;
        }

        /**
         * The IRQL the lock was acquired at (restored by {@link #close()}).
         *
         * @return the IRQL to restore
         */
        public int previousIrql() {
            return handle != null ? Byte.toUnsignedInt(exa_queued_lock_handle_s.old_irql(handle)) : oldIrql;
        }

        /**
         * KeReleaseSpinLock / KeReleaseInStackQueuedSpinLock. Idempotent.
         *
         * @throws WrongThreadException on any thread but the one that acquired the lock
         */
        @Override
        public void close() {
            if (Thread.currentThread() != owner) {
                // NT would report SPIN_LOCK_NOT_OWNED (0x10) or, from PASSIVE_LEVEL, Verifier's 0xC4/0x32; Java
                // knows the owner and says so before touching the lock.
                throw new WrongThreadException("a spin lock is released by the thread that acquired it");
            }
            if (released) {
                return;
            }
            if (handle != null) {
                Failures.check(exa_queued_lock_release(handle));
                Handles.give(handle);
            } else {
                Failures.check(exa_spinlock_release_lower(lock.word, (byte) oldIrql));
            }
            released = true;
            IrqlState.sync();
        }
    }

    /**
     * Queue handles (KLOCK_QUEUE_HANDLE): one per acquisition, on its own cache line, reused per thread. A thread may
     * hold several queued locks at once, so each takes a free handle from its own small stack.
     */
    private static final class Handles {
        private static final ThreadLocal<ArrayDeque<MemorySegment>> FREE = ThreadLocal.withInitial(ArrayDeque::new);

        static MemorySegment take() {
            MemorySegment h = FREE.get().pollFirst();
            return h != null ? h : Arena.ofAuto().allocate(exa_queued_lock_handle_s.sizeof(), exa_cache_line_size());
        }

        static void give(MemorySegment handle) {
            FREE.get().addFirst(handle);
        }
    }
}
