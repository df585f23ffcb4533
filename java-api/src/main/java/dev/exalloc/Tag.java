package dev.exalloc;

import java.nio.charset.StandardCharsets;

/**
 * A pool tag: four bytes that PoolMon and the debugger show as text, in memory order. {@code Tag.of("Fred")}
 * shows as {@code Fred}; its {@link #value()} is the little-endian int of those bytes, which C code writes
 * as the reversed literal {@code 'derF'}. Shorter texts are padded with spaces, as NT's tools show them.
 *
 * @param value the 32-bit tag as stored in a block header
 */
public record Tag(int value) {

    /** The tag the untagged routines use, shown as "None". */
    public static final Tag NONE = of("None");

    /**
     * The tag shown as {@code text}: 1 to 4 printable ASCII characters (0x20..0x7E).
     *
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

    /** The tag as PoolMon shows it (bytes in memory order; non-printable bytes as '.'). */
    @Override
    public String toString() {
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            int c = (value >>> (8 * i)) & 0xFF;
            b[i] = (byte) (c >= 0x20 && c <= 0x7E ? c : '.');
        }
        return new String(b, StandardCharsets.US_ASCII);
    }
}
