package dev.exalloc;

import java.util.Map;

/**
 * NT's names of the bug-check codes exalloc reports and what their four parameters mean, as in the table of
 * docs/diagnostics.md (bug-check codes): used by {@link BugCheckError}'s message. For BAD_POOL_HEADER, BAD_POOL_CALLER
 * and DRIVER_VERIFIER_DETECTED_VIOLATION parameter 1 is a sub-code that says which check failed; for
 * SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION parameter 4 is.
 */
final class BugCheckCodes {

    private BugCheckCodes() {
    }

    /** One failed check: what it means, and the meaning of parameters 1 to 4 (null: not used). */
    record Meaning(String text, String p1, String p2, String p3, String p4) {

        String parameter(int i) {
            return switch (i) {
                case 1 -> p1;
                case 2 -> p2;
                case 3 -> p3;
                default -> p4;
            };
        }
    }

    static final int BAD_POOL_HEADER = 0x19;
    static final int SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION = 0xC1;
    static final int BAD_POOL_CALLER = 0xC2;
    static final int DRIVER_VERIFIER_DETECTED_VIOLATION = 0xC4;

    static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(0x09, "IRQL_NOT_GREATER_OR_EQUAL"),
            Map.entry(0x0A, "IRQL_NOT_LESS_OR_EQUAL"),
            Map.entry(0x0F, "SPIN_LOCK_ALREADY_OWNED"),
            Map.entry(0x10, "SPIN_LOCK_NOT_OWNED"),
            Map.entry(BAD_POOL_HEADER, "BAD_POOL_HEADER"),
            Map.entry(0x41, "MUST_SUCCEED_POOL_EMPTY"),
            Map.entry(SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION, "SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION"),
            Map.entry(BAD_POOL_CALLER, "BAD_POOL_CALLER"),
            Map.entry(DRIVER_VERIFIER_DETECTED_VIOLATION, "DRIVER_VERIFIER_DETECTED_VIOLATION"),
            Map.entry(0xCC, "PAGE_FAULT_IN_FREED_SPECIAL_POOL"),
            Map.entry(0xCD, "PAGE_FAULT_BEYOND_END_OF_ALLOCATION"));

    private static final String FAULT_ACCESS = "access: 1 write, 0 read, -1 unknown";

    /** Codes without a sub-code. */
    private static final Map<Integer, Meaning> PLAIN = Map.of(
            0x09, new Meaning("a raise below the current IRQL or above HIGH_LEVEL", "current IRQL", "requested IRQL",
                    null, null),
            0x0A, new Meaning("a lower above the current IRQL, or a routine called above its IRQL",
                    "requested IRQL (or the object)", "current IRQL", null, null),
            0x0F, new Meaning("the spin lock is already held by this thread (queued: through another handle, or a"
                    + " handle reused)", "lock", null, null, null),
            0x10, new Meaning("the spin lock is released by a thread that does not hold it", "lock", null, null, null),
            0x41, new Meaning("a must-succeed request failed with the reserve exhausted", "size", "pages in use",
                    "big allocations", "pages left"),
            0xCC, new Meaning("an access to a freed special-pool block (kept no-access in the quarantine)", "address",
                    FAULT_ACCESS, "block", "size"),
            0xCD, new Meaning("an access to a special-pool block's guard page (an overrun, or an underrun with the"
                    + " guard before the block)", "address", FAULT_ACCESS, "block", "size"));

    /** Sub-codes in parameter 1 (parameter 4 for SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION), per code. */
    private static final Map<Integer, Map<Long, Meaning>> SUB = Map.of(
            BAD_POOL_HEADER, Map.of(
                    0x03L, new Meaning("free-list links inconsistent", "sub-code", "list entry",
                            "forward link read back", "backward link read back"),
                    0x05L, new Meaning("neighbouring headers disagree", "sub-code", "header", null, "other header"),
                    0x06L, new Meaning("previous size too large", "sub-code", "header", "header word", null),
                    0x08L, new Meaning("block size zero", "sub-code", "header", "header word", null),
                    0x09L, new Meaning("block size past the page", "sub-code", "header", "header word", null),
                    0x0DL, new Meaning("a listed free block's header was modified", "sub-code", "header",
                            "header word", null),
                    0x22L, new Meaning("a page-aligned address with no big-allocation record (a double free of a big"
                            + " block, an address inside one, or never allocated)", "sub-code", "address", null, null)),
            SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION, Map.of(
                    0x20L, new Meaning("a free of a special-pool block that is not allocated (a double free)",
                            "address", "size", "tag", "sub-code"),
                    0x21L, new Meaning("a free of an address that is not a special-pool block's start", "address",
                            "size", "tag", "sub-code"),
                    0x23L, new Meaning("bytes before the block were overwritten", "address", "size",
                            "first overwritten byte", "sub-code"),
                    0x24L, new Meaning("bytes after the block (in its alignment slack) were overwritten", "address",
                            "size", "first overwritten byte", "sub-code")),
            BAD_POOL_CALLER, Map.ofEntries(
                    Map.entry(0x01L, new Meaning("pool header corrupt, or a free of an address inside a block",
                            "sub-code", "header", "header word", null)),
                    Map.entry(0x07L, new Meaning("the block is already free", "sub-code", null, "header word",
                            "block")),
                    Map.entry(0x08L, new Meaning("an allocation at too high an IRQL", "sub-code", "IRQL", "pool type",
                            "size")),
                    Map.entry(0x09L, new Meaning("a free at too high an IRQL", "sub-code", "IRQL", "pool type",
                            "address")),
                    Map.entry(0x0AL, new Meaning("a free with the wrong tag", "sub-code", "block", "stored tag",
                            "passed tag")),
                    Map.entry(0x0DL, new Meaning("the block's quota owner is not a live account", "sub-code", "block",
                            "tag", "owner")),
                    Map.entry(0x42L, new Meaning("a free of an address in no pool segment", "sub-code", "address",
                            null, null)),
                    Map.entry(0x46L, new Meaning("a free of NULL (ExFreePool(NULL))", "sub-code", null, null, null)),
                    Map.entry(0x99L, new Meaning("a free of a misaligned address, or one with a bad shadow header",
                            "sub-code", "address", null, null)),
                    Map.entry(0x9AL, new Meaning("a must-succeed request", "sub-code", "pool type", "size", "tag")),
                    Map.entry(0x9BL, new Meaning("tag 0", "sub-code", "pool type", "size", "tag")),
                    Map.entry(0x9CL, new Meaning("tag \"BIG \"", "sub-code", "pool type", "size", "tag")),
                    Map.entry(0x9DL, new Meaning("a tag with no letter or digit, or with an unprintable byte",
                            "sub-code", "pool type", "size", "tag"))),
            DRIVER_VERIFIER_DETECTED_VIOLATION, Map.ofEntries(
                    Map.entry(0x00L, new Meaning("a zero-byte legacy request", "sub-code", "IRQL", "pool type",
                            "size")),
                    Map.entry(0x32L, new Meaning("a classic spin-lock release not at DISPATCH_LEVEL", "sub-code",
                            "IRQL", "lock", null)),
                    Map.entry(0x36L, new Meaning("a queued spin-lock release not at DISPATCH_LEVEL", "sub-code",
                            "IRQL", "lock", null)),
                    Map.entry(0x40L, new Meaning("an ...AtDpcLevel acquire below DISPATCH_LEVEL", "sub-code", "IRQL",
                            "lock", null)),
                    Map.entry(0x41L, new Meaning("an ...AtDpcLevel release below DISPATCH_LEVEL", "sub-code", "IRQL",
                            "lock", null)),
                    Map.entry(0x42L, new Meaning("KeAcquireSpinLock above DISPATCH_LEVEL", "sub-code", "IRQL", "lock",
                            null)),
                    Map.entry(0xCAL, new Meaning("a live lookaside list initialised again", "sub-code", "list", null,
                            null)),
                    Map.entry(0xCBL, new Meaning("a lookaside list deleted that was never initialised", "sub-code",
                            "list", null, null)),
                    Map.entry(0xCCL, new Meaning("freed memory holds a live lookaside list", "sub-code", "list",
                            "freed address", "freed bytes")),
                    Map.entry(0x1008L, new Meaning("a spin lock acquired with the other lock kind's routine",
                            "sub-code", "lock", "lock word", null)),
                    Map.entry(0x1009L, new Meaning("a spin lock released with the other lock kind's routine",
                            "sub-code", "lock", "lock word", null)),
                    Map.entry(0x1010L, new Meaning("a classic lookaside initialiser given a Size above 2^32 - 1",
                            "sub-code", "list", "Size", null)),
                    Map.entry(0x1011L, new Meaning("a lookaside free of a block a list already caches (double free)",
                            "sub-code", "list caching it", "block", "list freed to")),
                    Map.entry(0x1012L, new Meaning("a lookaside free of a block smaller than the list's Size, or of no "
                            + "pool block", "sub-code", "list", "block", "its size or 0")),
                    Map.entry(0x1013L, new Meaning("a pool free of a block a lookaside list still caches", "sub-code",
                            "list", "block", null)),
                    Map.entry(0x1014L, new Meaning("a deleted lookaside list's handle used again, or deleted twice",
                            "sub-code", "handle", "word found", null))));

    /** NT's name of a code, or null. */
    static String name(int code) {
        return NAMES.get(code);
    }

    /** What a bug check means, or null for a code or sub-code not in the table. */
    static Meaning meaning(int code, long p1, long p4) {
        Meaning m = PLAIN.get(code);
        if (m != null) {
            return m;
        }
        Map<Long, Meaning> sub = SUB.get(code);
        if (sub == null) {
            return null;
        }
        return sub.get(code == SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION ? p4 : p1);
    }

    /** The sub-codes known for a code (empty for a code without them). */
    static java.util.Set<Long> subCodes(int code) {
        return SUB.getOrDefault(code, Map.of()).keySet();
    }

    /**
     * One line: the code's name, what failed, and each used parameter's meaning with its value, e.g.
     * {@code BAD_POOL_CALLER: the block is already free; p3 header word = 0x..., p4 block = 0x...}.
     */
    static String describe(int code, long p1, long p2, long p3, long p4) {
        String name = name(code);
        StringBuilder b = new StringBuilder(name != null ? name : String.format("bug check 0x%X", code));
        Meaning m = meaning(code, p1, p4);
        if (m == null) {
            Map<Long, Meaning> sub = SUB.get(code);
            if (sub != null) {
                long s = code == SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION ? p4 : p1;
                b.append(String.format(": sub-code 0x%X (see docs/diagnostics.md)", s));
            }
            return b.toString();
        }
        b.append(": ").append(m.text());
        long[] p = {p1, p2, p3, p4};
        String sep = "; ";
        for (int i = 1; i <= 4; i++) {
            String what = m.parameter(i);
            if (what != null && !what.equals("sub-code")) {
                b.append(sep).append('p').append(i).append(' ').append(what).append(" = ")
                        .append(what.startsWith("access") || what.equals("IRQL") || what.endsWith(" IRQL") ? Long.toString(p[i - 1])
                                : String.format("0x%X", p[i - 1]));
                sep = ", ";
            }
        }
        return b.toString();
    }
}
