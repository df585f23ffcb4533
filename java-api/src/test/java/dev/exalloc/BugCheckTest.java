package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.internal.bindings.exalloc_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** A failed check in native code becomes a BugCheckError in Java; the JVM keeps running. */
class BugCheckTest {

    @Test
    void releasingAFreeSpinLockIsBugCheck0x10() {
        dev.exalloc.internal.Native.ensure();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lock = arena.allocate(ValueLayout.ADDRESS);
            exalloc_h.exa_spinlock_init(lock);
            int status = exalloc_h.exa_spinlock_release(lock);
            assertEquals(NtStatus.BUGCHECK, status);
            BugCheckError e = assertThrows(BugCheckError.class, () -> Failures.check(status));
            assertEquals(0x10, e.code());
            assertEquals(lock.address(), e.parameter1());
            assertTrue(e.getMessage().startsWith("*** STOP: 0x00000010 (0x"), e.getMessage());
            // and the lock is still usable
            assertEquals(NtStatus.SUCCESS, exalloc_h.exa_spinlock_acquire(lock));
            assertEquals(NtStatus.BUGCHECK, exalloc_h.exa_spinlock_acquire(lock));
            assertEquals(0x0F, Failures.lastBugCheck().code());
            assertEquals(NtStatus.SUCCESS, exalloc_h.exa_spinlock_release(lock));
        }
    }

    /** The message names the code and what its parameters mean; a pool double free, for one. */
    @Test
    void messagesNameTheCodeAndItsParameters() {
        Tag tag = Tag.of("Msg2");
        long p = Pool.allocateAddress(PoolType.PAGED, 64, tag);
        Pool.freeAddress(p, tag);
        BugCheckError e = assertThrows(BugCheckError.class, () -> Pool.freeAddress(p, tag));
        assertEquals(0xC2, e.code());
        assertEquals("BAD_POOL_CALLER", e.codeName());
        assertEquals(0x07, e.parameter1());
        assertTrue(e.getMessage().startsWith("*** STOP: 0x000000C2 (0x0000000000000007, "), e.getMessage());
        assertTrue(e.getMessage().contains("BAD_POOL_CALLER: the block is already free; p3 header word = 0x"),
                e.getMessage());
        assertTrue(e.getMessage().endsWith(String.format(", p4 block = 0x%X", e.parameter4())), e.getMessage());
        BugCheckError lock = new BugCheckError(0x10, 0x1000, 0, 0, 0);
        assertEquals("SPIN_LOCK_NOT_OWNED: the spin lock is released by a thread that does not hold it; p1 lock = 0x1000",
                lock.explanation());
        BugCheckError irql = new BugCheckError(0xC2, 0x08, 2, 1, 64);
        assertTrue(irql.explanation().endsWith("p2 IRQL = 2, p3 pool type = 0x1, p4 size = 0x40"), irql.explanation());
        assertEquals("bug check 0x1234", new BugCheckError(0x1234, 0, 0, 0, 0).codeName());
        assertTrue(new BugCheckError(0xC2, 0x77, 0, 0, 0).explanation().contains("sub-code 0x77"));
    }

    /**
     * The Java table of codes matches docs/diagnostics.md's: every code (with NT's name) and every sub-code listed there
     * is known here.
     */
    @Test
    void everyDocumentedCodeIsNamed() throws Exception {
        java.nio.file.Path doc = java.nio.file.Path.of(System.getProperty("user.dir")).resolve("../docs/diagnostics.md");
        Assumptions.assumeTrue(java.nio.file.Files.exists(doc), "run from java-api/");
        String text = java.nio.file.Files.readString(doc);
        String table = text.substring(text.indexOf("## Bug-check codes"));
        java.util.regex.Pattern hex = java.util.regex.Pattern.compile("0x([0-9A-F]+)");
        int code = -1;
        int codes = 0;
        int subs = 0;
        for (String line : table.lines().toList()) {
            if (!line.startsWith("|") || line.startsWith("|---") || line.startsWith("| Code")) {
                if (codes > 0 && line.isBlank()) {
                    break;
                }
                continue;
            }
            String[] cells = line.split("\\|");
            String first = cells[1].trim();
            if (!first.isEmpty()) {
                String[] words = first.split(" ");
                code = Integer.parseInt(words[0].substring(2), 16);
                assertEquals(words[1], BugCheckCodes.name(code), first);
                codes++;
            }
            String p1 = cells[2].trim();
            if (p1.startsWith("0x")) {
                java.util.regex.Matcher m = hex.matcher(p1);
                while (m.find()) {
                    long sub = Long.parseLong(m.group(1), 16);
                    assertTrue(BugCheckCodes.subCodes(code).contains(sub), String.format("0x%X/0x%X", code, sub));
                    subs++;
                }
            } else if (code == BugCheckCodes.SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("p4 (.*)").matcher(cells[3]);
                assertTrue(m.find(), line);
                java.util.regex.Matcher h = hex.matcher(m.group(1));
                while (h.find()) {
                    assertTrue(BugCheckCodes.subCodes(code).contains(Long.parseLong(h.group(1), 16)), line);
                    subs++;
                }
            }
        }
        assertEquals(BugCheckCodes.NAMES.size(), codes, "a code named in Java but not in the docs table, or the reverse");
        assertTrue(subs > 30, "sub-codes read: " + subs);
    }

    @Test
    void statusNamesAndExceptionTypes() {
        assertEquals("STATUS_INVALID_PARAMETER_4", NtStatus.name(0xC00000F2));
        assertEquals("0x12345678", NtStatus.name(0x12345678));
        ExallocOutOfMemoryError oom = org.junit.jupiter.api.Assertions.assertThrows(ExallocOutOfMemoryError.class,
                () -> ExallocException.of(NtStatus.INSUFFICIENT_RESOURCES));
        assertEquals(NtStatus.INSUFFICIENT_RESOURCES, oom.status());
        assertTrue(ExallocException.of(NtStatus.INVALID_PARAMETER_5) instanceof InvalidArgumentException);
        for (int n = 1; n <= 8; n++) {
            var e = (InvalidArgumentException) ExallocException.of(NtStatus.INVALID_PARAMETER_1 + n - 1);
            assertEquals(java.util.OptionalInt.of(n), e.parameterIndex(), NtStatus.name(e.status()));
        }
        assertEquals(java.util.OptionalInt.empty(),
                ((InvalidArgumentException) ExallocException.of(NtStatus.INVALID_PARAMETER)).parameterIndex());
        assertEquals(NtStatus.QUOTA_EXCEEDED, ExallocException.of(NtStatus.QUOTA_EXCEEDED).status());
        assertTrue(NtStatus.isSuccess(0) && !NtStatus.isSuccess(NtStatus.UNSUCCESSFUL));
    }
}
