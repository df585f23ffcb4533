package dev.exalloc;

import java.util.Set;

/**
 * Told when a pool's condition changes ({@link Pool#onCondition}): never from inside a native call, but at the end
 * of the next ordinary pool call on any thread (the one whose allocation, free or limit change caused the transition,
 * when it went through the ordinary routines) or on the daemon thread {@code exalloc-pool-conditions}, which looks
 * every few milliseconds while a listener is registered; one call at a time and in order, with the condition as it is
 * then (a change and its reversal between two looks may be reported as one call, or not at all).
 *
 * <p>Keep it short and non-blocking: it runs at the end of some thread's pool call. It may call the pool (allocate,
 * free, query). An exception it throws is caught and counted; each listener's first failure is logged as one line
 * ({@code System.Logger} "dev.exalloc.Pool", WARNING); it never reaches the allocating caller or the other listeners.
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
     * Called after a change of the pool's condition.
     *
     * @param pool      the pool whose condition changed
     * @param condition the events set now (an immutable set; empty when neither Low nor High holds)
     */
    void conditionChanged(PoolKind pool, Set<PoolCondition> condition);
}
