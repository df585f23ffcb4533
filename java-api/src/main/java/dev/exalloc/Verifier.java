package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.bindings.exa_verifier_config_s;
import dev.exalloc.internal.bindings.exa_verifier_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;

/**
 * The Driver Verifier emulation: the {@link CheckLevel check level}, the special pool (a guard page right after
 * each selected block, or right before it, so that an overrun from native code faults at the bad access and
 * becomes a bug check naming the tag, size and block: 0xCD; a freed special block stays no-access for a while:
 * 0xCC), and the low-resources simulation. Start-up equivalents: {@code EXALLOC_CHECKS},
 * {@code EXALLOC_SPECIAL_POOL=tag:Ab?d|size:LO-HI|all}, {@code EXALLOC_VERIFIER_FLAGS=end|start[,nofill][,quarantine=N]},
 * {@code EXALLOC_LOW_RESOURCES=PROB[,tag=Ab?d][,after=N][,ms=M]}.
 *
 * <p>Java code cannot overrun a segment (its accesses are bounds-checked); the special pool is for the native code
 * a Java service calls, and for C programs.
 *
 * <pre>{@code
 * Verifier.setCheckLevel(CheckLevel.DEFAULT);
 * }</pre>
 */
public final class Verifier {

    private Verifier() {
    }

    static {
        Native.ensure();
    }

    /**
     * The native check level now.
     *
     * @return the level the native checks run at
     */
    public static CheckLevel checkLevel() {
        return CheckLevel.values()[exa_get_check_level()];
    }

    /**
     * Sets the native check level; it applies to the calls made afterwards.
     *
     * @param level the new level
     */
    public static void setCheckLevel(CheckLevel level) {
        Failures.check(exa_set_check_level(Objects.requireNonNull(level).ordinal()));
        dev.exalloc.internal.PoolScopes.refreshOptions();
    }

    /**
     * What the verifier level does (see the builder's methods); {@link #configure} replaces the whole configuration.
     *
     * @param specialTag        requests with this tag go to the special pool ('?' matches any character), or null
     * @param specialSizeMin    requests of this many bytes ...
     * @param specialSizeMax    ... up to this many go to the special pool (0: none by size)
     * @param verifyStart       block at the start of its page, guard page before it (underruns), instead of the end
     * @param fill              fill patterns: uninitialised blocks 0x5A at allocation, freed blocks 0x6B
     * @param quarantine        freed special pages kept no-access (0: 64)
     * @param failuresPer10000  low-resources simulation: the probability a request fails, per 10,000 (0: off)
     * @param failureTag        only requests with this tag fail ('?' wildcards), or null for all
     * @param failuresAfter     requests let through before any fails
     * @param failuresDelay     time after {@link #configure} before any fails
     */
    public record Config(Tag specialTag, long specialSizeMin, long specialSizeMax, boolean verifyStart, boolean fill,
                         int quarantine, int failuresPer10000, Tag failureTag, long failuresAfter,
                         Duration failuresDelay) {

        /** Checks the configuration's values that cannot be null. */
        public Config {
            Objects.requireNonNull(failuresDelay);
        }

        /**
         * Nothing selected, fill patterns on, no simulated failures.
         *
         * @return a configuration that changes nothing but the fill patterns
         */
        public static Config none() {
            return new Config(null, 0, 0, false, true, 0, 0, null, 0, Duration.ZERO);
        }

        /**
         * This configuration, sending requests with {@code tag} to the special pool.
         *
         * @param tag the tag to select ('?' matches any character), or null for none
         * @return the new configuration
         */
        public Config withSpecialTag(Tag tag) {
            return new Config(tag, specialSizeMin, specialSizeMax, verifyStart, fill, quarantine, failuresPer10000,
                    failureTag, failuresAfter, failuresDelay);
        }

        /**
         * This configuration, sending requests of {@code min} to {@code max} bytes to the special pool.
         *
         * @param min the smallest size selected
         * @param max the largest size selected (0: none by size)
         * @return the new configuration
         */
        public Config withSpecialSizes(long min, long max) {
            return new Config(specialTag, min, max, verifyStart, fill, quarantine, failuresPer10000, failureTag,
                    failuresAfter, failuresDelay);
        }

        /**
         * This configuration, with special-pool blocks at the start of their page (catches underruns) or at its end.
         *
         * @param start true for the start of the page, false for the end (overruns)
         * @return the new configuration
         */
        public Config withVerifyStart(boolean start) {
            return new Config(specialTag, specialSizeMin, specialSizeMax, start, fill, quarantine, failuresPer10000,
                    failureTag, failuresAfter, failuresDelay);
        }

        /**
         * This configuration, with the low-resources simulation: requests fail at random.
         *
         * @param per10000 the probability a request fails, per 10,000 (0: off)
         * @param tag      only requests with this tag fail ('?' wildcards), or null for all
         * @param after    requests let through before any fails
         * @param delay    time after {@link #configure} before any fails
         * @return the new configuration
         */
        public Config withLowResources(int per10000, Tag tag, long after, Duration delay) {
            return new Config(specialTag, specialSizeMin, specialSizeMax, verifyStart, fill, quarantine, per10000, tag,
                    after, delay);
        }
    }

