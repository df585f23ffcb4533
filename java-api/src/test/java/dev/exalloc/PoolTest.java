package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The pool through {@link Pool}: NT's block rules, headers and tags, PoolMon rows, ExAllocatePool2/3, raise versus
 * NULL, limits, priorities and condition events with hysteresis, must-succeed, misuse (every bad free a typed error,
 * the JVM alive), a concurrent stress with exact per-tag accounting, and the Mm queries.
 */
@Isolated // changes process-wide pool settings: scope, strict mode, limits, condition listeners, Mm inputs
class PoolTest {

    static final long PAGE = 4096;
    static final int LINE = Exalloc.cacheLineSize();

    /** The x64 POOL_HEADER in front of a small block. */
    @SuppressWarnings("restricted") // reinterpret: the 16 header bytes the pool keeps in front of a small block
    static MemorySegment header(MemorySegment block) {
        return MemorySegment.ofAddress(block.address() - 16).reinterpret(16);
    }

    static BugCheckError bugCheck(int code, long p1, Executable e) {
        BugCheckError b = assertThrows(BugCheckError.class, e);
        assertEquals(code, b.code(), b.getMessage());
        assertEquals(p1, b.parameter1(), b.getMessage());
        return b;
    }

    /** Delta of a PoolMon row between two snapshots. */
    static long[] row(Tag tag, PoolKind pool) {
        PoolTagStats r = Pool.tag(tag, pool);
        return new long[] {r.allocs(), r.frees(), r.diff(), r.bytes()};
    }

    /**
     * Sets the pool's capacity to what is in use now plus {@code freePages}, and the marks (in pages of free
     * capacity); returns the limits to restore.
     */
    static PoolLimits limit(PoolKind pool, long freePages, long critical, long low, long lowClear, long highClear,
            long high, long reservePages) {
        Pool.trim();
        PoolLimits saved = Pool.limits(pool);
        long inUse = Pool.stats(pool).inUse();
        Pool.setLimits(pool, saved.withCapacity(inUse + freePages * PAGE)
                .withWatermarks(critical * PAGE, low * PAGE, lowClear * PAGE, highClear * PAGE, high * PAGE)
                .withMustSucceedReserve(reservePages * PAGE));
        assertEquals(freePages * PAGE, Pool.stats(pool).available());
        return saved;
    }

    static long freePages(PoolKind pool) {
        return Pool.stats(pool).available() / PAGE;
    }

    // ---------------------------------------------------------------------------------------------

    @Nested
    class Blocks {

        /** docs/pool.md#alignment for every size 1..3 pages in every pool type, and the query's read-back. */
        @Test
        void alignmentAndPageRulesForEverySizeUpToThreePagesInEveryType() {
            Tag tag = Tag.of("JAlg");
            long[] before = {row(tag, PoolKind.NON_PAGED)[0], row(tag, PoolKind.PAGED)[0]};
            long count = 0;
            for (PoolType type : PoolType.values()) {
                long smallMax = type.isCacheAligned() ? 255 * 16 - LINE : Pool.MAX_SMALL_BLOCK;
                for (long n = 1; n <= 3 * PAGE; n++) {
                    MemorySegment p = Pool.allocate(type, n, tag);
                    count++;
                    long a = p.address();
                    assertEquals(n, p.byteSize());
                    BlockInfo info = Pool.query(p);
                    assertEquals(tag, info.tag());
                    assertEquals(type, info.poolType(), "type of " + n);
                    assertEquals(type.kind(), info.pool());
                    assertTrue(info.size() >= n, "usable " + info.size() + " < " + n);
                    assertFalse(info.quotaCharged());
                    if (n <= smallMax) {
                        assertEquals(0, a % (type.isCacheAligned() ? LINE : 16), type + " " + n + " at " + a);
                        assertNotEquals(0, a % PAGE);
                        assertEquals(a / PAGE, (a + n - 1) / PAGE, "block of " + n + " crosses a page");
                        assertFalse(info.big());
                        assertTrue(info.size() < n + (type.isCacheAligned() ? LINE : 16) + 16);
                        assertEquals(0, info.charged() % 16);
                    } else {
                        assertEquals(0, a % PAGE, type + " " + n + " not page-aligned");
                        assertTrue(info.big());
                        assertEquals((n + PAGE - 1) / PAGE * PAGE, info.size());
                        assertEquals(info.size(), info.charged());
                    }
                    p.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                    p.set(ValueLayout.JAVA_BYTE, n - 1, (byte) 2);
                    Pool.free(p, tag);
                }
            }
            long pagedTypes = Arrays.stream(PoolType.values()).filter(PoolType::isPaged).count();
            assertEquals(pagedTypes * 3 * PAGE, row(tag, PoolKind.PAGED)[0] - before[1]);
            assertEquals(count - pagedTypes * 3 * PAGE, row(tag, PoolKind.NON_PAGED)[0] - before[0]);
            assertEquals(0, row(tag, PoolKind.PAGED)[2]);
            assertEquals(0, row(tag, PoolKind.NON_PAGED)[3]);
        }

        /** docs/pool.md#alignment, docs/edge-cases.md#case-23: the small/big cut-over at 4064 (x64) and ExQueryPoolBlockSize's values. */
        @Test
        void smallBigBoundaryAndQueryBlockSize() {
            long[][] cases = {{1, 16, 0}, {16, 16, 0}, {17, 32, 0}, {4048, 4048, 0}, {4049, 4064, 0}, {4064, 4064, 0},
                {4065, 4096, 1}, {4095, 4096, 1}, {4096, 4096, 1}, {4097, 8192, 1}, {65536, 65536, 1},
                {64 * PAGE + 1, 65 * PAGE, 1}, {300000, 74 * PAGE, 1}};
            for (long[] c : cases) {
                MemorySegment p = Pool.allocate(c[0], Tag.of("Bndy"), PoolFlags.paged().uninitialized());
                BlockInfo info = Pool.query(p);
                assertEquals(c[1], info.size(), "ExQueryPoolBlockSize of " + c[0]);
                assertEquals(c[2] == 1, info.big());
                assertEquals(c[2] == 1 ? c[1] : c[1] + 16, info.charged());
                assertEquals(c[2] == 1, p.address() % PAGE == 0);
                Pool.free(p);
            }
        }

