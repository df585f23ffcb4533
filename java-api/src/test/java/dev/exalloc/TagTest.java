package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TagTest {

    @Test
    void textIsShownInMemoryOrder() {
        Tag fred = Tag.of("Fred");
        assertEquals(0x64657246, fred.value()); // the C literal 'derF'
        assertEquals("Fred", fred.toString());
        assertEquals("None", Tag.NONE.toString());
        assertEquals("BIG ", Tag.of("BIG").toString());
        assertEquals(Tag.of("Ab"), new Tag(0x20206241));
        assertEquals("....", new Tag(0x01020304).toString());
    }

    @Test
    void protectedTagsShowTheirPlainForm() {
        Tag prot = Tag.of("Prot").asProtected();
        assertEquals(0x746F7250 | 0x80000000, prot.value());
        assertEquals(true, prot.isProtected());
        assertEquals(false, Tag.of("Prot").isProtected());
        assertEquals(Tag.of("Prot"), prot.unprotected());
        assertEquals("Prot", prot.toString()); // PoolMon leaves the bit out
        assertEquals(prot, prot.asProtected());
    }

    @Test
    void invalidTextsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Tag.of(""));
        assertThrows(IllegalArgumentException.class, () -> Tag.of("Toolong"));
        assertThrows(IllegalArgumentException.class, () -> Tag.of("a\tb"));
        assertThrows(IllegalArgumentException.class, () -> Tag.of("é"));
    }

    @Test
    void poolTypesRoundTrip() {
        for (PoolType t : PoolType.values()) {
            assertEquals(t, PoolType.fromCode(t.code()));
            assertEquals(t, PoolType.fromCode(t.code() | 0x10));
        }
        assertEquals(true, PoolType.PAGED_CACHE_ALIGNED.isPaged());
        assertEquals(true, PoolType.NON_PAGED_NX_CACHE_ALIGNED.isCacheAligned());
        assertEquals(PoolType.NON_PAGED_MUST_SUCCEED, PoolType.fromCode(2));
        assertThrows(IllegalArgumentException.class, () -> PoolType.fromCode(3)); // DontUseThisType
        assertThrows(IllegalArgumentException.class, () -> PoolType.fromCode(7)); // MaxPoolType
    }
}
