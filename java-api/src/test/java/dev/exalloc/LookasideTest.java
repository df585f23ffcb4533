package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LookasideTest {

    /** An allocator and releaser over a shared arena that count their calls. */
    static final class Counting implements Lookaside.Allocator, Lookaside.Releaser, AutoCloseable {
        final Arena arena = Arena.ofShared();
        final AtomicInteger allocs = new AtomicInteger();
        final AtomicInteger frees = new AtomicInteger();
        volatile PoolType lastType;
        volatile long lastSize;
        volatile Tag lastTag;
        volatile boolean failNext;

        @Override
        public MemorySegment allocate(PoolType poolType, long size, Tag tag) {
            lastType = poolType;
            lastSize = size;
            lastTag = tag;
            if (failNext) {
                failNext = false;
                return null;
            }
            allocs.incrementAndGet();
            return arena.allocate(size, 16);
        }

        @Override
        public void free(MemorySegment block) {
            frees.incrementAndGet();
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    @Test
    void defaultsAreNts() {
        try (Lookaside list = Lookaside.builder(100).tag(Tag.of("Test")).build()) {
            LookasideStats s = list.stats();
            assertEquals(4, s.depth());
            assertEquals(256, s.maximumDepth());
            assertEquals(100, s.size());
            assertEquals(Tag.of("Test"), s.tag());
            assertEquals(PoolType.NON_PAGED, s.poolType());
            assertEquals(0, s.totalAllocates() + s.allocateMisses() + s.totalFrees() + s.freeMisses());
            assertEquals(100, list.blockSize());
            MemorySegment b = list.allocate();
            list.free(b);
            String line = list.stats().toString();
            assertTrue(line.contains("cached 1, depth 4/256"), line); // blocks cached now, then Depth/MaximumDepth
        }
    }

    @Test
    void depthBoundLifoAndCounters() {
        try (Counting c = new Counting();
                Lookaside list = Lookaside.builder(64).tag(Tag.of("Lifo")).poolType(PoolType.PAGED).allocator(c)
                        .releaser(c).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                MemorySegment b = list.allocate();
                assertEquals(64, b.byteSize());
                assertEquals(0, b.address() % 16);
                blocks.add(b);
            }
            assertEquals(10, c.allocs.get());
            assertEquals(PoolType.PAGED, c.lastType);
            assertEquals(64, c.lastSize);
            assertEquals(Tag.of("Lifo"), c.lastTag);
            for (MemorySegment b : blocks) {
                list.free(b);
            }
            assertEquals(6, c.frees.get());
            LookasideStats s = list.stats();
            assertEquals(10, s.totalAllocates());
            assertEquals(10, s.allocateMisses());
            assertEquals(10, s.totalFrees());
            assertEquals(6, s.freeMisses());
            assertEquals(4, s.currentDepth());
            List<MemorySegment> again = new ArrayList<>();
            for (int i = 3; i >= 0; i--) {
                MemorySegment b = list.allocate();
                assertEquals(blocks.get(i).address(), b.address());
                again.add(b);
            }
            assertEquals(10, c.allocs.get());
            assertEquals(4.0 / 14, list.stats().allocateHitRate(), 1e-9);
            // the first segments over these blocks ended at their free: only the new ones are accepted
            assertThrows(IllegalStateException.class, () -> blocks.get(0).get(ValueLayout.JAVA_BYTE, 8));
            assertThrows(InvalidBlockException.class, () -> list.free(blocks.get(0)));
            for (MemorySegment b : again) {
                list.free(b);
            }
        }
    }

    @Test
    void firstWordOverwrittenRestKept() {
        try (Lookaside list = Lookaside.builder(48).build()) {
            MemorySegment b = list.allocate();
            b.fill((byte) 0xA5);
            list.free(b);
            assertEquals(0, list.endQuarantine()); // b's epoch ends: b goes back to the list, its segment dies
            MemorySegment again = list.allocate();
            assertEquals(b.address(), again.address()); // LIFO
            assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_LONG, 0));
            assertNotEquals(0xA5A5A5A5A5A5A5A5L, again.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
            byte[] rest = new byte[40];
            java.util.Arrays.fill(rest, (byte) 0xA5);
            assertArrayEquals(rest, again.asSlice(8).toArray(ValueLayout.JAVA_BYTE));
            list.free(again);
        }
    }

    @Test
    void cacheAlignedTypeAlignsToTheCacheLine() {
        try (Lookaside list = Lookaside.builder(24).poolType(PoolType.NON_PAGED_CACHE_ALIGNED).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                MemorySegment b = list.allocate();
                assertEquals(0, b.address() % Exalloc.cacheLineSize());
                blocks.add(b);
            }
            blocks.forEach(list::free);
        }
    }

    @Test
    void flushReturnsEverythingAndTheListStaysUsable() {
        try (Counting c = new Counting(); Lookaside list = Lookaside.builder(32).allocator(c).releaser(c).build()) {
            MemorySegment[] b = new MemorySegment[4];
            for (int i = 0; i < 4; i++) {
                b[i] = list.allocate();
            }
            for (MemorySegment x : b) {
                list.free(x);
            }
            assertEquals(0, c.frees.get());
            assertEquals(4, list.flush());
            assertEquals(4, c.frees.get());
            assertEquals(0, list.stats().currentDepth());
            MemorySegment x = list.allocate();
            assertEquals(5, c.allocs.get());
            list.free(x);
        }
    }

    @Test
    void allocatorReturningNullIsAMissAndAnException() {
        try (Counting c = new Counting(); Lookaside list = Lookaside.builder(32).allocator(c).releaser(c).build()) {
            c.failNext = true;
            ExallocOutOfMemoryError e = assertThrows(ExallocOutOfMemoryError.class, list::allocate);
            assertEquals(NtStatus.INSUFFICIENT_RESOURCES, e.status());
            c.failNext = true;
            assertNull(list.tryAllocate());
            LookasideStats s = list.stats();
            assertEquals(2, s.totalAllocates());
            assertEquals(2, s.allocateMisses());
        }
    }

    @Test
    void callbackExceptionsReachTheCallerAndTheJvmSurvives() {
        IllegalStateException boom = new IllegalStateException("boom");
        Lookaside.Allocator failing = (t, s, tag) -> {
            throw boom;
        };
        try (Lookaside list = Lookaside.builder(32).allocator(failing).releaser(b -> {
            throw new UnsupportedOperationException("release");
        }).build()) {
            assertSame(boom, assertThrows(IllegalStateException.class, list::allocate));
            assertEquals(1, list.stats().allocateMisses());
        }
    }

    @Test
    void allocatorMustReturnNativeMemory() {
        try (Lookaside list = Lookaside.builder(32).allocator((t, s, tag) -> MemorySegment.ofArray(new byte[32]))
                .releaser(b -> { }).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, list::allocate);
            assertTrue(e.getMessage().contains("native memory"), e.getMessage());
        }
    }

    @Test
    void misuseRaisesTypedExceptionsAndLosesNothing() {
        try (Counting c = new Counting(); Lookaside list = Lookaside.builder(64).allocator(c).releaser(c).build();
                Lookaside other = Lookaside.builder(64).build(); Arena arena = Arena.ofConfined()) {
            MemorySegment b = list.allocate();
            // double free
            list.free(b);
            InvalidBlockException twice = assertThrows(InvalidBlockException.class, () -> list.free(b));
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, twice.reason());
            // a block of another list
            MemorySegment o = other.allocate();
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> list.free(o)).reason());
            other.free(o);
            // foreign memory: native but never handed out, and heap memory
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> list.free(arena.allocate(64))).reason());
            assertEquals(InvalidBlockException.Reason.FOREIGN,
                    assertThrows(InvalidBlockException.class, () -> list.free(MemorySegment.ofArray(new byte[64])))
                            .reason());
            // wrong size
            MemorySegment mine = list.allocate();
            assertEquals(InvalidBlockException.Reason.WRONG_SIZE,
                    assertThrows(InvalidBlockException.class, () -> list.free(mine.asSlice(0, 32))).reason());
            // nothing was lost: the block is still outstanding and frees normally
            assertEquals(1, list.outstandingBlocks());
            list.free(mine);
            assertEquals(0, list.outstandingBlocks());
            LookasideStats s = list.stats();
            assertEquals(2, s.totalFrees());
        }
    }

    @Test
    void useAfterCloseIsTypedAndOutstandingBlocksGoBackDirectly() {
        Counting c = new Counting();
        Lookaside list = Lookaside.builder(64).allocator(c).releaser(c).build();
        MemorySegment held = list.allocate();
        MemorySegment cached = list.allocate();
        list.free(cached);
        list.close();
        list.close(); // idempotent
        assertTrue(list.isClosed());
        assertEquals(1, c.frees.get()); // the cached block
        assertThrows(LookasideClosedException.class, list::allocate);
        assertThrows(LookasideClosedException.class, list::stats);
        assertThrows(LookasideClosedException.class, list::flush);
        assertThrows(LookasideClosedException.class, () -> list.setDepth(8));
        list.free(held); // still outstanding: released straight to the releaser
        assertEquals(2, c.frees.get());
        assertThrows(LookasideClosedException.class, () -> list.free(held)); // now a double free after close
        c.close();
    }

    @Test
    void defaultPoolBlocksOutstandingAtCloseAreFreedToThePool() {
        Lookaside list = Lookaside.builder(128).build();
        MemorySegment held = list.allocate();
        held.fill((byte) 7);
        list.close();
        assertEquals(7, held.get(ValueLayout.JAVA_BYTE, 127));
        list.free(held);
        assertEquals(0, list.outstandingBlocks());
    }

    @Test
    void invalidDepthsAreNtStatuses() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Lookaside.builder(64).maximumDepth(100).build());
        assertEquals(NtStatus.INVALID_PARAMETER_8, e.status());
        assertEquals(java.util.OptionalInt.of(8), e.parameterIndex());
        assertEquals(NtStatus.INVALID_PARAMETER_8,
                assertThrows(InvalidArgumentException.class, () -> Lookaside.builder(64).maximumDepth(2048).build())
                        .status());
        assertThrows(IllegalArgumentException.class, () -> Lookaside.builder(0));
        assertThrows(IllegalArgumentException.class, () -> Lookaside.builder(64).allocator((t, s, g) -> null).build());
        try (Lookaside list = Lookaside.builder(64).maximumDepth(1024).initialDepth(512).build()) {
            assertEquals(512, list.stats().depth());
            assertEquals(NtStatus.INVALID_PARAMETER_2,
                    assertThrows(InvalidArgumentException.class, () -> list.setDepth(2000)).status());
            list.setDepth(16);
            assertEquals(16, list.stats().depth());
        }
    }

    /** Every bad depth is STATUS_INVALID_PARAMETER_8 (NT's Depth argument), named with its range; 0 is the default. */
    @Test
    void badDepthsNameTheParameterAndZeroMeansTheDefault() {
        for (int bad : new int[] {300, -1, 257}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> Lookaside.builder(64).initialDepth(bad).build());
            assertEquals(NtStatus.INVALID_PARAMETER_8, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("initialDepth must be 1 .. 256"), e.getMessage());
            assertTrue(e.getMessage().contains(Integer.toUnsignedString(bad)), e.getMessage());
        }
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Lookaside.builder(64).maximumDepth(1024).initialDepth(1025).build());
        assertEquals(NtStatus.INVALID_PARAMETER_8, e.status());
        assertTrue(e.getMessage().contains("1 .. 1024"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> Lookaside.builder(64).maximumDepth(-5).build());
        assertEquals(NtStatus.INVALID_PARAMETER_8, e.status());
        assertTrue(e.getMessage().contains("maximumDepth must be 256 .. 1024"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> Lookaside.builder(64).poolType(PoolType.NON_PAGED_MUST_SUCCEED).build());
        assertEquals(NtStatus.INVALID_PARAMETER_4, e.status());
        assertTrue(e.getMessage().contains("pool type"), e.getMessage());
        try (Lookaside list = Lookaside.builder(64).maximumDepth(0).initialDepth(0).build()) {
            assertEquals(4, list.stats().depth(), "initial depth 0: NT's 4");
            assertEquals(256, list.stats().maximumDepth(), "maximum depth 0: NT's 256");
            e = assertThrows(InvalidArgumentException.class, () -> list.setDepth(0));
            assertEquals(NtStatus.INVALID_PARAMETER_2, e.status());
            assertTrue(e.getMessage().contains("depth must be 1 .. 256"), e.getMessage());
        }
    }

    @Test
    void resetCountersZeroesTheFour() {
        try (Lookaside list = Lookaside.builder(16).build()) {
            list.free(list.allocate());
            assertEquals(1, list.stats().totalAllocates());
            list.resetCounters();
            LookasideStats s = list.stats();
            assertEquals(0, s.totalAllocates() + s.allocateMisses() + s.totalFrees() + s.freeMisses());
            assertEquals(1, s.currentDepth());
        }
    }

    @Test
    void registryListsEveryLiveList() {
        int before = Lookaside.all().size();
        try (Lookaside a = Lookaside.builder(16).tag(Tag.of("RegA")).build();
                Lookaside b = Lookaside.builder(32).tag(Tag.of("RegB")).build()) {
            assertEquals(Tag.of("RegA"), a.tag());
            assertEquals(32, b.blockSize());
            List<LookasideStats> all = Lookaside.all();
            assertEquals(before + 2, all.size());
            assertNotNull(all.stream().filter(s -> s.tag().equals(Tag.of("RegA")) && s.size() == 16).findFirst()
                    .orElse(null));
            assertTrue(all.stream().anyMatch(s -> s.tag().equals(Tag.of("RegB")) && s.size() == 32));
        }
        assertEquals(before, Lookaside.all().size());
    }

    @Test
    void uncheckedModeSkipsTracking() {
        try (Lookaside list = Lookaside.builder(64).unchecked().build()) {
            MemorySegment b = list.allocate();
            assertEquals(-1, list.outstandingBlocks());
            list.free(b);
            assertEquals(1, list.stats().totalFrees());
        }
    }
}
