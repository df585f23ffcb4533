package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every fixed-size allocator of the API owes its caller, run against each flavour (see
 * {@link AllocatorContractTest}): blocks of the right size that do not overlap, and, where the flavour checks, misuse
 * refused with a typed exception and the allocator left intact. A flavour that by design cannot see some misuse
 * says so ({@link Flavour#cannotDetect}) and the case is skipped with that reason, never passed without a check.
 */
abstract class AllocatorContract {

    /** One allocator under test, as the contract sees it. */
    interface Flavour {
        /** A block of {@link #blockSize()} bytes. */
        MemorySegment allocate();

        void free(MemorySegment block);

        long blockSize();

        /** Blocks handed out and not taken back, or -1 when the flavour does not count them. */
        long outstanding();

        /** The allocator as the calling thread uses it (the same one, or a per-thread view such as a Local). */
        Flavour forThisThread();

        /** Ends a {@link #forThisThread()} view (nothing for the same allocator). */
        void releaseThread();

        /** Closes the allocator; blocks still out follow {@link #afterClose}. Idempotent. */
        void close();

        /**
         * Why the flavour cannot detect {@code misuse} by design, or null when it does.
         *
         * @param misuse one of DOUBLE_FREE, FOREIGN, WRONG_SIZE, USE_AFTER_FREE, CLOSE, THREADS
         */
        String cannotDetect(String misuse);

        /**
         * Ends the quarantine of the calling thread's freed blocks where the flavour keeps one (their segments die
         * then); nothing where a free ends its segment at once.
         */
        default void endQuarantine() {
        }

        /** The throwable a double free raises. */
        Class<? extends Throwable> doubleFree();

        /** The throwable a free of native memory the allocator never handed out raises. */
        Class<? extends Throwable> foreignNative();

        /** The throwable an allocate after {@link #close()} raises. */
        Class<? extends Throwable> allocateAfterClose();

        /**
         * What happens to a block still out at the close, per the flavour's documentation: asserts it and gives the
         * block back where the flavour says it goes. {@code pattern} was written at offset 0 before the close.
         */
        void afterClose(MemorySegment block, long pattern);
    }

    protected abstract Flavour open();

    protected Flavour flavour;

    @BeforeEach
    void openFlavour() {
        flavour = open();
    }

    @AfterEach
    void closeFlavour() {
        flavour.close();
    }

    private void skipUnlessDetects(String misuse) {
        String why = flavour.cannotDetect(misuse);
        assumeTrue(why == null, why);
    }

    private void assertOutstanding(long expected) {
        long n = flavour.outstanding();
        if (n >= 0) {
            assertEquals(expected, n, "blocks outstanding");
        }
    }

    @Test
    void allocateGivesDistinctUsableBlocksAndFreeTakesThemBack() {
        long size = flavour.blockSize();
        List<MemorySegment> blocks = new ArrayList<>();
        Set<Long> addresses = new HashSet<>();
        for (int i = 0; i < 32; i++) {
            MemorySegment b = flavour.allocate();
            assertEquals(size, b.byteSize());
            assertTrue(b.isNative());
            assertTrue(addresses.add(b.address()), "handed out twice: " + b);
            b.fill((byte) i);
            blocks.add(b);
        }
        for (MemorySegment a : blocks) { // no two overlap
            for (MemorySegment b : blocks) {
                assertTrue(a == b || a.address() + size <= b.address() || b.address() + size <= a.address());
            }
        }
        assertOutstanding(32);
        for (int i = 0; i < blocks.size(); i++) { // each kept what was written to it
            MemorySegment b = blocks.get(i);
            assertEquals((byte) i, b.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals((byte) i, b.get(ValueLayout.JAVA_BYTE, size - 1));
            flavour.free(b);
        }
        assertOutstanding(0);
        MemorySegment again = flavour.allocate(); // freed blocks are handed out again
        assertEquals(size, again.byteSize());
        flavour.free(again);
        assertOutstanding(0);
    }

    @Test
    void doubleFreeIsRefusedAndChangesNothing() {
        skipUnlessDetects("DOUBLE_FREE");
        MemorySegment keep = flavour.allocate();
        MemorySegment b = flavour.allocate();
        flavour.free(b);
        Throwable t = assertThrows(flavour.doubleFree(), () -> flavour.free(b));
        if (t instanceof InvalidBlockException e) {
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, e.reason());
        }
        assertOutstanding(1);
        keep.set(ValueLayout.JAVA_BYTE, 0, (byte) 7); // the other block is untouched and still the caller's
        flavour.free(keep);
        assertOutstanding(0);
        MemorySegment c = flavour.allocate();
        MemorySegment d = flavour.allocate();
        assertNotEquals(c.address(), d.address()); // the refused free did not put the block in twice
        flavour.free(c);
        flavour.free(d);
    }

    @Test
    void foreignBlocksAreRefused() {
        skipUnlessDetects("FOREIGN");
        MemorySegment mine = flavour.allocate();
        long size = flavour.blockSize();
        InvalidBlockException heap = assertThrows(InvalidBlockException.class,
                () -> flavour.free(MemorySegment.ofArray(new byte[(int) size])));
        assertEquals(InvalidBlockException.Reason.FOREIGN, heap.reason());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stranger = arena.allocate(size, 16);
            assertThrows(flavour.foreignNative(), () -> flavour.free(stranger));
        }
        assertOutstanding(1);
        flavour.free(mine);
        assertOutstanding(0);
    }

    @Test
    void aSegmentOfTheWrongSizeIsRefused() {
        skipUnlessDetects("WRONG_SIZE");
        MemorySegment b = flavour.allocate();
        InvalidBlockException e = assertThrows(InvalidBlockException.class,
                () -> flavour.free(b.asSlice(0, flavour.blockSize() - 8)));
        assertEquals(InvalidBlockException.Reason.WRONG_SIZE, e.reason());
        assertOutstanding(1);
        flavour.free(b); // still the caller's
        assertOutstanding(0);
    }

    @Test
    void useAfterFreeThrowsInsteadOfTouchingTheBlock() {
        skipUnlessDetects("USE_AFTER_FREE");
        MemorySegment b = flavour.allocate();
        b.set(ValueLayout.JAVA_LONG, 0, 42);
        flavour.free(b);
        flavour.endQuarantine();
        assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> b.set(ValueLayout.JAVA_LONG, 0, 1));
    }

    @Test
    void aFreedBlockIsNotHandedOutAgainWhileASegmentOverItLives() {
        skipUnlessDetects("USE_AFTER_FREE");
        List<MemorySegment> freed = new ArrayList<>();
        for (int round = 0; round < 200; round++) {
            MemorySegment b = flavour.allocate();
            for (MemorySegment f : freed) {
                assertTrue(f.address() != b.address() || !f.scope().isAlive(), "block 0x"
                        + Long.toHexString(b.address()) + " handed out again while a segment over it is open");
            }
            b.set(ValueLayout.JAVA_LONG, 0, round);
            flavour.free(b);
            freed.add(b);
        }
        flavour.endQuarantine();
        for (MemorySegment f : freed) {
            assertFalse(f.scope().isAlive(), "every freed block's segment has died once its quarantine ended");
        }
    }

    @Test
    void closeWithBlocksOut() {
        skipUnlessDetects("CLOSE");
        List<MemorySegment> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            MemorySegment b = flavour.allocate();
            b.set(ValueLayout.JAVA_LONG, 0, 0x5EED_0000L + i);
            out.add(b);
        }
        flavour.close();
        assertThrows(flavour.allocateAfterClose(), flavour::allocate);
        for (int i = 0; i < out.size(); i++) {
            flavour.afterClose(out.get(i), 0x5EED_0000L + i);
        }
        assertDoesNotThrow(flavour::close); // idempotent
    }

    @Test
    void manyThreadsNeverShareABlock() throws Exception {
        skipUnlessDetects("THREADS");
        int threads = 4;
        int rounds = 20_000;
        int live = 16;
        long size = flavour.blockSize();
        Set<Long> handedOut = ConcurrentHashMap.newKeySet();
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long id = t + 1;
                results.add(pool.submit(() -> {
                    Flavour mine = flavour.forThisThread();
                    ArrayDeque<MemorySegment> held = new ArrayDeque<>();
                    start.await();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < rounds; i++) {
                        if (held.size() < live && (held.isEmpty() || random.nextBoolean())) {
                            MemorySegment b = mine.allocate();
                            if (!handedOut.add(b.address())) {
                                throw new AssertionError("a live block handed out again: " + b);
                            }
                            long stamp = id << 32 | i;
                            b.set(ValueLayout.JAVA_LONG, 0, stamp);
                            b.set(ValueLayout.JAVA_LONG, size - 8, stamp);
                            held.add(b);
                        } else {
                            MemorySegment b = random.nextBoolean() ? held.pollFirst() : held.pollLast();
                            long stamp = b.get(ValueLayout.JAVA_LONG, 0);
                            if (stamp >>> 32 != id || b.get(ValueLayout.JAVA_LONG, size - 8) != stamp) {
                                throw new AssertionError("another thread wrote into block " + b);
                            }
                            handedOut.remove(b.address());
                            mine.free(b);
                        }
                    }
                    for (MemorySegment b; (b = held.poll()) != null;) {
                        handedOut.remove(b.address());
                        mine.free(b);
                    }
                    mine.releaseThread();
                    return null;
                }));
            }
            for (Future<?> f : results) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertTrue(handedOut.isEmpty());
        assertOutstanding(0);
    }
}
