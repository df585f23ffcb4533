package dev.exalloc.bench;

import dev.exalloc.Lookaside;
import dev.exalloc.LookasideLocal;
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
 * Pattern "pair": one allocate and one free of a {@code size}-byte block per operation, one thread.
 *
 * <p>The lookaside lists keep NT's default depths (Depth 4, MaximumDepth 256): a pair needs one cached block.
 * Peers: exalloc checked (the default), exalloc unchecked, a confined Arena opened, allocated from and closed
 * per pair (Arena.allocate also zeroes the block), malloc/free through plain FFM downcalls, and Netty's pooled
 * direct allocator ({@code PooledByteBufAllocator.DEFAULT.directBuffer(size)} + {@code release()}; its JVM flags
 * are in {@link AllocBench}); plus two diagnostic peers: the same native list driven through bare critical
 * downcalls ({@link RawLookaside}), and malloc/free through critical downcalls ({@link Libc#MALLOC_CRITICAL}).
 */
@State(Scope.Thread)
public class Pair extends AllocBench {

    @Param({"64", "256", "4096"})
    public long size;

    private Lookaside checked;
    private Lookaside unchecked;
    private LookasideLocal checkedLocal;
    private LookasideLocal uncheckedLocal;
    private MemorySegment raw;
    private int nettySize;

    @Setup
    public void setUp() throws Throwable {
        nettySize = Math.toIntExact(size);
        checked = Lookaside.builder(size).tag(Tag.of(TAG)).build();
        unchecked = Lookaside.builder(size).tag(Tag.of(TAG)).unchecked().build();
        raw = RawLookaside.create(size, 0);
        checkedLocal = checked.local();
        uncheckedLocal = unchecked.local();
    }

    @TearDown
    public void tearDown() throws Throwable {
        checkedLocal.close();
        uncheckedLocal.close();
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

    /** The thread's Local cache of the checked list: a scoped segment per pair. */
    @Benchmark
    public void localChecked() {
        checkedLocal.free(checkedLocal.allocate());
    }

    /** The thread's Local cache of an unchecked list, by address: the fast path (no heap allocation). */
    @Benchmark
    public long localUnchecked() {
        long a = uncheckedLocal.allocateAddress();
        uncheckedLocal.freeAddress(a);
        return a;
    }

    /** As localUnchecked, with a segment per pair (which escape analysis may or may not remove). */
    @Benchmark
    public void localUncheckedSegment() {
        uncheckedLocal.free(uncheckedLocal.allocate());
    }

    /** Diagnostic: the same list operations through bare critical downcalls (see {@link RawLookaside}). */
    @Benchmark
    public void lookasideRawFfm() throws Throwable {
        RawLookaside.FREE.invokeExact(raw, (MemorySegment) RawLookaside.ALLOCATE.invokeExact(raw));
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

    /** Diagnostic: malloc/free through critical downcalls, as the Lookaside calls the native list. */
    @Benchmark
    public void mallocFfmCritical() throws Throwable {
        Libc.FREE_CRITICAL.invokeExact((MemorySegment) Libc.MALLOC_CRITICAL.invokeExact(size));
    }

    @Benchmark
    public boolean nettyPooled() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(nettySize);
        return b.release();
    }
}
