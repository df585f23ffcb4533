package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Several threads on one list. Invariants: no block is handed to two owners at once (each live block carries
 * its owner's stamp), the cache never exceeds Depth (a monitor samples stats while the workers run), and at the
 * end the list's counters equal the workers' own counts exactly and every block the allocator produced came back
 * through the releaser.
 */
class LookasideConcurrencyTest {

    private static final int THREADS = 4;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void fourThreadsRandomWalkWithMonitorAndFlushes() throws Exception {
        try (LookasideTest.Counting c = new LookasideTest.Counting();
                Lookaside list = Lookaside.builder(64).tag(Tag.of("Conc")).maximumDepth(512).initialDepth(64)
                        .allocator(c).releaser(c).build()) {
            AtomicBoolean stop = new AtomicBoolean();
            List<Long> violations = new ArrayList<>();
            long[] flushed = {0};
            Thread monitor = Thread.ofPlatform().start(() -> {
                int round = 0;
                while (!stop.get()) {
                    LookasideStats s = list.stats();
                    if (s.currentDepth() > s.depth()) {
                        synchronized (violations) {
                            violations.add((long) s.currentDepth());
                        }
                    }
                    if (++round % 8 == 0) {
                        flushed[0] += list.flush();
                    }
                    Thread.onSpinWait();
                }
            });
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<Future<long[]>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long seed = 1000 + t;
                long me = t + 1;
                results.add(pool.submit((Callable<long[]>) () -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    MemorySegment[] live = new MemorySegment[32];
                    long allocs = 0, frees = 0;
                    for (int i = 0; i < 100_000; i++) {
                        int k = rnd.nextInt(live.length);
                        if (live[k] == null) {
                            MemorySegment b = list.allocate();
                            allocs++;
                            if (b.get(ValueLayout.JAVA_LONG, 8) == 0xA110CL) {
                                throw new AssertionError("block handed out while owned");
                            }
                            b.set(ValueLayout.JAVA_LONG, 8, 0xA110CL);
                            b.set(ValueLayout.JAVA_LONG, 16, me);
                            live[k] = b;
                        } else {
                            MemorySegment b = live[k];
                            if (b.get(ValueLayout.JAVA_LONG, 16) != me || b.get(ValueLayout.JAVA_LONG, 8) != 0xA110CL) {
                                throw new AssertionError("block changed owner while held");
                            }
                            b.set(ValueLayout.JAVA_LONG, 8, 0xF4EEL);
                            list.free(b);
                            frees++;
                            live[k] = null;
                        }
                    }
                    for (MemorySegment b : live) {
                        if (b != null) {
                            b.set(ValueLayout.JAVA_LONG, 8, 0xF4EEL);
                            list.free(b);
                            frees++;
                        }
                    }
                    return new long[] {allocs, frees};
                }));
            }
            long allocs = 0, frees = 0;
            for (Future<long[]> f : results) {
                long[] r = f.get();
                allocs += r[0];
                frees += r[1];
            }
            pool.shutdown();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
            stop.set(true);
            monitor.join();
            assertEquals(List.of(), violations);
            LookasideStats s = list.stats();
            assertEquals(allocs, s.totalAllocates());
            assertEquals(frees, s.totalFrees());
            assertEquals(allocs, frees);
            assertEquals(c.allocs.get(), s.allocateMisses());
            assertEquals(0, list.outstandingBlocks());
            // Pool threads have ended; their native exit hooks return their caches (poll: the hook may run a
            // moment after awaitTermination returns).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (list.stats().threadCaches() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, list.stats().threadCaches(), "pool threads ended: their caches went back");
            long last = list.flush();
            assertEquals(c.allocs.get(), c.frees.get(), "every block came back: misses " + s.freeMisses()
                    + " + flushed " + flushed[0] + " + " + last);
            assertEquals(s.freeMisses() + flushed[0] + last, c.frees.get());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void oneThreadAllocatesAnotherFrees() throws Exception {
        try (Lookaside list = Lookaside.builder(128).initialDepth(128).sharedSegments().build()) {
            BlockingQueue<MemorySegment> q = new ArrayBlockingQueue<>(64);
            int n = 50_000;
            Thread producer = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < n; i++) {
                        MemorySegment b = list.allocate();
                        b.set(ValueLayout.JAVA_INT, 8, i);
                        q.put(b);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            for (int i = 0; i < n; i++) {
                MemorySegment b = q.take();
                assertEquals(i, b.get(ValueLayout.JAVA_INT, 8));
                list.free(b);
            }
            producer.join();
            LookasideStats s = list.stats();
            assertEquals(n, s.totalAllocates());
            assertEquals(n, s.totalFrees());
            assertTrue(s.currentDepth() <= 128);
            assertTrue(s.allocateMisses() < n / 2, "blocks flow back to the producer: " + s);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentDoubleFreesAreRefusedExactlyOnce() throws Exception {
        try (Lookaside list = Lookaside.builder(32).build()) {
            for (int round = 0; round < 200; round++) {
                MemorySegment b = list.allocate();
                int[] refused = new int[1];
                Thread[] ts = new Thread[2];
                for (int t = 0; t < 2; t++) {
                    ts[t] = Thread.ofPlatform().start(() -> {
                        try {
                            list.free(b);
                        } catch (InvalidBlockException e) {
                            synchronized (refused) {
                                refused[0]++;
                            }
                        }
                    });
                }
                for (Thread t : ts) {
                    t.join();
                }
                assertEquals(1, refused[0]);
            }
            assertEquals(200, list.stats().totalFrees());
        }
    }

    /*
     * Scoped mode: a block freed on another thread while its allocating thread lives is parked for that thread; when
     * it ends without calling the list again, the block must still come back (counted in TotalFrees, cached or
     * released), and at once for the counters: stats() is exact.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void blocksParkedForAThreadThatEndsComeBack() throws Exception {
        Tag tag = Tag.of("Orp1");
        int n = 100;
        try (Lookaside list = Lookaside.builder(64).tag(tag).build()) {
            BlockingQueue<MemorySegment> handed = new LinkedBlockingQueue<>();
            CountDownLatch freed = new CountDownLatch(1);
            Thread owner = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < n; i++) {
                    handed.add(list.allocate());
                }
                try {
                    freed.await(); // alive while the frees happen, then ends with no further call on the list
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            for (int i = 0; i < n; i++) {
                list.free(handed.take());
            }
            freed.countDown();
            owner.join();
            assertAllBack(list, tag, n);
        }
    }

    /*
     * The same under load: short-lived producer threads allocate and end at once, long-lived consumers free their
     * blocks (some while the producer lives, some after it ended, some racing with its end). At the end every
     * counter is exact and every block is back.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void crossThreadFreesWithEndingOwnersStayExact() throws Exception {
        Tag tag = Tag.of("Orp2");
        int rounds = 40;
        int perProducer = 500;
        try (Lookaside list = Lookaside.builder(96).tag(tag).build()) {
            BlockingQueue<MemorySegment> handed = new LinkedBlockingQueue<>();
            MemorySegment stop = MemorySegment.ofArray(new byte[1]);
            Thread[] consumers = new Thread[THREADS];
            long[] frees = new long[THREADS];
            for (int t = 0; t < THREADS; t++) {
                int me = t;
                consumers[t] = Thread.ofPlatform().start(() -> {
                    try {
                        for (MemorySegment b; (b = handed.take()) != stop;) {
                            list.free(b);
                            frees[me]++;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
            for (int r = 0; r < rounds; r++) {
                Thread[] producers = new Thread[THREADS];
                for (int t = 0; t < THREADS; t++) {
                    producers[t] = Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < perProducer; i++) {
                            handed.add(list.allocate());
                        }
                    });
                }
                for (Thread p : producers) {
                    p.join();
                }
            }
            for (int t = 0; t < THREADS; t++) {
                handed.add(stop);
            }
            for (Thread c : consumers) {
                c.join();
            }
            long total = (long) rounds * THREADS * perProducer;
            long sum = 0;
            for (long f : frees) {
                sum += f;
            }
            assertEquals(total, sum);
            assertAllBack(list, tag, total);
        }
    }

    private static void assertAllBack(Lookaside list, Tag tag, long n) {
        // A thread that has ended hands its native cache back in its exit hook, which may still run when join()
        // has returned; the counts are exact once every thread is between operations: wait for those hooks (the
        // calling thread may keep a cache of its own).
        LookasideStats s = list.stats();
        for (long deadline = System.nanoTime() + 10_000_000_000L; s.threadCaches() > 1
                && System.nanoTime() < deadline; s = list.stats()) {
            Thread.onSpinWait();
        }
        assertEquals(n, s.totalAllocates(), s.toString());
        assertEquals(n, s.totalFrees(), "every free is counted: " + s);
        assertEquals(0, list.outstandingBlocks());
        assertTrue(s.currentDepth() <= s.depth(), s.toString());
        list.flush();
        assertEquals(0, list.stats().currentDepth());
        assertEquals(0, Pool.tag(tag, PoolKind.NON_PAGED).diff(), "every block went back to the pool");
    }
}