    /**
     * Special pool counters.
     *
     * @param specialAllocations blocks handed out from the special pool so far
     * @param specialLive        special blocks live now
     * @param specialFallbacks   selected requests the normal pool served (special pool full, as on NT)
     * @param injectedFailures   requests the low-resources simulation failed
     * @param specialCapacity    special pages in all
     * @param quarantined        freed special pages kept no-access now
     */
    public record Stats(long specialAllocations, long specialLive, long specialFallbacks, long injectedFailures,
                        int specialCapacity, int quarantined) {
    }

    /**
     * Replaces the configuration.
     *
     * @param c the new configuration
     * @throws InvalidArgumentException for min > max or a probability above 10,000
     */
    public static void configure(Config c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_verifier_config_s.layout());
            exa_verifier_config_s.special_tag(s, c.specialTag() == null ? 0 : c.specialTag().value());
            exa_verifier_config_s.flags(s, (c.verifyStart() ? EXA_VERIFIER_VERIFY_START() : EXA_VERIFIER_VERIFY_END())
                    | (c.fill() ? 0 : EXA_VERIFIER_NO_FILL()));
            exa_verifier_config_s.special_size_min(s, c.specialSizeMin());
            exa_verifier_config_s.special_size_max(s, c.specialSizeMax());
            exa_verifier_config_s.quarantine(s, c.quarantine());
            exa_verifier_config_s.low_resources(s, c.failuresPer10000());
            exa_verifier_config_s.low_resources_tag(s, c.failureTag() == null ? 0 : c.failureTag().value());
            exa_verifier_config_s.low_resources_after(s, c.failuresAfter());
            exa_verifier_config_s.low_resources_ms(s, c.failuresDelay().toMillis());
            Failures.check(exa_verifier_configure(s));
        }
    }

    /**
     * The configuration now.
     *
     * @return the configuration in force
     */
    public static Config config() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_verifier_config_s.layout());
            Failures.check(exa_verifier_get_config(s));
            int tag = exa_verifier_config_s.special_tag(s), ftag = exa_verifier_config_s.low_resources_tag(s);
            int flags = exa_verifier_config_s.flags(s);
            return new Config(tag == 0 ? null : new Tag(tag), exa_verifier_config_s.special_size_min(s),
                    exa_verifier_config_s.special_size_max(s), (flags & EXA_VERIFIER_VERIFY_START()) != 0,
                    (flags & EXA_VERIFIER_NO_FILL()) == 0, exa_verifier_config_s.quarantine(s),
                    exa_verifier_config_s.low_resources(s), ftag == 0 ? null : new Tag(ftag),
                    exa_verifier_config_s.low_resources_after(s),
                    Duration.ofMillis(exa_verifier_config_s.low_resources_ms(s)));
        }
    }

    /**
     * The special pool's counters now.
     *
     * @return the special pool's counters
     */
    public static Stats stats() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_verifier_stats_s.layout());
            Failures.check(exa_verifier_query(s));
            return new Stats(exa_verifier_stats_s.special_allocations(s), exa_verifier_stats_s.special_live(s),
                    exa_verifier_stats_s.special_fallbacks(s), exa_verifier_stats_s.injected_failures(s),
                    exa_verifier_stats_s.special_capacity(s), exa_verifier_stats_s.quarantined(s));
        }
    }

    /**
     * MmIsSpecialPoolAddress: whether the address lies in a special pool page (live, free or guard).
     *
     * @param address any address
     * @return whether it lies in a special-pool page
     */
    public static boolean isSpecialPoolAddress(long address) {
        return exa_is_special_pool_address(MemorySegment.ofAddress(address)) != 0;
    }
}
