package dev.exalloc.bench;

import dev.exalloc.Lookaside;
import dev.exalloc.LookasideLocal;
import dev.exalloc.Tag;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Pattern "pair" on 2 threads sharing one list ({@code Scope.Benchmark}): each thread allocates and frees its
 * own blocks. ns/op is per pair, per thread (JMH's AverageTime over both threads): with perfect scaling it
 * equals the one-thread {@link Pair} figure. Default depths, as in {@link Pair}. The diagnostic raw-FFM peer
 * ({@link RawLookaside}) shares one native list between the two threads the same way.
 */
@State(Scope.Benchmark)
@Threads(2)
public class PairTwoThreads extends AllocBench {

    @Param({"64", "256", "4096"})
    public long size;

    private Lookaside checked;
    private Lookaside unchecked;
    private MemorySegment raw;

    @Setup
    public void setUp() throws Throwable {
        checked = Lookaside.builder(size).tag(Tag.of(TAG)).build();
        unchecked = Lookaside.builder(size).tag(Tag.of(TAG)).unchecked().build();
        raw = RawLookaside.create(size, 0);
    }

    @TearDown
    public void tearDown() throws Throwable {
        checked.close();
        unchecked.close();
        RawLookaside.delete(raw);
    }

    @Benchmark
    public void lookasideChecked() {
        checked.free(checked.allocate());
    }

    @Benchmark
    public void lookasideUnchecked() {
        unchecked.free(unchecked.allocate());
    }

    /** Each thread's Local of the shared unchecked list. */
    @State(Scope.Thread)
    public static class Locals {
        LookasideLocal local;

        @Setup
        public void setUp(PairTwoThreads shared) {
            local = shared.unchecked.local();
        }

        @TearDown
        public void tearDown() {
            local.close();
        }
    }

    /** Per thread, a Local cache in front of the shared unchecked list, by address. */
    @Benchmark
    public long localUnchecked(Locals l) {
        long a = l.local.allocateAddress();
        l.local.freeAddress(a);
        return a;
    }

    /** Diagnostic: the same shared native list through bare critical downcalls (see {@link RawLookaside}). */
    @Benchmark
    public void lookasideRawFfm() throws Throwable {
        RawLookaside.FREE.invokeExact(raw, (MemorySegment) RawLookaside.ALLOCATE.invokeExact(raw));
    }
}
