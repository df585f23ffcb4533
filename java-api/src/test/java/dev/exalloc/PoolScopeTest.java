package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.internal.PoolScopes;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Checked segments: each block's segment has a scope that its free closes ({@link PoolScope}). */
@Isolated // sets the process-wide pool scope
class PoolScopeTest {

    private static final Tag TAG = Tag.of("Scop");

    @AfterEach
    void restore() {
        Pool.setScope(PoolScope.CONFINED);
    }

    @Test
    void confinedIsTheDefault() {
        assertEquals(PoolScope.CONFINED, Pool.scope());
    }

    @Test
    void useAfterFreeThrowsInsteadOfTouchingFreedMemory() {
        for (PoolScope scope : new PoolScope[] {PoolScope.SHARED, PoolScope.CONFINED}) {
            Pool.setScope(scope);
            for (long size : new long[] {64, 3 * Pool.PAGE_SIZE}) { // a small block and a big allocation
                MemorySegment b = Pool.allocate(PoolType.PAGED, size, TAG);
                b.set(ValueLayout.JAVA_LONG, 0, 0x1234_5678_9ABC_DEF0L); // correct use is quiet
                assertEquals(0x1234_5678_9ABC_DEF0L, b.get(ValueLayout.JAVA_LONG, 0));
                assertTrue(b.scope().isAlive());
                Pool.free(b, TAG);
                if (scope == PoolScope.SHARED || size <= PoolScopes.EPOCH_BLOCK_LIMIT) {
                    // quarantined: refused as freed at once, its segment dies when its epoch ends
                    assertFalse(Pool.isLive(b));
                    assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                            assertThrows(InvalidBlockException.class, () -> Pool.free(b)).reason());
                    Pool.trim(); // ends the current epochs (this thread's and the shared one): all their blocks are freed
                }
                assertFalse(b.scope().isAlive());
                assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_LONG, 0), scope + " read");
                assertThrows(IllegalStateException.class, () -> b.set(ValueLayout.JAVA_BYTE, 8, (byte) 1));
                assertThrows(IllegalStateException.class, () -> b.fill((byte) 0));
                assertFalse(Pool.isLive(b));
                // free twice through the segment: refused in Java, nothing passed to the pool
                InvalidBlockException e = assertThrows(InvalidBlockException.class, () -> Pool.free(b));
                assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, e.reason());
                assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                        assertThrows(InvalidBlockException.class, () -> Pool.free(b, TAG)).reason());
                assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                        assertThrows(InvalidBlockException.class, () -> Pool.query(b)).reason());
            }
        }
    }

    @Test
    void aRefusedFreeLeavesTheSegmentUsable() {
        Tag prot = Tag.of("SPro").asProtected();
        MemorySegment b = Pool.allocate(PoolType.PAGED, 64, prot);
        BugCheckError e = assertThrows(BugCheckError.class, () -> Pool.free(b)); // protected: needs the tag
        assertEquals(0xC2, e.code());
        assertTrue(b.scope().isAlive());
        b.set(ValueLayout.JAVA_INT, 0, 7);
        Pool.free(b, prot);
        assertFalse(Pool.isLive(b));
        Pool.endQuarantine();
        assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_INT, 0));
    }

    @Test
    void sharedSegmentsMayBeUsedAndFreedOnAnotherThread() throws Exception {
        Pool.setScope(PoolScope.SHARED);
        MemorySegment b = Pool.allocate(PoolType.NON_PAGED_NX, 128, TAG);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                b.fill((byte) 3);
                Pool.free(b, TAG);
            } catch (Throwable x) {
                failure.set(x);
            }
        });
        t.join();
        assertEquals(null, failure.get());
        Pool.trim(); // the epoch ends: its arena closes
        assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_BYTE, 0));
    }

    /**
     * Shared segments live in epochs: a freed block stays allocated (quarantined, so its address is not handed out
     * again while its segment is open) until every block of its epoch is freed; then the epoch's arena closes once
     * for all of them and the blocks go back to the pool. PoolMon counts the quarantined block until then.
     */
    @Test
    void sharedBlocksAreQuarantinedUntilTheirEpochEnds() {
        PoolAllocator shared = Pool.builder().scope(PoolScope.SHARED).tag(Tag.of("ScEp")).build();
        Tag tag = Tag.of("ScEp");
        Pool.trim();
        long before = Pool.tag(tag, PoolType.NON_PAGED_NX).diff();
        MemorySegment a = shared.allocate(64);
        MemorySegment b = shared.allocate(64);
        assertTrue(a.scope() == b.scope(), "one epoch, one shared scope");
        shared.free(a);
        assertTrue(a.scope().isAlive(), "b still out: the epoch goes on");
        assertFalse(Pool.isLive(a));
        assertEquals(before + 2, Pool.tag(tag, PoolType.NON_PAGED_NX).diff(), "a is quarantined, not reused");
        MemorySegment c = shared.allocate(64);
        assertTrue(c.address() != a.address(), "a quarantined address is not handed out again");
        assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                assertThrows(InvalidBlockException.class, () -> shared.free(a)).reason());
        Pool.trim(); // seals the epoch; b and c are still out
        assertTrue(a.scope().isAlive());
        shared.free(b);
        shared.free(c); // the last block of the sealed epoch: it ends
        assertFalse(a.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> a.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> c.get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(before, Pool.tag(tag, PoolType.NON_PAGED_NX).diff(), "every block back in the pool");
        MemorySegment d = shared.allocate(64); // a new epoch
        assertTrue(d.scope().isAlive());
        shared.free(d);
        Pool.trim();
    }

    /**
     * Shared blocks travelling between threads across many epochs: every block stays usable until its own free
     * (an epoch never ends under a block still out), and once all are freed and the epoch is ended every block is
     * back in the pool.
     */
    @Test
    void sharedEpochsNeverEndUnderABlockStillOut() throws Exception {
        Tag tag = Tag.of("ScEs");
        PoolAllocator shared = Pool.builder().scope(PoolScope.SHARED).tag(tag).build();
        Pool.trim();
        long before = Pool.tag(tag, PoolType.NON_PAGED_NX).diff();
        java.util.concurrent.ConcurrentLinkedQueue<MemorySegment> exchange = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread[] threads = new Thread[4];
        for (int w = 0; w < threads.length; w++) {
            long id = w + 1;
            threads[w] = Thread.ofPlatform().start(() -> {
                java.util.Random random = new java.util.Random(id);
                try {
                    for (int i = 0; i < 5 * PoolScopes_EPOCH; i++) {
                        if (random.nextInt(3) != 0 || exchange.isEmpty()) {
                            MemorySegment b = shared.allocate(32);
                            b.set(ValueLayout.JAVA_LONG, 0, b.address());
                            exchange.add(b);
                        } else {
                            MemorySegment b = exchange.poll();
                            if (b != null) {
                                assertEquals(b.address(), b.get(ValueLayout.JAVA_LONG, 0));
                                shared.free(b);
                            }
                        }
                    }
                } catch (Throwable x) {
                    errors.add(x);
                }
            });
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(java.util.List.of(), errors);
        for (MemorySegment b; (b = exchange.poll()) != null;) {
            assertEquals(b.address(), b.get(ValueLayout.JAVA_LONG, 0));
            shared.free(b);
        }
        Pool.trim();
        assertEquals(before, Pool.tag(tag, PoolType.NON_PAGED_NX).diff(), "every block back in the pool");
    }

    private static final int PoolScopes_EPOCH = dev.exalloc.internal.PoolScopes.EPOCH_BLOCKS;

    /** A shared free is checked at once (as the native free would), not when the epoch ends. */
    @Test
    void aSharedFreeIsCheckedAtOnce() {
        Tag prot = Tag.of("ScSp").asProtected();
        PoolAllocator shared = Pool.builder().scope(PoolScope.SHARED).tag(prot).build();
        MemorySegment b = shared.allocate(64);
        assertEquals(0xC2, assertThrows(BugCheckError.class, () -> shared.free(b)).code()); // needs the tag
        assertTrue(Pool.isLive(b));
        shared.free(b, prot);
        assertFalse(Pool.isLive(b));
        Pool.trim();
        assertFalse(b.scope().isAlive());
    }

    /**
     * A confined block may be freed on any thread: the free is deferred to the allocating thread, which ends the
     * scope and gives the block back at its next call; a second free is refused at once.
     */
    @Test
    void confinedSegmentsFreedOnAnotherThreadGoBackAtTheOwnersNextCall() throws Exception {
        Pool.setScope(PoolScope.CONFINED);
        Tag tag = Tag.of("ScXt");
        long before = Pool.tag(tag, PoolType.NON_PAGED_NX).diff();
        MemorySegment b = Pool.allocate(PoolType.NON_PAGED_NX, 128, tag);
        b.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<Throwable> second = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                Pool.free(b, tag);
            } catch (Throwable x) {
                failure.set(x);
            }
            try {
                Pool.free(b, tag);
            } catch (Throwable x) {
                second.set(x);
            }
        });
        t.join();
        assertEquals(null, failure.get());
        assertTrue(second.get() instanceof InvalidBlockException, String.valueOf(second.get()));
        // still ours until our next call on the pool: its segment is usable here
        assertEquals((byte) 1, b.get(ValueLayout.JAVA_BYTE, 0));
        // our next call takes the free in (b is then quarantined): a second free is refused
        assertThrows(InvalidBlockException.class, () -> Pool.free(b, tag), "freed already");
        assertFalse(Pool.isLive(b));
        // a query ends this thread's quarantine epoch first: the block is back in the pool, its scope ended
        assertEquals(before, Pool.tag(tag, PoolType.NON_PAGED_NX).diff(), "the block went back to the pool");
        assertFalse(b.scope().isAlive(), "the scope ended with its epoch");
    }

    /** A protected block freed on another thread with the wrong tag is refused at once, as on its own thread. */
    @Test
    void aDeferredFreeIsCheckedFirst() throws Exception {
        Pool.setScope(PoolScope.CONFINED);
        Tag prot = Tag.of("ScPr").asProtected();
        MemorySegment b = Pool.allocate(PoolType.PAGED, 64, prot);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                Pool.free(b);
            } catch (Throwable x) {
                failure.set(x);
            }
        });
        t.join();
        assertTrue(failure.get() instanceof BugCheckError e && e.code() == 0xC2, String.valueOf(failure.get()));
        assertTrue(Pool.isLive(b));
        Pool.free(b, prot);
        Pool.endQuarantine();
        assertFalse(b.scope().isAlive());
    }

    @Test
    void globalSegmentsAreUnchecked() {
        Pool.setScope(PoolScope.GLOBAL);
        MemorySegment b = Pool.allocate(PoolType.PAGED, 64, TAG);
        assertTrue(b.scope().isAlive());
        Pool.free(b, TAG);
        assertTrue(b.scope().isAlive()); // the global scope never ends: use after free is the caller's bug
        assertFalse(Pool.isLive(b));
        Pool.trim();
        assertEquals(0xC2, assertThrows(BugCheckError.class, () -> Pool.free(b)).code()); // the pool's own check
    }
}
