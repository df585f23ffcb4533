package dev.exalloc.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * JFR event {@code dev.exalloc.FatalReport}: Java observed a bug check (NT's KeBugCheckEx: a code and four
 * parameters) and turned it into a {@code dev.exalloc.BugCheckError}; committed where the error is made.
 */
@Name("dev.exalloc.FatalReport")
@Label("Bug Check")
@Category({"exalloc"})
@Description("A native check failed where NT would bug-check")
public final class FatalReportEvent extends jdk.jfr.Event {

    @Label("Bug Check Code")
    int code;

    @Label("Parameter 1")
    long parameter1;

    @Label("Parameter 2")
    long parameter2;

    @Label("Parameter 3")
    long parameter3;

    @Label("Parameter 4")
    long parameter4;

    @Label("Message")
    String message;

    /** Commits one event if the event is enabled. */
    public static void emit(int code, long parameter1, long parameter2, long parameter3, long parameter4,
            String message) {
        FatalReportEvent event = new FatalReportEvent();
        if (event.isEnabled()) {
            event.code = code;
            event.parameter1 = parameter1;
            event.parameter2 = parameter2;
            event.parameter3 = parameter3;
            event.parameter4 = parameter4;
            event.message = message;
            event.commit();
        }
    }
}
