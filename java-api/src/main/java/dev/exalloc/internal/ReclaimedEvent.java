package dev.exalloc.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * JFR event {@code dev.exalloc.Reclaimed}: an object that owns native state (a lookaside list, a quota account)
 * became unreachable without being closed, and the cleaner released its native state.
 */
@Name("dev.exalloc.Reclaimed")
@Label("Unclosed Object Reclaimed")
@Category({"exalloc", "Lifecycle"})
@Description("An unclosed lookaside list or quota account became unreachable and was reclaimed")
public final class ReclaimedEvent extends jdk.jfr.Event {

    @Label("Kind")
    public String kind;

    @Label("Name")
    @Description("The list's tag and block size, or the account's id")
    public String name;
}
