package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * PoolMon rows read from Java while several threads allocate and free under one tag (each
 * thread counts in slots of its own; a snapshot sums them): the rows never go back, count every
 * completed free, and are exact once the threads are done (docs/pool.md#tag-counts).
 */
class PoolTagCountsConcurrencyTest {

    private static final Tag TAG = Tag.of("JcC1");
    private static final int THREADS = 4;
    private static final int PAIRS = 20_000;

    @Test
    void rowsAreMonotonicMeanwhileAndExactAfterTheJoins() throws Exception {
        PoolTagStats before = Pool.tag(TAG, PoolKind.NON_PAGED);
        AtomicLong freesDone = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int seed = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                for (int i = 0; i < PAIRS; i++) {
                    long size = 16 + (i * 37L + seed * 101L) % 1009;
                    long a = Pool.allocateAddress(PoolType.NON_PAGED_NX, size, TAG);
                    if (a == 0) throw new AssertionError("allocation failed");
                    Pool.freeAddress(a, TAG);
                    freesDone.incrementAndGet();
                }
            });
            th.start();
            threads.add(th);
        }
        start.await();
        long lastAllocs = before.allocs(), lastFrees = before.frees();
        int snapshots = 0;
        while (freesDone.get() < (long) THREADS * PAIRS && snapshots < 500) {
            long done = freesDone.get();
            PoolTagStats now = Pool.tag(TAG, PoolKind.NON_PAGED);
            assertTrue(now.allocs() >= lastAllocs && now.frees() >= lastFrees, "a count went back: " + now);
            assertTrue(now.frees() - before.frees() >= done, "a completed free is missing: " + now + " done " + done);
            assertTrue(now.allocs() - before.allocs() <= (long) THREADS * PAIRS, "more allocations than made: " + now);
            lastAllocs = now.allocs();
            lastFrees = now.frees();
            snapshots++;
        }
        for (Thread th : threads) th.join();
        PoolTagStats after = Pool.tag(TAG, PoolKind.NON_PAGED);
        assertEquals((long) THREADS * PAIRS, after.allocs() - before.allocs());
        assertEquals((long) THREADS * PAIRS, after.frees() - before.frees());
        assertEquals(before.bytes(), after.bytes());
        assertTrue(after.allocs() >= lastAllocs && after.frees() >= lastFrees);
    }
}
