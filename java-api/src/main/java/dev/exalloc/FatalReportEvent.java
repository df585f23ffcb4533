package dev.exalloc;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * JFR event {@code dev.exalloc.FatalReport}: Java observed a bug check (NT's KeBugCheckEx: a code and four
 * parameters) and turned it into a {@link BugCheckError}; committed where the error is made.
 */
@Name("dev.exalloc.FatalReport")
@Label("Bug Check")
@Category({"exalloc"})
@Description("A native check failed where NT would bug-check")
final class FatalReportEvent extends jdk.jfr.Event {

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

    static void emit(BugCheckError e) {
        FatalReportEvent event = new FatalReportEvent();
        if (event.isEnabled()) {
            event.code = e.code();
            event.parameter1 = e.parameter1();
            event.parameter2 = e.parameter2();
            event.parameter3 = e.parameter3();
            event.parameter4 = e.parameter4();
            event.message = e.getMessage();
            event.commit();
        }
    }
}
