package dev.exalloc;

import java.nio.charset.StandardCharsets;

/**
 * A pool tag: four bytes that PoolMon and the debugger show as text, in memory order. {@code Tag.of("Fred")}
 * shows as {@code Fred}; its {@link #value()} is the little-endian int of those bytes, which C code writes
 * as the reversed literal {@code 'derF'}. Shorter texts are padded with spaces, as NT's tools show them.
 *
 * <pre>{@code
 * Tag tag = Tag.of("Msgs");            // four characters, as PoolMon shows them
 * Tag guarded = tag.asProtected();     // frees must name it
 * }</pre>
 *
 * @param value the 32-bit tag as stored in a block header
 */
public record Tag(int value) {

    /** The tag the untagged routines use, shown as "None". */
    public static final Tag NONE = of("None");

    /**
     * PROTECTED_POOL, the tag's high bit: a block allocated with a protected tag may only be freed by
     * {@link Pool#free(java.lang.foreign.MemorySegment, Tag)} with that exact tag, bit included (bug check 0xC2/0x0A
     * otherwise, {@link Pool#free(java.lang.foreign.MemorySegment)} included).
     */
    public static final int PROTECTED_BIT = 0x8000_0000;

    /**
     * The tag shown as {@code text}: 1 to 4 printable ASCII characters (0x20..0x7E).
     *
     * @param text the tag's characters
     * @return the tag
     * @throws IllegalArgumentException for an empty, longer or non-printable text
     */
    public static Tag of(String text) {
        if (text.isEmpty() || text.length() > 4) {
            throw new IllegalArgumentException("a tag has 1 to 4 characters: \"" + text + "\"");
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            char c = i < text.length() ? text.charAt(i) : ' ';
            if (c < 0x20 || c > 0x7E) {
                throw new IllegalArgumentException(String.format("tag character 0x%X is not printable ASCII", (int) c));
            }
            v |= c << (8 * i);
        }
        return new Tag(v);
    }

    /**
     * This tag with the PROTECTED_POOL bit set.
     *
     * @return the protected tag
     */
    public Tag asProtected() {
        return new Tag(value | PROTECTED_BIT);
    }

    /**
     * This tag without the PROTECTED_POOL bit (as PoolMon counts it).
     *
     * @return the plain tag
     */
    public Tag unprotected() {
        return new Tag(value & ~PROTECTED_BIT);
    }

    /**
     * True when the PROTECTED_POOL bit is set.
     *
     * @return whether the tag is protected
     */
    public boolean isProtected() {
        return (value & PROTECTED_BIT) != 0;
    }

    /**
     * The tag as PoolMon shows it: bytes in memory order, the PROTECTED_POOL bit left out (so a protected tag shows
     * as its plain form), other non-printable bytes as '.'.
     */
    @Override
    public String toString() {
        byte[] b = new byte[4];
        int shown = value & ~PROTECTED_BIT;
        for (int i = 0; i < 4; i++) {
            int c = (shown >>> (8 * i)) & 0xFF;
            b[i] = (byte) (c >= 0x20 && c <= 0x7E ? c : '.');
        }
        return new String(b, StandardCharsets.US_ASCII);
    }
}
