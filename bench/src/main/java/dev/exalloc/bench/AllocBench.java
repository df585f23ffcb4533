package dev.exalloc.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings every allocation benchmark shares (JMH inherits these class annotations): one fork with native
 * access enabled (the benchmarks jar is on the class path, so ALL-UNNAMED), a short warm-up and measurement
 * (the machine is small and noisy: compare ratios within one run), average time in ns per operation.
 *
 * <p>The fork also configures the Netty peer ({@code PooledByteBufAllocator.DEFAULT}, netty-buffer 4.2) for its
 * best case as Netty applications run it: {@code io.netty.allocator.useCacheForAllThreads=true} gives the JMH
 * threads the per-thread caches that Netty 4.2 otherwise keeps for its own event-loop threads
 * (FastThreadLocalThread) only (4.1's default was true), and {@code io.netty.leakDetection.level=disabled}
 * turns off the sampled leak tracking (on by default; it costs the pair 25-40 ns here, and Netty's own
 * microbenchmarks disable it too). Nothing else: on JDK 25 Netty 4.2 leaves sun.misc.Unsafe alone by default,
 * so there is no Unsafe warning and no --add-opens is needed (allowing Unsafe measured no faster).
 *
 * <p>Subclasses: {@link Pair}, {@link Batch1024}, {@link PairTwoThreads}, {@link PoolPair}, {@link PoolMixed};
 * {@code bench/run.sh} runs them and turns the JSON result into tables. A command-line {@code -jvmArgsAppend}
 * replaces these fork flags: repeat them there if you pass your own.
 */
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public abstract class AllocBench {

    /** The tag of every list the benchmarks create. */
    static final String TAG = "Benc";

    /** Alignment asked of Arena.allocate: the lookaside's blocks (and malloc's) are 16-byte aligned. */
    static final long ALIGN = 16;

    /** Blocks per batch in {@link Batch1024}; also the lists' depth there, so that a whole batch is cached. */
    static final int BATCH = 1024;
}
