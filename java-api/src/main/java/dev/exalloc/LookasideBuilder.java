package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;
import dev.exalloc.internal.Native;
import dev.exalloc.internal.StartupExtension;
import dev.exalloc.internal.InFlight;
import dev.exalloc.internal.CriticalGate;
import dev.exalloc.internal.bindings.exa_allocate_fn;
import dev.exalloc.internal.bindings.exa_free_fn;
import dev.exalloc.internal.bindings.exa_lookaside_config_s;
import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Objects;

/** Lookaside list settings. Defaults: tag "None", non-paged pool, NT's depths, the pool's allocator, checked. */
public final class LookasideBuilder {
    final long size;
    Tag tag = Tag.NONE;
    PoolType poolType = PoolType.NON_PAGED;
    boolean raiseOnFailure;
    int maximumDepth;
    int initialDepth;
    Lookaside.Allocator allocator;
    Lookaside.Releaser releaser;
    boolean checked = true;
    boolean sharedSegments;

    LookasideBuilder(long size) {
        if (size <= 0 || size > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("block size must be 1 .. 2^32-1 bytes: " + size);
        }
        this.size = size;
    }

    /**
     * The list's tag (default "None"): what the allocator is told and PoolMon counts under.
     *
     * @param tag the tag
     * @return this builder
     */
    public LookasideBuilder tag(Tag tag) {
        this.tag = Objects.requireNonNull(tag);
        return this;
    }

    /**
     * The list's pool type (default non-paged).
     *
     * @param poolType the pool type
     * @return this builder
     */
    public LookasideBuilder poolType(PoolType poolType) {
        this.poolType = Objects.requireNonNull(poolType);
        return this;
    }

    /**
     * Adds POOL_RAISE_IF_ALLOCATION_FAILURE to the list's type (what the allocator is told).
     *
     * @return this builder
     */
    public LookasideBuilder raiseOnFailure() {
        this.raiseOnFailure = true;
        return this;
    }

    /**
     * NT MaximumDepth: 256 .. 1024; 0 means the default, 256, as a depth of 0 does in ExInitializeLookasideListEx.
     * Checked by {@link #build()}: anything else is {@link InvalidArgumentException} with
     * STATUS_INVALID_PARAMETER_8 (Depth is that routine's eighth parameter).
     *
     * @param maximumDepth the bound on Depth
     * @return this builder
     */
    public LookasideBuilder maximumDepth(int maximumDepth) {
        this.maximumDepth = maximumDepth;
        return this;
    }

    /**
     * Depth to start at instead of NT's 4 (an exalloc extension): 1 .. the maximum depth; 0 means NT's 4. Checked by
     * {@link #build()}: anything else is {@link InvalidArgumentException} with STATUS_INVALID_PARAMETER_8, as for
     * the maximum depth.
     *
     * @param initialDepth the first Depth
     * @return this builder
     */
    public LookasideBuilder initialDepth(int initialDepth) {
        this.initialDepth = initialDepth;
        return this;
    }

    /**
     * Where misses get blocks (default: the pool, with this list's pool type and tag).
     *
     * @param allocator the allocator
     * @return this builder
     */
    public LookasideBuilder allocator(Lookaside.Allocator allocator) {
        this.allocator = Objects.requireNonNull(allocator);
        return this;
    }

    /**
     * Where blocks the list does not keep go (default: the pool). Give one whenever you give an allocator.
     *
     * @param releaser the releaser
     * @return this builder
     */
    public LookasideBuilder releaser(Lookaside.Releaser releaser) {
        this.releaser = Objects.requireNonNull(releaser);
        return this;
    }

    /**
     * Skip the misuse checks (double free, foreign block, use after free): faster, and unsafe as C is.
     *
     * @return this builder
     */
    public LookasideBuilder unchecked() {
        this.checked = false;
        return this;
    }

    /**
     * Checked mode with segments any thread may access (the default confines each segment to the thread that
     * allocated it, so that a use after free can be caught): double frees, foreign and wrong-size segments and
     * use after close are still refused; a use after free is not caught.
     *
     * @return this builder
     */
    public LookasideBuilder sharedSegments() {
        this.sharedSegments = true;
        return this;
    }

    /**
     * Creates the list.
     *
     * @return the new list
     * @throws InvalidArgumentException for a depth out of range (STATUS_INVALID_PARAMETER_8) or a pool type a
     *                                  lookaside list cannot use (STATUS_INVALID_PARAMETER_4)
     */
    public Lookaside build() {
        if ((allocator == null) != (releaser == null)) {
            throw new IllegalArgumentException("give both an allocator and a releaser, or neither");
        }
        int low = EXA_LOOKASIDE_DEFAULT_MAXIMUM_DEPTH();
        int high = EXA_LOOKASIDE_MAXIMUM_DEPTH_LIMIT();
        if (maximumDepth != 0 && (maximumDepth < low || maximumDepth > high)) {
            throw new InvalidArgumentException(NtStatus.INVALID_PARAMETER_8, "maximumDepth must be " + low + " .. "
                    + high + " (0: the default, " + low + "), not " + maximumDepth);
        }
        int maximum = maximumDepth == 0 ? low : maximumDepth;
        if (initialDepth != 0 && (initialDepth < 1 || initialDepth > maximum)) {
            throw new InvalidArgumentException(NtStatus.INVALID_PARAMETER_8, "initialDepth must be 1 .. " + maximum
                    + ", the maximum depth (0: NT's " + EXA_LOOKASIDE_INITIAL_DEPTH() + "), not "
                    + Integer.toUnsignedString(initialDepth));
        }
        return new Lookaside(this);
    }
}
