package dev.exalloc.bench;

import dev.exalloc.Pool;
import dev.exalloc.PoolAllocator;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Pattern "arena batch": open an arena, make {@value #N} allocations of {@code size} bytes from it, close it (which
 * frees them all); one thread; time per allocation. Peers: the pool's arenas ({@code Pool.system().arena(tag, type)}
 * confined, {@code sharedArena} shared, and a pool instance built with critical calls) against the JDK's
 * {@code Arena.ofConfined()} and {@code Arena.ofShared()}. Every arena zeroes its segments; the shared ones pay a
 * handshake at the close, spread over the batch.
 */
@State(Scope.Thread)
public class ArenaBatch extends AllocBench {

    static final int N = 64;

    @Param({"64", "256"})
    public long size;

    private static final Tag BENCH_TAG = Tag.of(TAG);
    private PoolAllocator critical;

    @Setup
    public void setUp() {
        critical = Pool.builder().tag(BENCH_TAG).poolType(PoolType.NON_PAGED_NX).criticalCalls(true).build();
    }

    private long fill(Arena arena) {
        long sum = 0;
        try (arena) {
            for (int i = 0; i < N; i++) {
                MemorySegment s = arena.allocate(size, ALIGN);
                sum += s.address();
            }
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long poolArena() {
        return fill(Pool.system().arena(BENCH_TAG, PoolType.NON_PAGED_NX));
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long poolArenaCritical() {
        return fill(critical.arena());
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long poolSharedArena() {
        return fill(Pool.system().sharedArena(BENCH_TAG, PoolType.NON_PAGED_NX));
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long arenaConfined() {
        return fill(Arena.ofConfined());
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long arenaShared() {
        return fill(Arena.ofShared());
    }
}
