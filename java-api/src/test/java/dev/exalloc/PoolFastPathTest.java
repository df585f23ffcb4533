package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** The address-based fast path: {@link Pool#allocateAddress}, {@link Pool#freeAddress(long, Tag)}. */
@Isolated // registers a pool condition listener (process-wide, for good)
class PoolFastPathTest {

    private static final Tag TAG = Tag.of("Fast");

    @SuppressWarnings("restricted") // reinterpret: the pool handed out `size` bytes at `address`
    private static MemorySegment view(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    @Test
    void allocatesRealBlocksCountedUnderTheTag() {
        PoolTagStats before = Pool.tag(TAG, PoolKind.NON_PAGED);
        long a = Pool.allocateAddress(PoolType.NON_PAGED_NX, 200, TAG);
        assertNotEquals(0, a);
        assertEquals(0, a % 16);
        MemorySegment s = view(a, 200);
        s.fill((byte) 0x5A);
        BlockInfo info = Pool.query(s);
        assertEquals(TAG, info.tag());
        assertEquals(208, info.size());
        assertEquals(PoolType.NON_PAGED_NX, info.poolType());
        PoolTagStats during = Pool.tag(TAG, PoolKind.NON_PAGED);
        assertEquals(before.allocs() + 1, during.allocs());
        assertEquals(before.diff() + 1, during.diff());
        Pool.freeAddress(a, TAG);
        PoolTagStats after = Pool.tag(TAG, PoolKind.NON_PAGED);
        assertEquals(before.frees() + 1, after.frees());
        assertEquals(before.diff(), after.diff());
        assertFalse(Pool.isLive(view(a, 1)));

        long big = Pool.allocateAddress(PoolType.PAGED, 3 * Pool.PAGE_SIZE, TAG);
        assertEquals(0, big % Pool.PAGE_SIZE);
        Pool.freeAddress(big);
    }

    @Test
    void failureIsZeroNotAnException() {
        assertEquals(0, Pool.allocateAddress(PoolType.PAGED, 1L << 50, TAG));
        long a = Pool.allocateAddress(PoolType.PAGED, 32, TAG); // no stale error after the NULL
        Pool.freeAddress(a, TAG);
    }

    @Test
    void misuseIsTypedAndChangesNothing() {
        long a = Pool.allocateAddress(PoolType.NON_PAGED_NX, 64, TAG);
        Pool.freeAddress(a, TAG);
        Pool.trim();
        BugCheckError e = assertThrows(BugCheckError.class, () -> Pool.freeAddress(a, TAG)); // double free
        assertEquals(0xC2, e.code());
        assertThrows(InvalidBlockException.class, () -> Pool.freeAddress(0));
        assertThrows(NullPointerException.class, () -> Pool.freeAddress(a, null));

        Tag prot = Tag.of("FPro").asProtected();
        long p = Pool.allocateAddress(PoolType.PAGED, 64, prot);
        e = assertThrows(BugCheckError.class, () -> Pool.freeAddress(p)); // wrong tag: protected needs its own
        assertEquals(0xC2, e.code());
        assertEquals(0x0A, e.parameter1());
        assertTrue(Pool.isLive(view(p, 1)), "refused: still allocated");
        Pool.freeAddress(p, prot);

        // an address in no pool segment (a Java-owned native buffer)
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            long foreign = arena.allocate(64, 16).address();
            e = assertThrows(BugCheckError.class, () -> Pool.freeAddress(foreign));
            assertEquals(0xC2, e.code());
        }
        // and the fast path still works afterwards, without a stale error
        Pool.freeAddress(Pool.allocateAddress(PoolType.NON_PAGED_NX, 64, TAG), TAG);
    }

    @Test
    void criticalModeIsOnByDefaultAndListenersWork() throws Exception {
        assertTrue(Pool.criticalFastPath()); // safe: nothing the pool's allocate and free run calls back into Java
        try (AutoCloseable _ = Pool.onCondition((pool, c) -> { })) {
            Pool.freeAddress(Pool.allocateAddress(PoolType.PAGED, 64, TAG), TAG);
        }
    }

    /**
     * No Java allocation per allocate+free pair once warmed up (the JIT has compiled the path): HotSpot's per-thread
     * allocation counter (com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes, through a method handle:
     * this module does not read jdk.management).
     */
    @Test
    void pairsAllocateNoJavaMemory() throws Throwable {
        Object bean = ManagementFactory.getThreadMXBean();
        Class<?> type = Class.forName("com.sun.management.ThreadMXBean");
        MethodHandle allocatedBytes = MethodHandles.publicLookup()
                .findVirtual(type, "getCurrentThreadAllocatedBytes", MethodType.methodType(long.class))
                .asType(MethodType.methodType(long.class, Object.class));
        assertTrue((long) allocatedBytes.invokeExact(bean) > 0, "the counter works");
        int[] sizes = {16, 64, 256, 1024, 4000};
        long checksum = 0;
        for (int round = 0; round < 5; round++) {
            checksum += pairs(sizes, 200_000); // warm-up: interpreter, C1, C2
        }
        long empty0 = (long) allocatedBytes.invokeExact(bean);
        long empty1 = (long) allocatedBytes.invokeExact(bean); // what reading the counter costs itself
        checksum += pairs(sizes, 200_000);
        long after = (long) allocatedBytes.invokeExact(bean);
        long allocated = after - empty1 - (empty1 - empty0);
        assertNotEquals(0, checksum);
        // Allow a little for the VM's own bookkeeping: still far below one object per pair (200,000 pairs).
        assertTrue(allocated < 200, "allocated " + allocated + " bytes over 200,000 pairs");
    }

    private static long pairs(int[] sizes, int n) {
        long sum = 0;
        for (int i = 0; i < n; i++) {
            long a = Pool.allocateAddress(PoolType.NON_PAGED_NX, sizes[i % sizes.length], TAG);
            sum += a & 0xFFF0;
            Pool.freeAddress(a, TAG);
        }
        return sum | 1;
    }
}
