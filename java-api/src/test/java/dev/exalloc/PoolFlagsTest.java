package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** POOL_FLAGS as a value: NT's bit values, immutability, the pool-type mapping, the C spelling. */
class PoolFlagsTest {

    @Test
    void factoriesAndModifiersAreWdmValues() {
        assertEquals(0x40, PoolFlags.nonPaged().bits());
        assertEquals(0x80, PoolFlags.nonPagedExecute().bits());
        assertEquals(0x100, PoolFlags.paged().bits());
        PoolFlags f = PoolFlags.nonPaged().uninitialized().cacheAligned().useQuota().raiseOnFailure().session();
        assertEquals(0x40 | 0x2 | 0x8 | 0x1 | 0x20 | 0x4, f.bits());
        assertTrue(f.isUninitialized() && f.isCacheAligned() && f.isUseQuota() && f.isRaiseOnFailure() && f.isSession());
        assertEquals(0x1_0000_0100L, PoolFlags.paged().specialPool().bits());
        PoolFlags base = PoolFlags.paged();
        PoolFlags raised = base.raiseOnFailure();
        assertEquals(0x100, base.bits(), "modifiers return new values");
        assertFalse(base.isRaiseOnFailure());
        assertTrue(raised.isRaiseOnFailure());
        assertEquals(PoolFlags.of(0x120), raised);
        assertEquals(PoolFlags.of(0x120).hashCode(), raised.hashCode());
    }

    @Test
    void mapsToPoolTypesAsTheSpecSays() {
        assertEquals(PoolType.NON_PAGED_NX, PoolFlags.nonPaged().poolType());
        assertEquals(PoolType.NON_PAGED, PoolFlags.nonPagedExecute().poolType());
        assertEquals(PoolType.PAGED, PoolFlags.paged().poolType());
        assertEquals(PoolType.NON_PAGED_NX_CACHE_ALIGNED, PoolFlags.nonPaged().cacheAligned().poolType());
        assertEquals(PoolType.NON_PAGED_SESSION_NX, PoolFlags.nonPaged().session().poolType());
        assertEquals(PoolType.PAGED_CACHE_ALIGNED_SESSION, PoolFlags.paged().cacheAligned().session().poolType());
        assertNull(PoolFlags.nonPaged().session().cacheAligned().poolType(), "no such pool type");
        assertNull(PoolFlags.of(PoolFlags.PAGED | PoolFlags.NON_PAGED).poolType());
        assertNull(PoolFlags.of(0).poolType());
        assertEquals(PoolKind.PAGED, PoolFlags.paged().poolType().kind());
    }

    @Test
    void toStringIsTheCSpelling() {
        assertEquals("POOL_FLAG_UNINITIALIZED | POOL_FLAG_NON_PAGED", PoolFlags.nonPaged().uninitialized().toString());
        assertEquals("POOL_FLAG_PAGED | POOL_FLAG_SPECIAL_POOL | 0x200000000",
                PoolFlags.of(0x100 | 0x1_0000_0000L | 0x2_0000_0000L).toString());
        assertEquals("0", PoolFlags.of(0).toString());
    }

    /** PoolParameters, the ExAllocatePool3 extended parameters, as values. */
    @Test
    void extendedParametersAreImmutableRecords() {
        PoolParameters none = PoolParameters.none();
        PoolParameters p = none.priority(PoolPriority.LOW).numaNode(1, true);
        assertEquals(0, none.size());
        assertEquals(List.of(new PoolParameters.Parameter(PoolParameters.TYPE_PRIORITY, false, 0),
                new PoolParameters.Parameter(PoolParameters.TYPE_NUMA_NODE, false, 0x8000_0001L)), p.parameters());
        assertEquals(p, PoolParameters.none().priority(PoolPriority.LOW).numaNode(1, true));
        assertEquals(new PoolParameters.Parameter(PoolParameters.TYPE_NUMA_NODE, false, 3),
                none.numaNode(3, false).parameters().get(0));
        assertEquals(41, PoolPriority.HIGH_SPECIAL_POOL_UNDERRUN.code());
        assertEquals(16, PoolPriority.NORMAL.code());
        assertThrows(IllegalArgumentException.class, () -> none.numaNode(-1, false));
        assertThrows(UnsupportedOperationException.class, () -> p.parameters().clear());
    }
}
