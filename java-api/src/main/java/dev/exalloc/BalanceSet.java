package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import java.time.Duration;
import java.util.Objects;

/**
 * The process-wide depth adjustment of lookaside lists (NT's balance set manager): every list's Depth follows its
 * recent use, unless the list was excluded with {@link Lookaside#fixDepth(boolean)}. Either one pass on demand
 * ({@link #adjustDepths()}) or a thread that makes one pass a period ({@link #start(Duration)}).
 *
 * <pre>{@code
 * BalanceSet.start(Duration.ofSeconds(1));   // adjust every list's Depth once a second, as NT's balance set
 * ...
 * BalanceSet.stop();
 * }</pre>
 */
public final class BalanceSet {

    private BalanceSet() {
    }

    /**
     * One depth-adjustment pass over every live list (what the balance-set thread does each period): a list that
     * missed grows toward MaximumDepth by half its misses (at most a quarter of MaximumDepth a step), a list that
     * hit well shrinks by one, an idle one by eight, never below its initial depth; blocks cached beyond a lowered
     * Depth go back through the releaser. Deterministic: tests and programs that drive time themselves call it.
     * Releasers of trimmed blocks run on the calling thread.
     */
    public static void adjustDepths() {
        Native.ensure();
        exa_lookaside_tick();
    }

    /**
     * Starts the balance-set thread (NT's: it adjusts every list's Depth once a {@code period}, one second by
     * default; the environment variable {@code EXALLOC_BALANCE_SET=1} or {@code =<ms>} starts it when the first list
     * is created). Running already: only the period changes. Releasers of trimmed blocks then run on that thread.
     *
     * @param period how often Depth is adjusted
     */
    public static void start(Duration period) {
        Objects.requireNonNull(period, "period");
        Native.ensure();
        long ms = Math.max(1, Math.min(period.toMillis(), Integer.MAX_VALUE));
        Failures.check(exa_balance_set_start((int) ms));
    }

    /** Stops the balance-set thread and waits for it; idempotent. */
    public static void stop() {
        Native.ensure();
        Failures.check(exa_balance_set_stop());
    }

    /**
     * Whether the balance-set thread runs.
     *
     * @return true while the balance-set thread runs
     */
    public static boolean isRunning() {
        Native.ensure();
        return exa_balance_set_running() != 0;
    }
}
