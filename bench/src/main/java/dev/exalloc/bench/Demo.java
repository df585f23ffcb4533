package dev.exalloc.bench;

import dev.exalloc.Exalloc;
import dev.exalloc.Lookaside;
import dev.exalloc.LookasideLocal;
import dev.exalloc.LookasideStats;
import dev.exalloc.Pool;
import dev.exalloc.PoolTagStats;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The main job: a short workload through the Java API. Several threads share lookaside lists of three sizes,
 * each holding a random set of live blocks (a message-buffer pattern), and also take variable-sized tagged blocks
 * straight from the pool; then every list's statistics are printed as the debugger's {@code !lookaside} would,
 * the pool's tags as PoolMon would, and a quick single-thread speed line, measured after a warm-up, compares an
 * allocate+free pair (checked Lookaside, LookasideLocal, checked Pool) with
 * Arena.ofConfined and with malloc/free through FFM in the same run. The real measurements are the JMH benchmarks
 * in this module.
 */
public final class Demo {

    private Demo() {
    }

    public static void main(String[] args) throws Throwable {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
        System.out.printf("exalloc %s (ABI %d, cache line %d B, %s thread-cache fences) on Java %s, library %s%n",
                Exalloc.version(), Exalloc.abiVersion(), Exalloc.cacheLineSize(),
                Exalloc.asymmetricFences() ? "asymmetric" : "symmetric", Runtime.version(), Exalloc.libraryPath());

        long[] sizes = {64, 256, 4096};
        String[] tags = {"Msg1", "Msg2", "Page"};
        List<Lookaside> lists = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            lists.add(Lookaside.builder(sizes[i]).tag(Tag.of(tags[i]))
                    .poolType(i == 1 ? PoolType.PAGED : PoolType.NON_PAGED_NX).initialDepth(64).build());
        }
        try {
            long t0 = System.nanoTime();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<Long>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = 42 + t;
                done.add(pool.submit(() -> work(lists, iterations, seed)));
            }
            long ops = 0;
            for (Future<Long> f : done) {
                ops += f.get();
            }
            pool.shutdown();
            long elapsed = System.nanoTime() - t0;
            System.out.printf("%d threads did %,d allocate/free operations in %.1f ms%n", threads, ops, elapsed / 1e6);
            System.out.println("Lookaside lists (exact counts, all threads):");
            for (Lookaside l : lists) {
                LookasideStats s = l.stats();
                System.out.println("  " + s);
            }
            System.out.println("Pool tags (PoolMon: Tag Type Allocs Frees Diff Bytes PerAlloc), demo tags:");
            for (PoolTagStats row : Pool.tags()) {
                String t = row.tag().toString();
                if (t.startsWith("Msg") || t.equals("Page") || t.startsWith("Dem")) {
                    System.out.println("  " + row);
                }
            }
            speedLine(lists.get(1));
        } finally {
            lists.forEach(Lookaside::close);
        }
    }

    private static final Tag[] POOL_TAGS = {Tag.of("DemS"), Tag.of("DemM"), Tag.of("DemL")};

    private static long work(List<Lookaside> lists, int iterations, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment[][] live = new MemorySegment[lists.size()][24];
        long ops = 0;
        for (int i = 0; i < iterations; i++) {
            int l = rnd.nextInt(lists.size());
            int k = rnd.nextInt(live[l].length);
            if ((i & 7) == 0) {
                // variable-sized records straight from the pool, tagged per size class
                long size = 16 + rnd.nextInt(2000);
                MemorySegment r = Pool.allocate(PoolType.PAGED, size, POOL_TAGS[(int) (size / 700)]);
                r.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
                Pool.free(r);
                ops++;
            }
            if (live[l][k] == null) {
                MemorySegment b = lists.get(l).allocate();
                b.set(ValueLayout.JAVA_LONG, 8, i);
                live[l][k] = b;
            } else {
                lists.get(l).free(live[l][k]);
                live[l][k] = null;
            }
            ops++;
        }
        for (int l = 0; l < live.length; l++) {
            for (MemorySegment b : live[l]) {
                if (b != null) {
                    lists.get(l).free(b);
                    ops++;
                }
            }
        }
        return ops;
    }

    /**
     * A quick, single-thread comparison: every peer is warmed up first (several rounds each, so that the JIT has
     * compiled every path), then measured in interleaved rounds (so that a burst of load on the machine hits every
     * peer alike), and each peer's median round is printed. JMH gives the real numbers.
     */
    @SuppressWarnings("restricted") // downcalls to libc malloc/free, the peer in the speed line
    private static void speedLine(Lookaside list) throws Throwable {
        int n = 200_000;
        long size = list.blockSize();
        Linker linker = Linker.nativeLinker();
        MethodHandle malloc = linker.downcallHandle(linker.defaultLookup().findOrThrow("malloc"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle free = linker.downcallHandle(linker.defaultLookup().findOrThrow("free"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        Tag tag = list.tag();
        try (Lookaside fast = Lookaside.builder(size).tag(tag).unchecked().build();
                LookasideLocal cache = fast.local()) {
            Runnable[] peers = {
                () -> {
                    for (int i = 0; i < n; i++) {
                        list.free(list.allocate());
                    }
                },
                () -> {
                    for (int i = 0; i < n; i++) {
                        cache.freeAddress(cache.allocateAddress());
                    }
                },
                () -> {
                    for (int i = 0; i < n; i++) {
                        Pool.free(Pool.allocate(PoolType.NON_PAGED_NX, size, tag));
                    }
                },
                () -> {
                    for (int i = 0; i < n; i++) {
                        try (Arena a = Arena.ofConfined()) {
                            a.allocate(size, 16);
                        }
                    }
                },
                () -> {
                    for (int i = 0; i < n; i++) {
                        try {
                            free.invokeExact((MemorySegment) malloc.invokeExact(size));
                        } catch (Throwable e) {
                            throw new IllegalStateException(e);
                        }
                    }
                },
            };
            double[] ns = medians(peers, n);
            System.out.printf("Speed after warm-up (%d warm-up rounds of %,d pairs per peer, then the median of %d "
                    + "interleaved rounds), %d-byte allocate+free pair, one thread: Lookaside (checked, scoped "
                    + "segments) %.1f ns; LookasideLocal (unchecked, by address) %.1f ns; Pool (checked, confined "
                    + "segments) %.1f ns; Arena.ofConfined %.1f ns (Lookaside/Arena %.2f, Pool/Arena %.2f); malloc/free "
                    + "via FFM %.1f ns%n", WARMUP_ROUNDS, n, ROUNDS, size, ns[0], ns[1], ns[2], ns[3], ns[0] / ns[3],
                    ns[2] / ns[3], ns[4]);
        }
    }

    private static final int WARMUP_ROUNDS = 5;
    private static final int ROUNDS = 5;

    private static double[] medians(Runnable[] peers, int n) {
        for (int w = 0; w < WARMUP_ROUNDS; w++) {
            for (Runnable p : peers) {
                p.run();
            }
        }
        double[][] r = new double[peers.length][ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            for (int k = 0; k < peers.length; k++) {
                long t = System.nanoTime();
                peers[k].run();
                r[k][round] = (System.nanoTime() - t) / (double) n;
            }
        }
        double[] med = new double[peers.length];
        for (int k = 0; k < peers.length; k++) {
            java.util.Arrays.sort(r[k]);
            med[k] = r[k][ROUNDS / 2];
        }
        return med;
    }
}
