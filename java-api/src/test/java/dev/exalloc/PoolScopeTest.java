package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        assertThrows(IllegalStateException.class, () -> b.get(ValueLayout.JAVA_BYTE, 0));
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
        // still ours until our next call: the block is allocated and its segment usable here
        assertEquals(before + 1, Pool.tag(tag, PoolType.NON_PAGED_NX).diff());
        assertEquals((byte) 1, b.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(InvalidBlockException.class, () -> Pool.free(b, tag), "its free is pending");
        MemorySegment next = Pool.allocate(PoolType.NON_PAGED_NX, 16, Tag.of("ScXn")); // our next call
        assertFalse(b.scope().isAlive(), "the scope ended at the owner's next call");
        assertEquals(before, Pool.tag(tag, PoolType.NON_PAGED_NX).diff(), "and the block went back to the pool");
        Pool.free(next);
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