        /** docs/pool.md#header: the 16-byte header in front of a small block, read from Java. */
        @Test
        void headerLayoutAndTagReadBack() {
            Object[][] cases = {{PoolType.NON_PAGED, 0}, {PoolType.PAGED, 1}, {PoolType.PAGED_SESSION, 0x21},
                {PoolType.NON_PAGED_NX, 0}, {PoolType.NON_PAGED_SESSION_NX, 0x20}};
            Tag tag = Tag.of("Hdr1");
            for (Object[] c : cases) {
                PoolType type = (PoolType) c[0];
                for (long n : new long[] {1, 24, 100, 4000}) {
                    MemorySegment p = Pool.allocate(type, n, tag);
                    MemorySegment h = header(p);
                    assertEquals((n + 16 + 15) / 16, Byte.toUnsignedLong(h.get(ValueLayout.JAVA_BYTE, 2)), "BlockSize");
                    assertEquals((int) c[1] + 1, Byte.toUnsignedInt(h.get(ValueLayout.JAVA_BYTE, 3)), "PoolType + 1");
                    assertEquals(tag.value(), h.get(ValueLayout.JAVA_INT_UNALIGNED, 4), "PoolTag");
                    assertEquals(0, h.get(ValueLayout.JAVA_LONG_UNALIGNED, 8), "ProcessBilled: no quota");
                    int previous = Byte.toUnsignedInt(h.get(ValueLayout.JAVA_BYTE, 0));
                    assertEquals(previous == 0, (p.address() - 16) % PAGE == 0, "PreviousSize 0 only first in page");
                    assertEquals(tag, Pool.query(p).tag());
                    Pool.free(p, tag);
                }
            }
            Tag other = Tag.of("Hdr2");
            MemorySegment q = Pool.allocate(PoolType.NON_PAGED_NX, 40, other);
            assertEquals(other, Pool.query(q).tag());
            assertEquals("Hdr2", Pool.query(q).tag().toString());
            Pool.free(q);
        }

        @Test
        void pool2ZeroesUnlessUninitialized() {
            Tag tag = Tag.of("Zero");
            MemorySegment a = Pool.allocate(PoolType.PAGED, 300, tag);
            a.fill((byte) 0xAB);
            long address = a.address();
            Pool.free(a);
            assertEquals(1, Pool.endQuarantine()); // a's quarantine epoch ends: a goes back to the pool
            MemorySegment b = Pool.allocate(300, tag, PoolFlags.paged());
            assertEquals(address, b.address(), "the thread's cache hands back the block freed last");
            for (long i = 0; i < 300; i++) {
                assertEquals(0, b.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
            b.fill((byte) 0xAB);
            Pool.free(b);
            MemorySegment c = Pool.allocate(300, tag, PoolFlags.paged().uninitialized());
            assertEquals(address, c.address());
            for (long i = 16; i < 300; i++) { // the first word holds the cache link
                assertEquals((byte) 0xAB, c.get(ValueLayout.JAVA_BYTE, i), "uninitialised byte " + i);
            }
            Pool.free(c);
        }

        @Test
        void pool2FlagsMapToTypesAndAreValidated() {
            Tag tag = Tag.of("Flg2");
            Object[][] cases = {{PoolFlags.nonPaged(), PoolType.NON_PAGED_NX}, {PoolFlags.nonPagedExecute(), PoolType.NON_PAGED},
                {PoolFlags.paged(), PoolType.PAGED}, {PoolFlags.nonPaged().cacheAligned(), PoolType.NON_PAGED_NX_CACHE_ALIGNED},
                {PoolFlags.nonPagedExecute().cacheAligned(), PoolType.NON_PAGED_CACHE_ALIGNED},
                {PoolFlags.paged().cacheAligned(), PoolType.PAGED_CACHE_ALIGNED},
                {PoolFlags.nonPaged().session(), PoolType.NON_PAGED_SESSION_NX},
                {PoolFlags.nonPagedExecute().session(), PoolType.NON_PAGED_SESSION},
                {PoolFlags.paged().session(), PoolType.PAGED_SESSION},
                {PoolFlags.nonPagedExecute().session().cacheAligned(), PoolType.NON_PAGED_CACHE_ALIGNED_SESSION},
                {PoolFlags.paged().session().cacheAligned(), PoolType.PAGED_CACHE_ALIGNED_SESSION},
                {PoolFlags.paged().specialPool(), PoolType.PAGED}};
            for (Object[] c : cases) {
                PoolFlags flags = (PoolFlags) c[0];
                MemorySegment p = Pool.allocate(100, tag, flags);
                assertNotNull(p, flags.toString());
                assertEquals(c[1], Pool.query(p).poolType(), flags.toString());
                assertEquals(c[1], flags.poolType());
                Pool.free(p);
            }
            PoolFlags[] invalid = {PoolFlags.of(0), PoolFlags.of(PoolFlags.NON_PAGED | PoolFlags.PAGED),
                PoolFlags.nonPaged().session().cacheAligned(), PoolFlags.of(PoolFlags.PAGED | PoolFlags.RESERVED1),
                PoolFlags.of(PoolFlags.PAGED | 0x800)};
            for (PoolFlags f : invalid) {
                assertNull(Pool.allocate(100, tag, f), f.toString());
                InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                        () -> Pool.allocate(100, tag, f.raiseOnFailure()), f.toString());
                assertEquals(NtStatus.INVALID_PARAMETER, e.status());
            }
            assertNull(Pool.allocate(100, new Tag(0), PoolFlags.paged()), "tag 0");
            assertThrows(InvalidArgumentException.class, () -> Pool.allocate(100, new Tag(0), PoolFlags.paged().raiseOnFailure()));
            // Zero bytes: a minimal block (null in strict mode).
            MemorySegment zero = Pool.allocate(0, tag, PoolFlags.paged());
            assertEquals(0, zero.byteSize());
            assertTrue(Pool.query(zero).size() >= 1);
            Pool.free(zero);
            Pool.setStrict(true);
            try {
                assertNull(Pool.allocate(0, tag, PoolFlags.paged()));
            } finally {
                Pool.setStrict(false);
            }
            assertThrows(IllegalArgumentException.class, () -> Pool.allocate(-1, tag, PoolFlags.paged()));
        }

        /** Zero bytes keep their rule when the thread's page cache holds a page (a one-page block was just freed). */
        @Test
        void zeroBytesNeverTakeACachedPage() {
            Tag tag = Tag.of("Zpag");
            for (boolean strict : new boolean[] {false, true}) {
                Pool.free(Pool.allocate(4065, tag, PoolFlags.paged()));
                Pool.setStrict(strict);
                MemorySegment zero;
                try {
                    zero = Pool.allocate(0, tag, PoolFlags.paged());
                } finally {
                    Pool.setStrict(false);
                }
                if (strict) {
                    assertNull(zero, "strict mode: a zero-byte ExAllocatePool2 request fails");
                } else {
                    assertNotNull(zero);
                    assertEquals(16, Pool.query(zero).size(), "a minimal block, not a page");
                    Pool.free(zero);
                }
                Pool.free(Pool.allocate(PoolType.PAGED, 4065, tag));
                MemorySegment legacy = Pool.allocate(PoolType.PAGED, 0, tag);
                assertEquals(16, Pool.query(legacy).size(), "legacy zero bytes: a minimal block, not a page");
                Pool.free(legacy);
            }
        }

        @Test
        void pool3ExtendedParameters() {
            Tag tag = Tag.of("Flg3");
            PoolParameters node0 = PoolParameters.none().numaNode(0, false);
            MemorySegment p = Pool.allocate(200, tag, PoolFlags.nonPaged(), node0);
            assertNotNull(p);
            assertEquals(PoolType.NON_PAGED_NX, Pool.query(p).poolType());
            Pool.free(p);
            // A node parameter is non-paged only: required fails, optional is ignored.
            assertNull(Pool.allocate(200, tag, PoolFlags.paged(), node0));
            MemorySegment q = Pool.allocate(200, tag, PoolFlags.paged(),
                    PoolParameters.none().raw(PoolParameters.TYPE_NUMA_NODE, true, 0));
            assertNotNull(q);
            Pool.free(q);
            // A node the host does not have: fails unless another will do.
            int missing = Pool.numaNodes() + 7;
            assertNull(Pool.allocate(200, tag, PoolFlags.nonPaged(), PoolParameters.none().numaNode(missing, false)));
            MemorySegment r = Pool.allocate(200, tag, PoolFlags.nonPaged(), PoolParameters.none().numaNode(missing, true));
            assertNotNull(r);
            Pool.free(r);
            // Invalid and unsupported types: fail when required, ignored when optional.
            for (int type : new int[] {PoolParameters.TYPE_INVALID, PoolParameters.TYPE_SECURE_POOL, 9}) {
                assertNull(Pool.allocate(64, tag, PoolFlags.paged(), PoolParameters.none().raw(type, false, 0)));
                MemorySegment s = Pool.allocate(64, tag, PoolFlags.paged(), PoolParameters.none().raw(type, true, 0));
                assertNotNull(s, "optional type " + type);
                Pool.free(s);
            }
            assertThrows(InvalidArgumentException.class, () -> Pool.allocate(64, tag, PoolFlags.paged().raiseOnFailure(),
                    PoolParameters.none().raw(PoolParameters.TYPE_PRIORITY, false, 5))); // not an EX_POOL_PRIORITY
            MemorySegment t = Pool.allocate(64, tag, PoolFlags.paged(), PoolParameters.none().priority(PoolPriority.NORMAL));
            assertNotNull(t);
            Pool.free(t);
        }

        /** A node-bound mapping is served where the host refuses the binding, and each refusal is counted. */
        @Test
        void nodeRefusalsCountEachRefusedBinding() {
            Tag tag = Tag.of("NuRj");
            PoolParameters node0 = PoolParameters.none().numaNode(0, false);
            long[] deltas = new long[2];
            for (int i = 0; i < 2; i++) {
                long before = Pool.stats(PoolKind.NON_PAGED).nodeRefusals();
                // beyond a segment's 64 pages: a mapping of its own, bound on its own
                MemorySegment big = Pool.allocate(80 * 4096, tag, PoolFlags.nonPaged(), node0);
                assertNotNull(big, "served whether or not the host binds it");
                deltas[i] = Pool.stats(PoolKind.NON_PAGED).nodeRefusals() - before;
                Pool.free(big);
            }
            assertTrue(deltas[0] == 0 || deltas[0] == 1, "one mapping, at most one refusal: " + deltas[0]);
            assertEquals(deltas[0], deltas[1], "the host answers the same way each time");
            assertEquals(0, Pool.stats(PoolKind.PAGED).nodeRefusals(), "paged requests take no node");
        }

        @Test
        void poolMonRowsPerTagAndPool() {
            Tag tag = Tag.of("Mon1");
            long[] np0 = row(tag, PoolKind.NON_PAGED);
            long[] pg0 = row(tag, PoolKind.PAGED);
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                blocks.add(Pool.allocate(PoolType.NON_PAGED_NX, 100, tag)); // 128-byte blocks
            }
            blocks.add(Pool.allocate(PoolType.NON_PAGED_NX, 5000, tag)); // two pages
            blocks.add(Pool.allocate(PoolType.PAGED, 10, tag.asProtected())); // one 32-byte block, row of the plain tag
            PoolTagStats np = Pool.tag(tag, PoolKind.NON_PAGED);
            assertEquals(np0[0] + 4, np.allocs());
            assertEquals(np0[1], np.frees());
            assertEquals(4, np.diff());
            assertEquals(3 * 128 + 2 * PAGE, np.bytes());
            assertEquals((3 * 128 + 2 * PAGE) / 4, np.bytesPerAlloc());
            PoolTagStats pg = Pool.tag(tag, PoolKind.PAGED);
            assertEquals(pg0[0] + 1, pg.allocs());
            assertEquals(32, pg.bytes());
            assertEquals(tag, pg.tag());
            assertTrue(Pool.tags().contains(np));
            assertEquals(String.format("Mon1 Nonp  %10d %10d %8d %12d %8d", np.allocs(), np.frees(), 4, np.bytes(),
                    np.bytesPerAlloc()), np.toString());
            for (int i = 0; i < 4; i++) {
                Pool.free(blocks.get(i), tag);
            }
            Pool.free(blocks.get(4), tag.asProtected());
            np = Pool.tag(tag, PoolKind.NON_PAGED);
            assertEquals(np0[1] + 4, np.frees());
            assertEquals(0, np.diff());
            assertEquals(0, np.bytes());
            assertEquals(0, np.bytesPerAlloc());
            assertEquals(0, Pool.tag(tag, PoolKind.PAGED).diff());
            // Rows are sorted by tag bytes, then pool.
            List<PoolTagStats> rows = Pool.tags();
            for (int i = 1; i < rows.size(); i++) {
                PoolTagStats x = rows.get(i - 1);
                PoolTagStats y = rows.get(i);
                int c = Arrays.compareUnsigned(bytes(x.tag()), bytes(y.tag()));
                assertTrue(c < 0 || (c == 0 && x.pool().code() < y.pool().code()), x + " before " + y);
            }
        }

