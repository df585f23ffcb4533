package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** LookasideLocal (the Java-side per-thread cache) and checked mode's scoped segments. */
class LookasideLocalTest {

    @Test
    void localIsLifoAndRefillsAndDrainsInBatches() {
        try (LookasideTest.Counting c = new LookasideTest.Counting();
                Lookaside list = Lookaside.builder(64).allocator(c).releaser(c).initialDepth(256).unchecked().build();
                LookasideLocal local = list.local()) {
            long a = local.allocateAddress();
            long b = local.allocateAddress();
            assertEquals(2, c.allocs.get()); // both missed: nothing was cached
            local.freeAddress(a);
            local.freeAddress(b);
            assertEquals(2, local.cached());
            assertEquals(b, local.allocateAddress()); // LIFO
            assertEquals(a, local.allocateAddress());
            // Fill beyond the Local's capacity: the older half moves to the list in one call, nothing is freed
            long[] blocks = new long[LookasideLocal.CAPACITY + 1];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = local.allocateAddress();
            }
            for (long x : blocks) {
                local.freeAddress(x);
            }
            assertEquals(LookasideLocal.CAPACITY / 2 + 1, local.cached());
            LookasideStats s = list.stats();
            assertEquals(LookasideLocal.CAPACITY / 2, s.currentDepth()); // the drained half, cached by the list
            assertEquals(0, s.freeMisses());
            assertEquals(0, c.frees.get());
            // Empty the Local: the next allocation refills from the list, newest first
            int cached = local.cached();
            for (int i = 0; i < cached; i++) {
                local.allocateAddress();
            }
            assertEquals(blocks[LookasideLocal.CAPACITY / 2 - 1], local.allocateAddress());
            assertEquals(LookasideLocal.CAPACITY / 2 - 1, local.cached());
            assertEquals(0, list.stats().currentDepth());
            assertEquals(blocks.length + 2, c.allocs.get()); // no miss since the first allocations
        }
    }

    @Test
    void closingALocalGivesItsBlocksBackWithinDepth() {
        try (LookasideTest.Counting c = new LookasideTest.Counting();
                Lookaside list = Lookaside.builder(32).allocator(c).releaser(c).unchecked().build()) {
            LookasideLocal local = list.local();
            long[] x = new long[10];
            for (int i = 0; i < x.length; i++) {
                x[i] = local.allocateAddress();
            }
            for (long v : x) {
                local.freeAddress(v);
            }
            assertEquals(0, list.stats().totalFrees()); // all still in the Local
            local.close();
            local.close(); // idempotent
            LookasideStats s = list.stats();
            assertEquals(4, s.currentDepth()); // Depth 4: the list keeps four
            assertEquals(10, s.totalFrees());
            assertEquals(6, s.freeMisses());
            assertEquals(6, c.frees.get());
            assertThrows(IllegalStateException.class, local::allocateAddress);
        }
    }

    @Test
    void localIsConfinedToItsThread() throws Exception {
        try (Lookaside list = Lookaside.builder(32).build(); LookasideLocal local = list.local()) {
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    local.allocateAddress();
                } catch (Throwable e) {
                    seen.set(e);
                }
            });
            t.join();
            assertTrue(seen.get() instanceof WrongThreadException, String.valueOf(seen.get()));
        }
    }

    @Test
    void checkedLocalRefusesMisuseAndLosesNothing() {
        try (Lookaside list = Lookaside.builder(64).build(); LookasideLocal local = list.local()) {
            long a = local.allocateAddress();
            local.freeAddress(a);
            InvalidBlockException twice = assertThrows(InvalidBlockException.class, () -> local.freeAddress(a));
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, twice.reason());
            assertThrows(InvalidBlockException.class, () -> local.freeAddress(0x1000));
            MemorySegment s = local.allocate();
            assertEquals(64, s.byteSize());
            // a scoped segment goes back as a segment, not by address
            assertThrows(InvalidBlockException.class, () -> local.freeAddress(s.address()));
            assertEquals(InvalidBlockException.Reason.FOREIGN,
                    assertThrows(InvalidBlockException.class, () -> local.free(MemorySegment.ofArray(new byte[64])))
                            .reason());
            assertEquals(1, list.outstandingBlocks());
            local.free(s);
            assertEquals(0, list.outstandingBlocks());
            assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0)); // scope ended
        }
    }

    @Test
    @SuppressWarnings("restricted") // reinterpret: a second view of a live block, to be refused
    void scopedSegmentsCatchUseAfterFreeAndDoubleFree() {
        try (Lookaside list = Lookaside.builder(128).build()) {
            MemorySegment b = list.allocate();
            b.set(ValueLayout.JAVA_LONG, 8, 42L);
            list.free(b);
            // quarantined: refused as freed at once, never handed out again while its segment lives
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> list.free(b)).reason());
            assertEquals(0, list.endQuarantine()); // its epoch ends: the segment dies
            IllegalStateException uaf = assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_LONG, 8));
            assertTrue(uaf.getMessage() != null);
            assertThrows(IllegalStateException.class, () -> b.set(ValueLayout.JAVA_LONG, 8, 1L));
            InvalidBlockException twice = assertThrows(InvalidBlockException.class, () -> list.free(b));
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, twice.reason());
            assertTrue(twice.getMessage().contains("scope has ended"), twice.getMessage());
            // the same block again (LIFO): a new segment, alive, while the old one stays dead
            MemorySegment again = list.allocate();
            assertEquals(b.address(), again.address());
            again.set(ValueLayout.JAVA_LONG, 8, 7L);
            assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_LONG, 8));
            // a view of a live block that the list did not hand out is refused
            MemorySegment copy = MemorySegment.ofAddress(again.address()).reinterpret(128);
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> list.free(copy)).reason());
            assertEquals(7L, again.get(ValueLayout.JAVA_LONG, 8));
            list.free(again);
            assertEquals(0, list.outstandingBlocks());
        }
    }

    @Test
    void scopedSegmentsAreConfinedAndCrossThreadFreesAreDeferredToTheAllocator() throws Exception {
        try (Lookaside list = Lookaside.builder(64).build()) {
            MemorySegment b = list.allocate();
            b.set(ValueLayout.JAVA_INT, 0, 5);
            AtomicReference<Throwable> access = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    b.get(ValueLayout.JAVA_INT, 0);
                } catch (Throwable e) {
                    access.set(e);
                }
                list.free(b); // allowed on any thread: deferred to the allocating one
            });
            t.join();
            assertTrue(access.get() instanceof WrongThreadException, String.valueOf(access.get()));
            assertEquals(0, list.outstandingBlocks());
            assertEquals(5, b.get(ValueLayout.JAVA_INT, 0)); // still ours until our next call takes it back
            LookasideStats s = list.stats(); // our next call: the block goes back, its scope ends
            assertEquals(1, s.totalFrees());
            assertEquals(1, s.currentDepth());
            assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_INT, 0));
        }
    }

    /**
     * A free on another thread is checked against the allocating thread's own table at once: a second free there, a
     * copy of the segment made with reinterpret, and the owner's own free of a block freed elsewhere are all refused,
     * and the block goes back exactly once.
     */
    @Test
    @SuppressWarnings("restricted") // reinterpret: a copy of a live block, to be refused
    void crossThreadMisuseIsRefusedAtOnce() throws Exception {
        try (Lookaside list = Lookaside.builder(64).build()) {
            MemorySegment b = list.allocate();
            MemorySegment c = list.allocate();
            AtomicReference<Throwable> second = new AtomicReference<>();
            AtomicReference<Throwable> copy = new AtomicReference<>();
            AtomicReference<Throwable> first = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try (Arena own = Arena.ofConfined()) {
                    try {
                        list.free(MemorySegment.ofAddress(c.address()).reinterpret(64, own, null));
                    } catch (Throwable e) {
                        copy.set(e);
                    }
                }
                try {
                    list.free(b);
                } catch (Throwable e) {
                    first.set(e);
                }
                try {
                    list.free(b);
                } catch (Throwable e) {
                    second.set(e);
                }
            });
            t.join();
            assertEquals(null, first.get());
            assertTrue(second.get() instanceof InvalidBlockException e
                    && e.reason() == InvalidBlockException.Reason.NOT_OUTSTANDING, String.valueOf(second.get()));
            assertTrue(copy.get() instanceof InvalidBlockException e
                    && e.reason() == InvalidBlockException.Reason.NOT_OUTSTANDING, String.valueOf(copy.get()));
            // the owner's own free of b: its free elsewhere is taken back first, so this one is a second free
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> list.free(b)).reason());
            assertEquals(1, list.outstandingBlocks()); // c, untouched by the refused copy
            c.set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
            list.free(c);
            LookasideStats s = list.stats(); // b and c were the epoch's blocks: it ends, their segments die
            assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(2, s.totalFrees(), "b and c went back once each");
            assertEquals(0, list.outstandingBlocks());
        }
    }

    @Test
    void blocksFromAnEndedThreadAreFreedAtOnce() throws Exception {
        try (Lookaside list = Lookaside.builder(64).build()) {
            BlockingQueue<MemorySegment> q = new ArrayBlockingQueue<>(1);
            Thread t = Thread.ofPlatform().start(() -> q.add(list.allocate()));
            t.join();
            MemorySegment b = q.take();
            list.free(b); // the allocating thread has ended: nobody can reach the segment, so it goes back now
            assertEquals(1, list.stats().totalFrees());
            assertEquals(0, list.outstandingBlocks());
        }
    }

    @Test
    void sharedSegmentsCrossThreadsAndStillRefuseDoubleFrees() throws Exception {
        try (Lookaside list = Lookaside.builder(64).sharedSegments().build()) {
            MemorySegment b = list.allocate();
            Thread t = Thread.ofPlatform().start(() -> b.set(ValueLayout.JAVA_INT, 0, 9));
            t.join();
            assertEquals(9, b.get(ValueLayout.JAVA_INT, 0));
            list.free(b);
            assertThrows(InvalidBlockException.class, () -> list.free(b));
        }
    }

    @Test
    void localAfterListCloseHandsBlocksToTheReleaser() {
        LookasideTest.Counting c = new LookasideTest.Counting();
        Lookaside list = Lookaside.builder(64).allocator(c).releaser(c).build();
        LookasideLocal local = list.local();
        long a = local.allocateAddress();
        long b = local.allocateAddress();
        local.freeAddress(b);
        list.close();
        assertThrows(LookasideClosedException.class, local::allocateAddress);
        local.freeAddress(a); // outstanding at the close: the Local takes it, and hands it on at its close
        assertEquals(0, c.frees.get());
        local.close(); // the list is gone: both go to the releaser (NT: ExFreePool)
        assertEquals(2, c.frees.get());
        assertEquals(0, local.cached());
        c.close();
    }

    /** The calling thread's allocated bytes (com.sun.management.ThreadMXBean, reached reflectively: the tests
     * compile inside module dev.exalloc, which does not read java.management). */
    private static long allocatedBytes() throws ReflectiveOperationException {
        Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                .invoke(bean);
    }

    @Test
    void uncheckedAddressPairAllocatesNothingOnTheHeap() throws ReflectiveOperationException {
        try (Lookaside list = Lookaside.builder(256).unchecked().build(); LookasideLocal local = list.local()) {
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < 200_000; i++) { // warm up (JIT)
                long a = local.allocateAddress();
                if (i < 4) {
                    seen.add(a);
                }
                local.freeAddress(a);
            }
            long before = allocatedBytes();
            long sum = 0;
            for (int i = 0; i < 1_000_000; i++) {
                long a = local.allocateAddress();
                sum += a & 0xF;
                local.freeAddress(a);
            }
            long allocated = allocatedBytes() - before;
            assertEquals(0, sum); // 16-byte aligned
            // one 16-byte object per pair would be 16 MB; the reflective probe itself allocates about a KiB
            assertTrue(allocated < 64 * 1024, "1,000,000 pairs allocated " + allocated + " bytes");
            assertEquals(1, seen.size());
            assertNotEquals(0L, seen.iterator().next());
        }
    }
}
