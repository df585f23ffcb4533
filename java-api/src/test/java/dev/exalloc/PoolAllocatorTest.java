package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.internal.bindings.exa_pool_limits_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Pool instances ({@link Pool#builder()}, {@link Pool#system()}) and their Arena and SegmentAllocator views. */
@Isolated // changes the process-wide scope of Pool.system() in one case
class PoolAllocatorTest {

    private static long diff(Tag tag, PoolType type) {
        return Pool.tag(tag, type).diff();
    }

    @Test
    void theSystemInstanceIsTheStaticRoutines() {
        assertSame(Pool.system(), Pool.system());
        assertEquals(Pool.scope(), Pool.system().scope());
        assertEquals(Pool.criticalFastPath(), Pool.system().criticalCalls());
        Tag tag = Tag.of("PaSy");
        MemorySegment b = Pool.system().allocate(PoolType.PAGED, 40, tag);
        assertEquals(tag, Pool.query(b).tag());
        Pool.free(b); // a block of the instance is a block of the pool
        assertEquals(0, diff(tag, PoolType.PAGED));
    }

    @Test
    void defaultsAreTheInstancesOwn() {
        Tag tag = Tag.of("PaDf");
        PoolAllocator p = Pool.builder().tag(tag).poolType(PoolType.PAGED).build();
        assertEquals(tag, p.tag());
        assertEquals(PoolType.PAGED, p.poolType());
        assertEquals(PoolScope.CONFINED, p.scope());
        MemorySegment b = p.allocate(200);
        assertEquals(200, b.byteSize());
        BlockInfo info = Pool.query(b);
        assertEquals(tag, info.tag());
        assertEquals(PoolType.PAGED, info.poolType());
        assertEquals(1, diff(tag, PoolType.PAGED));
        p.free(b);
        assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(0, diff(tag, PoolType.PAGED));
        assertNull(Pool.builder().poolType(PoolType.PAGED).build().tryAllocate(PoolType.PAGED, 1L << 46, tag));
    }

    /** One caller's policy is its own: the process-wide scope does not reach an instance, nor the reverse. */
    @Test
    void policiesArePerInstance() throws Exception {
        PoolAllocator shared = Pool.builder().scope(PoolScope.SHARED).tag(Tag.of("PaSh")).build();
        PoolAllocator global = Pool.builder().scope(PoolScope.GLOBAL).tag(Tag.of("PaGl")).build();
        try {
            Pool.setScope(PoolScope.GLOBAL);
            assertEquals(PoolScope.GLOBAL, Pool.system().scope());
            assertEquals(PoolScope.SHARED, shared.scope());
            MemorySegment s = shared.allocate(64);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    s.fill((byte) 1); // shared: any thread touches it
                    shared.free(s);
                } catch (Throwable x) {
                    failure.set(x);
                }
            });
            t.join();
            assertNull(failure.get());
            assertFalse(Pool.isLive(s), "a shared block is freed on any thread (quarantined until its epoch ends)");
            Pool.trim(); // ends the epoch: the shared scope closes once for all its blocks
            assertFalse(s.scope().isAlive(), "a shared block's scope ends with its epoch");
            MemorySegment g = global.allocate(64);
            global.free(g);
            assertTrue(g.scope().isAlive(), "GLOBAL: unchecked, as C's pointers");
        } finally {
            Pool.setScope(PoolScope.CONFINED);
        }
        MemorySegment c = Pool.allocate(PoolType.PAGED, 32, Tag.of("PaCf"));
        Pool.free(c);
        assertFalse(Pool.isLive(c)); // quarantined: its segment dies when its epoch ends
        Pool.endQuarantine();
        assertFalse(c.scope().isAlive());
    }

    @Test
    void criticalCallsAddressPath() {
        Tag tag = Tag.of("PaCr");
        PoolAllocator p = Pool.builder().tag(tag).poolType(PoolType.PAGED).criticalCalls(true).build();
        assertTrue(p.criticalCalls());
        long a = p.allocateAddress(100);
        assertTrue(a != 0 && a % 16 == 0);
        assertEquals(1, diff(tag, PoolType.PAGED));
        p.freeAddress(a, tag);
        assertEquals(0, diff(tag, PoolType.PAGED));
        assertEquals(0xC2, assertThrows(BugCheckError.class, () -> p.freeAddress(a)).code(), "double free refused");
    }

    @Test
    void segmentAllocatorView() {
        Tag tag = Tag.of("PaSv");
        PoolAllocator p = Pool.builder().tag(tag).poolType(PoolType.PAGED).build();
        MemorySegment s = p.allocateFrom("hello, pool");
        assertEquals("hello, pool", s.getString(0));
        MemorySegment aligned = p.allocate(100, 256);
        assertEquals(100, aligned.byteSize());
        assertEquals(0, aligned.address() % 256);
        MemorySegment page = p.allocate(10, 4096);
        assertEquals(0, page.address() % 4096);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.allocate(10, 8192));
        assertTrue(e.getMessage().contains("8192") && e.getMessage().contains("4096"), e.getMessage());
        assertEquals(3, diff(tag, PoolType.PAGED));
        p.free(s);
        p.free(aligned);
        p.free(page);
        assertEquals(0, diff(tag, PoolType.PAGED));
    }

    @Test
    void arenaWhereTheJdkTakesOne() throws Throwable {
        Tag tag = Tag.of("PaAr");
        List<MemorySegment> out = new ArrayList<>();
        MemorySegment str;
        try (Arena arena = Pool.system().arena(tag, PoolType.PAGED)) {
            str = arena.allocateFrom("over the pool");
            assertEquals("over the pool", str.getString(0));
            MemorySegment l = arena.allocate(ValueLayout.JAVA_LONG);
            assertEquals(0L, l.get(ValueLayout.JAVA_LONG, 0), "zeroed, as the JDK's arenas");
            MemorySegment div = (MemorySegment) LookasideSegmentAllocatorTest.DIV.invokeExact((java.lang.foreign.SegmentAllocator) arena, 47, 10);
            assertEquals(4, div.get(ValueLayout.JAVA_INT, 0));
            assertEquals(7, div.get(ValueLayout.JAVA_INT, 4));
            MemorySegment limits = exa_pool_limits_s.allocate(arena); // jextract's struct allocation
            exa_pool_limits_s.capacity(limits, 12345);
            assertEquals(12345, exa_pool_limits_s.capacity(limits));
            MemorySegment page = arena.allocate(64, 4096);
            assertEquals(0, page.address() % 4096);
            assertThrows(IllegalArgumentException.class, () -> arena.allocate(64, 8192));
            out.add(l);
            out.add(page);
            assertEquals(5, diff(tag, PoolType.PAGED), "the arena's blocks, counted under its tag");
            assertSame(arena.scope(), str.scope());
        }
        assertEquals(0, diff(tag, PoolType.PAGED), "close freed every block");
        assertFalse(str.scope().isAlive());
        for (MemorySegment m : out) {
            assertThrows(IllegalStateException.class, () -> m.get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    @Test
    void confinedArenaRules() throws Exception {
        Tag tag = Tag.of("PaCo");
        Arena arena = Pool.builder().tag(tag).poolType(PoolType.PAGED).criticalCalls(true).build().arena();
        MemorySegment s = arena.allocate(32);
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                arena.allocate(16);
            } catch (Throwable x) {
                other.set(x);
            }
            try {
                arena.close();
            } catch (Throwable x) {
                other.compareAndSet(null, x);
            }
        });
        t.join();
        assertTrue(other.get() instanceof WrongThreadException, String.valueOf(other.get()));
        assertTrue(s.scope().isAlive());
        arena.close();
        assertEquals(0, diff(tag, PoolType.PAGED));
        assertThrows(IllegalStateException.class, () -> arena.allocate(8));
        assertThrows(IllegalStateException.class, arena::close);
    }

    @Test
    void sharedArenaAcrossThreads() throws Exception {
        Tag tag = Tag.of("PaSa");
        Arena arena = Pool.system().sharedArena(tag, PoolType.NON_PAGED_NX);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int k = 0; k < 100; k++) {
                    arena.allocate(48).fill((byte) 7);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(400, diff(tag, PoolType.NON_PAGED_NX));
        Thread closer = Thread.ofPlatform().start(arena::close);
        closer.join();
        assertEquals(0, diff(tag, PoolType.NON_PAGED_NX));
        assertFalse(arena.scope().isAlive());
    }

    @Test
    void statsLookupsTakeWhatAllocationTakes() {
        Tag tag = Tag.of("PaSt");
        MemorySegment b = Pool.allocate(PoolType.PAGED_CACHE_ALIGNED, 64, tag);
        assertEquals(Pool.tag(tag, PoolKind.PAGED), Pool.tag(tag, PoolType.PAGED_CACHE_ALIGNED));
        assertEquals(PoolKind.PAGED, Pool.stats(PoolType.PAGED).pool());
        Pool.free(b);
    }
}
