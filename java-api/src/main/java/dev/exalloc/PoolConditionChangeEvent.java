package dev.exalloc;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * JFR event {@code dev.exalloc.PoolConditionChange}: a pool's condition events changed (NT's
 * LowNonPagedPoolCondition / HighNonPagedPoolCondition...), committed from the condition upcall, so only once a
 * {@link Pool#onCondition} listener has linked it (the native pool calls nothing otherwise).
 */
@Name("dev.exalloc.PoolConditionChange")
@Label("Pool Condition Change")
@Category({"exalloc", "Pool"})
@Description("A pool's low/high condition events changed")
final class PoolConditionChangeEvent extends jdk.jfr.Event {

    @Label("Pool")
    String pool;

    @Label("Old Condition")
    String oldCondition;

    @Label("New Condition")
    String newCondition;

    @Label("In Use")
    @DataAmount
    long inUse;

    @Label("Capacity")
    @DataAmount
    long capacity;
}
