package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.internal.bindings.exalloc_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
