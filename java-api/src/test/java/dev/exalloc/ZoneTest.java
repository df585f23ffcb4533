package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ZoneTest {

    @Test
    void plainZoneBlocksEndTheirScopeAtFree() {
        MemorySegment kept;
        try (Zone zone = Zone.builder(64).build()) {
            MemorySegment b = zone.allocate();
            b.set(java.lang.foreign.ValueLayout.JAVA_INT, 8, 3);
            zone.free(b);
            assertThrows(IllegalStateException.class, () -> b.get(java.lang.foreign.ValueLayout.JAVA_INT, 8));
            InvalidBlockException twice = assertThrows(InvalidBlockException.class, () -> zone.free(b));
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, twice.reason());
            MemorySegment again = zone.allocate(); // the same block (LIFO), a new live segment
            assertEquals(b.address(), again.address());
            assertEquals(3, again.get(java.lang.foreign.ValueLayout.JAVA_INT, 8));
            kept = again;
        }
        // still handed out at the close: its scope ended with the zone
        assertThrows(IllegalStateException.class, () -> kept.get(java.lang.foreign.ValueLayout.JAVA_INT, 8));
    }

    @Test
    void theWorkedExample() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4096, 16);
            try (Zone zone = Zone.builder(64).segment(segment).build()) {
                ZoneInfo info = zone.info();
                assertEquals(64, info.blockSize());
                assertEquals(4048, info.totalSegmentSize());
                assertEquals(63, info.blockCount());
                assertEquals(1, info.segmentCount());
                MemorySegment first = zone.allocate();
                assertEquals(3984, first.address() - segment.address());
                List<MemorySegment> all = new ArrayList<>(List.of(first));
                for (int i = 1; i < 63; i++) {
                    all.add(zone.allocate());
                }
                assertTrue(zone.isFull());
                assertNull(zone.tryAllocate());
                assertThrows(ExallocOutOfMemoryError.class, zone::allocate);
                Set<Long> distinct = new HashSet<>();
                for (MemorySegment b : all) {
                    assertTrue(zone.contains(b));
                    assertTrue(distinct.add(b.address()));
                    assertEquals(0, (b.address() - segment.address() - 16) % 64);
                }
                assertTrue(zone.freeToZone(all.get(5)), "freeing into a full zone reports it was full (NT's NULL)");
                assertFalse(zone.freeToZone(all.get(6)));
                assertEquals(all.get(6).address(), zone.allocate().address()); // LIFO
                assertEquals(all.get(5).address(), zone.allocate().address());
            }
        }
    }

    @Test
    void validationIsNtStatus() {
        assertThrows(ExallocException.class, () -> Zone.builder(60).build()); // not a multiple of 8
        assertThrows(ExallocException.class, () -> Zone.builder(0).build());
        assertThrows(ExallocException.class, () -> Zone.builder(4096).segmentSize(4096).build()); // block >= segment
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment odd = arena.allocate(4100, 16).asSlice(4, 4096);
            ExallocException e = assertThrows(ExallocException.class, () -> Zone.builder(64).segment(odd).build());
            assertEquals(NtStatus.UNSUCCESSFUL, e.status());
            assertTrue(e.getMessage().contains("8-byte aligned"), e.getMessage());
        }
    }

    /** A refused zone says why, not only "operation failed". */
    @Test
    void refusalsSayWhy() {
        ExallocException e = assertThrows(ExallocException.class, () -> Zone.builder(12).build());
        assertEquals(NtStatus.UNSUCCESSFUL, e.status());
        assertTrue(e.getMessage().contains("the block size must be a multiple of 8 bytes, at least 8, not 12"),
                e.getMessage());
        e = assertThrows(ExallocException.class, () -> Zone.builder(4096).segmentSize(4096).build());
        assertTrue(e.getMessage().contains("smaller than the segment (4096 bytes)"), e.getMessage());
        try (Zone zone = Zone.builder(64).segmentSize(4096).build()) {
            e = assertThrows(ExallocException.class, () -> zone.extend(60));
            assertTrue(e.getMessage().contains("ExExtendZone refused the segment"), e.getMessage());
            assertTrue(e.getMessage().contains("smaller than the segment (60 bytes)"), e.getMessage());
        }
    }

    @Test
    void extensionAndTheFirstSegmentQuirk() {
        try (Zone zone = Zone.builder(32).segmentSize(256).build()) {
            ZoneInfo before = zone.info();
            List<MemorySegment> firstBlocks = new ArrayList<>();
            while (!zone.isFull()) {
                firstBlocks.add(zone.allocate());
            }
            assertEquals(before.blockCount(), firstBlocks.size());
            zone.extend(512);
            ZoneInfo after = zone.info();
            assertEquals(2, after.segmentCount());
            assertTrue(after.blockCount() > before.blockCount());
            assertTrue(after.totalSegmentSize() > before.totalSegmentSize());
            MemorySegment fromExtension = zone.allocate();
            assertTrue(zone.contains(fromExtension));
            assertTrue(zone.contains(firstBlocks.get(0)));
            // NT's macro tests the newest segment with the combined length: true for the extension's block
            assertTrue(zone.isInFirstSegmentNt(fromExtension));
            for (MemorySegment b : firstBlocks) {
                zone.free(b);
            }
            zone.free(fromExtension);
        }
    }

    @Test
    void misuseIsRefusedAndLosesNothing() {
        try (Zone zone = Zone.builder(64).build(); Zone other = Zone.builder(64).build();
                Arena arena = Arena.ofConfined()) {
            MemorySegment b = zone.allocate();
            zone.free(b);
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> zone.free(b)).reason());
            MemorySegment o = other.allocate();
            assertThrows(InvalidBlockException.class, () -> zone.free(o));
            assertFalse(zone.contains(o));
            assertThrows(InvalidBlockException.class, () -> zone.free(arena.allocate(64)));
            assertEquals(InvalidBlockException.Reason.FOREIGN,
                    assertThrows(InvalidBlockException.class, () -> zone.free(MemorySegment.ofArray(new long[8])))
                            .reason());
            MemorySegment c = zone.allocate();
            assertEquals(InvalidBlockException.Reason.WRONG_SIZE,
                    assertThrows(InvalidBlockException.class, () -> zone.free(c.asSlice(0, 8))).reason());
            assertEquals(1, zone.outstandingBlocks());
            zone.free(c);
            other.free(o);
        }
    }

    @Test
    void ownSegmentsComeFromThePoolTaggedAndGoBackAtClose() {
        Tag tag = Tag.of("ZnT1");
        long before = poolBytes(tag);
        Zone zone = Zone.builder(64).segmentSize(8192).pool(PoolType.NON_PAGED_NX, tag).build();
        zone.extend(4096);
        long held = poolBytes(tag) - before;
        assertTrue(held >= 8192 + 4096, "the pool accounts the zone's segments under its tag: " + held);
        zone.close();
        assertEquals(before, poolBytes(tag));
    }

    /** Bytes the pool holds under a tag (all pool kinds), from PoolMon's rows. */
    private static long poolBytes(Tag tag) {
        return Pool.tags().stream().filter(r -> r.tag().equals(tag)).mapToLong(PoolTagStats::bytes).sum();
    }

    @Test
    void closedZoneBlocksAreInaccessibleNotFreedMemory() {
        Zone zone = Zone.builder(64).build();
        MemorySegment b = zone.allocate();
        b.set(ValueLayout.JAVA_LONG, 8, 7);
        zone.close();
        zone.close();
        assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_LONG, 8));
        assertThrows(IllegalStateException.class, zone::allocate);
        assertThrows(IllegalStateException.class, () -> zone.free(b));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void plainZoneIsConfinedToItsThread() throws Exception {
        try (Zone zone = Zone.builder(64).build()) {
            Throwable[] seen = new Throwable[1];
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    zone.allocate();
                } catch (Throwable e) {
                    seen[0] = e;
                }
            });
            t.join();
            assertTrue(seen[0] instanceof WrongThreadException, String.valueOf(seen[0]));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void interlockedZoneFromFourThreads() throws Exception {
        try (Zone zone = Zone.builder(64).segmentSize(64 * 1024).interlocked().build()) {
            int blocks = zone.info().blockCount();
            Thread[] ts = new Thread[4];
            Throwable[] failure = new Throwable[1];
            for (int t = 0; t < ts.length; t++) {
                long me = t + 1;
                ts[t] = Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 20_000; i++) {
                            MemorySegment b = zone.allocate();
                            if (b.get(ValueLayout.JAVA_LONG, 8) == 0xC0FFEEL) {
                                throw new AssertionError("block handed to two owners");
                            }
                            b.set(ValueLayout.JAVA_LONG, 8, 0xC0FFEEL);
                            b.set(ValueLayout.JAVA_LONG, 16, me);
                            Thread.onSpinWait();
                            if (b.get(ValueLayout.JAVA_LONG, 16) != me) {
                                throw new AssertionError("block changed owner");
                            }
                            b.set(ValueLayout.JAVA_LONG, 8, 0);
                            zone.free(b);
                        }
                    } catch (Throwable e) {
                        synchronized (failure) {
                            failure[0] = e;
                        }
                    }
                });
            }
            for (Thread t : ts) {
                t.join();
            }
            assertNull(failure[0]);
            assertEquals(0, zone.outstandingBlocks());
            assertEquals(blocks, zone.info().blockCount());
            assertNotNull(zone.lock());
            assertTrue(zone.lock().isFree());
        }
    }
}
