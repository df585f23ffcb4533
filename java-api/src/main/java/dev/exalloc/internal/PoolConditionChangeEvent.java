package dev.exalloc.internal;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/**
 * JFR event {@code dev.exalloc.PoolConditionChange}: a pool's condition events changed (NT's
 * LowNonPagedPoolCondition / HighNonPagedPoolCondition...), committed when the condition listeners are told, so
 * only while a {@code Pool.onCondition} listener is registered (the pool is not watched otherwise).
 */
@Name("dev.exalloc.PoolConditionChange")
@Label("Pool Condition Change")
@Category({"exalloc", "Pool"})
@Description("A pool's low/high condition events changed")
public final class PoolConditionChangeEvent extends jdk.jfr.Event {

    @Label("Pool")
    public String pool;

    @Label("Old Condition")
    public String oldCondition;

    @Label("New Condition")
    public String newCondition;

    @Label("In Use")
    @DataAmount
    public long inUse;

    @Label("Capacity")
    @DataAmount
    public long capacity;
}
