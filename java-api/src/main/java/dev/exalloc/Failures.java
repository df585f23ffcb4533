package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.EXA_STATUS_BUGCHECK;
import static dev.exalloc.internal.bindings.exalloc_h.EXA_STATUS_SUCCESS;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.FatalReportEvent;
import dev.exalloc.internal.FatalReportEvent;
import dev.exalloc.internal.Native;

/**
 * Turns what native code reports (an NTSTATUS, a recorded bug check) into this package's exceptions and errors; every
 * {@link BugCheckError} made here is also a JFR {@code dev.exalloc.FatalReport} event.
 */
final class Failures {

    private Failures() {
    }

    /** Throws the exception a non-success status stands for. */
    static void check(int status) {
        if (status == EXA_STATUS_SUCCESS()) {
            return;
        }
        throw failure(status);
    }

    /** The exception a non-success status stands for (the thread's bug check for EXA_STATUS_BUGCHECK). */
    static RuntimeException failure(int status) {
        if (status == EXA_STATUS_BUGCHECK()) {
            throw lastBugCheck();
        }
        return ExallocException.of(status);
    }

    /** The bug check the calling thread hit since {@code mark} ({@link Native#mark()}), or null. */
    static BugCheckError bugCheckSince(long mark) {
        return toError(Native.bugCheckSince(mark));
    }

    /** The calling thread's latest bug check as an error. */
    static BugCheckError lastBugCheck() {
        return toError(Native.lastBugCheck());
    }

    /**
     * For routines that report failure only as NULL (NT's allocate routines): the bug check this thread hit since the
     * last one it saw, or null when the NULL had another cause. Call only on the failure path.
     */
    static BugCheckError newBugCheck() {
        return toError(Native.newBugCheck());
    }

    private static BugCheckError toError(Native.BugCheck record) {
        if (record == null) {
            return null;
        }
        BugCheckError e = new BugCheckError(record.code(), record.parameter1(), record.parameter2(),
                record.parameter3(), record.parameter4());
        FatalReportEvent.emit(e.code(), e.parameter1(), e.parameter2(), e.parameter3(), e.parameter4(), e.getMessage());
        return e;
    }
}
