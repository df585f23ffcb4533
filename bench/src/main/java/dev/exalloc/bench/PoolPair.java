package dev.exalloc.bench;

import dev.exalloc.Lookaside;
import dev.exalloc.Pool;
import dev.exalloc.PoolScope;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Pattern "pool pair": one allocate and one free of a {@code size}-byte block per operation, one thread, through
 * general-purpose allocators: exalloc's {@link Pool} ({@code Pool.allocate(PoolType.NON_PAGED_NX, size, tag)},
 * ExAllocatePoolWithTag, uninitialised, and {@code Pool.free}, ExFreePool), a confined Arena opened, allocated
 * from and closed per pair (Arena.allocate zeroes the block), malloc/free through plain FFM downcalls, and Netty's
 * pooled direct allocator ({@code PooledByteBufAllocator.DEFAULT.directBuffer(size)} and {@code release()}; its JVM
 * flags are in {@link AllocBench}). Reference rows: the pool's same native calls through bare critical downcalls
 * with no Java layer ({@link RawPool}: the floor for the Java API), and a default (checked) {@link Lookaside} of
 * the same size (a fixed-size cache in front of the pool, what NT code puts in front of a hot allocation).
 */
@State(Scope.Thread)
public class PoolPair extends AllocBench {

    @Param({"16", "64", "256", "1024", "4096"})
    public long size;

    private static final Tag BENCH_TAG = Tag.of(TAG);

    private Lookaside lookaside;
    private int nettySize;

    /**
     * What the {@code pool} row's segments are tied to ({@link PoolScope}): GLOBAL (unchecked, as before checked
     * scopes existed) by default; {@code -p scope=SHARED,CONFINED} measures the checked ones (the library's default
     * is CONFINED). The address rows have no segment and ignore it.
     */
    @Param({"GLOBAL"})
    public String scope;

    @Setup
    public void setUp() {
        Pool.setScope(PoolScope.valueOf(scope));
        lookaside = Lookaside.builder(size).tag(BENCH_TAG).build();
        nettySize = Math.toIntExact(size);
    }

    @TearDown
    public void tearDown() {
        lookaside.close();
        Pool.setScope(PoolScope.CONFINED);
    }

    @Benchmark
    public void pool() {
        Pool.free(Pool.allocate(PoolType.NON_PAGED_NX, size, BENCH_TAG));
    }

    /** Checked, for blocks that travel between threads: each block's segment has a shared scope its free closes (a handshake). */
    @Benchmark
    public void poolShared() {
        Pool.setScope(PoolScope.SHARED);
        Pool.free(Pool.allocate(PoolType.NON_PAGED_NX, size, BENCH_TAG));
    }

    /** The library's default, checked: each block's segment has a scope confined to the allocating thread, closed by its free. */
    @Benchmark
    public void poolConfined() {
        Pool.setScope(PoolScope.CONFINED);
        Pool.free(Pool.allocate(PoolType.NON_PAGED_NX, size, BENCH_TAG));
    }

    /**
     * The address fast path: {@code Pool.allocateAddress} and {@code Pool.freeAddress(address, tag)} (checked by the
     * native pool, no segment, no Java allocation). Ordinary downcalls; {@code -jvmArgsAppend
     * -Dexalloc.pool.critical=true} makes them critical.
     */
    @Benchmark
    public void poolAddress() {
        Pool.freeAddress(Pool.allocateAddress(PoolType.NON_PAGED_NX, size, BENCH_TAG), BENCH_TAG);
    }

    /** Diagnostic floor of {@link #poolAddress}: the same two native calls, bare critical, no bug-check read. */
    @Benchmark
    public void poolRawAddress() throws Throwable {
        RawPool.FREE_ADDRESS.invokeExact((long) RawPool.ALLOCATE_ADDRESS.invokeExact(RawPool.TYPE_NO_RAISE, size,
                RawPool.TAG, RawPool.PRIORITY), RawPool.TAG);
    }

    /** Diagnostic: the pool's native allocate and free through bare critical downcalls (see {@link RawPool}). */
    @Benchmark
    public void poolRawFfm() throws Throwable {
        RawPool.FREE.invokeExact((MemorySegment) RawPool.ALLOCATE.invokeExact(RawPool.TYPE, size, RawPool.TAG,
                RawPool.PRIORITY));
    }

    /** Reference: a lookaside list of this size (checked, NT's default depths), as in {@link Pair}. */
    @Benchmark
    public void lookaside() {
        lookaside.free(lookaside.allocate());
    }

    @Benchmark
    public MemorySegment arenaConfined() {
        try (Arena arena = Arena.ofConfined()) {
            return arena.allocate(size, ALIGN);
        }
    }

    @Benchmark
    public void mallocFfm() throws Throwable {
        Libc.FREE.invokeExact((MemorySegment) Libc.MALLOC.invokeExact(size));
    }

    @Benchmark
    public boolean nettyPooled() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(nettySize);
        return b.release();
    }
}