        private static byte[] bytes(Tag t) {
            int v = t.value();
            return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
        }

        @Test
        void statsAndTrim() {
            MemorySegment p = Pool.allocate(PoolType.PAGED, 3 * PAGE, Tag.of("Stat"));
            PoolStats s = Pool.stats(PoolKind.PAGED);
            assertEquals(PoolKind.PAGED, s.pool());
            assertTrue(s.inUse() >= 3 * PAGE);
            assertTrue(s.bigPages() >= 3);
            assertTrue(s.bigAllocations() >= 1);
            assertTrue(s.peak() >= s.inUse());
            assertEquals(Math.max(0, s.capacity() - s.inUse()), s.available());
            assertTrue(s.mapped() >= s.inUse());
            assertTrue(s.numaNodes() >= 1);
            assertEquals(Pool.numaNodes(), s.numaNodes());
            Pool.free(p);
            assertEquals(s.inUse() - 3 * PAGE, Pool.stats(PoolKind.PAGED).inUse());
            for (int i = 0; i < 10; i++) {
                Pool.free(Pool.allocate(PoolType.PAGED, 48, Tag.of("Stat")));
            }
            assertTrue(Pool.trim() >= 1, "the freed block waited in the thread's cache");
            assertEquals(0, Pool.trim());
            PoolStats np = Pool.stats(PoolKind.NON_PAGED);
            assertTrue(np.locked() + np.lockFailures() >= 0);
            assertTrue(np.lockStatus() == NtStatus.SUCCESS || np.lockStatus() == NtStatus.WORKING_SET_QUOTA
                    || np.lockStatus() == NtStatus.UNSUCCESSFUL, NtStatus.name(np.lockStatus()));
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Nested
    class Tags {

        /** docs/pool.md#tags: a protected tag must be passed exactly; other mismatches only matter in strict mode. */
        @Test
        void protectedTagsAndTagMismatch() {
            Tag prot = Tag.of("Prot").asProtected();
            MemorySegment p = Pool.allocate(PoolType.PAGED, 64, prot);
            assertEquals(prot, Pool.query(p).tag());
            BugCheckError e = bugCheck(0xC2, 0x0A, () -> Pool.free(p)); // ExFreePool passes no tag
            assertEquals(p.address(), e.parameter2());
            assertEquals(Integer.toUnsignedLong(prot.value()), e.parameter3());
            assertEquals(0, e.parameter4());
            assertTrue(Pool.isLive(p), "refused: still allocated");
            e = bugCheck(0xC2, 0x0A, () -> Pool.free(p, prot.unprotected())); // the bit is part of the tag
            assertEquals(Integer.toUnsignedLong(prot.unprotected().value()), e.parameter4());
            assertTrue(Pool.isLive(p));
            Pool.free(p, prot);
            assertFalse(Pool.isLive(p));

            // Unprotected: NT ignores a mismatch; strict mode (the old DDK's rule) refuses it.
            MemorySegment q = Pool.allocate(PoolType.PAGED, 64, Tag.of("Unpr"));
            Pool.free(q, Tag.of("Else"));
            MemorySegment r = Pool.allocate(PoolType.PAGED, 64, Tag.of("Unpr"));
            Pool.setStrict(true);
            try {
                assertTrue(Pool.isStrict());
                e = bugCheck(0xC2, 0x0A, () -> Pool.free(r, Tag.of("Else")));
                assertEquals(Integer.toUnsignedLong(Tag.of("Else").value()), e.parameter4());
                Pool.free(r, Tag.of("Unpr"));
            } finally {
                Pool.setStrict(false);
            }
            assertFalse(Pool.isStrict());
        }

        /** docs/pool.md#tags, docs/edge-cases.md#case-3 to #case-5: legacy tags in strict mode; "None" for tag 0 otherwise. */
        @Test
        void legacyTagRulesAndZeroBytes() {
            MemorySegment p = Pool.allocate(PoolType.PAGED, 16, new Tag(0));
            assertEquals(Tag.NONE, Pool.query(p).tag());
            Pool.free(p);
            MemorySegment z = Pool.allocate(PoolType.PAGED, 0, Tag.of("Zer0"));
            assertEquals(0, z.byteSize());
            assertEquals(16, Pool.query(z).size());
            Pool.free(z);
            Pool.setStrict(true);
            try {
                bugCheck(0xC2, 0x9B, () -> Pool.allocate(PoolType.PAGED, 16, new Tag(0)));
                bugCheck(0xC2, 0x9C, () -> Pool.tryAllocate(PoolType.PAGED, 16, Tag.of("BIG ")));
                bugCheck(0xC2, 0x9D, () -> Pool.allocate(PoolType.PAGED, 16, Tag.of("-- ")));
                bugCheck(0xC4, 0x00, () -> Pool.allocate(PoolType.PAGED, 0, Tag.of("Zer0")));
                bugCheck(0xC2, 0x9A, () -> Pool.allocate(PoolType.NON_PAGED_MUST_SUCCEED, 16, Tag.of("Must")));
            } finally {
                Pool.setStrict(false);
            }
            MemorySegment ok = Pool.allocate(PoolType.PAGED, 16, Tag.of("Ok  "));
            Pool.free(ok);
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Nested
    class Failures {

        /** NULL where NT returns NULL, a typed exception where it raises; nothing held after a failure. */
        @Test
        void raiseVersusNull() {
            Tag tag = Tag.of("Rais");
            PoolLimits saved = limit(PoolKind.PAGED, 16, 0, 0, 0, 0, 0, 0);
            try {
                long big = 20 * PAGE;
                long allocs = row(tag, PoolKind.PAGED)[0];
                assertNull(Pool.tryAllocate(PoolType.PAGED, big, tag));
                ExallocOutOfMemoryError e = assertThrows(ExallocOutOfMemoryError.class,
                        () -> Pool.allocate(PoolType.PAGED, big, tag));
                assertEquals(NtStatus.INSUFFICIENT_RESOURCES, e.status());
                assertNull(Pool.allocate(big, tag, PoolFlags.paged()));
                // what code that handles exhausted memory catches
                try {
                    Pool.allocate(PoolType.PAGED, big, tag);
                    org.junit.jupiter.api.Assertions.fail("allocated past the capacity");
                } catch (OutOfMemoryError caught) {
                    assertEquals(NtStatus.INSUFFICIENT_RESOURCES, ((ExallocOutOfMemoryError) caught).status());
                }
                e = assertThrows(ExallocOutOfMemoryError.class, () -> Pool.allocate(big, tag, PoolFlags.paged().raiseOnFailure()));
                assertEquals(NtStatus.INSUFFICIENT_RESOURCES, e.status());
                // The quota routine raises by default, returns null only when asked to.
                e = assertThrows(ExallocOutOfMemoryError.class, () -> Pool.allocateWithQuota(PoolType.PAGED, big, tag));
                assertEquals(NtStatus.INSUFFICIENT_RESOURCES, e.status());
                assertNull(Pool.tryAllocateWithQuota(PoolType.PAGED, big, tag));
                assertEquals(allocs, row(tag, PoolKind.PAGED)[0], "no failed request was counted");
                assertEquals(16 * PAGE, Pool.stats(PoolKind.PAGED).available(), "nothing held after failures");
                // What fits still works, to the last page.
                MemorySegment all = Pool.allocate(PoolType.PAGED, 16 * PAGE, tag);
                assertEquals(0, Pool.stats(PoolKind.PAGED).available());
                assertNull(Pool.tryAllocate(PoolType.PAGED, PAGE, tag));
                Pool.free(all);
            } finally {
                Pool.setLimits(PoolKind.PAGED, saved);
            }
            assertEquals(saved, Pool.limits(PoolKind.PAGED));
            assertThrows(IllegalArgumentException.class, () -> Pool.allocate(PoolType.PAGED, -5, tag));
            assertThrows(NullPointerException.class, () -> Pool.allocate(null, 5, tag));
        }

        /** docs/pool.md#failure: must-succeed requests use a reserve beyond the capacity; then bug check 0x41, never NULL. */
        @Test
        void mustSucceedUsesTheReserveThenBugChecks() {
            Tag tag = Tag.of("Must");
            PoolLimits saved = limit(PoolKind.NON_PAGED, 2, 0, 0, 0, 0, 0, 4);
            List<MemorySegment> held = new ArrayList<>();
            try {
                held.add(Pool.allocate(PoolType.NON_PAGED_NX, 2 * PAGE, tag));
                assertNull(Pool.tryAllocate(PoolType.NON_PAGED_NX, PAGE, tag));
                for (int i = 0; i < 4; i++) {
                    MemorySegment m = Pool.allocate(PoolType.NON_PAGED_MUST_SUCCEED, PAGE, tag);
                    assertEquals(PoolType.NON_PAGED_MUST_SUCCEED, Pool.query(m).poolType());
                    held.add(m);
                }
                BugCheckError e = bugCheck(0x41, PAGE, () -> Pool.allocate(PoolType.NON_PAGED_MUST_SUCCEED, PAGE, tag));
                assertNotNull(e);
                bugCheck(0x41, PAGE, () -> Pool.tryAllocate(PoolType.NON_PAGED_MUST_SUCCEED, PAGE, tag));
            } finally {
                for (MemorySegment m : held) {
                    Pool.free(m);
                }
                Pool.setLimits(PoolKind.NON_PAGED, saved);
            }
        }

        @Test
        void limitsAreValidatedAndRoundTrip() {
            PoolLimits l = Pool.limits(PoolKind.NON_PAGED);
            assertTrue(l.capacity() > 0);
            assertTrue(l.criticalWatermark() <= l.lowWatermark() && l.lowWatermark() <= l.lowClear()
                    && l.lowClear() <= l.highClear() && l.highClear() <= l.highWatermark()
                    && l.highWatermark() <= l.capacity(), l.toString());
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Pool.setLimits(
                    PoolKind.NON_PAGED, l.withWatermarks(l.criticalWatermark(), l.lowWatermark(), l.lowWatermark() - PAGE,
                            l.highClear(), l.highWatermark())));
            assertEquals(NtStatus.INVALID_PARAMETER_2, e.status());
            assertThrows(InvalidArgumentException.class,
                    () -> Pool.setLimits(PoolKind.NON_PAGED, l.withCapacity(l.highWatermark() - PAGE)));
            assertThrows(InvalidArgumentException.class, () -> Pool.setLimits(PoolKind.NON_PAGED, l.withCachedSegments(65)));
            assertEquals(l, Pool.limits(PoolKind.NON_PAGED), "a refused change changes nothing");
            PoolLimits changed = l.withCachedSegments(5).withLockPolicy(PoolLimits.LockPolicy.NONE);
            Pool.setLimits(PoolKind.NON_PAGED, changed);
            try {
                assertEquals(changed, Pool.limits(PoolKind.NON_PAGED));
            } finally {
                Pool.setLimits(PoolKind.NON_PAGED, l);
            }
            assertEquals(l, Pool.limits(PoolKind.NON_PAGED));
            // Rounding: the capacity down to pages, the marks up.
            PoolLimits odd = l.withCapacity(l.capacity() + 100);
            Pool.setLimits(PoolKind.NON_PAGED, odd);
            try {
                assertEquals(l.capacity(), Pool.limits(PoolKind.NON_PAGED).capacity());
            } finally {
                Pool.setLimits(PoolKind.NON_PAGED, l);
            }
            assertThrows(IllegalArgumentException.class, () -> l.withCapacity(-1));
            PoolLimits scaled = PoolLimits.scaled(1000 * PAGE);
            assertEquals(1000 * PAGE, scaled.capacity());
            assertEquals(100 * PAGE, scaled.lowWatermark());
            assertEquals(150 * PAGE, scaled.lowClear());
            assertEquals(450 * PAGE, scaled.highClear());
            assertEquals(500 * PAGE, scaled.highWatermark());
            assertEquals(20 * PAGE, scaled.criticalWatermark());
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Nested
    class Conditions {

        record Event(PoolKind pool, Set<PoolCondition> condition) {
        }

        /**
         * Drives the paged pool across its watermarks one page at a time: the listener sees exactly none, LOW, none,
         * HIGH (the hysteresis gaps hold the old state), the pollable state agrees at every step, and the priorities
         * fail at their marks.
         */
        @Test
        void conditionEventsWithHysteresisAndPriorities() throws Exception {
            Tag tag = Tag.of("Cond");
            // free pages: capacity 32; critical 2, low 8, low-clear 12, high-clear 20, high 24
            PoolLimits saved = limit(PoolKind.PAGED, 32, 2, 8, 12, 20, 24, 0);
            List<Event> events = new CopyOnWriteArrayList<>();
            List<MemorySegment> held = new ArrayList<>();
            AutoCloseable registration = Pool.onCondition((pool, condition) -> events.add(new Event(pool, condition)));
            try {
                assertEquals(Set.of(PoolCondition.HIGH), Pool.condition(PoolKind.PAGED));
                int changes = Pool.stats(PoolKind.PAGED).conditionChanges();
                // Down to 20 free: HIGH holds (cleared only below high-clear).
                while (freePages(PoolKind.PAGED) > 20) {
                    held.add(Pool.allocate(PoolType.PAGED, PAGE, tag));
                    assertEquals(Set.of(PoolCondition.HIGH), Pool.condition(PoolKind.PAGED), "free " + freePages(PoolKind.PAGED));
                }
                assertEquals(List.of(), events);
                held.add(Pool.allocate(PoolType.PAGED, PAGE, tag)); // 19 free
                assertEquals(Set.of(), Pool.condition(PoolKind.PAGED));
                assertEquals(List.of(new Event(PoolKind.PAGED, Set.of())), events);
                // Freeing one (20 free) does not bring HIGH back: it needs 24.
                Pool.free(held.removeLast());
                assertEquals(Set.of(), Pool.condition(PoolKind.PAGED));
                while (freePages(PoolKind.PAGED) > 8) {
                    held.add(Pool.allocate(PoolType.PAGED, PAGE, tag));
                    assertEquals(Set.of(), Pool.condition(PoolKind.PAGED));
                }
                assertEquals(1, events.size());
                // 8 free: LOW-priority requests still pass (8 >= 8); at 7 LOW is set and they fail.
                held.add(Pool.allocate(PoolType.PAGED, PAGE, tag, PoolPriority.LOW));
                assertEquals(Set.of(PoolCondition.LOW), Pool.condition(PoolKind.PAGED));
                assertEquals(new Event(PoolKind.PAGED, Set.of(PoolCondition.LOW)), events.get(1));
                assertNull(Pool.tryAllocate(PoolType.PAGED, PAGE, tag, PoolPriority.LOW));
                assertThrows(ExallocOutOfMemoryError.class, () -> Pool.allocate(PoolType.PAGED, PAGE, tag, PoolPriority.LOW));
                assertNull(Pool.allocate(PAGE, tag, PoolFlags.paged(), PoolParameters.none().priority(PoolPriority.LOW)));
                assertNull(Pool.tryAllocate(PoolType.PAGED, PAGE, tag, PoolPriority.LOW_SPECIAL_POOL_UNDERRUN));
                // NORMAL while at least the critical mark (2) is free, HIGH to the last page.
                while (freePages(PoolKind.PAGED) > 1) {
                    held.add(Pool.allocate(PoolType.PAGED, PAGE, tag, PoolPriority.NORMAL));
                }
                assertNull(Pool.tryAllocate(PoolType.PAGED, PAGE, tag, PoolPriority.NORMAL));
                assertNull(Pool.tryAllocate(PoolType.PAGED, PAGE, tag, PoolPriority.NORMAL_SPECIAL_POOL_OVERRUN));
                held.add(Pool.allocate(PAGE, tag, PoolFlags.paged(), PoolParameters.none().priority(PoolPriority.HIGH)));
                assertEquals(0, freePages(PoolKind.PAGED));
                assertNull(Pool.tryAllocate(PoolType.PAGED, PAGE, tag));
                assertEquals(2, events.size());
                // Back up: LOW holds until 12 free, then clears; HIGH comes at 24.
                while (freePages(PoolKind.PAGED) < 11) {
                    Pool.free(held.removeLast());
                    assertEquals(Set.of(PoolCondition.LOW), Pool.condition(PoolKind.PAGED), "free " + freePages(PoolKind.PAGED));
                }
                Pool.free(held.removeLast()); // 12
                assertEquals(Set.of(), Pool.condition(PoolKind.PAGED));
                assertEquals(new Event(PoolKind.PAGED, Set.of()), events.get(2));
                while (freePages(PoolKind.PAGED) < 23) {
                    Pool.free(held.removeLast());
                    assertEquals(Set.of(), Pool.condition(PoolKind.PAGED));
                }
                assertEquals(3, events.size());
                Pool.free(held.removeLast()); // 24
                assertEquals(Set.of(PoolCondition.HIGH), Pool.condition(PoolKind.PAGED));
                while (!held.isEmpty()) {
                    Pool.free(held.removeLast());
                }
                assertEquals(List.of(new Event(PoolKind.PAGED, Set.of()), new Event(PoolKind.PAGED, Set.of(PoolCondition.LOW)),
                        new Event(PoolKind.PAGED, Set.of()), new Event(PoolKind.PAGED, Set.of(PoolCondition.HIGH))), events);
                PoolStats s = Pool.stats(PoolKind.PAGED);
                assertEquals(Set.of(PoolCondition.HIGH), s.condition());
                assertEquals(changes + 4, s.conditionChanges());
                assertTrue(s.peak() >= s.capacity());
            } finally {
                registration.close();
                for (MemorySegment m : held) {
                    Pool.free(m);
                }
                Pool.setLimits(PoolKind.PAGED, saved);
            }
        }

        /**
         * Listeners are no upcalls: a lookaside list's misses cross the watermarks inside critical downcalls, and the
         * change reaches the listener afterwards, outside every list call (from the next ordinary pool call or the
         * dispatcher thread), while the lists keep their critical path.
         */
        @Test
        void listenersNeverRunInsideLookasideCalls() throws Exception {
            PoolLimits saved = limit(PoolKind.PAGED, 24, 0, 4, 8, 12, 16, 0);
            List<Event> events = new CopyOnWriteArrayList<>();
            boolean[] insideList = {false};
            List<Boolean> deliveredInside = new CopyOnWriteArrayList<>();
            Thread me = Thread.currentThread();
            AutoCloseable registration = Pool.onCondition((pool, condition) -> {
                events.add(new Event(pool, condition));
                deliveredInside.add(Thread.currentThread() == me && insideList[0]);
            });
            List<MemorySegment> held = new ArrayList<>();
            try (Lookaside list = Lookaside.builder(4000).poolType(PoolType.PAGED).tag(Tag.of("LkCn")).build()) {
                for (int i = 0; i < 100 && !PoolCondition.fromBits(
                        dev.exalloc.internal.bindings.exalloc_h.exa_pool_condition(PoolKind.PAGED.code()))
                        .contains(PoolCondition.LOW); i++) {
                    insideList[0] = true;
                    held.add(list.allocate());
                    insideList[0] = false;
                }
                assertTrue(dev.exalloc.internal.CriticalGate.allowed(), "lists keep their critical downcalls");
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (!events.contains(new Event(PoolKind.PAGED, Set.of(PoolCondition.LOW)))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(1); // the dispatcher thread delivers within a few milliseconds
                }
                assertTrue(events.contains(new Event(PoolKind.PAGED, Set.of(PoolCondition.LOW))), events.toString());
                assertFalse(deliveredInside.contains(true), "no listener ran inside a lookaside call");
                for (MemorySegment m : held) {
                    list.free(m);
                }
                held.clear();
            } finally {
                registration.close();
                for (MemorySegment m : held) {
                    Pool.free(m);
                }
                Pool.trim();
                Pool.setLimits(PoolKind.PAGED, saved);
            }
            assertEquals(Set.of(PoolCondition.HIGH), Pool.condition(PoolKind.PAGED));
        }

        /** A failing listener is caught and logged; the others still hear; a listener may close itself. */
        @Test
        void listenerFailuresStayInJavaAndListenersCanLeave() throws Exception {
            PoolLimits saved = Pool.limits(PoolKind.PAGED);
            List<Set<PoolCondition>> heard = new CopyOnWriteArrayList<>();
            AutoCloseable[] self = new AutoCloseable[1];
            List<Set<PoolCondition>> heardOnce = new CopyOnWriteArrayList<>();
            long failures = Pool.LISTENER_FAILURES.get();
            long logged = Pool.LISTENER_FAILURES_LOGGED.get();
            AutoCloseable bad = Pool.onCondition((pool, condition) -> {
                throw new IllegalStateException("listener bug");
            });
            AutoCloseable good = Pool.onCondition((pool, condition) -> heard.add(condition));
            self[0] = Pool.onCondition((pool, condition) -> {
                heardOnce.add(condition);
                try {
                    self[0].close();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            MemorySegment page = Pool.allocate(PoolType.PAGED, PAGE, Tag.of("Lstn")); // in use: at least a page
            try {
                swing(saved);
            } finally {
                bad.close();
                good.close();
                self[0].close();
                Pool.setLimits(PoolKind.PAGED, saved);
            }
            assertEquals(List.of(Set.of(PoolCondition.LOW), Set.of(PoolCondition.HIGH)), heard);
            assertEquals(List.of(Set.of(PoolCondition.LOW)), heardOnce, "closed itself in its first call");
            assertEquals(failures + 2, Pool.LISTENER_FAILURES.get());
            assertEquals(logged + 1, Pool.LISTENER_FAILURES_LOGGED.get(), "two failures, one log line");
            assertTrue(Pool.lastListenerFailure instanceof IllegalStateException);
            bad.close(); // idempotent
            try {
                swing(saved); // the same two changes, nobody listening
            } finally {
                Pool.setLimits(PoolKind.PAGED, saved);
                Pool.free(page);
            }
            assertEquals(2, heard.size(), "closed listeners hear nothing");
            assertEquals(failures + 2, Pool.LISTENER_FAILURES.get());
        }

        /** Two condition changes through limits alone: to LOW (every mark at the capacity), then to HIGH. */
        private static void swing(PoolLimits saved) {
            Pool.trim();
            long inUse = Pool.stats(PoolKind.PAGED).inUse();
            long cap = inUse + 2 * PAGE; // 2 pages free, below every mark
            Pool.setLimits(PoolKind.PAGED, saved.withCapacity(cap).withWatermarks(0, cap, cap, cap, cap));
            assertEquals(Set.of(PoolCondition.LOW), Pool.condition(PoolKind.PAGED));
            Pool.setLimits(PoolKind.PAGED, saved.withCapacity(inUse + 64 * PAGE).withWatermarks(PAGE, 2 * PAGE, 4 * PAGE,
                    8 * PAGE, 16 * PAGE));
            assertEquals(Set.of(PoolCondition.HIGH), Pool.condition(PoolKind.PAGED));
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Nested
    class Misuse {

        /** Every bad free is refused with a typed error before anything changes, and the JVM goes on. */
        @Test
        void doubleFreeIsBugCheck() {
            // Unchecked segments: the native pool's own checks (a checked segment refuses the second free in Java).
            PoolScope saved = Pool.scope();
            Pool.setScope(PoolScope.GLOBAL);
            try {
                doubleFreeIsBugCheckUnscoped();
            } finally {
                Pool.setScope(saved);
            }
        }

        private void doubleFreeIsBugCheckUnscoped() {
            // Two blocks of one page, so that the page stays carved after p is freed and trimmed.
            List<MemorySegment> some = new ArrayList<>();
            MemorySegment p = null;
            MemorySegment neighbour = null;
            while (p == null) {
                MemorySegment b = Pool.allocate(PoolType.NON_PAGED_NX, 80, Tag.of("Dbl "));
                for (MemorySegment o : some) {
                    if (o.address() / PAGE == b.address() / PAGE) {
                        p = b;
                        neighbour = o;
                    }
                }
                if (p == null) {
                    some.add(b);
                }
            }
            some.remove(neighbour);
            for (MemorySegment o : some) {
                Pool.free(o);
            }
            MemorySegment block = p;
            Pool.free(p);
            BugCheckError e = bugCheck(0xC2, 0x07, () -> Pool.free(block)); // in the thread's cache
            assertEquals(block.address(), e.parameter4());
            Pool.trim(); // now free in its page (kept by the neighbour), maybe merged with free neighbours
            e = bugCheck(0xC2, 0x07, () -> Pool.free(block, Tag.of("Dbl ")));
            assertEquals(block.address(), e.parameter4());
            Pool.free(neighbour);

            MemorySegment big = Pool.allocate(PoolType.PAGED, 3 * PAGE, Tag.of("Dbl "));
            Pool.free(big);
            e = bugCheck(0x19, 0x22, () -> Pool.free(big)); // page-aligned, not in the big table
            assertEquals(big.address(), e.parameter2());
            stillWorks();
        }

        /** On a virtual thread the bug-check record belongs to the carrier: the free compares it before and after. */
        @Test
        void doubleFreeOnAVirtualThreadIsBugCheck() throws Exception {
            List<Object> outcomes = new CopyOnWriteArrayList<>();
            Thread v = Thread.ofVirtual().start(() -> {
                long p = Pool.allocateAddress(PoolType.PAGED, 48, Tag.of("VDbl")); // no Java-side scope
                Pool.freeAddress(p);
                try {
                    Pool.freeAddress(p);
                    outcomes.add("no error");
                } catch (BugCheckError e) {
                    outcomes.add(e.code());
                    outcomes.add(e.parameter1());
                }
                outcomes.add(Pool.tryAllocate(PoolType.PAGED, 1L << 50, Tag.of("VDbl")) == null); // no stale error
                Pool.free(Pool.allocate(PoolType.PAGED, 48, Tag.of("VDbl"))); // and no stale error here
                outcomes.add("done");
            });
            v.join();
            assertEquals(List.of(0xC2, 0x07L, true, "done"), outcomes);
        }

        @Test
        void foreignSegmentsAreRefused() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment malloc = arena.allocate(64);
                BugCheckError e = bugCheck(0xC2, 0x42, () -> Pool.free(malloc)); // in no pool segment: nothing read
                assertEquals(malloc.address(), e.parameter2());
                MemorySegment aligned = arena.allocate(2 * PAGE, PAGE);
                e = bugCheck(0x19, 0x22, () -> Pool.free(aligned)); // page-aligned: the big table says no
                assertEquals(aligned.address(), e.parameter2());
                assertFalse(Pool.isLive(malloc));
                assertThrows(InvalidBlockException.class, () -> Pool.query(malloc));
            }
            MemorySegment heap = MemorySegment.ofArray(new byte[64]);
            InvalidBlockException f = assertThrows(InvalidBlockException.class, () -> Pool.free(heap));
            assertEquals(InvalidBlockException.Reason.FOREIGN, f.reason());
            assertEquals(InvalidBlockException.Reason.FOREIGN,
                    assertThrows(InvalidBlockException.class, () -> Pool.free(heap, Tag.of("Heap"))).reason());
            assertEquals(InvalidBlockException.Reason.FOREIGN, assertThrows(InvalidBlockException.class, () -> Pool.query(heap)).reason());
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> Pool.free(MemorySegment.NULL)).reason());
            assertThrows(NullPointerException.class, () -> Pool.free(null));
            // A segment of a closed arena: FFM refuses it before the call.
            MemorySegment closed;
            try (Arena arena = Arena.ofConfined()) {
                closed = arena.allocate(64);
            }
            MemorySegment dead = closed;
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    assertThrows(InvalidBlockException.class, () -> Pool.free(dead)).reason());
            stillWorks();
        }

        @Test
        void interiorAndMisalignedPointersAreRefused() {
            Tag tag = Tag.of("Intr");
            MemorySegment p = Pool.allocate(200, tag, PoolFlags.paged()); // zeroed
            BugCheckError e = bugCheck(0xC2, 0x99, () -> Pool.free(p.asSlice(8))); // not 16-aligned
            assertEquals(p.address() + 8, e.parameter2());
            bugCheck(0xC2, 0x07, () -> Pool.free(p.asSlice(32))); // its "header" is zeroed data: reads as free
            assertThrows(InvalidBlockException.class, () -> Pool.query(p.asSlice(32)));
            assertTrue(Pool.isLive(p));
            assertEquals(200 + 8, Pool.query(p).size());

            MemorySegment big = Pool.allocate(3 * PAGE, tag, PoolFlags.paged());
            e = bugCheck(0x19, 0x22, () -> Pool.free(big.asSlice(PAGE))); // page-aligned interior
            assertEquals(big.address() + PAGE, e.parameter2());
            assertThrows(BugCheckError.class, () -> Pool.free(big.asSlice(PAGE + 16)));
            MemorySegment huge = Pool.allocate(100 * PAGE, tag, PoolFlags.paged()); // a mapping of its own
            e = bugCheck(0xC2, 0x42, () -> Pool.free(huge.asSlice(48))); // in no segment
            assertTrue(Pool.isLive(big) && Pool.isLive(huge));
            Pool.free(p, tag);
            Pool.free(big, tag);
            Pool.free(huge, tag);
            assertEquals(0, Pool.tag(tag, PoolKind.PAGED).diff());
            stillWorks();
        }

        /** docs/pool.md#api: paged blocks are freed at or below APC_LEVEL (0xC2/0x09 above), non-paged up to DISPATCH_LEVEL. */
        @Test
        void freeAtTooHighIrqlIsRefused() {
            MemorySegment paged = Pool.allocate(PoolType.PAGED, 64, Tag.of("Irql"));
            MemorySegment nonPaged = Pool.allocate(PoolType.NON_PAGED_NX, 64, Tag.of("Irql"));
            int old = Irql.raise(Irql.DISPATCH_LEVEL);
            try {
                BugCheckError e = bugCheck(0xC2, 0x09, () -> Pool.free(paged));
                assertEquals(Irql.DISPATCH_LEVEL, e.parameter2());
                assertEquals(paged.address(), e.parameter4());
                bugCheck(0xC2, 0x08, () -> Pool.allocate(PoolType.PAGED, 64, Tag.of("Irql")));
                Pool.free(nonPaged);
            } finally {
                Irql.lower(old);
            }
            Pool.free(paged);
            stillWorks();
        }

        private static void stillWorks() {
            MemorySegment q = Pool.allocate(PoolType.NON_PAGED_NX, 100, Tag.of("Aliv"));
            q.fill((byte) 7);
            assertEquals(Tag.of("Aliv"), Pool.query(q).tag());
            Pool.free(q);
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Four threads with fixed seeds allocate, fill, verify and free blocks of every size class in both pools under
     * four shared tags, handing some blocks to other threads to free. Every block's fill byte must survive (no two
     * live blocks overlap), and the PoolMon rows must equal the calls made, exactly.
     */
    @Test
    void concurrentStressKeepsExactPerTagAccounting() throws Exception {
        PoolScope scope = Pool.scope();
        // blocks travel between the threads: unchecked segments, so that every free reaches the pool at once (a
        // checked SHARED free is quarantined until its epoch ends, and PoolMon counts the block until then)
        Pool.setScope(PoolScope.GLOBAL);
        try {
            concurrentStress();
        } finally {
            Pool.setScope(scope);
        }
    }

    private void concurrentStress() throws Exception {
        final int threads = 4;
        final int ops = 20_000;
        Tag[] tags = {Tag.of("Sx0A"), Tag.of("Sx1A"), Tag.of("Sx2A"), Tag.of("Sx3A").asProtected()};
        PoolType[] types = {PoolType.NON_PAGED_NX, PoolType.PAGED, PoolType.NON_PAGED_CACHE_ALIGNED, PoolType.PAGED_SESSION};
        record Live(MemorySegment block, int tag, int pool, long charged, byte fill) {
        }
        long[][][] before = new long[tags.length][2][];
        for (int t = 0; t < tags.length; t++) {
            for (PoolKind k : PoolKind.values()) {
                before[t][k.code()] = row(tags[t], k);
            }
        }
        ConcurrentLinkedQueue<Live> exchange = new ConcurrentLinkedQueue<>();
        long[][][] counts = new long[threads][tags.length * 2][2]; // [thread][tag*2+pool][allocs, frees]
        List<List<Live>> leftovers = new ArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < threads; w++) {
            int id = w;
            List<Live> mine = new ArrayList<>();
            leftovers.add(mine);
            workers.add(Thread.ofPlatform().name("pool-stress-" + id).start(() -> {
                Random random = new Random(1000 + id);
                byte[] pattern = new byte[8192];
                try {
                    start.await();
                    for (int i = 0; i < ops; i++) {
                        int op = random.nextInt(100);
                        if (op < 55 || mine.isEmpty()) {
                            int t = random.nextInt(tags.length);
                            PoolType type = types[random.nextInt(types.length)];
                            long n = random.nextInt(10) == 0 ? 4000 + random.nextInt(4000) : 1 + random.nextInt(600);
                            MemorySegment b = Pool.allocate(type, n, tags[t]);
                            byte fill = (byte) random.nextInt(256);
                            b.fill(fill);
                            Live l = new Live(b, t, type.kind().code(), Pool.query(b).charged(), fill);
                            counts[id][t * 2 + l.pool][0]++;
                            if (op < 5) {
                                exchange.add(l); // another thread will free it
                            } else {
                                mine.add(l);
                            }
                        } else {
                            Live l = op < 65 && !exchange.isEmpty() ? exchange.poll() : null;
                            if (l == null) {
                                l = mine.remove(random.nextInt(mine.size()));
                            }
                            long n = l.block.byteSize();
                            Arrays.fill(pattern, 0, (int) n, l.fill);
                            long at = MemorySegment.mismatch(l.block, 0, n, MemorySegment.ofArray(pattern), 0, n);
                            if (at != -1) {
                                throw new AssertionError("block " + l.block + " changed at byte " + at);
                            }
                            if (random.nextBoolean() && !tags[l.tag].isProtected()) {
                                Pool.free(l.block);
                            } else {
                                Pool.free(l.block, tags[l.tag]);
                            }
                            counts[id][l.tag * 2 + l.pool][1]++;
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : workers) {
            t.join();
        }
        assertEquals(List.of(), errors);
        List<Live> remaining = new ArrayList<>(exchange);
        leftovers.forEach(remaining::addAll);
        for (int t = 0; t < tags.length; t++) {
            for (PoolKind k : PoolKind.values()) {
                long allocs = 0;
                long frees = 0;
                for (int w = 0; w < threads; w++) {
                    allocs += counts[w][t * 2 + k.code()][0];
                    frees += counts[w][t * 2 + k.code()][1];
                }
                int tt = t;
                long live = remaining.stream().filter(l -> l.tag == tt && l.pool == k.code()).count();
                long bytes = remaining.stream().filter(l -> l.tag == tt && l.pool == k.code()).mapToLong(Live::charged).sum();
                assertEquals(allocs - frees, live);
                long[] now = row(tags[t], k);
                String what = tags[t] + " " + k;
                assertEquals(allocs, now[0] - before[t][k.code()][0], what + " allocs");
                assertEquals(frees, now[1] - before[t][k.code()][1], what + " frees");
                assertEquals(live, now[2] - before[t][k.code()][2], what + " diff");
                assertEquals(bytes, now[3] - before[t][k.code()][3], what + " bytes");
                assertTrue(allocs > 1000, what + " was exercised");
            }
        }
        for (Live l : remaining) {
            Pool.free(l.block, tags[l.tag]);
        }
        for (int t = 0; t < tags.length; t++) {
            for (PoolKind k : PoolKind.values()) {
                long[] now = row(tags[t], k);
                assertEquals(before[t][k.code()][2], now[2], "diff back");
                assertEquals(before[t][k.code()][3], now[3], "bytes back");
                assertEquals(now[0] - before[t][k.code()][0], now[1] - before[t][k.code()][1], "every alloc freed");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    /** docs/mm.md: MmQuerySystemSize and MmIsThisAnNtAsSystem, thresholds inclusive, product type by two characters. */
    @Test
    void mmQueries() {
        long mib = 1024 * 1024;
        Object[][] cases = {{13 * mib, "WinNt", MmSystemSize.SMALL, false}, {13 * mib + PAGE, "WinNt", MmSystemSize.SMALL, false},
            {19 * mib, "WinNt", MmSystemSize.SMALL, false}, {19 * mib + PAGE, "WinNt", MmSystemSize.MEDIUM, false},
            {32 * mib - PAGE, "WinNt", MmSystemSize.MEDIUM, false}, {32 * mib, "WinNt", MmSystemSize.LARGE, false},
            {32 * mib, "ServerNt", MmSystemSize.MEDIUM, true}, {64 * mib - PAGE, "LanmanNt", MmSystemSize.MEDIUM, true},
            {64 * mib, "LanmanNt", MmSystemSize.LARGE, true}, {64 * mib, "Wizard", MmSystemSize.LARGE, false},
            {40 * mib, "", MmSystemSize.MEDIUM, true}, {16L << 30, "Se", MmSystemSize.LARGE, true}};
        try {
            for (Object[] c : cases) {
                Pool.configureSystem((long) c[0], (String) c[1]);
                assertSame(c[2], Pool.systemSize(), c[0] + " " + c[1]);
                assertEquals(c[3], Pool.isNtAsSystem(), c[0] + " " + c[1]);
            }
        } finally {
            Pool.configureSystem(0, null);
        }
        assertEquals(MmSystemSize.LARGE, Pool.systemSize()); // any host with 64 MiB or more
        assertFalse(Pool.isNtAsSystem()); // "WinNt"
        assertThrows(IllegalArgumentException.class, () -> Pool.configureSystem(-1, null));
    }
}
