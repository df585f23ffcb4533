package dev.exalloc.bench;

import dev.exalloc.Pool;
import dev.exalloc.PoolScope;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Pattern "pool mixed": a window of 64 live blocks; one operation frees the block in one slot and allocates a
 * block of another size into it, following the fixed-seed sequence of {@link MixedSizes} (sizes 16..1024, the
 * same sequence as the C benchmark's {@code poolmixed}), one thread. ns/op is one free plus one allocate.
 *
 * <p>Peers as in {@link PoolPair}, except that a lookaside list serves one size only (so it has no row here)
 * and that the Arena peer gives each block its own confined arena (opened at allocate, closed at free: the
 * only way to free Arena memory one block at a time).
 */
@State(Scope.Thread)
public class PoolMixed extends AllocBench {

    private static final Tag BENCH_TAG = Tag.of(TAG);

    private final MemorySegment[] pool = new MemorySegment[MixedSizes.WINDOW];
    private final long[] address = new long[MixedSizes.WINDOW];
    private final MemorySegment[] raw = new MemorySegment[MixedSizes.WINDOW];
    private final MemorySegment[] malloc = new MemorySegment[MixedSizes.WINDOW];
    private final Arena[] arenas = new Arena[MixedSizes.WINDOW];
    private final ByteBuf[] netty = new ByteBuf[MixedSizes.WINDOW];
    private int at;

    /** The {@code pool} row's segment scope, as in {@link PoolPair#scope}. */
    @Param({"GLOBAL"})
    public String scope;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        Pool.setScope(PoolScope.valueOf(scope));
        for (int k = 0; k < MixedSizes.WINDOW; k++) {
            int s = MixedSizes.initialSize(k);
            address[k] = Pool.allocateAddress(PoolType.NON_PAGED_NX, s, BENCH_TAG);
            pool[k] = Pool.allocate(PoolType.NON_PAGED_NX, s, BENCH_TAG);
            raw[k] = RawPool.allocate(s);
            malloc[k] = (MemorySegment) Libc.MALLOC.invokeExact((long) s);
            arenas[k] = Arena.ofConfined();
            arenas[k].allocate(s, ALIGN);
            netty[k] = PooledByteBufAllocator.DEFAULT.directBuffer(s);
        }
        at = 0;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Throwable {
        for (int k = 0; k < MixedSizes.WINDOW; k++) {
            Pool.free(pool[k]);
            Pool.freeAddress(address[k], BENCH_TAG);
            RawPool.FREE.invokeExact(raw[k]);
            Libc.FREE.invokeExact(malloc[k]);
            arenas[k].close();
            netty[k].release();
        }
        Pool.setScope(PoolScope.CONFINED);
    }

    /** The next operation's index into MixedSizes (wraps after 65536 operations). */
    private int next() {
        int i = at;
        at = (i + 1) & (MixedSizes.LENGTH - 1);
        return i;
    }

    @Benchmark
    public void pool() {
        int i = next();
        int k = MixedSizes.SLOT[i];
        Pool.free(pool[k]);
        pool[k] = Pool.allocate(PoolType.NON_PAGED_NX, MixedSizes.SIZE[i], BENCH_TAG);
    }

    /** The address fast path ({@link PoolPair#poolAddress}). */
    @Benchmark
    public void poolAddress() {
        int i = next();
        int k = MixedSizes.SLOT[i];
        Pool.freeAddress(address[k], BENCH_TAG);
        address[k] = Pool.allocateAddress(PoolType.NON_PAGED_NX, MixedSizes.SIZE[i], BENCH_TAG);
    }

    /** Diagnostic: the pool's native allocate and free through bare critical downcalls (see {@link RawPool}). */
    @Benchmark
    public void poolRawFfm() throws Throwable {
        int i = next();
        int k = MixedSizes.SLOT[i];
        RawPool.FREE.invokeExact(raw[k]);
        raw[k] = (MemorySegment) RawPool.ALLOCATE.invokeExact(RawPool.TYPE, (long) MixedSizes.SIZE[i], RawPool.TAG,
                RawPool.PRIORITY);
    }

    @Benchmark
    public void arenaConfined() {
        int i = next();
        int k = MixedSizes.SLOT[i];
        arenas[k].close();
        Arena a = Arena.ofConfined();
        a.allocate(MixedSizes.SIZE[i], ALIGN);
        arenas[k] = a;
    }

    @Benchmark
    public void mallocFfm() throws Throwable {
        int i = next();
        int k = MixedSizes.SLOT[i];
        Libc.FREE.invokeExact(malloc[k]);
        malloc[k] = (MemorySegment) Libc.MALLOC.invokeExact((long) MixedSizes.SIZE[i]);
    }

    @Benchmark
    public void nettyPooled() {
        int i = next();
        int k = MixedSizes.SLOT[i];
        netty[k].release();
        netty[k] = PooledByteBufAllocator.DEFAULT.directBuffer(MixedSizes.SIZE[i]);
    }
}
