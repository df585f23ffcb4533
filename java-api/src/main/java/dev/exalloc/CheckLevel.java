package dev.exalloc;

/**
 * How much the native core checks (chosen at start-up with {@code EXALLOC_CHECKS=off|default|verifier}, or with
 * {@link Verifier#setCheckLevel}). The Java API's own checked mode ({@link LookasideBuilder#unchecked()}) is
 * separate: it guards Java callers; this guards the native pool.
 *
 * <pre>{@code
 * Verifier.setCheckLevel(CheckLevel.OFF);   // fastest; misuse is then the caller's bug
 * }</pre>
 */
public enum CheckLevel {
    /** Skips the optional free-time neighbour check; every check that keeps the allocator itself safe stays on. */
    OFF,
    /** Every O(1) header and list check, with NT's bug-check codes (the default). */
    DEFAULT,
    /**
     * Driver Verifier: default plus strict tag rules, zero-size and must-succeed faults, fill patterns, the
     * special pool for the requests {@link Verifier#configure} selects, the low-resources simulation, lookaside
     * misuse checks, and allocation sites in the leak report. Every pool request takes the full path.
     */
    VERIFIER
}
