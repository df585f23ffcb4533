package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** NT process pool quota (docs/pool.md#quota) through {@link QuotaAccount} and the pool's quota routines. */
class QuotaAccountTest {

    static final Tag TAG = Tag.of("Quot");

    /** QuotaAccount's class example, as documented. */
    @Test
    void theClassExampleCharges528ForA512ByteBlock() throws Exception {
        try (QuotaAccount client = QuotaAccount.create(64 * 1024, 16 * 1024)) {
            MemorySegment buf = client.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 512, TAG));
            assertEquals(528, client.usage().nonPaged()); // 512 bytes and the 16-byte header
            Pool.free(buf);
            assertEquals(0, client.usage().nonPaged());
        }
    }

    /** Charge and back-out arithmetic: the whole block is charged, nothing at a page or more, all of it returns. */
    @Test
    void chargeAndBackOut() throws Exception {
        try (QuotaAccount a = QuotaAccount.create(0, 1000)) { // paged unlimited, non-paged 1000 bytes
            assertEquals(new QuotaUsage(0, 1000), a.limits());
            assertEquals(QuotaAccount.Kind.ACCOUNT, a.kind());
            List<MemorySegment> v = new ArrayList<>();
            a.runCharged(() -> {
                assertSame(a, QuotaAccount.current());
                for (int i = 0; i < 7; i++) {
                    v.add(Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 100, TAG)); // 128-byte blocks
                }
            });
            QuotaStats s = a.stats();
            assertEquals(7 * 128, s.usage().nonPaged());
            assertEquals(7 * 128, s.peak().nonPaged());
            assertEquals(0, s.usage().paged());
            assertEquals(7, s.chargedBlocks());
            BlockInfo info = Pool.query(v.get(0));
            assertTrue(info.quotaCharged());
            assertSame(a, info.account());
            assertEquals(128, info.charged());
            // The 8th would make 1024 > 1000: null when asked, else STATUS_QUOTA_EXCEEDED; nothing charged or held.
            long allocs = Pool.tag(TAG, PoolKind.NON_PAGED).allocs();
            assertNull(a.callCharged(() -> Pool.tryAllocateWithQuota(PoolType.NON_PAGED_NX, 100, TAG)));
            QuotaExceededException e = assertThrows(QuotaExceededException.class,
                    () -> a.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 100, TAG)));
            assertEquals(NtStatus.QUOTA_EXCEEDED, e.status());
            assertTrue(e.getMessage().contains("STATUS_QUOTA_EXCEEDED"), e.getMessage());
            assertEquals(allocs, Pool.tag(TAG, PoolKind.NON_PAGED).allocs());
            assertEquals(7 * 128, a.usage().nonPaged());
            // Paged has no limit here; big blocks and the system account are never charged.
            MemorySegment paged = a.callCharged(() -> Pool.allocateWithQuota(PoolType.PAGED, 2000, TAG));
            MemorySegment big = a.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 4065, TAG));
            assertEquals(2016, a.usage().paged());
            assertEquals(7 * 128, a.usage().nonPaged());
            assertFalse(Pool.query(big).quotaCharged());
            assertNull(Pool.query(big).account());
            MemorySegment sys = QuotaAccount.system().callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 100, TAG));
            assertFalse(Pool.query(sys).quotaCharged());
            assertEquals(new QuotaUsage(0, 0), QuotaAccount.system().usage());
            // ExAllocatePool2 with USE_QUOTA: null on a quota failure unless RAISE_ON_FAILURE.
            assertNull(a.callCharged(() -> Pool.allocate(200, TAG, PoolFlags.nonPaged().useQuota())));
            assertEquals(NtStatus.QUOTA_EXCEEDED, assertThrows(QuotaExceededException.class,
                    () -> a.callCharged(() -> Pool.allocate(200, TAG, PoolFlags.nonPaged().useQuota().raiseOnFailure())))
                    .status());
            MemorySegment p2 = a.callCharged(() -> Pool.allocate(40, TAG, PoolFlags.paged().useQuota()));
            assertEquals(2016 + 64, a.usage().paged());
            // Frees return the charge; the peak stays.
            Pool.free(v.remove(0));
            assertEquals(6 * 128, a.usage().nonPaged());
            assertEquals(7 * 128, a.peak().nonPaged());
            for (MemorySegment m : v) {
                Pool.free(m, TAG);
            }
            Pool.free(paged);
            Pool.free(big);
            Pool.free(sys);
            Pool.free(p2);
            assertEquals(new QuotaUsage(0, 0), a.usage());
            assertEquals(new QuotaUsage(2016 + 64, 7 * 128), a.peak());
            assertEquals(0, a.chargedBlocks());
        }
    }

    /** By default the process account is current and charged (ExQueryPoolBlockSize reports the charge). */
    @Test
    void theProcessAccountIsTheDefault() {
        QuotaAccount process = QuotaAccount.process();
        assertSame(process, QuotaAccount.current());
        assertEquals(QuotaAccount.Kind.PROCESS, process.kind());
        assertEquals(QuotaAccount.Kind.SYSTEM, QuotaAccount.system().kind());
        long before = process.usage().paged();
        MemorySegment p = Pool.allocateWithQuota(PoolType.PAGED, 10, TAG);
        BlockInfo info = Pool.query(p);
        assertTrue(info.quotaCharged());
        assertSame(process, info.account());
        assertEquals(before + 32, process.usage().paged());
        Pool.free(p);
        assertEquals(before, process.usage().paged());
        process.close(); // does nothing
        QuotaAccount.system().close();
        assertFalse(process.isClosed());
        assertNotEquals(process.id(), QuotaAccount.system().id());
    }

    /** Scopes nest and restore the previous account, exceptions included. */
    @Test
    void scopesNestAndRestoreOnExceptions() throws Exception {
        try (QuotaAccount a = QuotaAccount.create(0, 0); QuotaAccount b = QuotaAccount.create(0, 0)) {
            a.runCharged(() -> {
                assertSame(a, QuotaAccount.current());
                MemorySegment inB = null;
                try {
                    inB = b.callCharged(() -> {
                        assertSame(b, QuotaAccount.current());
                        return Pool.allocateWithQuota(PoolType.PAGED, 100, TAG);
                    });
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                assertSame(a, QuotaAccount.current());
                MemorySegment inA = Pool.allocateWithQuota(PoolType.PAGED, 100, TAG);
                assertSame(b, Pool.query(inB).account());
                assertSame(a, Pool.query(inA).account());
                Pool.free(inB);
                Pool.free(inA);
            });
            assertSame(QuotaAccount.process(), QuotaAccount.current());
            java.io.UncheckedIOException thrown = assertThrows(java.io.UncheckedIOException.class,
                    () -> a.callCharged(() -> {
                        throw new java.io.UncheckedIOException(new IOException("task failed"));
                    }));
            assertEquals("task failed", thrown.getCause().getMessage());
            // the Supplier form needs no throws clause: its result comes back as is
            assertEquals("done", a.callCharged(() -> "done"));
            assertSame(QuotaAccount.process(), QuotaAccount.current());
            assertThrows(IllegalStateException.class, () -> a.runCharged(() -> {
                throw new IllegalStateException("runtime");
            }));
            assertSame(QuotaAccount.process(), QuotaAccount.current());
            // the native current account was restored too: this one charges the process account
            MemorySegment p = Pool.allocateWithQuota(PoolType.PAGED, 100, TAG);
            assertSame(QuotaAccount.process(), Pool.query(p).account());
            Pool.free(p);
            assertEquals(new QuotaUsage(0, 0), a.usage());
            assertEquals(new QuotaUsage(128, 0), a.peak());
            assertEquals(new QuotaUsage(128, 0), b.peak());
        }
    }

    /**
     * The header's borrowed-pointer caveat, enforced: an account cannot be closed while a scope charged to it is
     * open, on this thread or another; afterwards it closes, and a closed account refuses use.
     */
    @Test
    void closingWhileChargedCodeRunsIsRefused() throws Exception {
        QuotaAccount a = QuotaAccount.create(0, 0);
        QuotaAccount b = QuotaAccount.create(0, 0);
        a.runCharged(() -> b.runCharged(() -> {
            QuotaAccountInUseException e = assertThrows(QuotaAccountInUseException.class, a::close);
            assertEquals(1, e.openScopes());
            assertThrows(QuotaAccountInUseException.class, b::close);
            assertFalse(a.isClosed());
        }));
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread t = Thread.ofPlatform().start(() -> a.runCharged(() -> {
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        inside.await();
        assertThrows(QuotaAccountInUseException.class, a::close);
        release.countDown();
        t.join();
        a.close();
        b.close();
        assertTrue(a.isClosed());
        a.close(); // idempotent
        assertThrows(IllegalStateException.class, a::usage);
        assertThrows(IllegalStateException.class, () -> a.runCharged(() -> { }));
        assertThrows(IllegalStateException.class, () -> a.setLimits(1, 1));
        assertSame(QuotaAccount.process(), QuotaAccount.current());
    }

    /** A charged block keeps its native account alive past close; its charge returns normally. */
    @Test
    void chargedBlocksOutliveClose() throws Exception {
        QuotaAccount a = QuotaAccount.create(0, 0);
        MemorySegment p = a.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 500, TAG));
        a.close();
        BlockInfo info = Pool.query(p);
        assertTrue(info.quotaCharged());
        assertNull(info.account(), "a closed account is no longer handed out");
        Pool.free(p); // no bug check: the account is alive until now
        assertTrue(a.toString().contains("closed"));
    }

    @Test
    void limitsCanChangeAndAreEnforcedAtOnce() throws Exception {
        try (QuotaAccount a = QuotaAccount.create(4096, 4096)) {
            MemorySegment p = a.callCharged(() -> Pool.allocateWithQuota(PoolType.PAGED, 1000, TAG)); // 1024
            a.setLimits(1024, 0);
            assertEquals(new QuotaUsage(1024, 0), a.limits());
            assertThrows(QuotaExceededException.class, () -> a.callCharged(() -> Pool.allocateWithQuota(PoolType.PAGED, 1, TAG)));
            MemorySegment np = a.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 3000, TAG)); // unlimited now
            a.setLimits(512, 0); // below the usage: allowed, charges fail until frees
            assertThrows(QuotaExceededException.class, () -> a.callCharged(() -> Pool.allocateWithQuota(PoolType.PAGED, 1, TAG)));
            Pool.free(p);
            MemorySegment q = a.callCharged(() -> Pool.allocateWithQuota(PoolType.PAGED, 1, TAG));
            assertEquals(32, a.usage().paged());
            Pool.free(q);
            Pool.free(np);
            assertThrows(IllegalArgumentException.class, () -> a.setLimits(-1, 0));
            assertThrows(IllegalArgumentException.class, () -> QuotaAccount.create(0, -1));
        }
    }

    /** Concurrent charges never pass the limit: exactly limit / block size of them succeed. */
    @Test
    void concurrentChargesStopExactlyAtTheLimit() throws Exception {
        int threads = 4;
        try (QuotaAccount a = QuotaAccount.create(0, 500 * 128)) {
            AtomicInteger granted = new AtomicInteger();
            List<List<MemorySegment>> held = new ArrayList<>();
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                List<MemorySegment> mine = new ArrayList<>();
                held.add(mine);
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        a.runCharged(() -> {
                            for (int k = 0; k < 200; k++) {
                                MemorySegment m = Pool.tryAllocateWithQuota(PoolType.NON_PAGED_NX, 100, TAG);
                                if (m != null) {
                                    mine.add(m);
                                    granted.incrementAndGet();
                                }
                            }
                        });
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                }));
            }
            for (Thread t : workers) {
                t.join();
            }
            assertNull(failure.get());
            assertEquals(500, granted.get());
            assertEquals(500 * 128, a.usage().nonPaged());
            assertEquals(500 * 128, a.peak().nonPaged());
            assertEquals(500, a.chargedBlocks());
            for (List<MemorySegment> mine : held) {
                for (MemorySegment m : mine) {
                    Pool.free(m);
                }
            }
            assertEquals(0, a.usage().nonPaged());
        }
    }

    /**
     * A virtual thread may change carrier inside a scope: the account is attached around each quota allocation, so
     * the charges land on it before and after the thread blocks, and no carrier is left attached.
     */
    @Test
    void virtualThreadsAreChargedPerAllocation() throws Exception {
        try (QuotaAccount a = QuotaAccount.create(0, 0)) {
            List<MemorySegment> blocks = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long processBefore = QuotaAccount.process().usage().paged();
            Thread v = Thread.ofVirtual().start(() -> {
                try {
                    a.runCharged(() -> {
                        assertSame(a, QuotaAccount.current());
                        blocks.add(Pool.allocateWithQuota(PoolType.PAGED, 100, TAG));
                        try {
                            Thread.sleep(20); // unmounts; may resume on another carrier
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        blocks.add(Pool.allocate(100, TAG, PoolFlags.paged().useQuota()));
                    });
                    assertSame(QuotaAccount.process(), QuotaAccount.current());
                    blocks.add(Pool.allocateWithQuota(PoolType.PAGED, 100, TAG)); // the process account again
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            v.join();
            assertNull(failure.get());
            assertEquals(2 * 128, a.usage().paged());
            assertSame(a, Pool.query(blocks.get(0)).account());
            assertSame(a, Pool.query(blocks.get(1)).account());
            assertSame(QuotaAccount.process(), Pool.query(blocks.get(2)).account());
            assertEquals(processBefore + 128, QuotaAccount.process().usage().paged());
            for (MemorySegment m : blocks) {
                Pool.free(m);
            }
            assertEquals(0, a.usage().paged());
        }
    }

    @Test
    void statusesMapToTypedExceptions() {
        assertTrue(ExallocException.of(NtStatus.QUOTA_EXCEEDED) instanceof QuotaExceededException);
        // quota is not an out-of-memory condition: an exception, not an OutOfMemoryError
        assertTrue(ExallocException.of(NtStatus.QUOTA_EXCEEDED) instanceof RuntimeException);
        assertEquals("STATUS_QUOTA_EXCEEDED", NtStatus.name(NtStatus.QUOTA_EXCEEDED));
        assertEquals("STATUS_WORKING_SET_QUOTA", NtStatus.name(0xC00000A1));
        OutOfMemoryError oom = org.junit.jupiter.api.Assertions.assertThrows(OutOfMemoryError.class,
                () -> ExallocException.of(NtStatus.WORKING_SET_QUOTA));
        assertEquals(NtStatus.WORKING_SET_QUOTA, ((ExallocOutOfMemoryError) oom).status());
    }
}
