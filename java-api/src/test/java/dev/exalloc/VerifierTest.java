package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

@Isolated // changes process-wide verifier settings
class VerifierTest {

    @AfterEach
    void restore() {
        Verifier.configure(Verifier.Config.none());
        Verifier.setCheckLevel(CheckLevel.DEFAULT);
    }

    @Test
    void levelsRoundTrip() {
        assertEquals(CheckLevel.DEFAULT, Verifier.checkLevel());
        Verifier.setCheckLevel(CheckLevel.OFF);
        assertEquals(CheckLevel.OFF, Verifier.checkLevel());
        Verifier.setCheckLevel(CheckLevel.VERIFIER);
        assertEquals(CheckLevel.VERIFIER, Verifier.checkLevel());
    }

    @Test
    void selectedTagsGetSpecialPoolPagesAndFillPatterns() {
        Verifier.configure(Verifier.Config.none().withSpecialTag(Tag.of("VJ?1")));
        Verifier.setCheckLevel(CheckLevel.VERIFIER);
        Verifier.Stats before = Verifier.stats();
        MemorySegment special = Pool.allocate(PoolType.NON_PAGED_NX, 100, Tag.of("VJx1"));
        MemorySegment normal = Pool.allocate(PoolType.NON_PAGED_NX, 100, Tag.of("VJx2"));
        try {
            assertTrue(Verifier.isSpecialPoolAddress(special.address()));
            assertFalse(Verifier.isSpecialPoolAddress(normal.address()));
            // verify-end: the block ends 16-byte aligned right before the guard page
            long end = special.address() + 100;
            assertTrue((4096 - (end & 4095)) % 4096 < 16, "block end " + Long.toHexString(end));
            assertEquals(before.specialLive() + 1, Verifier.stats().specialLive());
            // uninitialised memory carries the verifier's fill pattern
            assertEquals((byte) 0x5A, normal.get(ValueLayout.JAVA_BYTE, 50));
        } finally {
            Pool.free(special);
            Pool.free(normal);
        }
        assertEquals(before.specialLive(), Verifier.stats().specialLive());
        assertTrue(Verifier.stats().specialAllocations() > before.specialAllocations());
        assertEquals(Tag.of("VJ?1"), Verifier.config().specialTag());
    }

    @Test
    void lowResourcesSimulationFailsTheChosenTag() {
        Verifier.configure(Verifier.Config.none().withLowResources(10_000, Tag.of("VLow"), 0, Duration.ZERO));
        Verifier.setCheckLevel(CheckLevel.VERIFIER);
        long injected = Verifier.stats().injectedFailures();
        assertNull(Pool.tryAllocate(PoolType.NON_PAGED_NX, 64, Tag.of("VLow")));
        assertThrows(ExallocOutOfMemoryError.class, () -> Pool.allocate(PoolType.NON_PAGED_NX, 64, Tag.of("VLow")));
        MemorySegment other = Pool.allocate(PoolType.NON_PAGED_NX, 64, Tag.of("VOk "));
        Pool.free(other);
        assertEquals(injected + 2, Verifier.stats().injectedFailures());
        Verifier.setCheckLevel(CheckLevel.DEFAULT); // only the verifier level simulates
        MemorySegment fine = Pool.allocate(PoolType.NON_PAGED_NX, 64, Tag.of("VLow"));
        Pool.free(fine);
    }

    /** At the verifier level checked blocks get a scope each: a use after free throws at its free, not its epoch's end. */
    @Test
    void theVerifierLevelEndsEachScopeAtItsFree() {
        Verifier.setCheckLevel(CheckLevel.VERIFIER);
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("VScp")).build()) {
            MemorySegment a = list.allocate();
            MemorySegment b = list.allocate();
            assertNotSame(a.scope(), b.scope());
            list.free(a);
            assertThrows(IllegalStateException.class, () -> a.get(ValueLayout.JAVA_BYTE, 0));
            MemorySegment p = Pool.allocate(PoolType.NON_PAGED_NX, 64, Tag.of("VScp"));
            Pool.free(p);
            assertThrows(IllegalStateException.class, () -> p.get(ValueLayout.JAVA_BYTE, 0));
            list.free(b);
        } finally {
            Verifier.setCheckLevel(CheckLevel.DEFAULT);
        }
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("VScq")).build()) {
            MemorySegment a = list.allocate();
            MemorySegment b = list.allocate();
            assertSame(a.scope(), b.scope(), "the default level: one quarantine epoch");
            list.free(a);
            list.free(b);
        }
    }

    @Test
    void invalidConfigurationIsAStatus() {
        assertThrows(InvalidArgumentException.class,
                () -> Verifier.configure(Verifier.Config.none().withSpecialSizes(100, 10)));
        assertThrows(InvalidArgumentException.class,
                () -> Verifier.configure(Verifier.Config.none().withLowResources(10_001, null, 0, Duration.ZERO)));
    }
}
