package dev.exalloc.bench;

import dev.exalloc.Lookaside;
import dev.exalloc.LookasideLocal;
import dev.exalloc.Tag;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Pattern "batch1024": allocate 1024 blocks of {@code size} bytes, then free all 1024 in allocation order, one
 * thread. Reported per block ({@code @OperationsPerInvocation(1024)}): ns/op is the batch's time / 1024, the
 * cost of one allocate plus one free inside the batch.
 *
 * <p>The lookaside lists are created with initialDepth(1024) and maximumDepth(1024), so a whole batch stays
 * cached and, after the first batch, nothing reaches the pool. The Arena peer opens one confined arena per
 * batch, allocates the 1024 blocks from it and closes it (which frees them all); malloc/free go through FFM.
 * Diagnostic peers: the same native list through bare critical downcalls ({@link RawLookaside}, same depths),
 * and malloc/free through critical downcalls.
 */
@State(Scope.Thread)
public class Batch1024 extends AllocBench {

    @Param({"64", "256", "4096"})
    public long size;

    private Lookaside checked;
    private Lookaside unchecked;
    private MemorySegment raw;
    private final MemorySegment[] blocks = new MemorySegment[BATCH];
    private final long[] addresses = new long[BATCH];
    private LookasideLocal uncheckedLocal;

    @Setup
    public void setUp() throws Throwable {
        checked = Lookaside.builder(size).tag(Tag.of(TAG)).initialDepth(BATCH).maximumDepth(BATCH).build();
        unchecked = Lookaside.builder(size).tag(Tag.of(TAG)).initialDepth(BATCH).maximumDepth(BATCH).unchecked()
                .build();
        raw = RawLookaside.create(size, BATCH);
        uncheckedLocal = unchecked.local();
    }

    @TearDown
    public void tearDown() throws Throwable {
        uncheckedLocal.close();
        checked.close();
        unchecked.close();
        RawLookaside.delete(raw);
    }

    private void batch(Lookaside list) {
        MemorySegment[] b = blocks;
        for (int i = 0; i < b.length; i++) {
            b[i] = list.allocate();
        }
        for (int i = 0; i < b.length; i++) {
            list.free(b[i]);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void lookasideChecked() {
        batch(checked);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void lookasideUnchecked() {
        batch(unchecked);
    }

    /** The thread's Local of the unchecked list, by address: batches of 32 move in one downcall. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void localUnchecked() {
        long[] b = addresses;
        LookasideLocal l = uncheckedLocal;
        for (int i = 0; i < b.length; i++) {
            b[i] = l.allocateAddress();
        }
        for (int i = 0; i < b.length; i++) {
            l.freeAddress(b[i]);
        }
    }

    /** Diagnostic: the same list operations through bare critical downcalls (see {@link RawLookaside}). */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void lookasideRawFfm() throws Throwable {
        MemorySegment[] b = blocks;
        for (int i = 0; i < b.length; i++) {
            b[i] = (MemorySegment) RawLookaside.ALLOCATE.invokeExact(raw);
        }
        for (int i = 0; i < b.length; i++) {
            RawLookaside.FREE.invokeExact(raw, b[i]);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void arenaConfined() {
        MemorySegment[] b = blocks;
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < b.length; i++) {
                b[i] = arena.allocate(size, ALIGN);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void mallocFfm() throws Throwable {
        MemorySegment[] b = blocks;
        for (int i = 0; i < b.length; i++) {
            b[i] = (MemorySegment) Libc.MALLOC.invokeExact(size);
        }
        for (int i = 0; i < b.length; i++) {
            Libc.FREE.invokeExact(b[i]);
        }
    }

    /** Diagnostic: malloc/free through critical downcalls, as the Lookaside calls the native list. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void mallocFfmCritical() throws Throwable {
        MemorySegment[] b = blocks;
        for (int i = 0; i < b.length; i++) {
            b[i] = (MemorySegment) Libc.MALLOC_CRITICAL.invokeExact(size);
        }
        for (int i = 0; i < b.length; i++) {
            Libc.FREE_CRITICAL.invokeExact(b[i]);
        }
    }
}
