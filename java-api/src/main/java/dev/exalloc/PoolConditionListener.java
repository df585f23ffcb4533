package dev.exalloc;

import java.util.Set;

/**
 * Told each time a pool's condition changes ({@link Pool#onCondition}). Called on the thread whose allocation, free or
 * limit change caused the transition, right after it (NT waiters wake from the event; here the notification is
 * synchronous), one call at a time and in order: every settled state is reported once, and a change that happens
 * during a call is reported after it returns.
 *
 * <p>Keep it short and non-blocking: it runs inside that thread's pool call. It may call the pool (allocate, free,
 * query). An exception it throws is caught, logged ({@code System.Logger} "dev.exalloc.Pool", WARNING) and does not
 * reach the allocating caller or the other listeners.
 *
 * <pre>{@code
 * try (AutoCloseable l = Pool.onCondition((pool, condition) -> log(pool + " " + condition))) {
 *     ...
 * }                                     // unregistered
 * }</pre>
 */
@FunctionalInterface
public interface PoolConditionListener {

    /**
     * @param pool      the pool whose condition changed
     * @param condition the events set now (an immutable set; empty when neither Low nor High holds)
     */
    void conditionChanged(PoolKind pool, Set<PoolCondition> condition);
}
