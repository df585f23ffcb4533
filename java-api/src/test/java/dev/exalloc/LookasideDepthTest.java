package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Depth adjustment (docs/lookaside.md#depth) from Java: the deterministic pass and the balance-set thread. */
@Isolated // adjusts every live list's depth and runs the balance-set thread
class LookasideDepthTest {

    private static void burst(Lookaside list, int n) {
        List<MemorySegment> held = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            held.add(list.allocate());
        }
        for (MemorySegment b : held) {
            list.free(b);
        }
    }

    @Test
    void missesRaiseDepthIdleLowersItAndTrimsTheSurplus() {
        try (LookasideTest.Counting c = new LookasideTest.Counting();
                Lookaside list = Lookaside.builder(64).tag(Tag.of("DpT1")).allocator(c).releaser(c).build()) {
            BalanceSet.adjustDepths(); // a clean period start for this list
            assertEquals(4, list.stats().depth());
            for (int round = 0; round < 4; round++) {
                burst(list, 64); // 64 live at once: with Depth below 64 most allocations miss
                BalanceSet.adjustDepths();
            }
            int grown = list.stats().depth();
            assertTrue(grown > 16, "Depth after four missing periods: " + grown);
            assertTrue(grown <= 256);
            burst(list, 64);
            LookasideStats busy = list.stats();
            assertTrue(busy.currentDepth() > 4, busy.toString());
            int freesBefore = c.frees.get();
            for (int i = 0; i < 40; i++) {
                BalanceSet.adjustDepths(); // idle periods: -8 each, down to the initial depth
            }
            LookasideStats idle = list.stats();
            assertEquals(4, idle.depth());
            assertTrue(idle.currentDepth() <= 4, idle.toString());
            assertEquals(busy.currentDepth() - idle.currentDepth(), c.frees.get() - freesBefore); // trimmed back
        }
    }

    @Test
    void aFixedDepthDoesNotMove() {
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("DpT2")).build()) {
            list.fixDepth(true);
            burst(list, 64);
            BalanceSet.adjustDepths();
            burst(list, 64);
            BalanceSet.adjustDepths();
            assertEquals(4, list.stats().depth());
        }
    }

    @Test
    void balanceSetThreadStartsAdjustsAndStops() throws Exception {
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("DpT3")).build()) {
            BalanceSet.start(Duration.ofMillis(20));
            try {
                assertTrue(BalanceSet.isRunning());
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (list.stats().depth() <= 4 && System.nanoTime() < deadline) {
                    burst(list, 64);
                    Thread.sleep(5);
                }
                assertTrue(list.stats().depth() > 4, "the balance-set thread raised Depth: " + list.stats());
            } finally {
                BalanceSet.stop();
            }
            assertFalse(BalanceSet.isRunning());
            BalanceSet.stop(); // idempotent
        }
    }
}
