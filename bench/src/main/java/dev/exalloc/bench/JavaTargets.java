package dev.exalloc.bench;

import dev.exalloc.Lookaside;
import dev.exalloc.LookasideLocal;
import dev.exalloc.Pool;
import dev.exalloc.PoolAllocator;
import dev.exalloc.PoolScope;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The Java API's speed targets side by side, one allocate + free pair of 256 bytes per operation, all in one run so
 * that their ratios mean something on a noisy machine: the defaults a user gets (a {@link Lookaside} built with no
 * options, {@code Pool.system()}'s segment pair, the pool's address pair) against the JDK's own
 * {@code Arena.ofConfined()} pair and malloc/free through FFM, plus the fast path ({@link LookasideLocal} of an
 * unchecked list, by address), the checked scope for blocks that travel between threads ({@link PoolScope#SHARED}),
 * and the floor (the pool's two native calls through bare critical downcalls, {@link RawPool}).
 * {@code bench/report.py} turns these rows into the targets table.
 */
@State(Scope.Thread)
public class JavaTargets extends AllocBench {

    @Param({"256"})
    public long size;

    private static final Tag BENCH_TAG = Tag.of(TAG);

    private Lookaside checked;
    private Lookaside unchecked;
    private LookasideLocal local;
    private PoolAllocator shared;

    @Setup
    public void setUp() {
        checked = Lookaside.builder(size).tag(BENCH_TAG).build();
        unchecked = Lookaside.builder(size).tag(BENCH_TAG).unchecked().build();
        local = unchecked.local();
        shared = Pool.builder().tag(BENCH_TAG).scope(PoolScope.SHARED).build();
    }

    @TearDown
    public void tearDown() {
        local.close();
        checked.close();
        unchecked.close();
    }

    /** The JDK's own pair: a confined arena opened, allocated from (zeroed) and closed. */
    @Benchmark
    public MemorySegment arenaConfined() {
        try (Arena arena = Arena.ofConfined()) {
            return arena.allocate(size, ALIGN);
        }
    }

    /** A list with the default settings: checked, each block a segment whose scope its free ends. */
    @Benchmark
    public void lookasideDefault() {
        checked.free(checked.allocate());
    }

    /** {@code Pool.system()}'s segment pair with the default settings: checked confined segments, critical calls. */
    @Benchmark
    public void poolDefault() {
        PoolAllocator pool = Pool.system();
        pool.free(pool.allocate(size));
    }

    /** The pool's address pair with the default settings (critical downcalls). */
    @Benchmark
    public void poolAddress() {
        Pool.freeAddress(Pool.allocateAddress(PoolType.NON_PAGED_NX, size, BENCH_TAG), BENCH_TAG);
    }

    /** Checked segments any thread may use and free ({@link PoolScope#SHARED}). */
    @Benchmark
    public void poolShared() {
        shared.free(shared.allocate(size));
    }

    /** The fast path: a thread's Local cache of an unchecked list, by address. */
    @Benchmark
    public long localAddress() {
        long a = local.allocateAddress();
        local.freeAddress(a);
        return a;
    }

    /** Floor: the pool's two native calls through bare critical downcalls, no Java layer. */
    @Benchmark
    public void poolRawAddress() throws Throwable {
        RawPool.FREE_ADDRESS.invokeExact((long) RawPool.ALLOCATE_ADDRESS.invokeExact(RawPool.TYPE_NO_RAISE, size,
                RawPool.TAG, RawPool.PRIORITY), RawPool.TAG);
    }

    @Benchmark
    public void mallocFfm() throws Throwable {
        Libc.FREE.invokeExact((MemorySegment) Libc.MALLOC.invokeExact(size));
    }
}
