package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.internal.bindings.exa_pool_limits_s;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

/** {@link Lookaside#asSegmentAllocator()} where the JDK takes a SegmentAllocator. */
class LookasideSegmentAllocatorTest {

    /** libc's div_t. */
    static final StructLayout DIV_T = MemoryLayout.structLayout(ValueLayout.JAVA_INT.withName("quot"),
            ValueLayout.JAVA_INT.withName("rem"));

    @SuppressWarnings("restricted")
    static final MethodHandle DIV = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("div").orElseThrow(),
            FunctionDescriptor.of(DIV_T, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    @Test
    void allocateFromStringIsAShortBlockTheListTakesBack() {
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("SaSt")).build()) {
            SegmentAllocator alloc = list.asSegmentAllocator();
            MemorySegment s = alloc.allocateFrom("hello");
            assertEquals(6, s.byteSize());
            assertEquals("hello", s.getString(0));
            assertEquals(0, s.address() % 16);
            assertEquals(1, list.outstandingBlocks());
            list.free(s);
            assertEquals(0, list.outstandingBlocks());
            assertEquals(0, list.endQuarantine());
            assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0), "use after free");
            InvalidBlockException twice = assertThrows(InvalidBlockException.class, () -> list.free(s));
            assertEquals(InvalidBlockException.Reason.NOT_OUTSTANDING, twice.reason());
            LookasideStats st = list.stats();
            assertEquals(1, st.totalAllocates());
            assertEquals(1, st.totalFrees());
        }
    }

    @Test
    void valueLayoutsAndASliceAtOffsetZeroAreFreedByAddress() {
        try (Lookaside list = Lookaside.builder(32).tag(Tag.of("SaVl")).build()) {
            SegmentAllocator alloc = list.asSegmentAllocator();
            MemorySegment l = alloc.allocate(ValueLayout.JAVA_LONG);
            assertEquals(8, l.byteSize());
            l.set(ValueLayout.JAVA_LONG, 0, 0x1234_5678_9ABCL);
            assertEquals(0x1234_5678_9ABCL, l.get(ValueLayout.JAVA_LONG, 0));
            MemorySegment d = alloc.allocateFrom(ValueLayout.JAVA_DOUBLE, 3.5);
            assertEquals(3.5, d.get(ValueLayout.JAVA_DOUBLE, 0));
            assertEquals(2, list.outstandingBlocks());
            list.free(l.asSlice(0, 4)); // a slice at the block's address
            // a slice not at offset 0 is not a block's address
            assertThrows(InvalidBlockException.class, () -> list.free(d.asSlice(4, 4)));
            // never longer than the block
            assertThrows(InvalidBlockException.class, () -> list.free(l));
            list.free(d);
            assertEquals(0, list.outstandingBlocks());
        }
    }

    @Test
    @SuppressWarnings("restricted") // reinterpret: a segment longer than the block, to be refused
    void wholeBlocksStillRefuseShortSegments() {
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("SaWs")).sharedSegments().build()) {
            MemorySegment b = list.allocate();
            InvalidBlockException e = assertThrows(InvalidBlockException.class, () -> list.free(b.asSlice(0, 8)));
            assertEquals(InvalidBlockException.Reason.WRONG_SIZE, e.reason());
            list.free(b);
            // shared segments: the view's short block is recorded as such, and comes back short
            MemorySegment s = list.asSegmentAllocator().allocate(10, 2);
            assertEquals(10, s.byteSize());
            assertThrows(InvalidBlockException.class, () -> list.free(s.reinterpret(64 + 8)));
            list.free(s);
            assertThrows(InvalidBlockException.class, () -> list.free(s));
        }
    }

    @Test
    void tooBigOrTooAlignedSaysWhy() {
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("SaBg")).build()) {
            SegmentAllocator alloc = list.asSegmentAllocator();
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> alloc.allocate(65, 8));
            assertTrue(big.getMessage().contains("65 bytes") && big.getMessage().contains("at most 64"),
                    big.getMessage());
            IllegalArgumentException aligned = assertThrows(IllegalArgumentException.class,
                    () -> alloc.allocate(16, 32));
            assertTrue(aligned.getMessage().contains("aligned to 32") && aligned.getMessage().contains("at most 16"),
                    aligned.getMessage());
            assertEquals(0, list.outstandingBlocks(), "a refused request takes no block");
            assertEquals(64, alloc.allocate(64, 16).byteSize());
        }
    }

    @Test
    void downcallReturningAStructByValue() throws Throwable {
        try (Lookaside list = Lookaside.builder(16).tag(Tag.of("SaDv")).build()) {
            SegmentAllocator alloc = list.asSegmentAllocator();
            MemorySegment r = (MemorySegment) DIV.invokeExact(alloc, 17, 5);
            assertEquals(8, r.byteSize());
            assertEquals(3, r.get(ValueLayout.JAVA_INT, 0));
            assertEquals(2, r.get(ValueLayout.JAVA_INT, 4));
            assertEquals(1, list.outstandingBlocks());
            list.free(r);
            assertEquals(0, list.outstandingBlocks());
        }
    }

    @Test
    void generatedStructAllocation() {
        try (Lookaside list = Lookaside.builder(256).tag(Tag.of("SaGn")).build()) {
            MemorySegment limits = exa_pool_limits_s.allocate(list.asSegmentAllocator());
            assertEquals(exa_pool_limits_s.sizeof(), limits.byteSize());
            exa_pool_limits_s.capacity(limits, 1L << 20);
            assertEquals(1L << 20, exa_pool_limits_s.capacity(limits));
            list.free(limits);
        }
    }

    @Test
    void aLookasideLocalTakesTheViewsBlocksBack() {
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("SaLl")).build();
                LookasideLocal local = list.local()) {
            MemorySegment s = list.asSegmentAllocator().allocateFrom("abc");
            local.free(s);
            assertEquals(0, list.outstandingBlocks());
        }
    }
}
